//! One campaign's stored recipients (tree `recipients/<id>`): reads and per-block atomic writes.

use super::block::{self, BLOCK};
use super::journal::{self, decode, encode, Counts, RecipientRecord, RecipientState};
use super::CampaignId;
use crate::consent::StoreError;

/// One campaign's per-recipient records, [`BLOCK`] recipients per sled
/// value ([`block`]).
#[derive(Clone)]
pub struct Journal {
    pub(super) id: CampaignId,
    pub(super) tree: sled::Tree,
    pub(super) durability: crate::consent::store::Durability,
}

/// The present records of one block value, with their indices.
fn present<'a>(key: &'a [u8], value: &'a [u8]) -> Result<Vec<(u32, &'a [u8])>, StoreError> {
    let (_, first) = block::parse_key(key)?;
    let mut out = Vec::with_capacity(BLOCK as usize);
    for (slot, r) in block::slots(key, value).enumerate() {
        if let Some(bytes) = r? {
            out.push((first + slot as u32, bytes));
        }
    }
    Ok(out)
}

impl Journal {
    /// The campaign.
    pub fn id(&self) -> CampaignId {
        self.id
    }

    /// One record.
    pub fn get(&self, index: u32) -> Result<Option<RecipientRecord>, StoreError> {
        let (key, slot) = block::locate(index);
        let Some(value) = self.tree.get(key)? else {
            return Ok(None);
        };
        // Bound before returning: the slot iterator borrows `value`.
        let found = match block::slots(&key, &value).nth(slot) {
            Some(Ok(Some(bytes))) => decode(&index.to_be_bytes(), bytes).map(Some),
            Some(Err(e)) => Err(e),
            Some(Ok(None)) | None => Ok(None),
        };
        found
    }

    /// Every record in index order.
    pub fn iter(&self) -> impl Iterator<Item = Result<(u32, RecipientRecord), StoreError>> + '_ {
        self.tree.iter().flat_map(|r| {
            let decoded = r.map_err(StoreError::from).and_then(|(k, v)| {
                present(&k, &v)?
                    .into_iter()
                    .map(|(idx, bytes)| Ok((idx, decode(&idx.to_be_bytes(), bytes)?)))
                    .collect::<Result<Vec<_>, StoreError>>()
            });
            match decoded {
                Ok(records) => records.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            }
        })
    }

    /// Counts per state (a full scan, reading only each record's state).
    pub fn counts(&self) -> Result<Counts, StoreError> {
        let mut c = Counts::default();
        for r in self.tree.iter() {
            let (k, v) = r?;
            for (idx, bytes) in present(&k, &v)? {
                c.shift(None, journal::decode_state(&idx.to_be_bytes(), bytes)?);
            }
        }
        Ok(c)
    }

    /// Up to `n` pending records at or after `from`.
    pub fn pending_from(
        &self,
        from: u32,
        n: usize,
    ) -> Result<Vec<(u32, RecipientRecord)>, StoreError> {
        let mut out = Vec::with_capacity(n);
        for r in self.tree.range(block::locate(from).0..) {
            let (k, v) = r?;
            for (idx, bytes) in present(&k, &v)? {
                let key = idx.to_be_bytes();
                if idx >= from && journal::decode_state(&key, bytes)? == RecipientState::Pending {
                    out.push((idx, decode(&key, bytes)?));
                    if out.len() == n {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Writes records over whatever is there, each block atomically.
    ///
    /// Deliberately not one `sled::Batch`: sled seals and writes its log
    /// buffer (two `pwrite` + `sync_file_range`) for every batch, which
    /// made batches the dispatcher's biggest cost. No caller needs the
    /// records to land together — marking in flight, repair, requeue and
    /// skip are each per record and idempotent when re-run after a crash —
    /// and durability comes from the caller's [`Journal::flush`].
    pub fn write(&self, records: &[(u32, RecipientRecord)]) -> Result<(), StoreError> {
        for run in records.chunk_by(|a, b| a.0 / BLOCK == b.0 / BLOCK) {
            let (key, _) = block::locate(run[0].0);
            let mut slots: [Option<Vec<u8>>; BLOCK as usize] = Default::default();
            for (idx, rec) in run {
                slots[block::locate(*idx).1] = Some(encode(rec));
            }
            let last = run
                .iter()
                .map(|(i, _)| block::locate(*i).1)
                .max()
                .unwrap_or(0);
            self.swap_block(key, self.tree.get(key)?, |old| {
                let new = block::rewrite(&key, old, |slot, _| Ok(slots[slot].clone()), last)?;
                Ok(new.map(|v| (v, ())))
            })?;
        }
        Ok(())
    }

    /// Changes one record atomically against concurrent writers (the
    /// dispatcher's writer and the webhook processor): `f` sees the record
    /// as it is and returns its new state, or `None` to leave it.
    pub fn update(
        &self,
        index: u32,
        mut f: impl FnMut(&RecipientRecord) -> Option<RecipientRecord>,
    ) -> Result<Option<RecipientRecord>, StoreError> {
        let (key, at) = block::locate(index);
        let changed = self.swap_block(key, self.tree.get(key)?, |old| {
            let mut next = None;
            let new = block::rewrite(
                &key,
                old,
                |slot, cur| match cur {
                    Some(bytes) if slot == at => {
                        next = f(&decode(&index.to_be_bytes(), bytes)?);
                        Ok(next.as_ref().map(encode))
                    }
                    _ => Ok(None),
                },
                at,
            )?;
            Ok(new.map(|v| (v, next)))
        })?;
        Ok(changed.flatten())
    }

    /// One block's read-modify-write from `old`, the block as last read,
    /// retried until no concurrent writer got in between: `attempt` sees
    /// the block and returns its new value and a result, or `None` to leave
    /// it. A failed swap hands back the block as it now is, so a retry
    /// reads nothing again.
    pub(super) fn swap_block<T>(
        &self,
        key: [u8; 4],
        mut old: Option<sled::IVec>,
        mut attempt: impl FnMut(Option<&[u8]>) -> Result<Option<(Vec<u8>, T)>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        loop {
            let Some((new, result)) = attempt(old.as_deref())? else {
                return Ok(None);
            };
            match self.tree.compare_and_swap(key, old, Some(new))? {
                Ok(()) => return Ok(Some(result)),
                Err(e) => old = e.current,
            }
        }
    }

    /// Writes block number `block_no` whole, from its slots in order
    /// (creation and migration: nothing else writes there yet).
    pub(super) fn put_block<'a>(
        &self,
        block_no: u32,
        slots: impl IntoIterator<Item = Option<&'a [u8]>>,
    ) -> Result<(), StoreError> {
        self.tree
            .insert(block_no.to_be_bytes(), block::build(slots))?;
        Ok(())
    }

    /// Waits until everything written is durable.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.durability.flushed().await
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::campaign::Campaigns;
    use crate::consent::Store;

    /// Writers that race on one block (the dispatcher's writer and the
    /// webhook processor) each keep their changes: a lost swap retries on
    /// the block as the other left it.
    #[test]
    fn concurrent_updates_to_one_block_lose_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        let journal = Campaigns::open(&store)
            .expect("campaigns")
            .journal(CampaignId(1))
            .expect("journal");
        let rec = RecipientRecord {
            phone: crate::phone::Phone::from_e164("+491712345678"),
            params: Default::default(),
            state: RecipientState::Pending,
            code: None,
            reason: None,
            wamid: None,
            attempts: 0,
            latency_ms: None,
            updated_at: Utc::now(),
            actor: "planner".into(),
            checked_at: None,
            pricing: None,
        };
        let all: Vec<_> = (0..BLOCK).map(|i| (i, rec.clone())).collect();
        journal.write(&all).expect("write");
        let rounds = 200;
        std::thread::scope(|scope| {
            for half in [0..BLOCK / 2, BLOCK / 2..BLOCK] {
                let journal = &journal;
                scope.spawn(move || {
                    for _ in 0..rounds {
                        for i in half.clone() {
                            journal
                                .update(i, |r| {
                                    Some(RecipientRecord {
                                        attempts: r.attempts + 1,
                                        ..r.clone()
                                    })
                                })
                                .expect("update");
                        }
                    }
                });
            }
        });
        for i in 0..BLOCK {
            let r = journal.get(i).expect("get").expect("present");
            assert_eq!(r.attempts, rounds, "record {i}");
        }
    }
}
