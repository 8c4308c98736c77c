//! Contacts: each number's current consent state, read one by one or scanned, and per-topic totals.

use std::collections::BTreeMap;

use super::{corrupt, Batch, Store, StoreError, CONTACT};
use crate::consent::{ConsentEvent, ConsentStatus, Contact};
use crate::phone::Phone;

fn contact_key(p: Phone) -> [u8; 9] {
    let mut k = [CONTACT; 9];
    k[1..].copy_from_slice(&p.key());
    k
}

/// Decodes a record from [`Store::contact_records`] as `T` (a `Contact`, or
/// a type with some of its fields).
pub fn decode_contact<'a, T: serde::Deserialize<'a>>(
    key: &[u8],
    value: &'a [u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(value).map_err(|e| corrupt(key, e))
}

/// Consent totals for one topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TopicTotals {
    /// Confirmed consents.
    pub confirmed: u64,
    /// Pending consents.
    pub pending: u64,
    /// Revoked consents.
    pub revoked: u64,
}

impl Store {
    /// One number's current state.
    pub fn contact(&self, phone: Phone) -> Result<Option<Contact>, StoreError> {
        let key = contact_key(phone);
        self.consent
            .get(key)?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(&key, e)))
            .transpose()
    }

    /// Every contact, in number order.
    pub fn contacts(&self) -> impl Iterator<Item = Result<Contact, StoreError>> + '_ {
        self.consent.scan_prefix([CONTACT]).map(|r| {
            let (k, v) = r?;
            serde_json::from_slice(&v).map_err(|e| corrupt(&k, e))
        })
    }

    /// Every contact's stored record, undecoded, in number order: for scans
    /// over many contacts that need a few fields each (the dry run decodes
    /// them with [`decode_contact`] into a smaller type).
    pub fn contact_records(
        &self,
    ) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec), StoreError>> + '_ {
        self.consent
            .scan_prefix([CONTACT])
            .map(|r| r.map_err(StoreError::from))
    }

    /// Number of contacts.
    pub fn contact_count(&self) -> usize {
        self.consent.scan_prefix([CONTACT]).count()
    }

    /// Queues a contact's new state.
    pub fn stage_contact(&self, batch: &mut Batch, contact: &Contact) -> Result<(), StoreError> {
        let value = serde_json::to_vec(contact).map_err(|e| corrupt(b"contact", e))?;
        batch.inner.insert(&contact_key(contact.phone)[..], value);
        batch.writes += 1;
        Ok(())
    }

    /// Writes a contact and its events at once.
    pub fn write(&self, contact: &Contact, events: &[ConsentEvent]) -> Result<(), StoreError> {
        let mut batch = Batch::default();
        self.stage_contact(&mut batch, contact)?;
        for e in events {
            self.stage_event(&mut batch, contact.phone, e)?;
        }
        self.commit(batch)?;
        self.audit_events(contact.phone, events)
    }

    /// Confirmed / pending / revoked counts per topic.
    pub fn totals(&self) -> Result<BTreeMap<String, TopicTotals>, StoreError> {
        let mut out: BTreeMap<String, TopicTotals> = BTreeMap::new();
        for c in self.contacts() {
            for (topic, t) in c?.topics {
                let e = out.entry(topic).or_default();
                match t.status {
                    ConsentStatus::Confirmed => e.confirmed += 1,
                    ConsentStatus::Pending => e.pending += 1,
                    ConsentStatus::Revoked => e.revoked += 1,
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::store::fixtures::{contact, phone};
    use crate::consent::Change;

    #[test]
    fn contact_and_history_round_trip() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let p = phone("0171 2345678");
        let c = contact(p, ConsentStatus::Confirmed);
        let ev = ConsentEvent {
            recorded_at: c.profile_at,
            actor: "tester".into(),
            origin: "test".into(),
            change: Change::ProfileUpdated {
                locale: Some("de".into()),
                attributes: vec![],
            },
        };
        store.write(&c, &[ev.clone(), ev.clone()]).expect("write");
        assert_eq!(store.contact(p).expect("read"), Some(c.clone()));
        let records: Vec<_> = store
            .contact_records()
            .collect::<Result<_, _>>()
            .expect("scan");
        assert_eq!(records.len(), 1);
        let (k, v) = &records[0];
        assert_eq!(decode_contact::<Contact>(k, v).expect("decode"), c);
        assert_eq!(store.history(p).expect("history").len(), 2);
        // Events staged together land in one record and read back in order.
        let revoked = ConsentEvent {
            change: Change::Revoked {
                topic: "sale".into(),
                revoked_at: c.profile_at,
                reason: "test".into(),
            },
            ..ev.clone()
        };
        let mut batch = Batch::default();
        store
            .stage_events(&mut batch, p, &[ev.clone(), revoked.clone()])
            .expect("stage");
        assert_eq!(batch.len(), 1);
        store.commit(batch).expect("commit");
        store
            .stage_events(&mut Batch::default(), p, &[])
            .expect("nothing");
        assert_eq!(
            store.history(p).expect("history"),
            vec![ev.clone(), ev.clone(), ev, revoked]
        );
        assert_eq!(store.totals().expect("totals")["sale"].confirmed, 1);
    }
}
