//! `[consent]`: topics, keywords, declared attributes and the frequency cap.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{de, Deserialize, Deserializer};

use super::period::{format_period, parse_period};
use super::Problem;

/// `[consent]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsentConfig {
    /// ISO 3166 region for numbers written without a country code.
    pub default_region: String,
    /// The purposes a consent can cover (G6).
    pub topics: Vec<String>,
    /// Inbound replies that revoke marketing consent (G5).
    pub stop_keywords: Vec<String>,
    /// Inbound replies that confirm a pending consent (G3).
    pub confirm_keywords: Vec<String>,
    /// Declared extra attributes; everything else is dropped on import (G8).
    pub attributes: Vec<String>,
    /// Marketing messages per recipient per window (G15).
    pub frequency_cap: Option<FrequencyCap>,
    /// Privacy policy link (G7).
    pub privacy_url: String,
    /// Imprint link (G7).
    pub imprint_url: String,
    /// What each consent wording (the CSV's `text_version`) told the person
    /// to expect (G7), by version.
    pub wording: BTreeMap<String, Wording>,
}

/// `[consent.wording.VERSION]`: what a consent form told the person (G7).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Wording {
    /// The kind of content promised ("offers and discount codes").
    pub content: String,
    /// How often, in the person's words ("at most two a week").
    pub frequency: String,
    /// Where the form's full text is kept, if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_url: Option<String>,
}

impl Default for ConsentConfig {
    fn default() -> Self {
        Self {
            default_region: "DE".into(),
            topics: vec!["sale".into(), "new-collection".into(), "events".into()],
            stop_keywords: ["STOP", "STOPP", "ABMELDEN", "UNSUBSCRIBE", "AUSTRAGEN"]
                .map(String::from)
                .to_vec(),
            confirm_keywords: vec!["JA".into(), "YES".into()],
            attributes: vec!["first_name".into()],
            frequency_cap: Some(FrequencyCap {
                max: 3,
                window: Duration::from_secs(7 * 86_400),
            }),
            privacy_url: "https://example.com/datenschutz".into(),
            imprint_url: "https://example.com/impressum".into(),
            wording: BTreeMap::new(),
        }
    }
}

/// At most `max` marketing messages per recipient within `window` (G15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrequencyCap {
    /// Messages allowed in the window.
    pub max: u32,
    /// The rolling window.
    pub window: Duration,
}

impl FromStr for FrequencyCap {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (n, w) = s
            .split_once('/')
            .ok_or_else(|| format!("expected N/PERIOD such as 3/7d, got {s:?}"))?;
        let max: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("{n:?} is not a message count (0 < N ≤ {})", u32::MAX))?;
        // 0 would exclude everybody from marketing for good, which is not a
        // cap but a mistake (or an attempt to switch the cap off).
        if max == 0 {
            return Err(format!(
                "{s:?}: a count of 0 would exclude every recipient from marketing; \
                 N must be at least 1"
            ));
        }
        let window = parse_period(w)?;
        if window.is_zero() {
            return Err(format!(
                "{s:?}: a window of zero length caps nothing; the period must be at least 1s"
            ));
        }
        Ok(Self { max, window })
    }
}

impl fmt::Display for FrequencyCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.max, format_period(self.window))
    }
}

deserialize_from_str!(FrequencyCap);

impl ConsentConfig {
    pub(super) fn check(&self) -> Result<(), Problem> {
        if phonenumber::country::Id::from_str(&self.default_region).is_err() {
            return Err(Problem::new(
                "consent.default_region",
                format!(
                    "{:?} is not an ISO 3166 region code such as DE",
                    self.default_region
                ),
            ));
        }
        for (version, w) in &self.wording {
            if w.content.trim().is_empty() || w.frequency.trim().is_empty() {
                return Err(Problem::new(
                    format!("consent.wording.{version}"),
                    "say what the person was told: content and frequency, neither empty (G7)",
                ));
            }
        }
        if self.topics.is_empty() {
            return Err(Problem::new("consent.topics", "name at least one topic"));
        }
        for t in &self.topics {
            if t.is_empty() || t.contains(['|', ' ', ';', ',']) {
                return Err(Problem::new(
                    "consent.topics",
                    format!("{t:?}: topics are single words without | ; , or spaces"),
                ));
            }
        }
        // The receiver compares replies by their letters and digits (see
        // `webhook::normalize`): an entry without any matches no reply, and
        // a list of only such entries leaves STOP replies unheard (G5).
        let words = |k: &str| k.chars().any(char::is_alphanumeric);
        if !self.stop_keywords.iter().any(|k| words(k)) {
            let what = if self.stop_keywords.is_empty() {
                "is empty"
            } else {
                "has only blank entries"
            };
            return Err(Problem::new(
                "consent.stop_keywords",
                format!(
                    "{what}: without a stop keyword a STOP reply revokes nothing (G5); \
                     name at least one, e.g. [\"STOP\"]"
                ),
            ));
        }
        if let Some((i, k)) = self
            .stop_keywords
            .iter()
            .enumerate()
            .find(|(_, k)| !words(k.as_str()))
        {
            return Err(Problem::new(
                "consent.stop_keywords",
                format!(
                    "entry {} ({k:?}) has no letters or digits, so no reply can match it: \
                     remove it",
                    i + 1
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_read_and_write_back() {
        let cap: FrequencyCap = "3/7d".parse().expect("cap");
        assert_eq!((cap.max, cap.window), (3, Duration::from_secs(7 * 86_400)));
        assert_eq!(cap.to_string(), "3/7d");
    }

    #[test]
    fn a_cap_of_nothing_or_over_nothing_is_refused() {
        let e = "0/7d".parse::<FrequencyCap>().expect_err("count 0");
        assert!(e.contains("at least 1"), "{e}");
        let e = "3/0d".parse::<FrequencyCap>().expect_err("window 0");
        assert!(e.contains("zero length"), "{e}");
        let e = "3/0s".parse::<FrequencyCap>().expect_err("window 0");
        assert!(e.contains("zero length"), "{e}");
    }
}
