//! A number's consent history: append-only events, alone or recorded together in one record.

use super::{corrupt, Batch, Store, StoreError, EVENT};
use crate::consent::ConsentEvent;
use crate::phone::Phone;

fn event_key(p: Phone, id: u64) -> [u8; 17] {
    let mut k = [EVENT; 17];
    k[1..9].copy_from_slice(&p.key());
    k[9..].copy_from_slice(&id.to_be_bytes());
    k
}

/// One `e` record: a single event, or an array of events recorded together.
fn decode_events(v: &[u8]) -> Result<Vec<ConsentEvent>, serde_json::Error> {
    if v.trim_ascii_start().first() == Some(&b'[') {
        serde_json::from_slice(v)
    } else {
        serde_json::from_slice(v).map(|e| vec![e])
    }
}

impl Store {
    /// A number's history, oldest first.
    pub fn history(&self, phone: Phone) -> Result<Vec<ConsentEvent>, StoreError> {
        let mut prefix = [EVENT; 9];
        prefix[1..].copy_from_slice(&phone.key());
        self.consent
            .scan_prefix(prefix)
            .map(|r| {
                let (k, v) = r?;
                decode_events(&v).map_err(|e| corrupt(&k, e))
            })
            .try_fold(Vec::new(), |mut all, events| {
                all.extend(events?);
                Ok(all)
            })
    }

    /// Queues an event for a number's history.
    pub fn stage_event(
        &self,
        batch: &mut Batch,
        phone: Phone,
        event: &ConsentEvent,
    ) -> Result<(), StoreError> {
        let id = self.db.generate_id()?;
        let value = serde_json::to_vec(event).map_err(|e| corrupt(b"event", e))?;
        batch.inner.insert(&event_key(phone, id)[..], value);
        batch.writes += 1;
        Ok(())
    }

    /// Queues events recorded together for one number as one record (see
    /// the module docs); nothing for none.
    pub fn stage_events(
        &self,
        batch: &mut Batch,
        phone: Phone,
        events: &[ConsentEvent],
    ) -> Result<(), StoreError> {
        match events {
            [] => Ok(()),
            [one] => self.stage_event(batch, phone, one),
            many => {
                let id = self.db.generate_id()?;
                let value = serde_json::to_vec(many).map_err(|e| corrupt(b"event", e))?;
                batch.inner.insert(&event_key(phone, id)[..], value);
                batch.writes += 1;
                Ok(())
            }
        }
    }
}
