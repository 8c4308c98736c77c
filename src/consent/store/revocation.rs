//! Revocation (G5): withdrawing a number's consent with who, when, why and on what evidence.

use chrono::{DateTime, Utc};

use super::{Store, StoreError};
use crate::consent::{Change, ConsentEvent, ConsentStatus};
use crate::phone::Phone;

/// Who revoked, when, why and on what evidence.
#[derive(Debug, Clone)]
pub struct Revocation {
    /// When the person revoked.
    pub at: DateTime<Utc>,
    /// Who recorded it (OS user, `webhook`, `dispatcher`).
    pub actor: String,
    /// The evidence: `operator`, `webhook:WAMID`, `send:131050:CAMPAIGN`.
    pub origin: String,
    /// Human reason.
    pub reason: String,
}

impl Store {
    /// Revokes a number's consent for `topic` (or every topic) at once (G5);
    /// returns how many topics changed. `origin` is the evidence (e.g. the
    /// inbound message id); already-revoked topics stay as they were.
    pub fn revoke(
        &self,
        phone: Phone,
        topic: Option<&str>,
        revocation: &Revocation,
    ) -> Result<usize, StoreError> {
        let _writer = self.consent_writer();
        let Some(mut contact) = self.contact(phone)? else {
            return Ok(0);
        };
        let mut events = Vec::new();
        for (name, t) in contact.topics.iter_mut() {
            if topic.is_some_and(|x| x != name) || t.status == ConsentStatus::Revoked {
                continue;
            }
            t.status = ConsentStatus::Revoked;
            t.revoked_at = Some(revocation.at);
            t.revoked_by = Some(revocation.origin.clone());
            events.push(ConsentEvent {
                recorded_at: Utc::now(),
                actor: revocation.actor.clone(),
                origin: revocation.origin.clone(),
                change: Change::Revoked {
                    topic: name.clone(),
                    revoked_at: revocation.at,
                    reason: revocation.reason.clone(),
                },
            });
        }
        if !events.is_empty() {
            self.write(&contact, &events)?;
        }
        Ok(events.len())
    }
}
