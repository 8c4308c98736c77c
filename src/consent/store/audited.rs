//! How consent changes reach the audit trail: one entry per event, the
//! contact named by its salted reference and message ids (which hold the
//! sender's number) by a digest.

use super::{Store, StoreError};
use crate::audit::{Action, Record};
use crate::consent::{Change, ConsentEvent};
use crate::phone::Phone;

impl Store {
    /// The contact's name in the audit trail: `c:` and 16 hex digits of a
    /// salted hash of the number, the same for as long as the store lives,
    /// so an access request can find its entries and an erasure leaves them.
    pub fn contact_ref(&self, phone: Phone) -> String {
        let d = self.salted_digest(b"audit-contact", phone.digits().as_bytes());
        format!("c:{}", hex::encode(&d[..8]))
    }

    /// `origin` without what could identify a person: a WhatsApp message
    /// id (`wamid.…` encodes the sender's number) becomes a digest.
    pub fn audit_origin(&self, origin: &str) -> String {
        origin
            .split(':')
            .map(|part| {
                if part.starts_with("wamid.") {
                    let d = self.salted_digest(b"audit-wamid", part.as_bytes());
                    format!("wamid#{}", hex::encode(&d[..6]))
                } else {
                    part.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(":")
    }

    /// A change as the trail shows it: an identity change names the new
    /// number by its reference and the BSUID by a digest.
    fn audit_change(&self, change: &Change) -> serde_json::Value {
        match change {
            Change::IdentityChanged {
                what,
                user_id,
                new_phone,
            } => serde_json::json!({
                "kind": "identity_changed",
                "what": what,
                "user_id": user_id.as_deref().map(|u| {
                    let d = self.salted_digest(b"audit-bsuid", u.as_bytes());
                    format!("bsuid#{}", hex::encode(&d[..6]))
                }),
                "new_contact": new_phone
                    .as_deref()
                    .and_then(|p| Phone::parse(p, "DE").ok())
                    .map(|p| self.contact_ref(p)),
            }),
            other => serde_json::to_value(other).unwrap_or_default(),
        }
    }

    /// Records `events` of `phone` in the audit trail, after they were
    /// committed.
    pub(super) fn audit_events(
        &self,
        phone: Phone,
        events: &[ConsentEvent],
    ) -> Result<(), StoreError> {
        let subject = self.contact_ref(phone);
        for e in events {
            let action = match &e.change {
                Change::Confirmed { .. } => Action::Confirmation,
                Change::Revoked { .. } => Action::Revocation,
                _ => Action::ConsentChange,
            };
            let details = serde_json::json!({
                "change": self.audit_change(&e.change),
                "origin": self.audit_origin(&e.origin),
            });
            self.audit.record(
                Record::new(action, &e.actor)
                    .subject(&subject)
                    .details(details)
                    .at(e.recorded_at),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{contact, phone};
    use super::super::Store;
    use crate::consent::{ConsentStatus, Revocation};

    #[test]
    fn a_revocation_is_audited_without_the_number() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("open");
        let p = phone("+4915112345678");
        store
            .write(&contact(p, ConsentStatus::Confirmed), &[])
            .expect("write");
        let origin = "webhook:wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjBDMEM=";
        store
            .revoke(
                p,
                None,
                &Revocation {
                    at: chrono::Utc::now(),
                    origin: origin.into(),
                    actor: "webhook".into(),
                    reason: "STOP".into(),
                },
            )
            .expect("revoke");
        let mut entries = Vec::new();
        store.audit().for_each(|e| entries.push(e)).expect("read");
        let e = entries.last().expect("entry");
        assert_eq!(e.action, crate::audit::Action::Revocation);
        assert_eq!(e.subject.as_deref(), Some(store.contact_ref(p).as_str()));
        let text = std::fs::read_to_string(store.audit().path()).expect("read");
        assert!(
            !text.contains("15112345678") && !text.contains("wamid.HBg"),
            "{text}"
        );
        assert!(text.contains("webhook:wamid#"), "{text}");
    }
}
