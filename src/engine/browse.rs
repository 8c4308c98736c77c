//! The consent browser's list: contacts filtered by topic, status, source,
//! locale and when they were imported, a page at a time — what the TUI's
//! consent screen lists before the operator opens one number.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::ops::error;
use super::Engine;
use crate::audience::locale_matches;
use crate::config::Role;
use crate::consent::{ConsentEvent, ConsentStatus, Contact};
use crate::phone::Phone;
use crate::service::peer::Caller;
use crate::service::wire::Failure;

/// Which contacts the list shows; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentFilter {
    /// Only contacts with a consent for this topic.
    pub topic: Option<String>,
    /// Only this state (for `topic`, else for any topic).
    pub status: Option<ConsentStatus>,
    /// Only consents whose source contains this text.
    pub source: Option<String>,
    /// Only this language (`de` also matches `de_AT`).
    pub locale: Option<String>,
    /// Only contacts first imported at or after this instant.
    pub imported_since: Option<DateTime<Utc>>,
    /// Only contacts first imported before this instant.
    pub imported_before: Option<DateTime<Utc>>,
}

/// Why a filter expression is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// A part without `=`.
    #[error("{0:?} is not KEY=VALUE (keys: topic, status, source, locale, since, before)")]
    NotKeyValue(String),
    /// A key the filter does not have.
    #[error("unknown filter {0:?} (keys: topic, status, source, locale, since, before)")]
    UnknownKey(String),
    /// A value that does not fit its key.
    #[error("{key}={value:?}: {why}")]
    BadValue {
        /// The key.
        key: String,
        /// The value as typed.
        value: String,
        /// What is wrong.
        why: String,
    },
}

impl ConsentFilter {
    /// Reads `topic=sale status=confirmed source=web locale=de
    /// since=2026-03-01 before=2026-04-01`; days are midnights in the
    /// operator's `offset`.
    pub fn parse(expr: &str, offset: FixedOffset) -> Result<Self, FilterError> {
        let mut f = Self::default();
        for part in expr.split_whitespace() {
            let (key, value) = part
                .split_once('=')
                .filter(|(_, v)| !v.is_empty())
                .ok_or_else(|| FilterError::NotKeyValue(part.to_string()))?;
            let bad = |why: String| FilterError::BadValue {
                key: key.to_string(),
                value: value.to_string(),
                why,
            };
            let day = |v: &str| -> Result<DateTime<Utc>, FilterError> {
                let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|_| bad("a day is YYYY-MM-DD".into()))?;
                offset
                    .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
                    .single()
                    .map(|t| t.with_timezone(&Utc))
                    .ok_or_else(|| bad("no such local time".into()))
            };
            match key {
                "topic" => f.topic = Some(value.to_string()),
                "status" => {
                    f.status = Some(
                        value
                            .parse::<ConsentStatus>()
                            .map_err(|e| bad(e.to_string()))?,
                    )
                }
                "source" => f.source = Some(value.to_string()),
                "locale" => f.locale = Some(value.to_string()),
                "since" => f.imported_since = Some(day(value)?),
                "before" => f.imported_before = Some(day(value)?),
                other => return Err(FilterError::UnknownKey(other.to_string())),
            }
        }
        Ok(f)
    }

    fn dated(&self) -> bool {
        self.imported_since.is_some() || self.imported_before.is_some()
    }

    /// Whether `c` passes everything but the import dates.
    fn keeps(&self, c: &Contact) -> bool {
        let consents: Vec<_> = match &self.topic {
            Some(t) => c.topic(t).into_iter().collect(),
            None => c.topics.values().collect(),
        };
        if self.topic.is_some() && consents.is_empty() {
            return false;
        }
        let status_ok = self
            .status
            .is_none_or(|s| consents.iter().any(|x| x.status == s));
        let source_ok = self.source.as_deref().is_none_or(|want| {
            consents
                .iter()
                .any(|x| x.source.to_lowercase().contains(&want.to_lowercase()))
        });
        // The plan's matching, except that a contact without a language
        // is not listed under one.
        let locale_ok = self.locale.as_deref().is_none_or(|want| {
            c.locale.is_some() && locale_matches(c.locale.as_deref(), Some(want))
        });
        status_ok && source_ok && locale_ok
    }

    fn imported_in(&self, at: Option<DateTime<Utc>>) -> bool {
        match at {
            None => !self.dated(),
            Some(t) => {
                self.imported_since.is_none_or(|s| t >= s)
                    && self.imported_before.is_none_or(|b| t < b)
            }
        }
    }
}

/// One consent of a listed contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedConsent {
    /// The topic.
    pub topic: String,
    /// Its state.
    pub status: ConsentStatus,
    /// Where it came from.
    pub source: String,
}

/// A contact as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedContact {
    /// The number (the screen masks it).
    pub phone: Phone,
    /// Its language.
    pub locale: Option<String>,
    /// Its consents, by topic.
    pub consents: Vec<ListedConsent>,
    /// When an import first brought it.
    pub imported_at: Option<DateTime<Utc>>,
}

/// A page of the filtered list, in number order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentPage {
    /// Contacts that pass the filter.
    pub total: usize,
    /// Position of the first row.
    pub from: usize,
    /// The rows.
    pub rows: Vec<ListedContact>,
}

/// When an import first recorded the number.
fn first_import(history: &[ConsentEvent]) -> Option<DateTime<Utc>> {
    history
        .iter()
        .filter(|e| e.origin.starts_with("import:"))
        .map(|e| e.recorded_at)
        .min()
}

impl Engine {
    /// Rows `from..from + len` of the contacts `filter` keeps, with their
    /// total: one pass over the store; histories are read only for the
    /// rows shown, or for every candidate when the filter has dates.
    pub fn consent_page(
        &self,
        caller: &Caller,
        filter: &ConsentFilter,
        from: usize,
        len: usize,
    ) -> Result<ConsentPage, Failure> {
        self.authorize(caller, Role::Viewer, "browsing consents")?;
        if let Some(t) = &filter.topic {
            if !self.config.has_topic(t) {
                return Err(error(format!(
                    "unknown topic {t:?} (configured: {})",
                    self.config.consent.topics.join(", ")
                )));
            }
        }
        let len = len.min(crate::campaign::MAX_PAGE);
        let mut total = 0;
        let mut rows = Vec::new();
        for contact in self.store.contacts() {
            let c = contact.map_err(error)?;
            if !filter.keeps(&c) {
                continue;
            }
            let shown = total >= from && rows.len() < len;
            let imported_at = if filter.dated() || shown {
                let at = first_import(&self.store.history(c.phone).map_err(error)?);
                if !filter.imported_in(at) {
                    continue;
                }
                at
            } else {
                None
            };
            if shown {
                rows.push(ListedContact {
                    phone: c.phone,
                    locale: c.locale.clone(),
                    consents: c
                        .topics
                        .iter()
                        .map(|(topic, t)| ListedConsent {
                            topic: topic.clone(),
                            status: t.status,
                            source: t.source.clone(),
                        })
                        .collect(),
                    imported_at,
                });
            }
            total += 1;
        }
        Ok(ConsentPage { total, from, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_expression_reads_every_key_and_names_what_is_wrong() {
        let berlin = FixedOffset::east_opt(3600).expect("offset");
        let f = ConsentFilter::parse(
            "topic=sale status=confirmed source=web locale=de since=2026-03-01 before=2026-04-01",
            berlin,
        )
        .expect("filter");
        assert_eq!(f.topic.as_deref(), Some("sale"));
        assert_eq!(f.status, Some(ConsentStatus::Confirmed));
        assert_eq!(
            f.imported_since,
            Utc.with_ymd_and_hms(2026, 2, 28, 23, 0, 0).single(),
            "midnight in the operator's zone"
        );
        assert!(f.imported_before.is_some());
        assert_eq!(
            ConsentFilter::parse("", berlin),
            Ok(ConsentFilter::default())
        );
        assert!(matches!(
            ConsentFilter::parse("colour=red", berlin),
            Err(FilterError::UnknownKey(k)) if k == "colour"
        ));
        assert!(matches!(
            ConsentFilter::parse("sale", berlin),
            Err(FilterError::NotKeyValue(_))
        ));
        let bad = ConsentFilter::parse("since=03/01/2026", berlin).expect_err("bad day");
        assert!(bad.to_string().contains("YYYY-MM-DD"), "{bad}");
        assert!(ConsentFilter::parse("status=maybe", berlin).is_err());
    }
}
