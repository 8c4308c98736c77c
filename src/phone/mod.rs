//! Any human phone format → E.164, using libphonenumber's metadata
//! (the `phonenumber` crate) and the configured default region.
//!
//! A [`Phone`] is always valid E.164; it is stored as its digits and can be
//! packed into a `u64` (E.164 has at most 15 digits), which keeps store keys
//! short and sortable.
//!
//! Here: the type, its packed forms and its region; `parse` reads human
//! input (through the `fast` path where it can), `format` writes numbers
//! out, masked for screens and logs.

mod fast;
mod format;
mod parse;
#[cfg(test)]
mod properties;
mod zone_table;
pub mod zones;

use phonenumber::country::Id as Region;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an input is not a usable phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing to parse.
    #[error("phone number is empty")]
    Empty,
    /// Letters or other characters no phone number contains.
    #[error("{0:?} contains characters that are not part of a phone number")]
    BadCharacters(String),
    /// libphonenumber could not read it at all.
    #[error("{input:?} is not a phone number: {reason}")]
    Unparseable {
        /// The input as given.
        input: String,
        /// libphonenumber's reason.
        reason: String,
    },
    /// It parses but no such number exists per libphonenumber's metadata.
    #[error(
        "{input:?} is not a valid number for region {region} (wrong length or unassigned range)"
    )]
    Invalid {
        /// The input as given.
        input: String,
        /// The region it was read in.
        region: String,
    },
    /// The configured default region is unknown.
    #[error("unknown region {0:?}")]
    UnknownRegion(String),
}

/// A valid phone number in E.164 (stored as digits, without `+`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Phone(u64);

impl Phone {
    /// Reads `+4917…` or `4917…` as already-normalised E.164 digits, without
    /// consulting metadata (for keys read back from the store or the API).
    pub fn from_e164(s: &str) -> Option<Self> {
        let digits = s.strip_prefix('+').unwrap_or(s);
        if digits.is_empty() || digits.len() > 15 || digits.starts_with('0') {
            return None;
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(Self)
    }

    /// The number packed as an integer (its E.164 digits).
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// The inverse of [`Phone::as_u64`].
    pub fn from_u64(n: u64) -> Option<Self> {
        (n > 0 && n < 1_000_000_000_000_000).then_some(Self(n))
    }

    /// Big-endian bytes: store keys that sort numerically.
    pub fn key(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// The inverse of [`Phone::key`].
    pub fn from_key(k: &[u8]) -> Option<Self> {
        let bytes: [u8; 8] = k.get(..8)?.try_into().ok()?;
        Self::from_u64(u64::from_be_bytes(bytes))
    }

    /// The ISO region of the number (`DE`, `AT`, …), if libphonenumber knows it.
    pub fn region(self) -> Option<Region> {
        let n = phonenumber::parse(None, self.e164()).ok()?;
        n.country().id()
    }

    /// The ISO region of the number's country calling code, without a full
    /// parse (cheap enough for a million recipients); shared codes such as
    /// +1 give their main region.
    pub fn region_code(self) -> Option<&'static str> {
        let d = self.digits();
        let cc: u16 = d.get(..country_code_len(&d))?.parse().ok()?;
        phonenumber::metadata::DATABASE
            .region(&cc)?
            .first()
            .copied()
    }
}

/// Length of the country calling code at the start of E.164 digits.
fn country_code_len(digits: &str) -> usize {
    (1..=3)
        .find(|&len| {
            digits
                .get(..len)
                .and_then(|p| p.parse::<u16>().ok())
                .and_then(|cc| phonenumber::metadata::DATABASE.region(&cc))
                .is_some_and(|r| !r.is_empty())
        })
        .unwrap_or(2)
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Phone::from_e164(&s).ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not E.164")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_follows_the_number_not_the_default() {
        let p = Phone::parse("+43 664 1234567", "DE").expect("valid");
        assert_eq!(
            p.region().map(|r| r.as_ref().to_string()),
            Some("AT".into())
        );
        assert_eq!(p.region_code(), Some("AT"));
        let us = Phone::from_e164("+12025550123").expect("valid");
        assert_eq!(us.region_code(), Some("US"));
    }

    #[test]
    fn keys_and_integers_round_trip() {
        let p = Phone::parse("0171 2345678", "DE").expect("valid");
        assert_eq!(Phone::from_key(&p.key()), Some(p));
        assert_eq!(Phone::from_u64(p.as_u64()), Some(p));
        assert_eq!(Phone::from_e164(&p.e164()), Some(p));
        assert_eq!(Phone::from_e164(&p.digits()), Some(p));
        assert_eq!(Phone::from_e164("+0123"), None);
    }
}
