//! The suppression list: numbers bote must not message although it keeps
//! nothing else about them, as a salted hash of each number only.
//!
//! Two causes put a number there: an erasure (G10), and an opt-out signal
//! (a STOP, the stop button, 131050, a `user_preferences` stop) from a
//! number that is not in the store (G5) — there is no consent to revoke,
//! but a later import of an older list must not make the number eligible.
//! Either way only a consent given *after* the suppression lifts it.
//!
//! The salt is 32 random bytes made when the store is first opened and kept
//! in its `meta` tree; it never leaves the store, so the hashes cannot be
//! matched against a list of numbers elsewhere.
//!
//! Values: an erasure is its RFC 3339 time (the format of bote 0.1); an
//! opt-out is `{"since": RFC 3339, "cause": "opted_out"}`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{corrupt, Batch, Store, StoreError, SUPPRESSED};
use crate::phone::Phone;

/// Why a number is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionCause {
    /// Erased on request (G10).
    Erased,
    /// Sent an opt-out signal while not in the store (G5).
    OptedOut,
}

/// A suppression: since when, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// Only a consent given after this lifts it.
    pub since: DateTime<Utc>,
    /// Why.
    pub cause: SuppressionCause,
}

impl Suppression {
    fn encode(&self) -> Vec<u8> {
        match self.cause {
            // Erasures keep bote 0.1's format, which older stores hold.
            SuppressionCause::Erased => self.since.to_rfc3339().into_bytes(),
            SuppressionCause::OptedOut => {
                serde_json::to_vec(self).unwrap_or_else(|_| unreachable!("plain struct"))
            }
        }
    }

    fn decode(key: &[u8], v: &[u8]) -> Result<Self, StoreError> {
        if v.first() == Some(&b'{') {
            return serde_json::from_slice(v).map_err(|e| corrupt(key, e));
        }
        let s = std::str::from_utf8(v).map_err(|e| corrupt(key, e))?;
        let since = DateTime::parse_from_rfc3339(s)
            .map_err(|e| corrupt(key, e))?
            .with_timezone(&Utc);
        Ok(Self {
            since,
            cause: SuppressionCause::Erased,
        })
    }
}

impl Store {
    /// Queues an erasure suppression: only a salted hash of the number is kept.
    pub fn stage_suppress(&self, batch: &mut Batch, phone: Phone, at: DateTime<Utc>) {
        self.stage_suppression(
            batch,
            phone,
            &Suppression {
                since: at,
                cause: SuppressionCause::Erased,
            },
        );
    }

    /// Queues a suppression of either cause.
    pub fn stage_suppression(&self, batch: &mut Batch, phone: Phone, s: &Suppression) {
        batch
            .inner
            .insert(&self.suppression_key(phone)[..], s.encode());
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

    /// SHA-256 of the store's salt, `domain` and `bytes`: a stable key for
    /// something that must not be stored as it is (a message id holds the
    /// sender's number) and must not match a hash made elsewhere.
    pub fn salted_digest(&self, domain: &[u8], bytes: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt);
        // The length keeps ("ab", "c") and ("a", "bc") apart.
        h.update((domain.len() as u64).to_be_bytes());
        h.update(domain);
        h.update(bytes);
        h.finalize().into()
    }

    /// The number's suppression, if it is on the list.
    pub fn suppression(&self, phone: Phone) -> Result<Option<Suppression>, StoreError> {
        let key = self.suppression_key(phone);
        self.consent
            .get(key)?
            .map(|v| Suppression::decode(&key, &v))
            .transpose()
    }

    /// Since when the number is suppressed (erased or opted out), if it is.
    pub fn suppressed_since(&self, phone: Phone) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.suppression(phone)?.map(|s| s.since))
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

    /// Puts an erased number on the suppression list: only a salted hash is kept.
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

    fn raw(store: &Store) -> Vec<u8> {
        store
            .consent
            .iter()
            .flat_map(|r| {
                let (k, v) = r.expect("entry");
                [k.to_vec(), v.to_vec()].concat()
            })
            .collect()
    }

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
        assert!(
            !raw(&store).windows(11).any(|w| w == b"49171234567"),
            "plain number stored"
        );
    }

    #[test]
    fn both_causes_round_trip_and_erasures_keep_the_old_format() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let (erased, stopped) = (phone("0171 2345678"), phone("0171 2345679"));
        let at = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        store.suppress(erased, at).expect("suppress");
        let opted_out = Suppression {
            since: at,
            cause: SuppressionCause::OptedOut,
        };
        let mut batch = Batch::default();
        store.stage_suppression(&mut batch, stopped, &opted_out);
        store.commit(batch).expect("commit");
        assert_eq!(
            store.suppression(erased).expect("read").map(|s| s.cause),
            Some(SuppressionCause::Erased)
        );
        assert_eq!(store.suppression(stopped).expect("read"), Some(opted_out));
        let old = store
            .consent
            .get(store.suppression_key(erased))
            .expect("read")
            .expect("value");
        assert_eq!(&old[..], at.to_rfc3339().as_bytes());
        assert!(!raw(&store).windows(11).any(|w| w == b"49171234567"));
    }

    #[test]
    fn salted_digests_differ_by_domain_and_by_store() {
        let (a, b) = (
            tempfile::tempdir().expect("tmp"),
            tempfile::tempdir().expect("tmp"),
        );
        let (sa, sb) = (
            Store::open(a.path()).expect("open"),
            Store::open(b.path()).expect("open"),
        );
        let d = sa.salted_digest(b"m", b"wamid.X");
        assert_eq!(d, sa.salted_digest(b"m", b"wamid.X"));
        assert_ne!(d, sa.salted_digest(b"p", b"wamid.X"));
        assert_ne!(d, sa.salted_digest(b"mw", b"amid.X"));
        assert_ne!(d, sb.salted_digest(b"m", b"wamid.X"));
    }
}
