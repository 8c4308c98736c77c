//! The parse thread's half of the pipeline: CSV rows decoded and validated into consent records.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::columns::Column;
use super::{ImportOptions, HANDOFF};
use crate::config::Config;
use crate::consent::merge::ConsentRecord;
use crate::consent::table::{self, TableError};
use crate::consent::{dates, ConfirmationMethod};
use crate::phone::Phone;

/// Clock skew tolerated before a date counts as "in the future".
const SKEW_SECS: i64 = 300;

/// Validates rows: the parse thread's half of the pipeline.
pub(super) struct RowParser<'a> {
    pub(super) columns: &'a [Column],
    pub(super) config: &'a Config,
    pub(super) opts: &'a ImportOptions,
    pub(super) region: phonenumber::country::Id,
    /// Keep the original cells of every row (for `--rejects`).
    pub(super) keep_cells: bool,
}

/// A data row after validation, with its physical line.
pub(super) struct Parsed {
    pub(super) line: u64,
    pub(super) consent: Result<ConsentRecord, String>,
    /// The row as read, when a rejects file wants it.
    pub(super) cells: Option<csv::StringRecord>,
}

/// What the parse thread hands over.
pub(super) enum Handoff {
    Rows(Vec<Parsed>),
    /// The CSV broke at this point; rows before it were sent.
    Failed(TableError),
}

impl RowParser<'_> {
    /// Reads the data rows of `path` (the header was checked by the caller)
    /// and sends them in order, until the end, a broken CSV, or the
    /// receiver hanging up.
    pub(super) fn read_all(
        &self,
        path: &Path,
        sniffed: &table::Sniffed,
        read: Arc<AtomicU64>,
        tx: SyncSender<Handoff>,
    ) {
        let (mut reader, lines) = match table::open(path, sniffed, read) {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(Handoff::Failed(e));
                return;
            }
        };
        let mut record = csv::StringRecord::new();
        let mut rows = Vec::with_capacity(HANDOFF);
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    if !rows.is_empty() && tx.send(Handoff::Rows(rows)).is_err() {
                        return;
                    }
                    let _ = tx.send(Handoff::Failed(table::csv_error(path, &e)));
                    return;
                }
            }
            let line = lines.of(&record);
            if record.iter().all(str::is_empty) {
                continue;
            }
            rows.push(Parsed {
                line,
                consent: self.parse(&record),
                cells: self.keep_cells.then(|| record.clone()),
            });
            if rows.len() == HANDOFF {
                let full = std::mem::replace(&mut rows, Vec::with_capacity(HANDOFF));
                if tx.send(Handoff::Rows(full)).is_err() {
                    return;
                }
            }
        }
        if !rows.is_empty() {
            let _ = tx.send(Handoff::Rows(rows));
        }
    }

    /// Turns a row into a validated consent record, or the reason it is not one.
    fn parse(&self, record: &csv::StringRecord) -> Result<ConsentRecord, String> {
        let mut phone = None;
        let mut opted_in_at = None;
        let mut source = None;
        let mut confirmed_at = None;
        let mut method = None;
        let mut topics = Vec::new();
        let mut locale = None;
        let mut text_version = None;
        let mut revoked_at = None;
        let mut attributes = BTreeMap::new();
        let date = |name: &str, v: &str| -> Result<DateTime<Utc>, String> {
            let d = dates::parse(v).map_err(|e| format!("{name}: {e}"))?;
            if (d - self.opts.now).num_seconds() > SKEW_SECS {
                return Err(format!("{name} {v:?} lies in the future"));
            }
            Ok(d)
        };
        for (col, value) in self.columns.iter().zip(record.iter()) {
            if value.is_empty() {
                continue;
            }
            match col {
                Column::Phone => {
                    phone = Some(
                        Phone::parse_in(value, self.region).map_err(|e| format!("phone: {e}"))?,
                    )
                }
                Column::OptedInAt => opted_in_at = Some(date("opted_in_at", value)?),
                Column::Source => source = Some(value.to_string()),
                Column::ConfirmedAt => confirmed_at = Some(date("confirmed_at", value)?),
                Column::Method => {
                    method = Some(ConfirmationMethod::parse(value).ok_or_else(|| {
                        format!("confirmation_method {value:?} is not link, reply, button or code")
                    })?)
                }
                Column::Topics => {
                    for t in value.split('|').map(str::trim).filter(|t| !t.is_empty()) {
                        if !self.config.has_topic(t) {
                            return Err(format!(
                                "unknown topic {t:?} (configured: {})",
                                self.config.consent.topics.join(", ")
                            ));
                        }
                        if !topics.iter().any(|x| x == t) {
                            topics.push(t.to_string());
                        }
                    }
                }
                Column::Locale => locale = Some(normalise_locale(value)?),
                Column::TextVersion => text_version = Some(value.to_string()),
                Column::RevokedAt => revoked_at = Some(date("revoked_at", value)?),
                Column::Attribute(name) => {
                    if value.chars().count() > 256 {
                        return Err(format!("{name} is longer than 256 characters"));
                    }
                    attributes.insert(name.clone(), value.to_string());
                }
                Column::Dropped => {}
            }
        }
        let phone = phone.ok_or("phone is missing")?;
        let opted_in_at = opted_in_at.ok_or("opted_in_at is missing")?;
        let source = source
            .or_else(|| self.opts.source.clone())
            .ok_or("opt_in_source is missing")?;
        if topics.is_empty() {
            return Err("topics is missing".into());
        }
        match (confirmed_at, method) {
            (Some(c), _) if c < opted_in_at => {
                return Err(
                    "confirmed_at precedes opted_in_at (confirmation before sign-up)".into(),
                )
            }
            (Some(_), None) => {
                return Err("confirmation_method is missing (required with confirmed_at)".into())
            }
            (None, Some(_)) => return Err("confirmation_method given without confirmed_at".into()),
            _ => {}
        }
        if revoked_at.is_some_and(|r| r < opted_in_at) {
            return Err("revoked_at precedes opted_in_at".into());
        }
        Ok(ConsentRecord {
            phone,
            opted_in_at,
            source,
            confirmed_at,
            method,
            topics,
            locale,
            text_version,
            revoked_at,
            attributes,
        })
    }
}

/// `de`, `de_AT`, `de-at` → `de` / `de_AT`.
fn normalise_locale(v: &str) -> Result<String, String> {
    let mut parts = v.trim().splitn(2, ['_', '-']);
    let lang = parts.next().unwrap_or_default().to_lowercase();
    let region = parts.next().map(str::to_uppercase);
    let ok_lang = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase());
    let ok_region = region
        .as_ref()
        .is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()));
    if !ok_lang || !ok_region {
        return Err(format!(
            "locale {v:?} is not a language code such as de or de_AT"
        ));
    }
    Ok(match region {
        Some(r) => format!("{lang}_{r}"),
        None => lang,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales() {
        assert_eq!(normalise_locale("de").as_deref(), Ok("de"));
        assert_eq!(normalise_locale("de-at").as_deref(), Ok("de_AT"));
        assert!(normalise_locale("deutsch").is_err());
    }
}
