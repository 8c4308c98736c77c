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

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::consent::StoreError;
use crate::phone::Phone;
use crate::template::Params;

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
}

impl RecipientState {
    /// All states, in display order.
    pub const ALL: [Self; 9] = [
        Self::Pending,
        Self::InFlight,
        Self::Accepted,
        Self::Sent,
        Self::Delivered,
        Self::Read,
        Self::Failed,
        Self::Skipped,
        Self::Unknown,
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
}

/// Counts per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Waiting.
    pub pending: u64,
    /// On the wire.
    pub in_flight: u64,
    /// Taken by the API.
    pub accepted: u64,
    /// Sent to the device.
    pub sent: u64,
    /// Delivered.
    pub delivered: u64,
    /// Read.
    pub read: u64,
    /// Failed.
    pub failed: u64,
    /// Skipped.
    pub skipped: u64,
    /// Unknown.
    pub unknown: u64,
}

impl Counts {
    /// The counter of `state`.
    pub fn get(&self, state: RecipientState) -> u64 {
        match state {
            RecipientState::Pending => self.pending,
            RecipientState::InFlight => self.in_flight,
            RecipientState::Accepted => self.accepted,
            RecipientState::Sent => self.sent,
            RecipientState::Delivered => self.delivered,
            RecipientState::Read => self.read,
            RecipientState::Failed => self.failed,
            RecipientState::Skipped => self.skipped,
            RecipientState::Unknown => self.unknown,
        }
    }

    fn slot(&mut self, state: RecipientState) -> &mut u64 {
        match state {
            RecipientState::Pending => &mut self.pending,
            RecipientState::InFlight => &mut self.in_flight,
            RecipientState::Accepted => &mut self.accepted,
            RecipientState::Sent => &mut self.sent,
            RecipientState::Delivered => &mut self.delivered,
            RecipientState::Read => &mut self.read,
            RecipientState::Failed => &mut self.failed,
            RecipientState::Skipped => &mut self.skipped,
            RecipientState::Unknown => &mut self.unknown,
        }
    }

    /// Moves one recipient from `from` to `to`.
    pub fn shift(&mut self, from: Option<RecipientState>, to: RecipientState) {
        if let Some(f) = from {
            let s = self.slot(f);
            *s = s.saturating_sub(1);
        }
        *self.slot(to) += 1;
    }

    /// Every recipient (invariant 3: equals the audience).
    pub fn total(&self) -> u64 {
        RecipientState::ALL.iter().map(|s| self.get(*s)).sum()
    }

    /// Recipients the API took (accepted or further along).
    pub fn taken(&self) -> u64 {
        self.accepted + self.sent + self.delivered + self.read
    }

    /// Recipients still to be decided.
    pub fn open(&self) -> u64 {
        self.pending + self.in_flight
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
}

/// Whether a webhook status moves a record, and to what (never backwards,
/// failed is final, duplicates change nothing).
pub fn apply_status(rec: &RecipientRecord, update: &StatusUpdate) -> Option<RecipientRecord> {
    let cur = rec.state;
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
            ..cur.clone()
        }
    } else {
        outcome
    }
}

/// First byte of a binary journal value. JSON values (the first format)
/// start with `{`, so both decode.
const BINARY: u8 = 0xB1;

const HAS_PHONE: u8 = 1;
const HAS_CODE: u8 = 1 << 1;
const HAS_REASON: u8 = 1 << 2;
const HAS_WAMID: u8 = 1 << 3;
const HAS_LATENCY: u8 = 1 << 4;

/// Decodes a journal value (binary, or JSON as written by bote 0.1).
pub fn decode(key: &[u8], value: &[u8]) -> Result<RecipientRecord, StoreError> {
    match value.first() {
        Some(&BINARY) => Reader(&value[1..])
            .record()
            .ok_or_else(|| corrupt(key, "truncated or invalid journal record")),
        _ => serde_json::from_slice(value).map_err(|e| corrupt(key, e)),
    }
}

pub(super) fn corrupt(key: &[u8], message: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: hex::encode(key),
        message: message.to_string(),
    }
}

/// Only the state of a journal value: what counting needs, without
/// decoding the rest.
pub fn decode_state(key: &[u8], value: &[u8]) -> Result<RecipientState, StoreError> {
    match value {
        [BINARY, s, ..] => {
            state_from_u8(*s).ok_or_else(|| corrupt(key, format!("unknown recipient state {s}")))
        }
        _ => decode(key, value).map(|r| r.state),
    }
}

/// Encodes a journal value: a compact binary form, because the dispatcher
/// writes every record at least twice per send.
pub fn encode(rec: &RecipientRecord) -> Vec<u8> {
    let text = |s: &str| 5 + s.len();
    let mut out = Vec::with_capacity(
        48 + rec.params.0.iter().map(|p| text(p)).sum::<usize>()
            + rec.reason.as_deref().map_or(0, text)
            + rec.wamid.as_deref().map_or(0, text)
            + rec.actor.len(),
    );
    let mut flags = 0;
    for (has, bit) in [
        (rec.phone.is_some(), HAS_PHONE),
        (rec.code.is_some(), HAS_CODE),
        (rec.reason.is_some(), HAS_REASON),
        (rec.wamid.is_some(), HAS_WAMID),
        (rec.latency_ms.is_some(), HAS_LATENCY),
    ] {
        if has {
            flags |= bit;
        }
    }
    out.extend_from_slice(&[BINARY, state_to_u8(rec.state), flags]);
    if let Some(p) = rec.phone {
        out.extend_from_slice(&p.as_u64().to_le_bytes());
    }
    if let Some(c) = rec.code {
        out.extend_from_slice(&c.to_le_bytes());
    }
    if let Some(l) = rec.latency_ms {
        out.extend_from_slice(&l.to_le_bytes());
    }
    out.extend_from_slice(&rec.attempts.to_le_bytes());
    out.extend_from_slice(&rec.updated_at.timestamp().to_le_bytes());
    out.extend_from_slice(&rec.updated_at.timestamp_subsec_nanos().to_le_bytes());
    let mut put = |s: &str| {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    put(&rec.actor);
    if let Some(r) = &rec.reason {
        put(r);
    }
    if let Some(w) = &rec.wamid {
        put(w);
    }
    out.extend_from_slice(&(rec.params.0.len() as u32).to_le_bytes());
    for p in &rec.params.0 {
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(p.as_bytes());
    }
    out
}

fn state_to_u8(s: RecipientState) -> u8 {
    RecipientState::ALL
        .iter()
        .position(|x| *x == s)
        .map_or(u8::MAX, |i| i as u8)
}

fn state_from_u8(b: u8) -> Option<RecipientState> {
    RecipientState::ALL.get(usize::from(b)).copied()
}

/// A cursor over a binary record; `None` on anything short or invalid.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_at_checked(N)?;
        self.0 = rest;
        head.try_into().ok()
    }

    fn u32(&mut self) -> Option<u32> {
        self.bytes().map(u32::from_le_bytes)
    }

    fn text(&mut self) -> Option<String> {
        let len = usize::try_from(self.u32()?).ok()?;
        let (head, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        String::from_utf8(head.to_vec()).ok()
    }

    fn record(mut self) -> Option<RecipientRecord> {
        let [state, flags] = self.bytes()?;
        let state = state_from_u8(state)?;
        let has = |bit| flags & bit != 0;
        let phone = if has(HAS_PHONE) {
            Some(Phone::from_u64(u64::from_le_bytes(self.bytes()?))?)
        } else {
            None
        };
        let code = if has(HAS_CODE) {
            Some(self.u32()?)
        } else {
            None
        };
        let latency_ms = if has(HAS_LATENCY) {
            Some(self.u32()?)
        } else {
            None
        };
        let attempts = self.u32()?;
        let secs = i64::from_le_bytes(self.bytes()?);
        let nanos = self.u32()?;
        let updated_at = DateTime::from_timestamp(secs, nanos)?;
        let actor = self.text()?;
        let reason = if has(HAS_REASON) {
            Some(self.text()?)
        } else {
            None
        };
        let wamid = if has(HAS_WAMID) {
            Some(self.text()?)
        } else {
            None
        };
        let n = self.u32()?;
        // A count larger than the bytes left is damage, not a reason to
        // allocate.
        let mut params = Vec::with_capacity((n as usize).min(self.0.len() / 4));
        for _ in 0..n {
            params.push(self.text()?);
        }
        if !self.0.is_empty() {
            return None;
        }
        Some(RecipientRecord {
            phone,
            params: Params(params),
            state,
            code,
            reason,
            wamid,
            attempts,
            latency_ms,
            updated_at,
            actor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(state: RecipientState) -> RecipientRecord {
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
        }
    }

    fn status(state: RecipientState) -> StatusUpdate {
        StatusUpdate {
            state,
            code: (state == RecipientState::Failed).then_some(131026),
            wamid: "wamid.X".into(),
            at: Utc::now(),
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
    fn counts_add_up() {
        let mut c = Counts::default();
        for _ in 0..5 {
            c.shift(None, RecipientState::Pending);
        }
        c.shift(Some(RecipientState::Pending), RecipientState::InFlight);
        c.shift(Some(RecipientState::InFlight), RecipientState::Accepted);
        assert_eq!(c.total(), 5);
        assert_eq!((c.pending, c.accepted), (4, 1));
    }

    #[test]
    fn binary_records_round_trip_and_json_still_decodes() {
        let mut full = rec(RecipientState::Failed);
        full.code = Some(131_026);
        full.reason = Some("undeliverable — ü".into());
        full.wamid = Some("wamid.HBgLNDkxNTE=".into());
        full.latency_ms = Some(312);
        full.params = Params(vec!["Jürgen".into(), String::new(), "HERBST20".into()]);
        let mut bare = rec(RecipientState::Skipped);
        bare.phone = None;
        bare.params = Params::default();
        for r in [full, bare, rec(RecipientState::Pending)] {
            let bytes = encode(&r);
            assert_eq!(decode(b"k", &bytes).expect("binary"), r);
            assert_eq!(decode_state(b"k", &bytes).expect("state"), r.state);
            let json = serde_json::to_vec(&r).expect("json");
            assert_eq!(decode(b"k", &json).expect("json form"), r);
            assert_eq!(decode_state(b"k", &json).expect("json state"), r.state);
        }
    }

    #[test]
    fn damaged_binary_records_are_errors_not_panics() {
        let mut r = rec(RecipientState::Accepted);
        r.wamid = Some("wamid.X".into());
        let bytes = encode(&r);
        for cut in 0..bytes.len() {
            assert!(
                decode(b"k", &bytes[..cut]).is_err(),
                "prefix of {cut} bytes"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(b"k", &longer).is_err(), "trailing bytes");
        let mut bad_state = bytes.clone();
        bad_state[1] = 200;
        assert!(decode(b"k", &bad_state).is_err());
        assert!(decode_state(b"k", &bad_state).is_err());
        assert!(decode(b"k", &[BINARY]).is_err());
    }

    #[test]
    fn states_parse_and_print() {
        for s in RecipientState::ALL {
            assert_eq!(s.as_str().parse::<RecipientState>(), Ok(s));
        }
    }
}
