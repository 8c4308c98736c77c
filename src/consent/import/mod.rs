//! Import of consent-verified CSV lists (`bote consent import`).
//!
//! Two passes: [`table::sniff`] refuses unreadable files before anything is
//! written; then rows stream through validation and [`merge`] into atomic
//! batches of [`CHUNK`] rows. A row that fails validation is rejected with
//! its physical line and reason, never half-applied. Memory holds one chunk
//! plus a set of the numbers seen (to report duplicates), not the file.
//!
//! The second pass is a two-stage pipeline: a parse thread decodes the CSV
//! and validates each row (phone numbers, dates, topics: the CPU-heavy part,
//! no store access) and hands rows over in file order through a bounded
//! channel; the calling thread merges them with the store and writes. Only
//! the calling thread touches the store, so the order of rows — and with it
//! "latest event wins", duplicate reports and line numbers — is exactly that
//! of a single-threaded run.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::merge::{merge, ConsentRecord};
use super::store::{Batch, Store, StoreError};
use super::table::{self, Encoding, TableError};
use super::{dates, Change, ConfirmationMethod, ConsentEvent, ConsentStatus, Contact};
use crate::config::Config;
use crate::phone::Phone;

/// Rows per atomic write. sled keeps everything a batch replaces until the
/// batch is done, so large batches cost memory, not speed (at 50k rows:
/// 313 MB peak with 5,000-row batches, 132 MB with 200, same throughput).
pub const CHUNK: usize = 250;
/// Rows handed from the parse thread to the writing thread at once.
const HANDOFF: usize = 256;
/// Hand-offs in flight: bounds the memory the parse thread may run ahead by.
const IN_FLIGHT: usize = 8;
/// Rejects and notes kept in the report; `--rejects` gets them all.
const REPORT_LIMIT: usize = 200;
/// Clock skew tolerated before a date counts as "in the future".
const SKEW_SECS: i64 = 300;

/// Why an import could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not a readable table.
    #[error(transparent)]
    Table(#[from] TableError),
    /// Required columns are missing from the header.
    #[error("{path}: header lacks required column(s) {}; found: {}", missing.join(", "), found.join(", "))]
    MissingColumns {
        /// The file.
        path: PathBuf,
        /// The missing columns (canonical names).
        missing: Vec<&'static str>,
        /// The header as found.
        found: Vec<String>,
    },
    /// Two header cells mean the same column.
    #[error("{path}: columns {first:?} and {second:?} both mean {column}")]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// Canonical name.
        column: &'static str,
        /// First header cell.
        first: String,
        /// Second header cell.
        second: String,
    },
    /// The store failed (batches before this one were committed; re-running
    /// the import is safe).
    #[error("store failed during import: {0}")]
    Store(#[from] StoreError),
    /// The rejects file could not be written.
    #[error("cannot write rejects file {path}: {message}")]
    Rejects {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
}

/// A column of the consent CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Phone,
    OptedInAt,
    Source,
    ConfirmedAt,
    Method,
    Topics,
    Locale,
    TextVersion,
    RevokedAt,
    Attribute(String),
    Dropped,
}

impl Column {
    fn canonical(&self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::OptedInAt => "opted_in_at",
            Self::Source => "opt_in_source",
            Self::ConfirmedAt => "confirmed_at",
            Self::Method => "confirmation_method",
            Self::Topics => "topics",
            Self::Locale => "locale",
            Self::TextVersion => "consent_text_version",
            Self::RevokedAt => "revoked_at",
            Self::Attribute(_) => "attribute",
            Self::Dropped => "dropped",
        }
    }

    fn from_header(cell: &str, declared: &[String]) -> Self {
        let n = table::normalise_header(cell);
        match n.as_str() {
            "phone" | "telefon" | "telefonnummer" | "handynummer" | "handy" | "mobil"
            | "mobilnummer" | "mobile" | "phone number" => Self::Phone,
            "opted in at" | "einwilligung am" | "einwilligung" => Self::OptedInAt,
            "opt in source" | "source" | "quelle" => Self::Source,
            "confirmed at" | "bestätigt am" | "bestaetigt am" => Self::ConfirmedAt,
            "confirmation method" | "bestätigungsart" | "bestaetigungsart" => Self::Method,
            "topics" | "themen" => Self::Topics,
            "locale" | "sprache" | "language" => Self::Locale,
            "consent text version" | "einwilligungstext" => Self::TextVersion,
            "revoked at" | "widerruf am" | "widerrufen am" => Self::RevokedAt,
            other => {
                let alias = match other {
                    "vorname" | "first name" => "first_name",
                    "nachname" | "last name" => "last_name",
                    _ => other,
                };
                declared
                    .iter()
                    .find(|d| table::normalise_header(d) == table::normalise_header(alias))
                    .map(|d| Self::Attribute(d.clone()))
                    .unwrap_or(Self::Dropped)
            }
        }
    }
}

/// Whether a header cell names the phone column (also used for campaign lists).
pub fn is_phone_header(cell: &str) -> bool {
    Column::from_header(cell, &[]) == Column::Phone
}

/// Options of one import run.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Default `opt_in_source` for rows without one, and the run's label.
    pub source: Option<String>,
    /// Validate and report, write nothing.
    pub dry_run: bool,
    /// Who runs it (G13).
    pub actor: String,
    /// "Now", for the future-date rule.
    pub now: DateTime<Utc>,
}

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reject {
    /// Physical line in the file.
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// Something worth the operator's attention that did not reject the row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Physical line in the file.
    pub line: u64,
    /// What happened.
    pub message: String,
}

/// The import summary (stable `--json` shape).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportReport {
    /// The file.
    pub file: String,
    /// Detected encoding.
    pub encoding: Option<Encoding>,
    /// Detected delimiter.
    pub delimiter: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Data rows read.
    pub rows: u64,
    /// Numbers new to the store.
    pub imported: u64,
    /// Rows that changed a stored number.
    pub updated: u64,
    /// Rows that changed nothing (e.g. a re-import).
    pub unchanged: u64,
    /// Accepted rows whose consent is still pending (no marketing until confirmed).
    pub pending: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Rows whose number appeared earlier in the same file (merged).
    pub duplicates: u64,
    /// Columns dropped because they are not declared (G8).
    pub dropped_columns: Vec<String>,
    /// The first rejects (all of them go to `--rejects`).
    pub rejects: Vec<Reject>,
    /// Merges and deliberately ignored parts of rows.
    pub notes: Vec<Note>,
}

impl ImportReport {
    /// Rows accepted (imported + updated + unchanged).
    pub fn accepted(&self) -> u64 {
        self.imported + self.updated + self.unchanged
    }

    fn reject(&mut self, line: u64, reason: String) {
        self.rejected += 1;
        if self.rejects.len() < REPORT_LIMIT {
            self.rejects.push(Reject { line, reason });
        }
    }

    fn note(&mut self, line: u64, message: String) {
        if self.notes.len() < REPORT_LIMIT {
            self.notes.push(Note { line, message });
        }
    }
}

/// Where rejected rows go: a CSV with `line`, `reason` and the original cells.
pub struct RejectsFile {
    path: PathBuf,
    writer: csv::Writer<std::fs::File>,
}

impl RejectsFile {
    /// Creates (truncates) the rejects file, owner-only: it holds numbers.
    pub fn create(path: &Path) -> Result<Self, ImportError> {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(path).map_err(|e| ImportError::Rejects {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Ok(Self {
            path: path.to_owned(),
            writer: csv::WriterBuilder::new().delimiter(b';').from_writer(file),
        })
    }

    fn write(&mut self, row: &[&str]) -> Result<(), ImportError> {
        self.writer
            .write_record(row)
            .map_err(|e| ImportError::Rejects {
                path: self.path.clone(),
                message: e.to_string(),
            })
    }

    fn finish(mut self) -> Result<(), ImportError> {
        self.writer.flush().map_err(|e| ImportError::Rejects {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }
}

/// State of one import run (on the calling thread, the only one that
/// touches the store).
struct Run<'a> {
    store: &'a Store,
    opts: &'a ImportOptions,
    file_label: String,
    /// Whether the store has erased numbers at all; when not, no row needs
    /// the suppression lookup (an import never adds suppressions).
    has_suppressions: bool,
    /// Whether the store had no contacts when the run began. Like the
    /// chunk overlay, this relies on the run being the store's only writer
    /// of contacts while it lasts.
    started_empty: bool,
    /// Contacts changed in the current chunk (all of them in a dry run).
    overlay: HashMap<Phone, Contact>,
    batch: Batch,
    /// Number → first line it appeared on.
    seen: HashMap<Phone, u64>,
    report: ImportReport,
}

/// Validates rows: the parse thread's half of the pipeline.
struct RowParser<'a> {
    columns: &'a [Column],
    config: &'a Config,
    opts: &'a ImportOptions,
    region: phonenumber::country::Id,
    /// Keep the original cells of every row (for `--rejects`).
    keep_cells: bool,
}

/// A data row after validation, with its physical line.
struct Parsed {
    line: u64,
    consent: Result<ConsentRecord, String>,
    /// The row as read, when a rejects file wants it.
    cells: Option<csv::StringRecord>,
}

/// What the parse thread hands over.
enum Handoff {
    Rows(Vec<Parsed>),
    /// The CSV broke at this point; rows before it were sent.
    Failed(TableError),
}

/// Imports `path` into `store`.
pub fn import(
    store: &Store,
    config: &Config,
    path: &Path,
    opts: &ImportOptions,
    mut rejects: Option<RejectsFile>,
    progress: &dyn Fn(u64, u64),
) -> Result<ImportReport, ImportError> {
    let sniffed = table::sniff(path)?;
    let headers = {
        let (mut reader, _) = table::open(path, &sniffed, Arc::default())?;
        reader
            .headers()
            .map_err(|e| table::csv_error(path, &e))?
            .clone()
    };
    let columns = map_columns(path, &headers, config, opts.source.is_some())?;
    let region = config
        .consent
        .default_region
        .parse()
        .map_err(|_| TableError::Csv {
            path: path.to_owned(),
            line: 0,
            message: "invalid default region".into(),
        })?;
    if let Some(r) = rejects.as_mut() {
        let mut head = vec!["line", "reason"];
        head.extend(headers.iter());
        r.write(&head)?;
    }
    let mut run = Run {
        store,
        opts,
        file_label: path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        has_suppressions: store.has_suppressions()?,
        started_empty: store.contact_records().next().is_none(),
        overlay: HashMap::new(),
        batch: Batch::default(),
        seen: HashMap::new(),
        report: ImportReport {
            file: path.display().to_string(),
            encoding: Some(sniffed.encoding),
            delimiter: (sniffed.delimiter as char).to_string(),
            dry_run: opts.dry_run,
            dropped_columns: headers
                .iter()
                .zip(&columns)
                .filter(|(_, c)| **c == Column::Dropped)
                .map(|(h, _)| h.to_string())
                .collect(),
            ..ImportReport::default()
        },
    };
    let parser = RowParser {
        columns: &columns,
        config,
        opts,
        region,
        keep_cells: rejects.is_some(),
    };
    let read = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::sync_channel(IN_FLIGHT);
    std::thread::scope(|scope| {
        let counter = read.clone();
        let parser = &parser;
        std::thread::Builder::new()
            .name("bote-import-parse".into())
            .spawn_scoped(scope, move || parser.read_all(path, &sniffed, counter, tx))
            .map_err(|e| TableError::Io {
                path: path.to_owned(),
                source: e,
            })?;
        // Returning drops `rx`: a parse thread still running stops at its
        // next hand-off, and the scope joins it.
        run.consume(rx, rejects, &|| {
            progress(read.load(Ordering::Relaxed), sniffed.bytes)
        })?;
        progress(sniffed.bytes, sniffed.bytes);
        Ok(run.report)
    })
}

fn map_columns(
    path: &Path,
    headers: &csv::StringRecord,
    config: &Config,
    has_default_source: bool,
) -> Result<Vec<Column>, ImportError> {
    let columns: Vec<Column> = headers
        .iter()
        .map(|h| Column::from_header(h, &config.consent.attributes))
        .collect();
    for (i, c) in columns.iter().enumerate() {
        if *c == Column::Dropped {
            continue;
        }
        if let Some(j) = columns[..i].iter().position(|d| d == c) {
            return Err(ImportError::DuplicateColumn {
                path: path.to_owned(),
                column: c.canonical(),
                first: headers[j].to_string(),
                second: headers[i].to_string(),
            });
        }
    }
    let mut required = vec![Column::Phone, Column::OptedInAt, Column::Topics];
    if !has_default_source {
        required.push(Column::Source);
    }
    let missing: Vec<&'static str> = required
        .iter()
        .filter(|r| !columns.contains(r))
        .map(Column::canonical)
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns {
            path: path.to_owned(),
            missing,
            found: headers.iter().map(String::from).collect(),
        });
    }
    Ok(columns)
}

impl Run<'_> {
    /// Takes the parse thread's rows in file order until it is done; writes
    /// a chunk every [`CHUNK`] rows.
    fn consume(
        &mut self,
        rx: Receiver<Handoff>,
        mut rejects: Option<RejectsFile>,
        progress: &dyn Fn(),
    ) -> Result<(), ImportError> {
        let mut in_chunk = 0;
        for handoff in rx {
            let rows = match handoff {
                Handoff::Rows(rows) => rows,
                Handoff::Failed(e) => {
                    self.flush()?;
                    return Err(e.into());
                }
            };
            for Parsed {
                line,
                consent,
                cells,
            } in rows
            {
                self.report.rows += 1;
                if let Err(reason) = consent.and_then(|c| self.row(c, line)) {
                    self.report.reject(line, reason.clone());
                    if let Some(r) = rejects.as_mut() {
                        let line_s = line.to_string();
                        let mut out = vec![line_s.as_str(), reason.as_str()];
                        out.extend(cells.iter().flat_map(|c| c.iter()));
                        r.write(&out)?;
                    }
                }
                in_chunk += 1;
                if in_chunk == CHUNK {
                    self.flush()?;
                    in_chunk = 0;
                    progress();
                }
            }
        }
        self.flush()?;
        if let Some(r) = rejects {
            r.finish()?;
        }
        Ok(())
    }

    /// Folds one validated row into the store state.
    fn row(&mut self, consent: ConsentRecord, line: u64) -> Result<(), String> {
        let phone = consent.phone;
        let mut events_prefix = Vec::new();
        let erased = if self.has_suppressions {
            self.store
                .suppressed_since(phone)
                .map_err(|e| e.to_string())?
        } else {
            None
        };
        if let Some(erased_at) = erased {
            if consent.opted_in_at <= erased_at || consent.revoked_at.is_some() {
                return Err(format!(
                    "number was erased on {} (G10); only a consent given after that can re-add it",
                    erased_at.format("%Y-%m-%d")
                ));
            }
            if !self.overlay.contains_key(&phone) {
                self.store.stage_unsuppress(&mut self.batch, phone);
                events_prefix.push(Change::SuppressionLifted { erased_at });
            }
        }
        let existing = match self.overlay.get(&phone) {
            Some(c) => Some(c.clone()),
            // Into an empty store, only this run's own rows can have
            // written a number: skip the lookup for the others.
            None if self.started_empty && !self.seen.contains_key(&phone) => None,
            None => self.store.contact(phone).map_err(|e| e.to_string())?,
        };
        let origin = format!("import:{}:{line}", self.file_label);
        let merged = merge(existing.as_ref(), &consent, &origin);
        for msg in &merged.ignored {
            self.report.note(line, msg.clone());
        }
        if let Some(first) = self.seen.get(&phone).copied() {
            self.report.duplicates += 1;
            self.report.note(
                line,
                format!("same number as line {first}: merged (latest event wins)"),
            );
        } else {
            self.seen.insert(phone, line);
        }
        match (
            &existing,
            merged.changes.is_empty() && events_prefix.is_empty(),
        ) {
            (None, _) => self.report.imported += 1,
            (Some(_), false) => self.report.updated += 1,
            (Some(_), true) => self.report.unchanged += 1,
        }
        if consent
            .topics
            .iter()
            .any(|t| merged.contact.topics.get(t).map(|c| c.status) == Some(ConsentStatus::Pending))
        {
            self.report.pending += 1;
        }
        if merged.changes.is_empty() && events_prefix.is_empty() && existing.is_some() {
            return Ok(());
        }
        if !self.opts.dry_run {
            // One record for the row's events (see `Store::stage_events`).
            let events: Vec<ConsentEvent> = events_prefix
                .into_iter()
                .chain(merged.changes)
                .map(|change| ConsentEvent {
                    recorded_at: self.opts.now,
                    actor: self.opts.actor.clone(),
                    origin: origin.clone(),
                    change,
                })
                .collect();
            self.store
                .stage_events(&mut self.batch, phone, &events)
                .map_err(|e| e.to_string())?;
        }
        self.overlay.insert(phone, merged.contact);
        Ok(())
    }

    /// Writes the chunk atomically (a dry run keeps its overlay instead).
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.opts.dry_run {
            return Ok(());
        }
        for contact in self.overlay.values() {
            self.store.stage_contact(&mut self.batch, contact)?;
        }
        self.store.commit(std::mem::take(&mut self.batch))?;
        self.overlay.clear();
        Ok(())
    }
}

impl RowParser<'_> {
    /// Reads the data rows of `path` (the header was checked by the caller)
    /// and sends them in order, until the end, a broken CSV, or the
    /// receiver hanging up.
    fn read_all(
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

    use crate::consent::Change;

    fn run(store: &Store, rows: &[String]) -> ImportReport {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("list.csv");
        let mut text =
            "phone;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics;revoked_at\n"
                .to_string();
        for r in rows {
            text.push_str(r);
            text.push('\n');
        }
        std::fs::write(&path, text).expect("write");
        let opts = ImportOptions {
            source: None,
            dry_run: false,
            actor: "tester".into(),
            now: Utc::now(),
        };
        import(store, &Config::default(), &path, &opts, None, &|_, _| {}).expect("import")
    }

    fn number(i: usize) -> String {
        format!("+49171{i:07}")
    }

    /// Rows spread over several chunks and both pipeline threads: one number
    /// early, in the middle and last in the file merges in file order, into
    /// an empty store (no lookups for new numbers) and again into a filled
    /// one.
    #[test]
    fn the_same_number_across_chunks_merges_in_file_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let n = 2 * CHUNK + HANDOFF + 3;
        let mut rows: Vec<String> = (0..n)
            .map(|i| format!("{};2025-01-01;web;;;sale;", number(i)))
            .collect();
        rows[CHUNK + 5] = format!("{};2025-01-01;web;2025-01-02;link;sale;", number(0));
        rows[n - 1] = format!(
            "{};2025-01-01;web;2025-01-02;link;sale;2025-03-01",
            number(0)
        );
        let report = run(&store, &rows);
        assert_eq!(report.rows, n as u64);
        assert_eq!(report.imported, n as u64 - 2);
        assert_eq!(report.updated, 2);
        assert_eq!(report.duplicates, 2);
        assert_eq!(report.notes[0].line, CHUNK as u64 + 7);
        assert!(report.notes[0].message.contains("same number as line 2"));
        let phone = Phone::from_e164(&number(0)).expect("phone");
        let contact = store.contact(phone).expect("read").expect("stored");
        assert_eq!(contact.topics["sale"].status, ConsentStatus::Revoked);
        let kinds: Vec<&str> = store
            .history(phone)
            .expect("history")
            .iter()
            .map(|e| match e.change {
                Change::OptedIn { .. } => "opted_in",
                Change::Confirmed { .. } => "confirmed",
                Change::Revoked { .. } => "revoked",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["opted_in", "confirmed", "revoked"]);
        assert_eq!(store.contact_count(), n - 2);

        let again = run(&store, &rows);
        assert_eq!((again.imported, again.updated), (0, 0));
        assert_eq!(again.unchanged, n as u64);
    }

    /// An erased number comes back only with a consent given after the
    /// erasure (G10), and then the suppression is lifted.
    #[test]
    fn an_erased_number_needs_a_newer_consent() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let phone = Phone::from_e164(&number(1)).expect("phone");
        let erased_at = dates::parse("2025-02-01T12:00:00Z").expect("date");
        store.suppress(phone, erased_at).expect("suppress");
        let old = run(&store, &[format!("{};2025-01-15;web;;;sale;", number(1))]);
        assert_eq!(old.rejected, 1);
        assert!(
            old.rejects[0].reason.contains("erased on 2025-02-01"),
            "{:?}",
            old.rejects
        );
        assert_eq!(store.contact(phone).expect("read"), None);

        let new = run(&store, &[format!("{};2025-03-01;web;;;sale;", number(1))]);
        assert_eq!((new.imported, new.rejected), (1, 0));
        assert_eq!(store.suppressed_since(phone).expect("read"), None);
        let history = store.history(phone).expect("history");
        assert!(matches!(
            history[0].change,
            Change::SuppressionLifted { .. }
        ));
    }

    #[test]
    fn locales() {
        assert_eq!(normalise_locale("de").as_deref(), Ok("de"));
        assert_eq!(normalise_locale("de-at").as_deref(), Ok("de_AT"));
        assert!(normalise_locale("deutsch").is_err());
    }

    #[test]
    fn header_aliases() {
        let declared = vec!["first_name".to_string()];
        assert_eq!(Column::from_header("Telefon", &declared), Column::Phone);
        assert_eq!(Column::from_header("Handynummer", &declared), Column::Phone);
        assert_eq!(
            Column::from_header("Einwilligung am", &declared),
            Column::OptedInAt
        );
        assert_eq!(
            Column::from_header("Bestätigt am", &declared),
            Column::ConfirmedAt
        );
        assert_eq!(
            Column::from_header("Vorname", &declared),
            Column::Attribute("first_name".into())
        );
        assert_eq!(
            Column::from_header("Geburtstag", &declared),
            Column::Dropped
        );
    }
}
