//! A number's consent history: folded into its contact record (see
//! `codec`), plus the separate `e` records of the first format that a
//! store still holds for numbers without a contact.

use super::{codec, contacts::contact_key, corrupt, Store, StoreError, EVENT};
use crate::consent::ConsentEvent;
use crate::phone::Phone;

/// One `e` record of the first format: a JSON event, or a JSON array of
/// events recorded together.
pub(super) fn decode_legacy_events(v: &[u8]) -> Result<Vec<ConsentEvent>, serde_json::Error> {
    if v.trim_ascii_start().first() == Some(&b'[') {
        serde_json::from_slice(v)
    } else {
        serde_json::from_slice(v).map(|e| vec![e])
    }
}

/// The key prefix of `phone`'s `e` records (first format).
pub(super) fn legacy_prefix(phone: Phone) -> [u8; 9] {
    let mut prefix = [EVENT; 9];
    prefix[1..].copy_from_slice(&phone.key());
    prefix
}

impl Store {
    /// A number's history, oldest first.
    pub fn history(&self, phone: Phone) -> Result<Vec<ConsentEvent>, StoreError> {
        // Left from the first format: a store migrates them into the
        // contact record when it is opened, so these are only events of
        // numbers that had none.
        let mut all = Vec::new();
        for r in self.consent.scan_prefix(legacy_prefix(phone)) {
            let (k, v) = r?;
            all.extend(decode_legacy_events(&v).map_err(|e| corrupt(&k, e))?);
        }
        let key = contact_key(phone);
        if let Some(v) = self.consent.get(key)? {
            all.extend(codec::decode_history(&key, &v)?);
        }
        Ok(all)
    }
}
