//! A campaign's journal: one durable record per recipient and the state
//! machine every send goes through.
//!
//! ```text
//! pending ──► in_flight ──► accepted ──► sent ──► delivered ──► read
//!    ▲            │  │  │        └──────────────┴──► failed(code)  (async, webhook)
//!    └─ requeued ─┘  │  └──► failed(code) | skipped(reason)
//!                    └─────► unknown ──► (webhook) accepted… | (operator) pending
//! ```
//!
//! A record is marked `in_flight` durably *before* its request leaves, so a
//! crash can only leave `in_flight` records, which [`Journal::repair`] turns
//! into `unknown` — never silently re-sent (invariant 2). Every record is in
//! exactly one state, so the counts always add up to the audience
//! (invariant 3).
//!
//! Here: the states, the record and how webhook statuses and dispatcher
//! outcomes move it; `codec` writes and reads a record's bytes, `counts`
//! tallies records per state.

mod codec;
mod counts;
pub mod pricing;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::phone::Phone;
use crate::template::Params;

pub(super) use codec::corrupt;
pub use codec::{decode, decode_head, decode_state, encode};
pub use counts::Counts;
pub use pricing::{Pricing, PricingCategory, PricingType};

/// Where a recipient stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    /// Waiting to be sent.
    Pending,
    /// Marked for sending; the request may be on the wire.
    InFlight,
    /// The API took the message (not yet delivered).
    Accepted,
    /// Webhook: sent to the device.
    Sent,
    /// Webhook: delivered.
    Delivered,
    /// Webhook: read.
    Read,
    /// Failed with an API error code (final).
    Failed,
    /// Not sent, with a reason (plan exclusion, consent revoked, cancelled).
    Skipped,
    /// The request may or may not have reached the API (crash, lost response).
    Unknown,
    /// Not taken because of Meta's per-user marketing cap (131049): not
    /// the recipient's doing, sent again only when the operator asks,
    /// ≥ 24 h later (`campaign resend ID --deferred`).
    Deferred,
}

impl RecipientState {
    /// All states, in display order.
    // The binary journal stores the index into this list: append only.
    pub const ALL: [Self; 10] = [
        Self::Pending,
        Self::InFlight,
        Self::Accepted,
        Self::Sent,
        Self::Delivered,
        Self::Read,
        Self::Failed,
        Self::Skipped,
        Self::Unknown,
        Self::Deferred,
    ];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InFlight => "in_flight",
            Self::Accepted => "accepted",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Unknown => "unknown",
            Self::Deferred => "deferred",
        }
    }

    /// Whether the API has (by response or webhook) taken the message.
    pub fn is_delivered_path(self) -> bool {
        matches!(
            self,
            Self::Accepted | Self::Sent | Self::Delivered | Self::Read
        )
    }

    /// Whether nothing more will happen without a webhook or the operator.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::InFlight)
    }

    /// Rank on the delivery path: a webhook never moves a record backwards.
    fn delivery_rank(self) -> Option<u8> {
        match self {
            Self::Accepted => Some(1),
            Self::Sent => Some(2),
            Self::Delivered => Some(3),
            Self::Read => Some(4),
            _ => None,
        }
    }
}

impl std::fmt::Display for RecipientState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RecipientState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a recipient state"))
    }
}

/// One recipient of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientRecord {
    /// The number; `None` for list entries that were not valid numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    /// Template parameters, frozen at planning time.
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    /// Current state.
    pub state: RecipientState,
    /// API error code (failed) or last retryable code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u32>,
    /// Why it was skipped or is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The message id, once accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wamid: Option<String>,
    /// Send attempts made.
    #[serde(default)]
    pub attempts: u32,
    /// Latency of the last request, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u32>,
    /// Last state change.
    pub updated_at: DateTime<Utc>,
    /// Who caused the last change (G13): OS user, `dispatcher`, `webhook`.
    pub actor: String,
    /// When consent was last checked for this send: right before the
    /// request left (the DPO proof shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<DateTime<Utc>>,
    /// What Meta's status webhooks said the message costs (the actual
    /// cost counts delivered, charged ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Pricing>,
}

impl RecipientRecord {
    /// Drops what identifies the person — number, personalisation, message
    /// id (it encodes the number) — keeping state and counts (erasure G10,
    /// retention G9). Returns whether anything was there to drop.
    pub fn anonymise(&mut self) -> bool {
        let had = self.phone.is_some() || !self.params.0.is_empty() || self.wamid.is_some();
        self.phone = None;
        self.params = Params::default();
        self.wamid = None;
        had
    }
}

/// A delivery status from a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// sent / delivered / read / failed.
    pub state: RecipientState,
    /// Error code of a failed status.
    pub code: Option<u32>,
    /// The message id.
    pub wamid: String,
    /// When Meta says it happened.
    pub at: DateTime<Utc>,
    /// The status's `pricing`, if it had one.
    pub pricing: Option<Pricing>,
}

/// Whether a webhook status moves a record, and to what (never backwards,
/// failed is final, a failure after read is only noted, duplicates change
/// nothing).
pub fn apply_status(rec: &RecipientRecord, update: &StatusUpdate) -> Option<RecipientRecord> {
    let cur = rec.state;
    if update.state == RecipientState::Failed && cur == RecipientState::Read {
        // A message that was read was delivered: a failure reported after
        // that (late, or about something that did not stop delivery) does
        // not undo it. The record stays read and keeps the failure as a
        // note; the same note again changes nothing.
        let note = format!(
            "failed status webhook after read, code {}: kept read",
            update.code.unwrap_or(0)
        );
        return (rec.reason.as_deref() != Some(note.as_str())).then(|| RecipientRecord {
            reason: Some(note),
            actor: "webhook".into(),
            ..rec.clone()
        });
    }
    let allowed = match update.state {
        RecipientState::Failed => {
            cur.is_delivered_path()
                || cur == RecipientState::Unknown
                || cur == RecipientState::InFlight
        }
        s => match (cur.delivery_rank(), s.delivery_rank()) {
            (Some(a), Some(b)) => b > a,
            // An unknown send proven by a webhook: the API did take it.
            (None, Some(_)) => matches!(cur, RecipientState::Unknown | RecipientState::InFlight),
            _ => false,
        },
    };
    allowed.then(|| RecipientRecord {
        state: update.state,
        pricing: update.pricing.or(rec.pricing),
        code: update.code.or(rec.code),
        wamid: Some(update.wamid.clone()),
        reason: if update.state == RecipientState::Failed {
            Some(format!(
                "failed status webhook, code {}",
                update.code.unwrap_or(0)
            ))
        } else {
            None
        },
        updated_at: update.at,
        actor: "webhook".into(),
        ..rec.clone()
    })
}

/// Folds a dispatcher outcome into the record as it is now. A status
/// webhook may have reached the record first (Meta can post `sent` before
/// the HTTP response is read): a record already further along the delivery
/// path, or failed by webhook, keeps its state and only gains the send's
/// details, so nothing ever moves backwards.
pub fn merge_outcome(
    current: Option<&RecipientRecord>,
    outcome: RecipientRecord,
) -> RecipientRecord {
    let Some(cur) = current else { return outcome };
    let ahead = matches!(
        cur.state,
        RecipientState::Sent | RecipientState::Delivered | RecipientState::Read
    ) || (cur.state == RecipientState::Failed && cur.actor == "webhook");
    let outcome_took = matches!(
        outcome.state,
        RecipientState::Accepted | RecipientState::Unknown
    );
    if ahead && outcome_took {
        RecipientRecord {
            wamid: cur.wamid.clone().or(outcome.wamid),
            attempts: outcome.attempts,
            latency_ms: outcome.latency_ms,
            checked_at: outcome.checked_at.or(cur.checked_at),
            ..cur.clone()
        }
    } else {
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record in `state` (shared with the codec's tests).
    pub(super) fn rec(state: RecipientState) -> RecipientRecord {
        RecipientRecord {
            phone: Phone::from_e164("+491712345678"),
            params: Params(vec!["Anna".into()]),
            state,
            code: None,
            reason: None,
            wamid: None,
            attempts: 1,
            latency_ms: None,
            updated_at: Utc::now(),
            actor: "test".into(),
            checked_at: None,
            pricing: None,
        }
    }

    fn status(state: RecipientState) -> StatusUpdate {
        StatusUpdate {
            state,
            code: (state == RecipientState::Failed).then_some(131026),
            wamid: "wamid.X".into(),
            at: Utc::now(),
            pricing: None,
        }
    }

    #[test]
    fn statuses_never_go_backwards() {
        use RecipientState::*;
        let read = apply_status(&rec(Accepted), &status(Read)).expect("forward");
        assert_eq!(read.state, Read);
        assert!(
            apply_status(&read, &status(Delivered)).is_none(),
            "read never back to delivered"
        );
        assert!(
            apply_status(&read, &status(Read)).is_none(),
            "duplicate changes nothing"
        );
        let failed =
            apply_status(&rec(Delivered), &status(Failed)).expect("failed after delivered");
        assert_eq!(failed.code, Some(131026));
        assert!(
            apply_status(&failed, &status(Read)).is_none(),
            "failed is final"
        );
        assert!(apply_status(&rec(Skipped), &status(Sent)).is_none());
        assert!(apply_status(&rec(Pending), &status(Sent)).is_none());
    }

    #[test]
    fn an_outcome_never_undoes_an_earlier_webhook() {
        let mut delivered = rec(RecipientState::Delivered);
        delivered.actor = "webhook".into();
        delivered.wamid = Some("wamid.X".into());
        let mut accepted = rec(RecipientState::Accepted);
        accepted.latency_ms = Some(42);
        let merged = merge_outcome(Some(&delivered), accepted.clone());
        assert_eq!(merged.state, RecipientState::Delivered);
        assert_eq!(merged.latency_ms, Some(42));
        // The usual case: the record is in flight and takes the outcome.
        let merged = merge_outcome(Some(&rec(RecipientState::InFlight)), accepted.clone());
        assert_eq!(merged, accepted);
    }

    #[test]
    fn webhook_reconciles_unknown() {
        let r = apply_status(
            &rec(RecipientState::Unknown),
            &status(RecipientState::Delivered),
        )
        .expect("reconciled");
        assert_eq!(r.state, RecipientState::Delivered);
        assert_eq!(r.wamid.as_deref(), Some("wamid.X"));
    }

    #[test]
    fn states_parse_and_print() {
        for s in RecipientState::ALL {
            assert_eq!(s.as_str().parse::<RecipientState>(), Ok(s));
        }
    }
}
