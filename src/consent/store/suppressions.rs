//! The suppression list of erased numbers (G10): only a salted hash of each number is kept.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{corrupt, Batch, Store, StoreError, SUPPRESSED};
use crate::phone::Phone;

impl Store {
    /// Queues a suppression: only a salted hash of the number is kept.
    pub fn stage_suppress(&self, batch: &mut Batch, phone: Phone, at: DateTime<Utc>) {
        batch
            .inner
            .insert(&self.suppression_key(phone)[..], at.to_rfc3339().as_bytes());
        batch.writes += 1;
    }

    /// Queues the removal of a suppression (a newer consent lifted it).
    pub fn stage_unsuppress(&self, batch: &mut Batch, phone: Phone) {
        batch.inner.remove(&self.suppression_key(phone)[..]);
        batch.writes += 1;
    }

    fn suppression_key(&self, phone: Phone) -> [u8; 33] {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(phone.digits().as_bytes());
        let mut k = [SUPPRESSED; 33];
        k[1..].copy_from_slice(&h.finalize());
        k
    }

    /// When the number was erased, if it is on the suppression list (G10).
    pub fn suppressed_since(&self, phone: Phone) -> Result<Option<DateTime<Utc>>, StoreError> {
        let key = self.suppression_key(phone);
        self.consent
            .get(key)?
            .map(|v| {
                std::str::from_utf8(&v)
                    .map_err(|e| corrupt(&key, e))
                    .and_then(|s| DateTime::parse_from_rfc3339(s).map_err(|e| corrupt(&key, e)))
                    .map(|d| d.with_timezone(&Utc))
            })
            .transpose()
    }

    /// Whether any number is on the suppression list.
    pub fn has_suppressions(&self) -> Result<bool, StoreError> {
        Ok(self
            .consent
            .scan_prefix([SUPPRESSED])
            .next()
            .transpose()?
            .is_some())
    }

    /// Puts a number on the suppression list: only a salted hash is kept.
    pub fn suppress(&self, phone: Phone, at: DateTime<Utc>) -> Result<(), StoreError> {
        let _writer = self.consent_writer();
        let mut batch = Batch::default();
        self.stage_suppress(&mut batch, phone, at);
        self.commit(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::store::fixtures::phone;

    #[test]
    fn suppression_keeps_only_a_hash() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let p = phone("0171 2345678");
        let at = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        assert_eq!(store.suppressed_since(p).expect("read"), None);
        assert!(!store.has_suppressions().expect("read"));
        store.suppress(p, at).expect("suppress");
        assert_eq!(store.suppressed_since(p).expect("read"), Some(at));
        assert!(store.has_suppressions().expect("read"));
        let raw: Vec<u8> = store
            .consent
            .iter()
            .flat_map(|r| {
                let (k, v) = r.expect("entry");
                [k.to_vec(), v.to_vec()].concat()
            })
            .collect();
        assert!(
            !raw.windows(11).any(|w| w == b"49171234567"),
            "plain number stored"
        );
    }
}
