//! Migration of journals kept one sled key per recipient (bote before blocks) into blocks.

use super::block;
use super::journal::{decode, encode};
use super::{corrupt, CampaignId, Campaigns};
use crate::consent::StoreError;

/// Tree-name prefix of journals kept one sled key per recipient.
const LEGACY_JOURNAL: &str = "journal/";

impl Campaigns {
    /// Moves journals written one sled key per recipient (tree
    /// `journal/<id>`, bote before blocks) into blocks. Safe to interrupt:
    /// the old tree is dropped only once the new one is complete and
    /// durable, and a rerun rebuilds the new one from scratch.
    pub(super) fn migrate_record_journals(&self) -> Result<(), StoreError> {
        for name in self.db.tree_names() {
            let Some(id) = name
                .strip_prefix(LEGACY_JOURNAL.as_bytes())
                .and_then(|id| std::str::from_utf8(id).ok()?.parse().ok())
            else {
                continue;
            };
            let old = self.db.open_tree(&name)?;
            let journal = self.journal(CampaignId(id))?;
            journal.tree.clear()?;
            let mut pending: Option<(u32, Vec<Option<Vec<u8>>>)> = None;
            for r in old.iter() {
                let (k, v) = r?;
                let index = k
                    .as_ref()
                    .try_into()
                    .map(u32::from_be_bytes)
                    .map_err(|_| corrupt("journal key", hex::encode(&k)))?;
                let (key, slot) = block::locate(index);
                let block_no = u32::from_be_bytes(key);
                if let Some((b, slots)) = pending.take_if(|(b, _)| *b != block_no) {
                    journal.put_block(b, slots.iter().map(Option::as_deref))?;
                }
                let (_, slots) = pending.get_or_insert_with(|| (block_no, Vec::new()));
                if slots.len() <= slot {
                    slots.resize(slot + 1, None);
                }
                // JSON records of bote 0.1 become binary on the way.
                slots[slot] = Some(encode(&decode(&k, &v)?));
            }
            if let Some((b, slots)) = pending {
                journal.put_block(b, slots.iter().map(Option::as_deref))?;
            }
            self.durability.flushed_blocking()?;
            self.db.drop_tree(&name)?;
            self.durability.flushed_blocking()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::campaign::block::BLOCK;
    use crate::campaign::journal::{RecipientRecord, RecipientState};
    use crate::consent::Store;

    #[test]
    fn record_journals_migrate_into_blocks() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        let at = Utc::now();
        let rec = |i: u32| RecipientRecord {
            phone: crate::phone::Phone::from_e164(&format!("+4917123456{i:02}")),
            params: Default::default(),
            state: if i % 3 == 0 {
                RecipientState::Skipped
            } else {
                RecipientState::Pending
            },
            code: None,
            reason: None,
            wamid: None,
            attempts: 0,
            latency_ms: None,
            updated_at: at,
            actor: "planner".into(),
            checked_at: None,
            pricing: None,
        };
        // Written as bote did before blocks: one key per recipient, some
        // records still JSON as bote 0.1 wrote them.
        let old = store.db().open_tree("journal/7").expect("tree");
        let n = BLOCK + 5;
        for i in 0..n {
            let value = if i % 2 == 0 {
                encode(&rec(i))
            } else {
                serde_json::to_vec(&rec(i)).expect("json")
            };
            old.insert(i.to_be_bytes(), value).expect("insert");
        }
        // A half-done earlier migration is redone from scratch.
        store
            .db()
            .open_tree("recipients/7")
            .expect("tree")
            .insert(0u32.to_be_bytes(), block::build([Some(&b"partial"[..])]))
            .expect("insert");
        let campaigns = Campaigns::open(&store).expect("campaigns");
        let journal = campaigns.journal(CampaignId(7)).expect("journal");
        let got: Vec<_> = journal.iter().collect::<Result<_, _>>().expect("records");
        let want: Vec<_> = (0..n).map(|i| (i, rec(i))).collect();
        assert_eq!(got, want);
        assert!(!store
            .db()
            .tree_names()
            .iter()
            .any(|t| t.starts_with(b"journal/")));
        // Opening again finds nothing left to migrate and changes nothing.
        let again = Campaigns::open(&store).expect("campaigns");
        let after: Vec<_> = again
            .journal(CampaignId(7))
            .expect("journal")
            .iter()
            .collect::<Result<_, _>>()
            .expect("records");
        assert_eq!(after, want);
    }
}
