//! What a webhook body does to the store: statuses move campaign journal
//! records, opt-out signals revoke consent (G5), confirmations complete a
//! double opt-in (G3).
//!
//! A body is flattened into [`Item`]s in document order; each item is one
//! idempotent step, so re-processing a body after a crash changes nothing:
//!
//! | item | effect |
//! |------|--------|
//! | status sent/delivered/read/failed | journal record by `biz_opaque_callback_data` (checked against number and wamid); [`apply_status`] decides (never backwards, failed final, duplicates no-ops) |
//! | failed status with 131050 | revoke every topic of the recipient |
//! | text/button/interactive equal to a stop keyword or "Stop promotions" | revoke every topic |
//! | … equal to a confirm keyword | pending topics → confirmed (`reply` / `button`) |
//! | `user_preferences` `stop` | revoke every topic; `resume` is recorded, nothing changes |
//!
//! A status for a record the dispatcher still has *in flight* waits (the
//! item is deferred and retried) until the dispatcher's writer has recorded
//! the send's outcome, so the writer cannot overwrite a newer webhook state
//! with `accepted`. After [`MAX_DEFERRALS`] tries it is applied anyway (a
//! crashed run leaves records in flight; a webhook proves the send).

use std::sync::Arc;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::{Deserialize, Serialize};

use super::keywords::Keywords;
use super::payload::{InboundMessage, Notification, Status, UserPreference};
use crate::campaign::journal::{apply_status, RecipientState, StatusUpdate};
use crate::campaign::{parse_callback_data, CampaignId, Campaigns};
use crate::consent::{
    Change, ConfirmationMethod, ConsentEvent, ConsentStatus, Revocation, Store, StoreError,
};
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
/// A confirmation may predate the recorded sign-up by this much (clock skew
/// between the sign-up form's server and Meta's).
const CONFIRM_SKEW_MINUTES: i64 = 10;

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
        /// Topics that changed (0: already revoked or not in the store).
        topics: usize,
        /// The evidence.
        origin: String,
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
    /// A change bote does not read.
    Other(String),
}

/// The items of a body, in document order.
pub fn items(n: &Notification) -> Vec<Item> {
    let mut out = Vec::new();
    for change in n.entry.iter().flat_map(|e| &e.changes) {
        let v = &change.value;
        let before = out.len();
        for s in &v.statuses {
            out.push(Item::Status(s.clone()));
            if s.status == "failed" && s.errors.iter().any(|e| e.code == STOPPED_MARKETING) {
                out.push(Item::StatusRevoke(s.clone()));
            }
        }
        out.extend(v.messages.iter().cloned().map(Item::Message));
        out.extend(v.user_preferences.iter().cloned().map(Item::Preference));
        if out.len() == before {
            out.push(Item::Other(change.field.clone()));
        }
    }
    out
}

/// What one item came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Done.
    Done(Outcome),
    /// A status for an in-flight record: try again later.
    Defer,
}

/// Applies items to the store and the journals.
#[derive(Clone)]
pub struct Processor {
    store: Arc<Store>,
    campaigns: Campaigns,
    keywords: Keywords,
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

fn status_state(s: &str) -> Option<RecipientState> {
    match s {
        "sent" => Some(RecipientState::Sent),
        "delivered" => Some(RecipientState::Delivered),
        "read" => Some(RecipientState::Read),
        "failed" => Some(RecipientState::Failed),
        _ => None,
    }
}

/// A journal record a status refers to.
struct Target {
    campaign: CampaignId,
    index: u32,
    journal: crate::campaign::Journal,
    record: crate::campaign::journal::RecipientRecord,
    reconciled: bool,
}

impl Processor {
    /// A processor over `store` and its campaigns.
    pub fn new(store: Arc<Store>, campaigns: Campaigns, keywords: Keywords) -> Self {
        Self {
            store,
            campaigns,
            keywords,
        }
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
            Item::StatusRevoke(s) => self.status_revoke(s).map(Step::Done),
            Item::Message(m) => self.message(m).map(Step::Done),
            Item::Preference(p) => self.preference(p, received_at, entry).map(Step::Done),
            Item::Other(field) => Ok(Step::Done(Outcome::Ignored {
                what: format!("change field {field:?} without statuses, messages or preferences"),
            })),
        }
    }

    fn locate(&self, s: &Status) -> Result<Option<Target>, StoreError> {
        // Meta echoes the callback data in every status of a message, so it
        // is the index; bote 0.1 also kept a message-id index, still read
        // for statuses that come without it.
        let by_callback = s
            .biz_opaque_callback_data
            .as_deref()
            .and_then(parse_callback_data);
        let located = match by_callback {
            Some(found) => Some(found),
            None => self.campaigns.locate_wamid(&s.id)?,
        };
        let Some((campaign, index)) = located else {
            return Ok(None);
        };
        // Never open (and so create) a journal tree for a campaign that
        // does not exist.
        if self.campaigns.get(campaign)?.is_none() {
            return Ok(None);
        }
        let journal = self.campaigns.journal(campaign)?;
        let Some(record) = journal.get(index)? else {
            return Ok(None);
        };
        // The callback data must describe this very message: same number,
        // and no other message id already on the record.
        let same_phone = match (record.phone, Phone::from_e164(&s.recipient_id)) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        let same_message = record.wamid.as_deref().is_none_or(|w| w == s.id);
        if !(same_phone && same_message) {
            return Ok(None);
        }
        Ok(Some(Target {
            campaign,
            index,
            journal,
            // No message id yet: the send's own outcome was lost (unknown,
            // or in flight at a crash) and this status proves it.
            reconciled: record.wamid.is_none(),
            record,
        }))
    }

    fn status(&self, s: &Status, force: bool) -> Result<Step, StoreError> {
        let Some(state) = status_state(&s.status) else {
            return Ok(Step::Done(Outcome::Ignored {
                what: format!("status {:?} of {}", s.status, s.id),
            }));
        };
        let outcome = |t: Option<&Target>, after: Option<RecipientState>, result| Outcome::Status {
            wamid: s.id.clone(),
            status: state,
            campaign: t.map(|t| t.campaign),
            index: t.map(|t| t.index),
            state: after,
            result,
            reconciled: t.is_some_and(|t| t.reconciled),
        };
        let Some(target) = self.locate(s)? else {
            return Ok(Step::Done(outcome(None, None, StatusResult::Unmatched)));
        };
        if target.record.state == RecipientState::InFlight && !force {
            return Ok(Step::Defer);
        }
        let first_error = s.errors.first();
        let update = StatusUpdate {
            state,
            code: first_error.and_then(|e| u32::try_from(e.code).ok()),
            wamid: s.id.clone(),
            at: s.timestamp,
        };
        match apply_status(&target.record, &update) {
            Some(mut next) => {
                if let (RecipientState::Failed, Some(title)) =
                    (state, first_error.and_then(|e| e.title.as_deref()))
                {
                    next.reason = Some(format!(
                        "failed status webhook, code {}: {title}",
                        update.code.unwrap_or(0)
                    ));
                }
                target.journal.write(&[(target.index, next)])?;
                Ok(Step::Done(outcome(
                    Some(&target),
                    Some(state),
                    StatusResult::Applied,
                )))
            }
            None => Ok(Step::Done(outcome(
                Some(&target),
                Some(target.record.state),
                StatusResult::Unchanged,
            ))),
        }
    }

    fn status_revoke(&self, s: &Status) -> Result<Outcome, StoreError> {
        let phone = match self.locate(s)?.and_then(|t| t.record.phone) {
            Some(p) => Some(p),
            None => Phone::from_e164(&s.recipient_id),
        };
        let Some(phone) = phone else {
            return Ok(Outcome::Ignored {
                what: format!("131050 for {} without a phone number", s.id),
            });
        };
        self.revoke(
            phone,
            s.timestamp,
            format!("webhook:{}", s.id),
            "status_131050",
            "the recipient stopped marketing messages (failed status, error 131050)",
        )
    }

    fn revoke(
        &self,
        phone: Phone,
        at: DateTime<Utc>,
        origin: String,
        signal: &str,
        reason: &str,
    ) -> Result<Outcome, StoreError> {
        let topics = self.store.revoke(
            phone,
            None,
            &Revocation {
                at,
                actor: ACTOR.into(),
                origin: origin.clone(),
                reason: reason.into(),
            },
        )?;
        if topics > 0 {
            tracing::info!(phone = %masked(phone), signal, topics, "consent revoked by webhook");
        }
        Ok(Outcome::Revoked {
            phone: masked(phone),
            signal: signal.into(),
            topics,
            origin,
        })
    }

    fn message(&self, m: &InboundMessage) -> Result<Outcome, StoreError> {
        let Some(phone) = Phone::from_e164(&m.from) else {
            return Ok(Outcome::Ignored {
                what: format!("message {} from a sender that is not a phone number", m.id),
            });
        };
        let answers = m.answers();
        let origin = format!("webhook:{}", m.id);
        if answers.iter().any(|a| self.keywords.is_stop(a)) {
            let (signal, reason) = if m.is_tap() {
                ("stop_button", "tapped the stop button")
            } else {
                ("stop_keyword", "replied with a stop keyword")
            };
            return self.revoke(phone, m.timestamp, origin, signal, reason);
        }
        if answers.iter().any(|a| self.keywords.is_confirm(a)) {
            let method = if m.is_tap() {
                ConfirmationMethod::Button
            } else {
                ConfirmationMethod::Reply
            };
            let topics = self.confirm(phone, m.timestamp, method, &origin)?;
            return Ok(Outcome::Confirmed {
                phone: masked(phone),
                topics,
                method,
                origin,
            });
        }
        // The text itself is not kept (G8).
        Ok(Outcome::Ignored {
            what: format!("{} message {} without a keyword", m.kind, m.id),
        })
    }

    /// Pending topics → confirmed, with one `Confirmed` event each, in one
    /// atomic write, holding the store's consent writer from the read to
    /// the write, so a confirmation never overwrites a newer revocation
    /// (by the dispatcher, an operator or an import).
    fn confirm(
        &self,
        phone: Phone,
        at: DateTime<Utc>,
        method: ConfirmationMethod,
        origin: &str,
    ) -> Result<Vec<String>, StoreError> {
        let _writer = self.store.consent_writer();
        {
            let Some(before) = self.store.contact(phone)? else {
                return Ok(Vec::new());
            };
            let mut contact = before.clone();
            let mut events = Vec::new();
            let mut topics = Vec::new();
            for (name, t) in contact.topics.iter_mut() {
                let after_signup =
                    at + ChronoDuration::minutes(CONFIRM_SKEW_MINUTES) >= t.opted_in_at;
                if t.status != ConsentStatus::Pending || !after_signup {
                    continue;
                }
                t.status = ConsentStatus::Confirmed;
                t.confirmed_at = Some(at);
                t.method = Some(method);
                topics.push(name.clone());
                events.push(ConsentEvent {
                    recorded_at: Utc::now(),
                    actor: ACTOR.into(),
                    origin: origin.into(),
                    change: Change::Confirmed {
                        topic: name.clone(),
                        confirmed_at: at,
                        method,
                    },
                });
            }
            if events.is_empty() {
                return Ok(topics);
            }
            self.store.write(&contact, &events)?;
            tracing::info!(phone = %masked(phone), ?topics, %method, "consent confirmed by webhook");
            Ok(topics)
        }
    }

    fn preference(
        &self,
        p: &UserPreference,
        received_at: DateTime<Utc>,
        entry: u64,
    ) -> Result<Outcome, StoreError> {
        let Some(phone) = Phone::from_e164(&p.wa_id) else {
            return Ok(Outcome::Ignored {
                what: "user preference of a user without a phone number".into(),
            });
        };
        if !(p.category.is_empty() || p.category == "marketing_messages") {
            return Ok(Outcome::Ignored {
                what: format!("user preference category {:?}", p.category),
            });
        }
        let at = p.timestamp.unwrap_or(received_at);
        match p.value.to_ascii_lowercase().as_str() {
            "stop" => self.revoke(
                phone,
                at,
                format!("webhook:user_preferences:{entry}"),
                "user_preferences",
                "the user stopped marketing messages in WhatsApp (user_preferences)",
            ),
            // Allowing marketing again in WhatsApp is not a consent (G3, G5).
            "resume" => {
                tracing::info!(phone = %masked(phone), "marketing resumed in WhatsApp; consent unchanged");
                Ok(Outcome::Resumed {
                    phone: masked(phone),
                    at,
                })
            }
            other => Ok(Outcome::Ignored {
                what: format!("user preference value {other:?}"),
            }),
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
                Item::Other(_) => "other",
            })
            .collect();
        assert_eq!(kinds, ["status", "revoke", "status", "other", "preference"]);
    }
}
