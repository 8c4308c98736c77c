//! The parse thread's half of the pipeline: records read and validated into consent records.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::mpsc::SyncSender;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::columns::Column;
use super::{ImportOptions, HANDOFF};
use crate::config::Config;
use crate::consent::merge::ConsentRecord;
use crate::consent::table::{Record, Records, TableError};
use crate::consent::{dates, ConfirmationMethod};
use crate::phone::Phone;

/// Longest reason kept: a reason quotes cells, and a cell may be long.
const MAX_REASON: usize = 300;

/// Validates rows: the parse thread's half of the pipeline.
pub(super) struct RowParser<'a> {
    pub(super) columns: &'a [Column],
    pub(super) config: &'a Config,
    pub(super) opts: &'a ImportOptions,
    pub(super) region: phonenumber::country::Id,
}

/// A row that validated, with what the operator should hear about it.
pub(super) struct Valid {
    pub(super) record: ConsentRecord,
    /// A confirmation method came without a confirmation date (dropped:
    /// the consent is pending).
    pub(super) method_without_date: bool,
    /// Topic spellings mapped to a configured topic (spelling, topic).
    pub(super) spellings: Vec<(String, String)>,
}

/// What became of one data row on the parse thread.
pub(super) enum Row {
    Valid(Box<Valid>),
    /// Read, but not a valid consent: the reason.
    Invalid(String),
    /// Not readable as a record at all (unbalanced quote, foreign bytes).
    Unreadable(String),
}

/// A data row after validation, with its physical line. The cells are not
/// kept: the rejects file reads its rows again when the merge is done.
pub(super) struct Parsed {
    pub(super) line: u64,
    pub(super) row: Row,
}

/// What the parse thread hands over.
pub(super) enum Handoff {
    Rows(Vec<Parsed>),
    /// The file could not be read on; rows before it were sent.
    Failed(TableError),
}

impl RowParser<'_> {
    /// Reads data rows (the header was read by the caller) from the shared
    /// reader, [`HANDOFF`] records at a time under its lock, validates them
    /// outside it and sends them, until the end, a read error, or the
    /// receiver hanging up. Several threads may run this at once: the rows
    /// are sorted by number before the merge and the report is put in line
    /// order, so the order they arrive in does not matter. After a read
    /// error no thread reads on; the rows read before it are all sent.
    pub(super) fn read_all(&self, records: &Mutex<Option<Records>>, tx: SyncSender<Handoff>) {
        let mut batch = Vec::with_capacity(HANDOFF);
        loop {
            let mut failed = None;
            {
                let mut guard = records.lock().unwrap_or_else(|p| p.into_inner());
                let Some(reader) = guard.as_mut() else {
                    return;
                };
                while batch.len() < HANDOFF {
                    match reader.next_record() {
                        Ok(Some(r)) => batch.push(r),
                        Ok(None) => {
                            *guard = None;
                            break;
                        }
                        Err(e) => {
                            failed = Some(e);
                            *guard = None;
                            break;
                        }
                    }
                }
            }
            let rows: Vec<Parsed> = batch.drain(..).map(|r| self.validate(r)).collect();
            if !rows.is_empty() && tx.send(Handoff::Rows(rows)).is_err() {
                return;
            }
            if let Some(e) = failed {
                let _ = tx.send(Handoff::Failed(e));
                return;
            }
        }
    }

    /// One record, validated.
    fn validate(&self, record: Record) -> Parsed {
        match record.cells {
            Ok(cells) => Parsed {
                line: record.line,
                row: match self.parse(&cells) {
                    Ok(v) => Row::Valid(Box::new(v)),
                    Err(reason) => Row::Invalid(bounded(reason)),
                },
            },
            Err(u) => Parsed {
                line: record.line,
                row: Row::Unreadable(u.reason),
            },
        }
    }

    /// Turns a row into a validated consent record, or the reason it is not one.
    fn parse(&self, cells: &[String]) -> Result<Valid, String> {
        let mut phone = None;
        let mut opted_in_at = None;
        let mut source = None;
        let mut confirmed_at = None;
        let mut method = None;
        let mut topics: Vec<String> = Vec::new();
        let mut spellings = Vec::new();
        let mut method_without_date = false;
        let mut locale = None;
        let mut text_version = None;
        let mut revoked_at = None;
        let mut attributes = BTreeMap::new();
        let date = |name: &str, v: &str| -> Result<DateTime<Utc>, String> {
            let d = dates::parse(v).map_err(|e| format!("{name}: {e}"))?;
            dates::check_consent_date(d, self.opts.now, name, v)
        };
        for (col, raw) in self.columns.iter().zip(cells) {
            let value = spreadsheet_value(raw);
            let value = value.as_ref();
            if value.is_empty() {
                continue;
            }
            match col {
                Column::Phone => {
                    if let Some(why) = scientific_notation(value) {
                        return Err(why);
                    }
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
                        let topic = self.topic(t)?;
                        if topic != t {
                            spellings.push((t.to_string(), topic.to_string()));
                        }
                        if !topics.iter().any(|x| x == topic) {
                            topics.push(topic.to_string());
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
            // Form exports fill a default method for every row; without a
            // date nothing was confirmed, so the consent stays pending.
            (None, Some(_)) => {
                method_without_date = true;
                method = None;
            }
            _ => {}
        }
        if revoked_at.is_some_and(|r| r < opted_in_at) {
            return Err("revoked_at precedes opted_in_at".into());
        }
        Ok(Valid {
            record: ConsentRecord {
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
            },
            method_without_date,
            spellings,
        })
    }

    /// The configured topic `t` names, in any case.
    fn topic<'t>(&'t self, t: &str) -> Result<&'t str, String> {
        let topics = &self.config.consent.topics;
        topics
            .iter()
            .find(|c| *c == t)
            .or_else(|| topics.iter().find(|c| c.to_lowercase() == t.to_lowercase()))
            .map(String::as_str)
            .ok_or_else(|| {
                format!(
                    "unknown topic {t:?} (configured: {})",
                    self.config.consent.topics.join(", ")
                )
            })
    }
}

/// A cell as the spreadsheet meant it: without the apostrophe Excel (and
/// bote's own formula escaping) puts before a number or formula-like text,
/// and with no-break spaces as plain spaces.
fn spreadsheet_value(raw: &str) -> Cow<'_, str> {
    let v = match raw.strip_prefix('\'') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit() || "+-=@(".contains(c)) => rest,
        _ => raw,
    };
    if v.contains(['\u{a0}', '\u{2007}', '\u{202f}']) {
        v.replace(['\u{a0}', '\u{2007}', '\u{202f}'], " ").into()
    } else {
        v.into()
    }
}

/// Why a phone cell in Excel's scientific notation (`4,91713E+11`) cannot
/// be a number: the spreadsheet rounded it and its last digits are gone.
fn scientific_notation(v: &str) -> Option<String> {
    let (mantissa, exponent) = v.split_once(['E', 'e'])?;
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once([',', '.']) {
        Some((a, b)) => digits(a) && digits(b),
        None => digits(mantissa),
    };
    (mantissa_ok && digits(exponent)).then(|| {
        format!(
            "phone {v:?} is in scientific notation: the spreadsheet stored the number as a rounded \
             value and its last digits are lost; format the column as Text (or the numbers with a \
             leading + or 0) and export again"
        )
    })
}

/// At most [`MAX_REASON`] characters.
fn bounded(reason: String) -> String {
    if reason.chars().count() <= MAX_REASON {
        return reason;
    }
    let mut cut: String = reason.chars().take(MAX_REASON).collect();
    cut.push('…');
    cut
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

    #[test]
    fn spreadsheet_habits() {
        assert_eq!(spreadsheet_value("'0171 2345678"), "0171 2345678");
        assert_eq!(spreadsheet_value("'+49171"), "+49171");
        assert_eq!(spreadsheet_value("'=x"), "=x");
        assert_eq!(spreadsheet_value("'Tis"), "'Tis");
        assert_eq!(spreadsheet_value("0171\u{a0}2345678"), "0171 2345678");
        for sci in ["4,91713E+11", "4.91713E+11", "4.9E11", "49171e+9"] {
            let why = scientific_notation(sci).expect(sci);
            assert!(
                why.contains("scientific notation") && why.contains("as Text"),
                "{why}"
            );
        }
        for not in ["+49 171 2345678", "0171E", "E+11", "4,9E+x"] {
            assert_eq!(scientific_notation(not), None, "{not}");
        }
    }

    #[test]
    fn reasons_are_bounded() {
        let long = bounded("x".repeat(100_000));
        assert_eq!(long.chars().count(), MAX_REASON + 1);
    }
}
