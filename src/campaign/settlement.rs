//! Settling dispatcher outcomes over the in-flight records they came from.

use super::block::{self, BLOCK};
use super::journal::{self, decode, encode, RecipientRecord};
use super::Journal;
use crate::consent::StoreError;

/// A dispatcher outcome to write over the in-flight record it came from.
pub struct Settlement<'a> {
    /// The recipient.
    pub index: u32,
    /// The record as the feeder marked it in flight.
    pub marked: Option<&'a RecipientRecord>,
    /// The outcome; replaced by the merged record when a webhook moved the
    /// record on first.
    pub outcome: &'a mut RecipientRecord,
}

impl Journal {
    /// Writes dispatcher outcomes over the in-flight records they came
    /// from, one read-modify-write per block. Usually nothing else touched
    /// a record and the outcome replaces it as it is. If a webhook got
    /// there first, the outcome is merged with what it wrote
    /// ([`journal::merge_outcome`]: nothing moves backwards) and the
    /// settlement's outcome becomes the merged record.
    pub fn settle(&self, items: &mut [Settlement<'_>]) -> Result<(), StoreError> {
        items.sort_unstable_by_key(|s| s.index);
        for group in items.chunk_by_mut(|a, b| a.index / BLOCK == b.index / BLOCK) {
            let (key, _) = block::locate(group[0].index);
            let mut member = [None; BLOCK as usize];
            let mut coded = Vec::with_capacity(group.len());
            for (i, s) in group.iter().enumerate() {
                member[block::locate(s.index).1] = Some(i);
                coded.push((s.marked.map(encode), encode(s.outcome)));
            }
            let last = block::locate(group[group.len() - 1].index).1;
            let first = group[0].index / BLOCK * BLOCK;
            let outcomes: Vec<&RecipientRecord> = group.iter().map(|s| &*s.outcome).collect();
            let merged = self.swap_block(key, self.tree.get(key)?, |old| {
                let mut merged = Vec::new();
                let new = block::rewrite(
                    &key,
                    old,
                    |slot, cur| {
                        let Some(i) = member[slot] else {
                            return Ok(None);
                        };
                        let (marked, outcome) = &coded[i];
                        if cur.is_some() && cur == marked.as_deref() {
                            return Ok(Some(outcome.clone()));
                        }
                        let index = first + slot as u32;
                        let cur = cur.map(|b| decode(&index.to_be_bytes(), b)).transpose()?;
                        let next = journal::merge_outcome(cur.as_ref(), outcomes[i].clone());
                        let bytes = encode(&next);
                        merged.push((i, next));
                        Ok(Some(bytes))
                    },
                    last,
                )?;
                Ok(new.map(|v| (v, merged)))
            })?;
            for (i, rec) in merged.into_iter().flatten() {
                *group[i].outcome = rec;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::campaign::journal::RecipientState;
    use crate::campaign::{CampaignId, Campaigns};
    use crate::consent::Store;

    #[test]
    fn settle_swaps_the_marked_record_and_merges_after_a_webhook() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        let journal = Campaigns::open(&store)
            .expect("campaigns")
            .journal(CampaignId(1))
            .expect("journal");
        let rec = |state, actor: &str| RecipientRecord {
            phone: crate::phone::Phone::from_e164("+491712345678"),
            params: Default::default(),
            state,
            code: None,
            reason: None,
            wamid: Some("wamid.A".into()),
            attempts: 1,
            latency_ms: Some(20),
            updated_at: Utc::now(),
            actor: actor.into(),
            checked_at: None,
            pricing: None,
        };
        let marked = rec(RecipientState::InFlight, "dispatcher");
        // Three blocks' worth, so that settling spans blocks.
        let n = 2 * BLOCK + 3;
        let marks: Vec<_> = (0..n).map(|i| (i, marked.clone())).collect();
        journal.write(&marks).expect("mark");
        // A webhook moves one record on before its outcome is settled.
        let delivered = rec(RecipientState::Delivered, "webhook");
        journal.write(&[(BLOCK + 1, delivered)]).expect("webhook");
        let accepted = rec(RecipientState::Accepted, "dispatcher");
        let mut outcomes: Vec<RecipientRecord> = (0..n).map(|_| accepted.clone()).collect();
        // Outcomes arrive in any order.
        let mut settlements: Vec<Settlement<'_>> = outcomes
            .iter_mut()
            .enumerate()
            .rev()
            .map(|(i, outcome)| Settlement {
                index: i as u32,
                marked: Some(&marked),
                outcome,
            })
            .collect();
        journal.settle(&mut settlements).expect("settle");
        drop(settlements);
        for (i, outcome) in outcomes.iter().enumerate() {
            let stored = journal.get(i as u32).expect("get").expect("present");
            assert_eq!(&stored, outcome, "record {i}");
            if i as u32 == BLOCK + 1 {
                // The outcome did not undo the webhook, and says so.
                assert_eq!(stored.state, RecipientState::Delivered);
            } else {
                assert_eq!(stored, accepted, "record {i} swapped as it was");
            }
        }
        assert_eq!(journal.counts().expect("counts").total(), u64::from(n));
        assert_eq!(journal.get(n).expect("get"), None);
    }
}
