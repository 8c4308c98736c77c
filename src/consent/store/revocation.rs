//! Revocation (G5): withdrawing a number's consent with who, when, why and on what evidence.
//!
//! A revocation is ordered by its own time, not by when it reaches bote:
//! Meta redelivers webhooks for days, so a STOP sent at 22:37 may arrive
//! after an import re-opted the number in at 22:39. It revokes a topic
//! only if that consent was given (signed up) at or before the revocation;
//! a newer consent is the person's later decision and stands.

use chrono::{DateTime, Utc};

use super::{Batch, Store, StoreError, Suppression, SuppressionCause};
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

/// What an opt-out signal did ([`Store::opt_out`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptOut {
    /// The number is in the store: this many topics were revoked (0 when
    /// every topic was revoked already or was given after the signal).
    Revoked(usize),
    /// The number is not in the store: it is suppressed (a salted hash)
    /// until a consent given after the signal.
    Suppressed,
}

impl Store {
    /// Revokes a number's consent for `topic` (or every topic) at once (G5);
    /// returns how many topics changed. `origin` is the evidence (e.g. the
    /// inbound message id); already-revoked topics, and topics signed up
    /// after `revocation.at`, stay as they were.
    pub fn revoke(
        &self,
        phone: Phone,
        topic: Option<&str>,
        revocation: &Revocation,
    ) -> Result<usize, StoreError> {
        let _writer = self.consent_writer();
        self.revoke_held(phone, topic, revocation)
            .map(|r| r.unwrap_or(0))
    }

    /// An opt-out signal from `phone` (a STOP, the stop button, 131050, a
    /// `user_preferences` stop): revokes every topic given before it, or,
    /// when the number is not in the store, suppresses it so that only a
    /// consent given after the signal can make it eligible. A suppression
    /// already at least as new stays as it is.
    pub fn opt_out(&self, phone: Phone, revocation: &Revocation) -> Result<OptOut, StoreError> {
        let _writer = self.consent_writer();
        if let Some(n) = self.revoke_held(phone, None, revocation)? {
            return Ok(OptOut::Revoked(n));
        }
        let newer = self
            .suppression(phone)?
            .is_some_and(|s| s.since >= revocation.at);
        if !newer {
            let mut batch = Batch::default();
            self.stage_suppression(
                &mut batch,
                phone,
                &Suppression {
                    since: revocation.at,
                    cause: SuppressionCause::OptedOut,
                },
            );
            self.commit(batch)?;
            self.audit.record(
                crate::audit::Record::new(crate::audit::Action::Suppression, &revocation.actor)
                    .subject(self.contact_ref(phone))
                    .details(serde_json::json!({
                        "origin": self.audit_origin(&revocation.origin),
                        "reason": revocation.reason,
                        "cause": "opted out before bote knew the number",
                    }))
                    .at(revocation.at),
            )?;
        }
        Ok(OptOut::Suppressed)
    }

    /// [`Store::revoke`] with the consent writer held by the caller; `None`
    /// when the number is not in the store.
    fn revoke_held(
        &self,
        phone: Phone,
        topic: Option<&str>,
        revocation: &Revocation,
    ) -> Result<Option<usize>, StoreError> {
        let Some(mut contact) = self.contact(phone)? else {
            return Ok(None);
        };
        let mut events = Vec::new();
        for (name, t) in contact.topics.iter_mut() {
            let newer = t.opted_in_at > revocation.at;
            if topic.is_some_and(|x| x != name) || t.status == ConsentStatus::Revoked || newer {
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
        Ok(Some(events.len()))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::consent::store::fixtures::{contact, phone};

    fn revocation(at: DateTime<Utc>) -> Revocation {
        Revocation {
            at,
            actor: "webhook".into(),
            origin: "webhook:wamid.X".into(),
            reason: "replied with a stop keyword".into(),
        }
    }

    #[test]
    fn a_revocation_older_than_the_consent_leaves_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let p = phone("0171 2345678");
        let c = contact(p, ConsentStatus::Confirmed);
        let signed_up = c.topics["sale"].opted_in_at;
        store.write(&c, &[]).expect("write");
        let late = revocation(signed_up - Duration::minutes(2));
        assert_eq!(store.revoke(p, None, &late).expect("revoke"), 0);
        assert_eq!(
            store.opt_out(p, &late).expect("opt out"),
            OptOut::Revoked(0)
        );
        assert!(store
            .contact(p)
            .expect("read")
            .expect("c")
            .may_receive("sale"));
        let on_time = revocation(signed_up + Duration::minutes(2));
        assert_eq!(
            store.opt_out(p, &on_time).expect("opt out"),
            OptOut::Revoked(1)
        );
        assert!(!store
            .contact(p)
            .expect("read")
            .expect("c")
            .may_receive("sale"));
        assert!(store.suppression(p).expect("read").is_none());
    }

    #[test]
    fn an_opt_out_from_a_number_not_in_the_store_suppresses_it_and_keeps_the_newest() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let p = phone("0171 2345678");
        let t = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let epoch = store.consent_epoch();
        assert_eq!(
            store.opt_out(p, &revocation(t)).expect("opt out"),
            OptOut::Suppressed
        );
        assert!(
            store.consent_epoch() > epoch,
            "the plan's re-check must see it"
        );
        let older = t - Duration::hours(1);
        store.opt_out(p, &revocation(older)).expect("opt out");
        let s = store.suppression(p).expect("read").expect("suppressed");
        assert_eq!((s.since, s.cause), (t, SuppressionCause::OptedOut));
        assert_eq!(
            store.contact(p).expect("read"),
            None,
            "no contact is created"
        );
    }
}
