//! A journal record's bytes: the compact binary form the dispatcher writes, and the JSON form of bote 0.1.

use chrono::{DateTime, Utc};

use super::{RecipientRecord, RecipientState};
use crate::consent::StoreError;
use crate::phone::Phone;
use crate::template::Params;

/// First byte of a binary journal value. JSON values (the first format)
/// start with `{`, so both decode.
const BINARY: u8 = 0xB1;

const HAS_PHONE: u8 = 1;
const HAS_CODE: u8 = 1 << 1;
const HAS_REASON: u8 = 1 << 2;
const HAS_WAMID: u8 = 1 << 3;
const HAS_LATENCY: u8 = 1 << 4;
/// `checked_at`, written after the parameters so older readers of the
/// fixed head are unaffected.
const HAS_CHECKED: u8 = 1 << 5;
/// `pricing` (three bytes), written last: the webhook adds it, so records
/// the dispatcher writes never carry it and grow by nothing.
const HAS_PRICING: u8 = 1 << 6;

/// Decodes a journal value (binary, or JSON as written by bote 0.1).
pub fn decode(key: &[u8], value: &[u8]) -> Result<RecipientRecord, StoreError> {
    match value.first() {
        Some(&BINARY) => Reader(&value[1..])
            .record()
            .ok_or_else(|| corrupt(key, "truncated or invalid journal record")),
        _ => serde_json::from_slice(value).map_err(|e| corrupt(key, e)),
    }
}

pub(in crate::campaign) fn corrupt(key: &[u8], message: impl std::fmt::Display) -> StoreError {
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

/// The state and the time of the last change of a journal value: what
/// ordering results by recency needs, without allocating the rest.
pub fn decode_head(
    key: &[u8],
    value: &[u8],
) -> Result<(RecipientState, DateTime<Utc>), StoreError> {
    match value.first() {
        Some(&BINARY) => Reader(&value[1..])
            .head()
            .ok_or_else(|| corrupt(key, "truncated or invalid journal record")),
        _ => decode(key, value).map(|r| (r.state, r.updated_at)),
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
        (rec.checked_at.is_some(), HAS_CHECKED),
        (rec.pricing.is_some(), HAS_PRICING),
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
    if let Some(t) = rec.checked_at {
        out.extend_from_slice(&t.timestamp().to_le_bytes());
        out.extend_from_slice(&t.timestamp_subsec_nanos().to_le_bytes());
    }
    if let Some(p) = rec.pricing {
        out.extend_from_slice(&p.to_bytes());
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

    /// The state and `updated_at`, skipping the fixed-size fields before them.
    fn head(mut self) -> Option<(RecipientState, DateTime<Utc>)> {
        let [state, flags] = self.bytes()?;
        let state = state_from_u8(state)?;
        let has = |bit: u8, n: usize| if flags & bit != 0 { n } else { 0 };
        // Phone, code and latency when present, then the attempts.
        let skip = has(HAS_PHONE, 8) + has(HAS_CODE, 4) + has(HAS_LATENCY, 4) + 4;
        self.0 = self.0.get(skip..)?;
        let secs = i64::from_le_bytes(self.bytes()?);
        let nanos = self.u32()?;
        Some((state, DateTime::from_timestamp(secs, nanos)?))
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
        let checked_at = if has(HAS_CHECKED) {
            let secs = i64::from_le_bytes(self.bytes()?);
            Some(DateTime::from_timestamp(secs, self.u32()?)?)
        } else {
            None
        };
        let pricing = if has(HAS_PRICING) {
            Some(super::Pricing::from_bytes(self.bytes()?)?)
        } else {
            None
        };
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
            checked_at,
            pricing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::rec;
    use super::*;

    #[test]
    fn binary_records_round_trip_and_json_still_decodes() {
        let mut full = rec(RecipientState::Failed);
        full.code = Some(131_026);
        full.reason = Some("undeliverable — ü".into());
        full.wamid = Some("wamid.HBgLNDkxNTE=".into());
        full.latency_ms = Some(312);
        full.checked_at = DateTime::from_timestamp(1_780_000_000, 5);
        full.pricing = Some(super::super::Pricing {
            category: super::super::PricingCategory::Marketing,
            kind: super::super::PricingType::Regular,
            billable: true,
            per_message: true,
        });
        full.params = Params(vec!["Jürgen".into(), String::new(), "HERBST20".into()]);
        let mut bare = rec(RecipientState::Skipped);
        bare.phone = None;
        bare.params = Params::default();
        for r in [full, bare, rec(RecipientState::Pending)] {
            let bytes = encode(&r);
            assert_eq!(decode(b"k", &bytes).expect("binary"), r);
            assert_eq!(decode_state(b"k", &bytes).expect("state"), r.state);
            let head = decode_head(b"k", &bytes).expect("head");
            assert_eq!(head, (r.state, r.updated_at));
            let json = serde_json::to_vec(&r).expect("json");
            assert_eq!(decode(b"k", &json).expect("json form"), r);
            assert_eq!(decode_state(b"k", &json).expect("json state"), r.state);
            assert_eq!(decode_head(b"k", &json).expect("json head"), head);
        }
    }

    #[test]
    fn records_written_before_pricing_still_decode() {
        // The bytes of a record as bote wrote them before `pricing`
        // existed: the same as now for a record without it.
        let mut r = rec(RecipientState::Delivered);
        r.checked_at = DateTime::from_timestamp(1_780_000_000, 0);
        let bytes = encode(&r);
        assert_eq!(bytes[2] & HAS_PRICING, 0);
        assert_eq!(decode(b"k", &bytes).expect("old").pricing, None);
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
}
