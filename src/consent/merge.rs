//! How a consent record (an import row) folds into a stored contact.
//!
//! Pure and deterministic, so that importing the same file twice changes
//! nothing the second time. The rules, per topic, by event time:
//! - a revocation wins over every consent step older than it, and is never
//!   undone by an older opt-in (G5); only a *newer* opt-in — a new consent —
//!   replaces it;
//! - a confirmed consent is never downgraded to pending by a row with the
//!   same or an older sign-up;
//! - a row with the same sign-up time may add the confirmation it lacked;
//! - locale and attributes follow the row with the latest event.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{Change, ConfirmationMethod, ConsentStatus, Contact, TopicConsent};
use crate::phone::Phone;

/// One validated consent record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    /// The number.
    pub phone: Phone,
    /// Sign-up time.
    pub opted_in_at: DateTime<Utc>,
    /// Sign-up channel.
    pub source: String,
    /// Confirmation time.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Confirmation method (present with `confirmed_at`).
    pub method: Option<ConfirmationMethod>,
    /// Topics the record covers.
    pub topics: Vec<String>,
    /// Language.
    pub locale: Option<String>,
    /// Consent wording.
    pub text_version: Option<String>,
    /// Revocation time: a revoking record.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Declared attributes.
    pub attributes: BTreeMap<String, String>,
}

impl ConsentRecord {
    /// The time of the latest step in the record.
    pub fn event_at(&self) -> DateTime<Utc> {
        [Some(self.opted_in_at), self.confirmed_at, self.revoked_at]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(self.opted_in_at)
    }

    fn topic_consent(&self, revoked_by: &str) -> TopicConsent {
        let status = match (self.revoked_at, self.confirmed_at) {
            (Some(_), _) => ConsentStatus::Revoked,
            (None, Some(_)) => ConsentStatus::Confirmed,
            (None, None) => ConsentStatus::Pending,
        };
        TopicConsent {
            status,
            opted_in_at: self.opted_in_at,
            source: self.source.clone(),
            confirmed_at: self.confirmed_at,
            method: self.method,
            text_version: self.text_version.clone(),
            revoked_at: self.revoked_at,
            revoked_by: self.revoked_at.map(|_| revoked_by.to_string()),
        }
    }
}

/// The result of folding a record into a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The contact after the record.
    pub contact: Contact,
    /// What changed, for the history; empty when nothing did.
    pub changes: Vec<Change>,
    /// Parts of the record that were deliberately not applied, and why.
    pub ignored: Vec<String>,
}

/// Folds `record` into `existing`; `origin` names the record (file and line).
pub fn merge(existing: Option<&Contact>, record: &ConsentRecord, origin: &str) -> Merged {
    let mut contact = existing.cloned().unwrap_or_else(|| Contact {
        phone: record.phone,
        locale: None,
        attributes: BTreeMap::new(),
        profile_at: record.event_at(),
        topics: BTreeMap::new(),
    });
    let mut changes = Vec::new();
    let mut ignored = Vec::new();
    let incoming = record.topic_consent(origin);

    for topic in &record.topics {
        let current = contact.topics.get(topic);
        let next = match current {
            None => Some(incoming.clone()),
            Some(cur) => decide(cur, &incoming, topic, &mut ignored),
        };
        if let Some(next) = next {
            if current != Some(&next) {
                changes.extend(describe(topic, current, &next));
                contact.topics.insert(topic.clone(), next);
            }
        }
    }

    // Profile: the latest record wins; an empty cell never erases a value.
    let newest = existing.is_none() || record.event_at() >= contact.profile_at;
    if newest {
        let mut changed_attrs = Vec::new();
        for (k, v) in &record.attributes {
            if !v.is_empty() && contact.attributes.get(k) != Some(v) {
                contact.attributes.insert(k.clone(), v.clone());
                changed_attrs.push(k.clone());
            }
        }
        let locale_changed = record
            .locale
            .as_ref()
            .is_some_and(|l| contact.locale.as_ref() != Some(l));
        if locale_changed {
            contact.locale.clone_from(&record.locale);
        }
        if !changed_attrs.is_empty() || locale_changed {
            contact.profile_at = record.event_at();
            changes.push(Change::ProfileUpdated {
                locale: locale_changed.then(|| contact.locale.clone()).flatten(),
                attributes: changed_attrs,
            });
        } else if existing.is_none() {
            contact.profile_at = record.event_at();
        }
    }
    Merged {
        contact,
        changes,
        ignored,
    }
}

/// The new state of one topic, or `None` to keep the current one.
fn decide(
    cur: &TopicConsent,
    inc: &TopicConsent,
    topic: &str,
    ignored: &mut Vec<String>,
) -> Option<TopicConsent> {
    use ConsentStatus::*;
    match (cur.status, inc.status) {
        // Already revoked: only a newer sign-up (a new consent) replaces it.
        (Revoked, Revoked) => None,
        (Revoked, _) => {
            let revoked_at = cur.revoked_at.unwrap_or(cur.opted_in_at);
            if inc.opted_in_at > revoked_at {
                Some(inc.clone())
            } else {
                ignored.push(format!(
                    "{topic}: consent was revoked on {}; an older opt-in does not restore it",
                    revoked_at.format("%Y-%m-%d")
                ));
                None
            }
        }
        // A revocation applies unless the stored consent is newer than it.
        (_, Revoked) => {
            let revoked_at = inc.revoked_at.unwrap_or(inc.opted_in_at);
            if revoked_at >= cur.last_event_at() {
                Some(TopicConsent {
                    status: Revoked,
                    revoked_at: inc.revoked_at,
                    revoked_by: inc.revoked_by.clone(),
                    ..cur.clone()
                })
            } else {
                ignored.push(format!(
                    "{topic}: revocation of {} is older than the stored consent of {}",
                    revoked_at.format("%Y-%m-%d"),
                    cur.last_event_at().format("%Y-%m-%d")
                ));
                None
            }
        }
        // A sign-up of someone already confirmed keeps the confirmation.
        (Confirmed, Pending) => None,
        (_, _) if inc.opted_in_at > cur.opted_in_at => Some(inc.clone()),
        (Pending, Confirmed) if inc.opted_in_at == cur.opted_in_at => Some(TopicConsent {
            status: Confirmed,
            confirmed_at: inc.confirmed_at,
            method: inc.method,
            text_version: cur
                .text_version
                .clone()
                .or_else(|| inc.text_version.clone()),
            ..cur.clone()
        }),
        _ => None,
    }
}

/// The history entries for a topic going from `cur` to `next`.
fn describe(topic: &str, cur: Option<&TopicConsent>, next: &TopicConsent) -> Vec<Change> {
    let mut out = Vec::new();
    let new_signup = cur.is_none_or(|c| c.opted_in_at != next.opted_in_at);
    if new_signup {
        out.push(Change::OptedIn {
            topic: topic.into(),
            opted_in_at: next.opted_in_at,
            source: next.source.clone(),
            text_version: next.text_version.clone(),
        });
    }
    let newly_confirmed = next.confirmed_at.is_some()
        && (new_signup || cur.is_some_and(|c| c.confirmed_at != next.confirmed_at));
    if let (true, Some(at), Some(method)) = (newly_confirmed, next.confirmed_at, next.method) {
        out.push(Change::Confirmed {
            topic: topic.into(),
            confirmed_at: at,
            method,
        });
    }
    if let (ConsentStatus::Revoked, Some(at)) = (next.status, next.revoked_at) {
        if cur.is_none_or(|c| c.status != ConsentStatus::Revoked) {
            out.push(Change::Revoked {
                topic: topic.into(),
                revoked_at: at,
                reason: next.revoked_by.clone().unwrap_or_default(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + i64::from(day) * 86_400, 0).expect("time")
    }

    fn record(opted: u32, confirmed: Option<u32>, revoked: Option<u32>) -> ConsentRecord {
        ConsentRecord {
            phone: Phone::from_e164("+491712345678").expect("phone"),
            opted_in_at: at(opted),
            source: "web-form".into(),
            confirmed_at: confirmed.map(at),
            method: confirmed.map(|_| ConfirmationMethod::Link),
            topics: vec!["sale".into()],
            locale: Some("de".into()),
            text_version: Some("v3".into()),
            revoked_at: revoked.map(at),
            attributes: BTreeMap::from([("first_name".into(), "Anna".into())]),
        }
    }

    fn status(m: &Merged) -> ConsentStatus {
        m.contact.topics["sale"].status
    }

    #[test]
    fn same_record_twice_changes_nothing() {
        let r = record(1, Some(2), None);
        let first = merge(None, &r, "a.csv:2");
        assert!(!first.changes.is_empty());
        let second = merge(Some(&first.contact), &r, "a.csv:2");
        assert!(second.changes.is_empty(), "{:?}", second.changes);
        assert_eq!(second.contact, first.contact);
    }

    #[test]
    fn older_opt_in_never_undoes_a_revocation() {
        let revoked = merge(None, &record(1, Some(2), Some(5)), "x");
        assert_eq!(status(&revoked), ConsentStatus::Revoked);
        let old = merge(Some(&revoked.contact), &record(1, Some(2), None), "y");
        assert_eq!(status(&old), ConsentStatus::Revoked);
        assert!(old.changes.is_empty());
        assert_eq!(old.ignored.len(), 1);
        let renewed = merge(Some(&revoked.contact), &record(9, Some(10), None), "z");
        assert_eq!(status(&renewed), ConsentStatus::Confirmed);
    }

    #[test]
    fn revocation_applies_to_older_consent_only() {
        let confirmed = merge(None, &record(3, Some(4), None), "x");
        let revoke = merge(Some(&confirmed.contact), &record(3, None, Some(6)), "y");
        assert_eq!(status(&revoke), ConsentStatus::Revoked);
        assert!(revoke
            .changes
            .iter()
            .any(|c| matches!(c, Change::Revoked { .. })));
        let stale = merge(Some(&confirmed.contact), &record(1, None, Some(2)), "z");
        assert_eq!(status(&stale), ConsentStatus::Confirmed);
    }

    #[test]
    fn confirmation_completes_a_pending_consent_and_is_never_lost() {
        let pending = merge(None, &record(1, None, None), "x");
        assert_eq!(status(&pending), ConsentStatus::Pending);
        let confirmed = merge(Some(&pending.contact), &record(1, Some(2), None), "y");
        assert_eq!(status(&confirmed), ConsentStatus::Confirmed);
        assert!(matches!(confirmed.changes[0], Change::Confirmed { .. }));
        let again_pending = merge(Some(&confirmed.contact), &record(1, None, None), "z");
        assert_eq!(status(&again_pending), ConsentStatus::Confirmed);
    }

    #[test]
    fn older_record_does_not_overwrite_profile() {
        let new = merge(None, &record(5, Some(6), None), "x");
        let mut old = record(1, Some(2), None);
        old.attributes.insert("first_name".into(), "Old".into());
        let m = merge(Some(&new.contact), &old, "y");
        assert_eq!(m.contact.attributes["first_name"], "Anna");
    }

    #[test]
    fn topics_are_independent() {
        let sale = merge(None, &record(1, Some(2), None), "x");
        let mut events = record(3, None, None);
        events.topics = vec!["events".into()];
        let both = merge(Some(&sale.contact), &events, "y");
        assert_eq!(both.contact.topics.len(), 2);
        assert!(both.contact.may_receive("sale"));
        assert!(!both.contact.may_receive("events"));
    }
}
