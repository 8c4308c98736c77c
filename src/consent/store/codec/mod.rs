//! A contact record's bytes: the number's current state and its whole
//! history in one compact binary value under `c‖phone`.
//!
//! ```text
//! FORMAT(0xC1) flags profile_at [locale]
//! attributes: n × (name, value)
//! topics:     n × (name, status|flags, opted_in_at, source,
//!                  [confirmed_at] [method] [text_version] [revoked_at] [revoked_by])
//! history:    n × (kind|flags, [recorded_at actor origin], the change's fields)
//! ```
//!
//! Counts are LEB128 varints; times are a zig-zag varint of seconds and a
//! varint of nanoseconds (6 bytes for a date of this century instead of
//! 25 in JSON). Strings go through a table local to the record: the first
//! time a string appears it is written (length, bytes), after that as its
//! index. A row's topics share their source and wording, and its events
//! repeat topics, actor and origin, so the table is what takes a typical
//! import row from ~700 bytes of JSON in two records to ~200 in one. An
//! event that shares `recorded_at`, actor and origin with the one before
//! it (all events of one import row do) says so in a bit instead.
//!
//! Records of the first format (JSON, a `{`) still decode: a store
//! migrates them when it is opened (`super::migration`), and a crash in
//! the middle of that leaves both forms behind.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{corrupt, StoreError};
use crate::consent::{
    Change, ConfirmationMethod, ConsentEvent, ConsentStatus, Contact, TopicConsent,
};
use crate::phone::Phone;

/// First byte of a binary contact record. JSON records start with `{`.
pub(super) const FORMAT: u8 = 0xC1;

const HAS_LOCALE: u8 = 1;

// Topic flags, above the status in the low two bits.
const T_CONFIRMED_AT: u8 = 1 << 2;
const T_METHOD: u8 = 1 << 3;
const T_TEXT_VERSION: u8 = 1 << 4;
const T_REVOKED_AT: u8 = 1 << 5;
const T_REVOKED_BY: u8 = 1 << 6;

// Event flags, above the kind in the low four bits.
/// `recorded_at`, actor and origin are those of the event before.
const E_SAME_HEAD: u8 = 1 << 4;
/// The change's first optional field is present (`text_version`,
/// `locale`, `user_id`).
const E_OPT_1: u8 = 1 << 5;
/// The change's second optional field is present (`new_phone`).
const E_OPT_2: u8 = 1 << 6;

const K_OPTED_IN: u8 = 0;
const K_CONFIRMED: u8 = 1;
const K_REVOKED: u8 = 2;
const K_PROFILE: u8 = 3;
const K_SUPPRESSION_LIFTED: u8 = 4;
const K_OPT_OUT_LIFTED: u8 = 5;
const K_IDENTITY: u8 = 6;

/// Encodes a contact with its whole history, oldest event first.
pub(super) fn encode<'s>(
    contact: &'s Contact,
    history: impl IntoIterator<Item = &'s ConsentEvent>,
) -> Vec<u8> {
    let mut w = Writer::default();
    w.out.push(FORMAT);
    w.out.push(if contact.locale.is_some() {
        HAS_LOCALE
    } else {
        0
    });
    w.time(contact.profile_at);
    if let Some(l) = &contact.locale {
        w.text(l);
    }
    w.count(contact.attributes.len());
    for (k, v) in &contact.attributes {
        w.text(k);
        w.text(v);
    }
    w.count(contact.topics.len());
    for (name, t) in &contact.topics {
        w.text(name);
        let mut flags = status_to_u8(t.status);
        for (has, bit) in [
            (t.confirmed_at.is_some(), T_CONFIRMED_AT),
            (t.method.is_some(), T_METHOD),
            (t.text_version.is_some(), T_TEXT_VERSION),
            (t.revoked_at.is_some(), T_REVOKED_AT),
            (t.revoked_by.is_some(), T_REVOKED_BY),
        ] {
            if has {
                flags |= bit;
            }
        }
        w.out.push(flags);
        w.time(t.opted_in_at);
        w.text(&t.source);
        if let Some(c) = t.confirmed_at {
            w.time(c);
        }
        if let Some(m) = t.method {
            w.out.push(method_to_u8(m));
        }
        if let Some(v) = &t.text_version {
            w.text(v);
        }
        if let Some(r) = t.revoked_at {
            w.time(r);
        }
        if let Some(b) = &t.revoked_by {
            w.text(b);
        }
    }
    let history: Vec<&ConsentEvent> = history.into_iter().collect();
    w.count(history.len());
    let mut previous: Option<&ConsentEvent> = None;
    for e in history {
        w.event(e, previous);
        previous = Some(e);
    }
    w.out
}

/// Decodes a stored contact record (binary, or JSON of the first format);
/// the number comes from the key.
pub(super) fn decode_contact(key: &[u8], value: &[u8]) -> Result<Contact, StoreError> {
    match value.first() {
        Some(&FORMAT) => {
            let phone = phone_of(key)?;
            let mut r = Reader::new(value);
            r.contact(phone).ok_or_else(|| damaged(key))
        }
        _ => serde_json::from_slice(value).map_err(|e| corrupt(key, e)),
    }
}

/// Decodes a stored contact record with its history. A JSON record (first
/// format) holds no history: its events are still separate `e` records.
pub(super) fn decode_record(
    key: &[u8],
    value: &[u8],
) -> Result<(Contact, Vec<ConsentEvent>), StoreError> {
    match value.first() {
        Some(&FORMAT) => {
            let phone = phone_of(key)?;
            let mut r = Reader::new(value);
            (|| {
                let c = r.contact(phone)?;
                let h = r.history()?;
                Some((c, h))
            })()
            .ok_or_else(|| damaged(key))
        }
        _ => Ok((decode_contact(key, value)?, Vec::new())),
    }
}

/// The history in a stored contact record (none in a JSON one).
pub(super) fn decode_history(key: &[u8], value: &[u8]) -> Result<Vec<ConsentEvent>, StoreError> {
    decode_record(key, value).map(|(_, h)| h)
}

/// What the dry run reads of a contact, borrowed from the record where it
/// can be: a million-contact scan then allocates only the vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactView<'a> {
    /// The number.
    pub phone: Phone,
    /// Preferred language.
    pub locale: Option<Cow<'a, str>>,
    /// Declared attributes, by name.
    pub attributes: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// Each topic's status.
    pub topics: Vec<(Cow<'a, str>, ConsentStatus)>,
}

impl ContactView<'_> {
    /// The status of `topic`, if the contact has one.
    pub fn status(&self, topic: &str) -> Option<ConsentStatus> {
        self.topics
            .iter()
            .find(|(t, _)| t == topic)
            .map(|(_, s)| *s)
    }
}

/// Decodes the parts of a record from [`super::Store::contact_records`]
/// that the dry run reads, skipping the evidence and the history.
pub fn decode_contact_view<'a>(key: &[u8], value: &'a [u8]) -> Result<ContactView<'a>, StoreError> {
    match value.first() {
        Some(&FORMAT) => {
            let phone = phone_of(key)?;
            Reader::new(value).view(phone).ok_or_else(|| damaged(key))
        }
        _ => {
            let c: Contact = serde_json::from_slice(value).map_err(|e| corrupt(key, e))?;
            Ok(ContactView {
                phone: c.phone,
                locale: c.locale.map(Cow::Owned),
                attributes: c
                    .attributes
                    .into_iter()
                    .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
                    .collect(),
                topics: c
                    .topics
                    .into_iter()
                    .map(|(k, t)| (Cow::Owned(k), t.status))
                    .collect(),
            })
        }
    }
}

fn phone_of(key: &[u8]) -> Result<Phone, StoreError> {
    key.get(1..)
        .and_then(Phone::from_key)
        .ok_or_else(|| corrupt(key, "the key holds no number"))
}

fn damaged(key: &[u8]) -> StoreError {
    corrupt(key, "truncated or invalid contact record")
}

fn status_to_u8(s: ConsentStatus) -> u8 {
    match s {
        ConsentStatus::Pending => 0,
        ConsentStatus::Confirmed => 1,
        ConsentStatus::Revoked => 2,
    }
}

fn status_from_u8(b: u8) -> Option<ConsentStatus> {
    match b & 3 {
        0 => Some(ConsentStatus::Pending),
        1 => Some(ConsentStatus::Confirmed),
        2 => Some(ConsentStatus::Revoked),
        _ => None,
    }
}

fn method_to_u8(m: ConfirmationMethod) -> u8 {
    match m {
        ConfirmationMethod::Link => 0,
        ConfirmationMethod::Reply => 1,
        ConfirmationMethod::Button => 2,
        ConfirmationMethod::Code => 3,
    }
}

fn method_from_u8(b: u8) -> Option<ConfirmationMethod> {
    match b {
        0 => Some(ConfirmationMethod::Link),
        1 => Some(ConfirmationMethod::Reply),
        2 => Some(ConfirmationMethod::Button),
        3 => Some(ConfirmationMethod::Code),
        _ => None,
    }
}

/// Table entries a writer looks a string up in.
const SEARCHED: usize = 64;

/// Builds a record, remembering the strings written so far.
#[derive(Default)]
struct Writer<'s> {
    out: Vec<u8>,
    strings: Vec<&'s str>,
}

impl<'s> Writer<'s> {
    fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.out.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.out.push(n as u8);
    }

    fn count(&mut self, n: usize) {
        self.varint(n as u64);
    }

    fn time(&mut self, t: DateTime<Utc>) {
        let s = t.timestamp();
        self.varint(((s << 1) ^ (s >> 63)) as u64);
        self.varint(u64::from(t.timestamp_subsec_nanos()));
    }

    /// Even: a new string of `n >> 1` bytes follows; odd: string `n >> 1`
    /// of the table. Only the first [`SEARCHED`] entries are looked up: the
    /// strings that repeat (topics, sources, wording, actors) come first,
    /// and a long history (thousands of origins) must not make every
    /// write quadratic. Later strings still enter the table, as the reader
    /// counts them.
    fn text(&mut self, s: &'s str) {
        let searched = &self.strings[..self.strings.len().min(SEARCHED)];
        match searched.iter().position(|x| *x == s) {
            Some(i) => self.varint(((i as u64) << 1) | 1),
            None => {
                self.varint((s.len() as u64) << 1);
                self.out.extend_from_slice(s.as_bytes());
                self.strings.push(s);
            }
        }
    }

    fn event(&mut self, e: &'s ConsentEvent, previous: Option<&ConsentEvent>) {
        let same_head = previous.is_some_and(|p| {
            p.recorded_at == e.recorded_at && p.actor == e.actor && p.origin == e.origin
        });
        let (kind, opt1, opt2) = match &e.change {
            Change::OptedIn { text_version, .. } => (K_OPTED_IN, text_version.is_some(), false),
            Change::Confirmed { .. } => (K_CONFIRMED, false, false),
            Change::Revoked { .. } => (K_REVOKED, false, false),
            Change::ProfileUpdated { locale, .. } => (K_PROFILE, locale.is_some(), false),
            Change::SuppressionLifted { .. } => (K_SUPPRESSION_LIFTED, false, false),
            Change::OptOutLifted { .. } => (K_OPT_OUT_LIFTED, false, false),
            Change::IdentityChanged {
                user_id, new_phone, ..
            } => (K_IDENTITY, user_id.is_some(), new_phone.is_some()),
        };
        let mut head = kind;
        for (has, bit) in [(same_head, E_SAME_HEAD), (opt1, E_OPT_1), (opt2, E_OPT_2)] {
            if has {
                head |= bit;
            }
        }
        self.out.push(head);
        if !same_head {
            self.time(e.recorded_at);
            self.text(&e.actor);
            self.text(&e.origin);
        }
        match &e.change {
            Change::OptedIn {
                topic,
                opted_in_at,
                source,
                text_version,
            } => {
                self.text(topic);
                self.time(*opted_in_at);
                self.text(source);
                if let Some(v) = text_version {
                    self.text(v);
                }
            }
            Change::Confirmed {
                topic,
                confirmed_at,
                method,
            } => {
                self.text(topic);
                self.time(*confirmed_at);
                self.out.push(method_to_u8(*method));
            }
            Change::Revoked {
                topic,
                revoked_at,
                reason,
            } => {
                self.text(topic);
                self.time(*revoked_at);
                self.text(reason);
            }
            Change::ProfileUpdated { locale, attributes } => {
                if let Some(l) = locale {
                    self.text(l);
                }
                self.count(attributes.len());
                for a in attributes {
                    self.text(a);
                }
            }
            Change::SuppressionLifted { erased_at: at }
            | Change::OptOutLifted { opted_out_at: at } => {
                self.time(*at);
            }
            Change::IdentityChanged {
                what,
                user_id,
                new_phone,
            } => {
                self.text(what);
                if let Some(u) = user_id {
                    self.text(u);
                }
                if let Some(p) = new_phone {
                    self.text(p);
                }
            }
        }
    }
}

/// A cursor over a binary record; `None` on anything short or invalid.
struct Reader<'a> {
    rest: &'a [u8],
    strings: Vec<&'a str>,
}

impl<'a> Reader<'a> {
    /// After the format byte.
    fn new(value: &'a [u8]) -> Self {
        Self {
            rest: value.get(1..).unwrap_or_default(),
            strings: Vec::new(),
        }
    }

    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(*b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7F).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.varint()?).ok()?;
        // Every counted item takes at least a byte: a damaged count must
        // not reserve gigabytes.
        (n <= self.rest.len()).then_some(n)
    }

    fn time(&mut self) -> Option<DateTime<Utc>> {
        let z = self.varint()?;
        let secs = ((z >> 1) as i64) ^ -((z & 1) as i64);
        let nanos = u32::try_from(self.varint()?).ok()?;
        DateTime::from_timestamp(secs, nanos)
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = self.varint()?;
        let i = usize::try_from(n >> 1).ok()?;
        if n & 1 == 1 {
            return self.strings.get(i).copied();
        }
        let (head, rest) = self.rest.split_at_checked(i)?;
        self.rest = rest;
        let s = std::str::from_utf8(head).ok()?;
        self.strings.push(s);
        Some(s)
    }

    fn text(&mut self) -> Option<String> {
        self.str().map(str::to_owned)
    }

    /// Flags, profile time and locale.
    fn head(&mut self) -> Option<(DateTime<Utc>, Option<&'a str>)> {
        let flags = self.byte()?;
        let profile_at = self.time()?;
        let locale = if flags & HAS_LOCALE != 0 {
            Some(self.str()?)
        } else {
            None
        };
        Some((profile_at, locale))
    }

    fn contact(&mut self, phone: Phone) -> Option<Contact> {
        let (profile_at, locale) = self.head()?;
        let mut attributes = BTreeMap::new();
        for _ in 0..self.count()? {
            let k = self.text()?;
            attributes.insert(k, self.text()?);
        }
        let mut topics = BTreeMap::new();
        for _ in 0..self.count()? {
            let name = self.text()?;
            let flags = self.byte()?;
            let has = |bit: u8| flags & bit != 0;
            let status = status_from_u8(flags)?;
            let opted_in_at = self.time()?;
            let source = self.text()?;
            let confirmed_at = if has(T_CONFIRMED_AT) {
                Some(self.time()?)
            } else {
                None
            };
            let method = if has(T_METHOD) {
                Some(method_from_u8(self.byte()?)?)
            } else {
                None
            };
            let text_version = if has(T_TEXT_VERSION) {
                Some(self.text()?)
            } else {
                None
            };
            let revoked_at = if has(T_REVOKED_AT) {
                Some(self.time()?)
            } else {
                None
            };
            let revoked_by = if has(T_REVOKED_BY) {
                Some(self.text()?)
            } else {
                None
            };
            topics.insert(
                name,
                TopicConsent {
                    status,
                    opted_in_at,
                    source,
                    confirmed_at,
                    method,
                    text_version,
                    revoked_at,
                    revoked_by,
                },
            );
        }
        Some(Contact {
            phone,
            locale: locale.map(str::to_owned),
            attributes,
            profile_at,
            topics,
        })
    }

    fn view(&mut self, phone: Phone) -> Option<ContactView<'a>> {
        let (_, locale) = self.head()?;
        let n = self.count()?;
        let mut attributes = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.str()?;
            attributes.push((Cow::Borrowed(k), Cow::Borrowed(self.str()?)));
        }
        let n = self.count()?;
        let mut topics = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.str()?;
            let flags = self.byte()?;
            let status = status_from_u8(flags)?;
            // The evidence is read past, but its strings enter the table.
            self.time()?;
            self.str()?;
            if flags & T_CONFIRMED_AT != 0 {
                self.time()?;
            }
            if flags & T_METHOD != 0 {
                self.byte()?;
            }
            if flags & T_TEXT_VERSION != 0 {
                self.str()?;
            }
            if flags & T_REVOKED_AT != 0 {
                self.time()?;
            }
            if flags & T_REVOKED_BY != 0 {
                self.str()?;
            }
            topics.push((Cow::Borrowed(name), status));
        }
        Some(ContactView {
            phone,
            locale: locale.map(Cow::Borrowed),
            attributes,
            topics,
        })
    }

    /// The history, after [`Reader::contact`]; nothing may follow it.
    fn history(&mut self) -> Option<Vec<ConsentEvent>> {
        let n = self.count()?;
        let mut out: Vec<ConsentEvent> = Vec::with_capacity(n);
        for _ in 0..n {
            let head = self.byte()?;
            let has = |bit: u8| head & bit != 0;
            let (recorded_at, actor, origin) = if has(E_SAME_HEAD) {
                let p = out.last()?;
                (p.recorded_at, p.actor.clone(), p.origin.clone())
            } else {
                (self.time()?, self.text()?, self.text()?)
            };
            let change = match head & 0x0F {
                K_OPTED_IN => Change::OptedIn {
                    topic: self.text()?,
                    opted_in_at: self.time()?,
                    source: self.text()?,
                    text_version: if has(E_OPT_1) {
                        Some(self.text()?)
                    } else {
                        None
                    },
                },
                K_CONFIRMED => Change::Confirmed {
                    topic: self.text()?,
                    confirmed_at: self.time()?,
                    method: method_from_u8(self.byte()?)?,
                },
                K_REVOKED => Change::Revoked {
                    topic: self.text()?,
                    revoked_at: self.time()?,
                    reason: self.text()?,
                },
                K_PROFILE => {
                    let locale = if has(E_OPT_1) {
                        Some(self.text()?)
                    } else {
                        None
                    };
                    let n = self.count()?;
                    let mut attributes = Vec::with_capacity(n);
                    for _ in 0..n {
                        attributes.push(self.text()?);
                    }
                    Change::ProfileUpdated { locale, attributes }
                }
                K_SUPPRESSION_LIFTED => Change::SuppressionLifted {
                    erased_at: self.time()?,
                },
                K_OPT_OUT_LIFTED => Change::OptOutLifted {
                    opted_out_at: self.time()?,
                },
                K_IDENTITY => Change::IdentityChanged {
                    what: self.text()?,
                    user_id: if has(E_OPT_1) {
                        Some(self.text()?)
                    } else {
                        None
                    },
                    new_phone: if has(E_OPT_2) {
                        Some(self.text()?)
                    } else {
                        None
                    },
                },
                _ => return None,
            };
            out.push(ConsentEvent {
                recorded_at,
                actor,
                origin,
                change,
            });
        }
        self.rest.is_empty().then_some(out)
    }
}

#[cfg(test)]
mod tests;
