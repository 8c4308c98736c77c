//! A campaign's results as the operator reads them: every recipient of the
//! journal in its latest state (webhooks move records on after the send),
//! most recently changed first, optionally of one state, a page at a time.
//!
//! One scan yields the page and the counts together, so the number of rows
//! a filter lists is always the count beside it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, Utc};

use super::block;
use super::journal::{decode_head, Counts, RecipientRecord, RecipientState};
use super::Journal;
use crate::consent::StoreError;

/// The most rows one page holds (a request for more gets this many).
pub const MAX_PAGE: usize = 1_000;

/// One page of a journal, newest change first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Newest {
    /// Every record counted per state, by the same scan.
    pub counts: Counts,
    /// Records of the state asked for (all of them without a filter).
    pub matching: u64,
    /// The page: index and record.
    pub rows: Vec<(u32, RecipientRecord)>,
}

impl Journal {
    /// Rows `from..from + len` of the records in state `only` (every state
    /// when `None`), most recently changed first; ties by the higher index
    /// (later in the send order) first.
    ///
    /// A full scan reading only each record's state and time, keeping the
    /// `from + len` newest in a heap; only the page's records are decoded.
    pub fn newest(
        &self,
        only: Option<RecipientState>,
        from: usize,
        len: usize,
    ) -> Result<Newest, StoreError> {
        let keep = from.saturating_add(len.min(MAX_PAGE));
        let mut counts = Counts::default();
        let mut matching = 0u64;
        let mut heap: BinaryHeap<Reverse<(DateTime<Utc>, u32)>> =
            BinaryHeap::with_capacity(keep.min(1 << 16));
        for r in self.tree.iter() {
            let (k, v) = r?;
            let (_, first) = block::parse_key(&k)?;
            for (slot, bytes) in block::slots(&k, &v).enumerate() {
                let Some(bytes) = bytes? else { continue };
                let index = first + slot as u32;
                let (state, at) = decode_head(&index.to_be_bytes(), bytes)?;
                counts.shift(None, state);
                if only.is_some_and(|s| s != state) {
                    continue;
                }
                matching += 1;
                let entry = Reverse((at, index));
                // A full heap takes only what is newer than its oldest.
                if heap.len() < keep {
                    heap.push(entry);
                } else if heap.peek().is_some_and(|oldest| entry < *oldest) {
                    heap.pop();
                    heap.push(entry);
                }
            }
        }
        let mut newest: Vec<(DateTime<Utc>, u32)> = heap.into_iter().map(|r| r.0).collect();
        newest.sort_unstable_by(|a, b| b.cmp(a));
        let mut rows = Vec::with_capacity(newest.len().saturating_sub(from));
        for (_, index) in newest.into_iter().skip(from) {
            // A record that moved on since the scan is shown as it is now:
            // the latest state is the point of the list.
            if let Some(rec) = self.get(index)? {
                rows.push((index, rec));
            }
        }
        Ok(Newest {
            counts,
            matching,
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::campaign::{CampaignId, Campaigns};
    use crate::consent::Store;
    use crate::phone::Phone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, 1, 10, 0, 0)
            .single()
            .expect("valid date")
            + Duration::seconds(secs)
    }

    fn rec(state: RecipientState, secs: i64) -> RecipientRecord {
        RecipientRecord {
            phone: Phone::from_e164("+491711000001"),
            params: Default::default(),
            state,
            code: None,
            reason: None,
            wamid: None,
            attempts: 1,
            latency_ms: Some(40),
            updated_at: at(secs),
            actor: "test".into(),
            checked_at: None,
            pricing: None,
        }
    }

    /// 40 records over three blocks: index i changed at second i, every
    /// fifth one read, index 7 failed last of all.
    fn journal(dir: &std::path::Path) -> Journal {
        let store = Store::open(dir).expect("store");
        let campaigns = Campaigns::open(&store).expect("campaigns");
        let journal = campaigns.journal(CampaignId(1)).expect("journal");
        let records: Vec<(u32, RecipientRecord)> = (0..40u32)
            .map(|i| {
                let state = match i {
                    7 => RecipientState::Failed,
                    i if i % 5 == 0 => RecipientState::Read,
                    _ => RecipientState::Accepted,
                };
                let secs = if i == 7 { 100 } else { i64::from(i) };
                (i, rec(state, secs))
            })
            .collect();
        journal.write(&records).expect("write");
        journal
    }

    #[test]
    fn pages_run_newest_first_over_the_whole_journal() {
        let dir = tempfile::tempdir().expect("temp dir");
        let j = journal(dir.path());
        let page = j.newest(None, 0, 5).expect("page");
        let order: Vec<u32> = page.rows.iter().map(|r| r.0).collect();
        assert_eq!(order, [7, 39, 38, 37, 36]);
        assert_eq!((page.matching, page.counts.total()), (40, 40));
        let deep = j.newest(None, 38, 10).expect("page");
        let order: Vec<u32> = deep.rows.iter().map(|r| r.0).collect();
        assert_eq!(order, [1, 0], "the end of the journal, not of one run");
    }

    #[test]
    fn a_filter_lists_exactly_the_records_its_count_names() {
        let dir = tempfile::tempdir().expect("temp dir");
        let j = journal(dir.path());
        for state in RecipientState::ALL {
            let page = j.newest(Some(state), 0, MAX_PAGE).expect("page");
            assert_eq!(page.matching, page.counts.get(state), "{state}");
            assert_eq!(page.rows.len() as u64, page.matching, "{state}");
            assert!(page.rows.iter().all(|(_, r)| r.state == state), "{state}");
        }
        assert_eq!(
            j.newest(Some(RecipientState::Read), 0, 100)
                .expect("page")
                .matching,
            8
        );
    }

    #[test]
    fn a_webhook_status_moves_the_row_to_the_top_in_its_new_state() {
        let dir = tempfile::tempdir().expect("temp dir");
        let j = journal(dir.path());
        j.write(&[(3, rec(RecipientState::Read, 200))])
            .expect("write");
        let page = j.newest(None, 0, 1).expect("page");
        assert_eq!(page.rows[0].0, 3);
        assert_eq!(page.rows[0].1.state, RecipientState::Read);
        assert_eq!(page.counts.read, 9);
    }
}
