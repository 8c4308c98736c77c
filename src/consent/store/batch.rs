//! Atomic writes: the pending [`Batch`], its commit, and the consent epoch every commit bumps.

use super::{Store, StoreError, EPOCH};

/// A pending write: contacts and events that must land together.
#[derive(Debug, Default)]
pub struct Batch {
    pub(super) inner: sled::Batch,
    pub(super) writes: usize,
}

impl Batch {
    /// Number of records queued.
    pub fn len(&self) -> usize {
        self.writes
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.writes == 0
    }
}

impl Store {
    /// Applies a batch atomically: all of it lands, or none.
    pub fn commit(&self, mut batch: Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut epoch = self.epoch.lock().unwrap_or_else(|p| p.into_inner());
        batch
            .inner
            .insert(&EPOCH[..], &(*epoch + 1).to_be_bytes()[..]);
        self.consent.apply_batch(batch.inner)?;
        *epoch += 1;
        Ok(())
    }

    /// The one writer of contacts: whoever reads a contact to change it
    /// holds this until the change is committed, so that a revocation
    /// racing an import, a webhook confirmation or a 131050 is never
    /// overwritten by a write based on what was there before it. The
    /// daemon is the store's only process, so a lock in memory is enough.
    pub fn consent_writer(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One import at a time: an import decides from the store as it found
    /// it (an empty store needs no lookups), so a second waits for the first.
    pub fn importer(&self) -> std::sync::MutexGuard<'_, ()> {
        self.importer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A number that changes with every change of any consent, revocation,
    /// erasure or suppression, stored with the change itself. A campaign
    /// planned at epoch `e` may skip the per-send consent re-read while the
    /// epoch is still `e`: nothing the plan checked can have changed (G2).
    pub fn consent_epoch(&self) -> u64 {
        *self.epoch.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::consent::store::fixtures::{contact, phone};
    use crate::consent::store::Revocation;
    use crate::consent::ConsentStatus;

    #[test]
    fn every_consent_change_moves_the_epoch_and_the_epoch_survives_reopening() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = phone("0171 2345678");
        let epoch = {
            let store = Store::open(dir.path()).expect("store");
            let e0 = store.consent_epoch();
            store
                .write(&contact(p, ConsentStatus::Confirmed), &[])
                .expect("write");
            let e1 = store.consent_epoch();
            assert!(e1 > e0, "a write moves it");
            store.record_send(p, Utc::now(), "c1").expect("send");
            assert_eq!(store.consent_epoch(), e1, "sends are not consent");
            let rev = Revocation {
                at: Utc::now(),
                actor: "t".into(),
                origin: "t".into(),
                reason: "t".into(),
            };
            assert_eq!(store.revoke(p, None, &rev).expect("revoke"), 1);
            let e2 = store.consent_epoch();
            assert!(e2 > e1, "a revocation moves it");
            store.suppress(p, Utc::now()).expect("suppress");
            let e3 = store.consent_epoch();
            assert!(e3 > e2, "a suppression moves it");
            // Nothing to change, nothing moves.
            store.commit(Batch::default()).expect("empty");
            assert_eq!(store.consent_epoch(), e3);
            e3
        };
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(store.consent_epoch(), epoch);
        assert_eq!(store.contact_count(), 1, "the epoch is no contact");
    }
}
