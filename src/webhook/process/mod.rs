//! What a webhook body does to the store: statuses move campaign journal
//! records, opt-out signals revoke consent (G5), confirmations complete a
//! double opt-in (G3).
//!
//! A body is flattened into [`Item`]s in document order; each item is one
//! idempotent step, so re-processing a body after a crash changes nothing:
//!
//! | item | effect |
//! |------|--------|
//! | status sent/delivered/read/failed | journal record by `biz_opaque_callback_data`, which must name the record's own number (else the status is rejected) and no other wamid; [`apply_status`] decides (never backwards, failed final, a failure after read only noted, duplicates no-ops) |
//! | failed status with 131050 | opt-out of the number the status names |
//! | text/button/interactive equal to a stop keyword or "Stop promotions" | opt-out of the sender |
//! | … equal to a confirm keyword | pending topics → confirmed (`reply` / `button`) |
//! | `user_preferences` `stop` | opt-out of the user; `resume` is recorded, nothing changes |
//!
//! An opt-out revokes every topic signed up before the signal's own time,
//! or, for a number not in the store, suppresses it ([`Store::opt_out`]).
//! Inbound messages (and timed preferences) are processed once: a
//! redelivered one is recognised by its id ([`SeenEvents`]).
//!
//! A status for a record the dispatcher still has *in flight* waits (the
//! item is deferred and retried) until the dispatcher's writer has recorded
//! the send's outcome, so the writer cannot overwrite a newer webhook state
//! with `accepted`. After [`MAX_DEFERRALS`] tries it is applied anyway (a
//! crashed run leaves records in flight; a webhook proves the send).
//!
//! `status` holds the journal side, `signals` the consent side.
//!
//! [`apply_status`]: crate::campaign::journal::apply_status
//! [`SeenEvents`]: super::seen::SeenEvents

mod category;
mod identity;
mod platform;
mod signals;
mod status;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::keywords::Keywords;
use super::payload::{ContactInfo, InboundMessage, Notification, Status, UserPreference, Value};
use super::seen::SeenEvents;
use crate::campaign::journal::RecipientState;
use crate::campaign::{CampaignId, Campaigns};
use crate::consent::{ConfirmationMethod, Store, StoreError};
use crate::phone::Phone;

/// Who processed webhook events (G13).
pub const ACTOR: &str = "webhook";
/// The error code of "the user stopped marketing messages".
pub const STOPPED_MARKETING: i64 = 131_050;
/// How often a status for an in-flight record is retried before it is
/// applied anyway (× [`DEFER_INTERVAL`] ≈ 5 s).
pub const MAX_DEFERRALS: u32 = 50;
/// Wait between tries of a deferred status.
pub const DEFER_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);
/// Clock skew allowed between Meta's, the sign-up form's and bote's clocks:
/// a confirmation may predate the recorded sign-up by this much, and a
/// signal may be dated this far after it arrived (later is taken as its
/// arrival: a signal from the future would outrank every consent to come).
const CLOCK_SKEW_MINUTES: i64 = 10;

/// What happened to one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusResult {
    /// The record moved.
    Applied,
    /// Duplicate, older than the record, or after a final failure.
    Unchanged,
    /// No journal record matches the wamid or the callback data.
    Unmatched,
    /// The record the callback data names belongs to another number than
    /// the status's recipient (or the recipient is not a number): forged or
    /// broken callback data, nothing changed.
    Rejected,
    /// A failure reported after the message was read: the record stays
    /// read and notes the failure.
    Noted,
}

/// One processed item, for the processed log and the views. Numbers are
/// masked: this log outlives the raw body (G8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// A delivery status.
    Status {
        /// The message id.
        wamid: String,
        /// sent / delivered / read / failed.
        status: RecipientState,
        /// Campaign of the record.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        campaign: Option<CampaignId>,
        /// Index of the record.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<u32>,
        /// The record's state afterwards.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<RecipientState>,
        /// What happened.
        result: StatusResult,
        /// Found by callback data (an `unknown` send reconciled).
        #[serde(default)]
        reconciled: bool,
    },
    /// Consent revoked (G5).
    Revoked {
        /// Masked number.
        phone: String,
        /// `stop_keyword`, `stop_button`, `user_preferences`, `status_131050`.
        signal: String,
        /// Topics that changed (0: already revoked, given after the signal,
        /// or not in the store).
        topics: usize,
        /// The evidence.
        origin: String,
        /// Not in the store: suppressed until a consent given after the signal.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        suppressed: bool,
    },
    /// Pending consents confirmed (G3).
    Confirmed {
        /// Masked number.
        phone: String,
        /// The topics confirmed; empty when nothing was pending.
        topics: Vec<String>,
        /// `reply` or `button`.
        method: ConfirmationMethod,
        /// The evidence.
        origin: String,
    },
    /// An opt-out that named only a BSUID no contact has (yet): kept as a
    /// suppression of that BSUID (G5).
    UserSuppressed {
        /// The BSUID, masked.
        user_id: String,
        /// `stop_keyword`, `stop_button`, `user_preferences`, `status_131050`.
        signal: String,
        /// The evidence.
        origin: String,
    },
    /// `user_changed_number` / `user_changed_user_id`: the identity was
    /// updated and recorded in the contact's history.
    IdentityChanged {
        /// Masked number of the contact.
        phone: String,
        /// Which system message.
        what: String,
        /// Topics revoked (a changed number ends the old number's consents).
        topics_revoked: usize,
    },
    /// `template_category_update`: the latest category of a template.
    TemplateCategory {
        /// Template name.
        template: String,
        /// Template language.
        language: String,
        /// The category (now, or to come for an impending notice).
        category: crate::template::Category,
        /// The category before, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<crate::template::Category>,
        /// An announcement (not routed on) rather than the completed change.
        impending: bool,
    },
    /// `message_template_status_update`: the status Meta gave a template;
    /// PAUSED / DISABLED stop the campaigns using it before their next send.
    TemplateStatus {
        /// Template name.
        template: String,
        /// Template language.
        language: String,
        /// The status now.
        status: crate::template::Status,
        /// The status before, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<crate::template::Status>,
        /// The campaigns using the template that were sending, held or scheduled.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        campaigns: Vec<CampaignId>,
    },
    /// `message_template_quality_update`: a template's rating.
    TemplateQuality {
        /// Template name.
        template: String,
        /// Template language.
        language: String,
        /// The rating now.
        quality: crate::platform::Quality,
        /// The rating before, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<crate::platform::Quality>,
    },
    /// `phone_number_quality_update`, `account_update`, `account_alerts`,
    /// `business_capability_update`: kept in the account state.
    Account {
        /// The change field.
        field: String,
        /// Meta's event (or alert type).
        event: String,
        /// Further words (limit, restriction, description).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// `user_preferences` `resume`: recorded, consent unchanged.
    Resumed {
        /// Masked number.
        phone: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Read, nothing to do.
    Ignored {
        /// What and why.
        what: String,
    },
}

/// One step of a body.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A status to apply to the journal.
    Status(Status),
    /// A failed status with 131050: revoke.
    StatusRevoke(Status),
    /// An inbound message.
    Message(InboundMessage),
    /// A marketing preference.
    Preference(UserPreference),
    /// A `template_category_update`.
    Category(Box<Value>),
    /// A template or account state change: (field, value).
    Platform(String, Box<Value>),
    /// A change bote does not read.
    Other(String),
}

/// The items of a body, in document order.
pub fn items(n: &Notification) -> Vec<Item> {
    let mut out = Vec::new();
    for change in n.entry.iter().flat_map(|e| &e.changes) {
        let v = &change.value;
        let before = out.len();
        if change.field == "template_category_update" {
            out.push(Item::Category(Box::new(v.clone())));
            continue;
        }
        if platform::FIELDS.contains(&change.field.as_str()) {
            out.push(Item::Platform(change.field.clone(), Box::new(v.clone())));
            continue;
        }
        for s in &v.statuses {
            out.push(Item::Status(s.clone()));
            if s.status == "failed" && s.errors.iter().any(|e| e.code == STOPPED_MARKETING) {
                out.push(Item::StatusRevoke(s.clone()));
            }
        }
        out.extend(
            v.messages
                .iter()
                .map(|m| Item::Message(with_sender_ids(m, &v.contacts))),
        );
        out.extend(v.user_preferences.iter().cloned().map(Item::Preference));
        if out.len() == before {
            out.push(Item::Other(change.field.clone()));
        }
    }
    out
}

/// The message with its sender's BSUID (and number) from `contacts[]`
/// when the message itself does not name them: Meta puts the ids there,
/// and withholds `from` for some username users.
fn with_sender_ids(m: &InboundMessage, contacts: &[ContactInfo]) -> InboundMessage {
    let mut m = m.clone();
    let sender = match contacts {
        [one] => Some(one),
        many => many
            .iter()
            .find(|c| !m.from.is_empty() && c.wa_id == m.from),
    };
    if let Some(c) = sender {
        if m.from_user_id.is_none() {
            m.from_user_id.clone_from(&c.user_id);
        }
        if m.from.is_empty() {
            m.from.clone_from(&c.wa_id);
        }
    }
    m
}

/// A BSUID as logs and views show it: the country and the last 4 characters.
pub(crate) fn masked_user(user_id: &str) -> String {
    let (cc, id) = user_id.split_once('.').unwrap_or(("??", user_id));
    let tail: String = id
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{cc}.…{tail}")
}

/// What one item came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Done.
    Done(Outcome),
    /// A status for an in-flight record: try again later.
    Defer,
}

/// How long a confirmation request stays answerable by default.
pub const INVITATION_VALID_FOR: chrono::Duration = chrono::Duration::days(7);

/// Applies items to the store and the journals.
#[derive(Clone)]
pub struct Processor {
    store: Arc<Store>,
    campaigns: Campaigns,
    keywords: Keywords,
    seen: Arc<SeenEvents>,
    /// The invitations a confirmation must answer.
    invites: crate::webhook::invite::Invites,
    /// Latest template categories (`template_category_update`).
    categories: crate::cloud::TemplateCategories,
    /// How long after an invitation a "JA" still confirms it.
    invitation_valid_for: chrono::Duration,
}

impl std::fmt::Debug for Processor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processor")
            .field("keywords", &self.keywords)
            .finish()
    }
}

fn masked(p: Phone) -> String {
    p.masked(4)
}

impl Processor {
    /// A processor over `store` and its campaigns.
    pub fn new(
        store: Arc<Store>,
        campaigns: Campaigns,
        keywords: Keywords,
    ) -> Result<Self, StoreError> {
        let seen = Arc::new(SeenEvents::open(&store)?);
        let invites = crate::webhook::invite::Invites::open(&store)?;
        let categories = crate::cloud::TemplateCategories::open(store.db())?;
        Ok(Self {
            store,
            campaigns,
            keywords,
            seen,
            invites,
            categories,
            invitation_valid_for: INVITATION_VALID_FOR,
        })
    }

    /// How long after an invitation a confirmation still counts.
    pub fn invitation_valid_for(mut self, d: chrono::Duration) -> Self {
        self.invitation_valid_for = d;
        self
    }

    /// Processes one item. `force` applies a status even to an in-flight
    /// record; `received_at` dates signals that carry no time; `entry` names
    /// the inbox entry for evidence without a message id.
    pub fn item(
        &self,
        item: &Item,
        force: bool,
        received_at: DateTime<Utc>,
        entry: u64,
    ) -> Result<Step, StoreError> {
        match item {
            Item::Status(s) => self.status(s, force),
            Item::StatusRevoke(s) => self.status_revoke(s, received_at).map(Step::Done),
            Item::Message(m) => self.message(m, received_at).map(Step::Done),
            Item::Preference(p) => self.preference(p, received_at, entry).map(Step::Done),
            Item::Category(v) => self.category(v, received_at).map(Step::Done),
            Item::Platform(field, v) => self.platform(field, v, force, received_at),
            Item::Other(field) => Ok(Step::Done(Outcome::Ignored {
                what: format!("change field {field:?} without statuses, messages or preferences"),
            })),
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_flatten_in_document_order() {
        let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[
          {"field":"messages","value":{"statuses":[
            {"id":"w1","status":"failed","timestamp":"1","recipient_id":"491711","errors":[{"code":131050}]},
            {"id":"w2","status":"read","timestamp":"2","recipient_id":"491712"}]}},
          {"field":"message_template_status_update","value":{"event":"APPROVED"}},
          {"field":"user_preferences","value":{"user_preferences":[{"wa_id":"491713","value":"stop"}]}}]}]}"#;
        let n: Notification = serde_json::from_str(body).expect("parses");
        let kinds: Vec<&str> = items(&n)
            .iter()
            .map(|i| match i {
                Item::Status(_) => "status",
                Item::StatusRevoke(_) => "revoke",
                Item::Message(_) => "message",
                Item::Preference(_) => "preference",
                Item::Category(_) => "category",
                Item::Platform(..) => "platform",
                Item::Other(_) => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            ["status", "revoke", "status", "platform", "preference"]
        );
    }

    #[test]
    fn a_message_takes_its_sender_ids_from_contacts() {
        let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[
          {"field":"messages","value":{"contacts":[{"user_id":"DE.1502576394655843"}],
            "messages":[{"id":"w1","timestamp":"1","type":"text","text":{"body":"STOP"}}]}},
          {"field":"template_category_update","value":{"message_template_name":"promo",
            "message_template_language":"de","previous_category":"UTILITY","new_category":"MARKETING"}}]}]}"#;
        let n: Notification = serde_json::from_str(body).expect("parses");
        let items = items(&n);
        let Item::Message(m) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(m.from_user_id.as_deref(), Some("DE.1502576394655843"));
        assert!(matches!(items[1], Item::Category(_)));
        assert_eq!(masked_user("DE.1502576394655843"), "DE.…5843");
    }
}
