//! Contacts: each number's current consent state with its history in one
//! record (see `codec`), read one by one or scanned, and per-topic totals.

use std::collections::BTreeMap;

use super::{codec, Batch, Store, StoreError, CONTACT};
use crate::consent::{ConsentEvent, ConsentStatus, Contact};
use crate::phone::Phone;

pub(super) fn contact_key(p: Phone) -> [u8; 9] {
    let mut k = [CONTACT; 9];
    k[1..].copy_from_slice(&p.key());
    k
}

/// The contact in `phone`'s stored record (from [`Store::contact_record`]).
pub(crate) fn record_contact(phone: Phone, value: &[u8]) -> Result<Contact, StoreError> {
    codec::decode_contact(&contact_key(phone), value)
}

/// The history in `phone`'s stored record (from [`Store::contact_record`]).
pub(crate) fn record_history(phone: Phone, value: &[u8]) -> Result<Vec<ConsentEvent>, StoreError> {
    codec::decode_history(&contact_key(phone), value)
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
            .map(|v| codec::decode_contact(&key, &v))
            .transpose()
    }

    /// One number's stored record, undecoded: the importer reads the
    /// contact from it and the history only if it changes the contact.
    pub(crate) fn contact_record(&self, phone: Phone) -> Result<Option<sled::IVec>, StoreError> {
        Ok(self.consent.get(contact_key(phone))?)
    }

    /// Every contact, in number order.
    pub fn contacts(&self) -> impl Iterator<Item = Result<Contact, StoreError>> + '_ {
        self.consent.scan_prefix([CONTACT]).map(|r| {
            let (k, v) = r?;
            codec::decode_contact(&k, &v)
        })
    }

    /// Every contact's stored record, undecoded, in number order: for scans
    /// over many contacts that need a few fields each (the dry run decodes
    /// them with [`codec::decode_contact_view`]).
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

    /// Queues a contact's new state, keeping the history it has.
    pub fn stage_contact(&self, batch: &mut Batch, contact: &Contact) -> Result<(), StoreError> {
        let history = self.stored_history(contact.phone)?;
        self.stage_record(batch, contact, &history);
        Ok(())
    }

    /// Queues a contact with its whole history (what was stored and what is
    /// new), as one record.
    pub(crate) fn stage_record<'s>(
        &self,
        batch: &mut Batch,
        contact: &'s Contact,
        history: impl IntoIterator<Item = &'s ConsentEvent>,
    ) {
        batch.inner.insert(
            &contact_key(contact.phone)[..],
            codec::encode(contact, history),
        );
        batch.writes += 1;
    }

    /// Writes a contact and appends `events` to its history, at once. The
    /// caller holds [`Store::consent_writer`] (the history is read, then
    /// written back with the new events).
    pub fn write(&self, contact: &Contact, events: &[ConsentEvent]) -> Result<(), StoreError> {
        let mut batch = Batch::default();
        let history = self.stored_history(contact.phone)?;
        self.stage_record(&mut batch, contact, history.iter().chain(events));
        self.commit(batch)?;
        self.audit_events(contact.phone, events)
    }

    /// The history folded into `phone`'s record (none without one).
    fn stored_history(&self, phone: Phone) -> Result<Vec<ConsentEvent>, StoreError> {
        let key = contact_key(phone);
        match self.consent.get(key)? {
            Some(v) => codec::decode_history(&key, &v),
            None => Ok(Vec::new()),
        }
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
        let view = codec::decode_contact_view(k, v).expect("view");
        assert_eq!(view.status("sale"), Some(ConsentStatus::Confirmed));
        assert_eq!(
            store.history(p).expect("history"),
            vec![ev.clone(), ev.clone()]
        );
        // Later writes append to the history; a staged contact keeps it.
        let revoked = ConsentEvent {
            change: Change::Revoked {
                topic: "sale".into(),
                revoked_at: c.profile_at,
                reason: "test".into(),
            },
            ..ev.clone()
        };
        store
            .write(&c, std::slice::from_ref(&revoked))
            .expect("append");
        let mut batch = Batch::default();
        store.stage_contact(&mut batch, &c).expect("stage");
        assert_eq!(batch.len(), 1);
        store.commit(batch).expect("commit");
        assert_eq!(
            store.history(p).expect("history"),
            vec![ev.clone(), ev, revoked]
        );
        assert_eq!(store.contact(p).expect("read"), Some(c.clone()));
        assert_eq!(store.totals().expect("totals")["sale"].confirmed, 1);
    }
}
