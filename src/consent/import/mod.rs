//! Import of consent-verified CSV lists (`bote consent import`).
//!
//! Two passes: [`table::sniff`] refuses unreadable files before anything is
//! written; then records ([`table::Records`]) stream through validation and
//! [`merge`] into atomic batches of [`CHUNK`] rows. A row that fails
//! validation is rejected with its physical line and reason, never
//! half-applied; a record that cannot be read at all (an unbalanced quote,
//! bytes foreign to the file's encoding) is counted as unreadable and
//! reported with its line, and reading goes on with the next line. Every
//! data row ends up imported, merged, rejected or unreadable. The file must
//! be a regular file (it is read again for the rejects file); the CLI
//! spools a pipe first.
//!
//! The second pass: [`PARSERS`] parse threads read the CSV in turns and
//! validate its rows (phone numbers, dates, topics: the CPU-heavy part, no
//! store access) and hand them over through a bounded channel; the calling
//! thread keeps the valid ones compact in a [`sorted::Spool`] (spilled to
//! an unlinked temp file past a memory budget). When the file is read, the
//! rows come out in (number, line) order and are merged and written in
//! chunks of [`CHUNK`] — each an atomic batch over a number range, so an
//! interrupted import leaves a prefix of the numbers imported and running
//! it again completes it. A number's rows keep their file order, so "latest
//! event wins" and duplicate reports are those of a run in file order; the
//! report's lists are put in line order at the end. Only the calling thread
//! touches the store.
//!
//! The header is mapped in `columns`; `parse` is the parse thread's half,
//! `sorted` holds the rows in between, `writer` merges and writes; `report`
//! holds what the operator gets back.
//!
//! [`merge`]: super::merge::merge

mod columns;
mod parse;
mod report;
mod sorted;
mod writer;

#[cfg(test)]
mod properties;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::store::{Batch, Store, StoreError};
use super::table::{self, Record, Records, TableError};
use crate::config::Config;
use columns::{map_columns, Column};
use parse::RowParser;
use writer::{Progress, Run};

pub use columns::is_phone_header;
pub use report::{ImportReport, Note, Reject, RejectsFile};

/// Rows per atomic write (a range of consecutive numbers, the rows coming
/// sorted). sled keeps every node version a batch replaces until the batch
/// is done, so large batches cost memory, not speed (BENCHMARKS.md).
pub const CHUNK: usize = 250;
/// Rows handed from the parse thread to the writing thread at once.
const HANDOFF: usize = 256;
/// Threads validating rows: validation (numbers, dates) is most of the
/// reading phase's CPU, and the merge waits for the whole file.
const PARSERS: usize = 2;
/// Hand-offs in flight: bounds the memory the parse threads may run ahead by.
const IN_FLIGHT: usize = 8;

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
    /// A header cell is a known column with its umlauts garbled by a
    /// wrong encoding; dropping it would change what every row means.
    #[error("{path}: header {cell:?} looks like {alias:?} ({column}) garbled by a wrong encoding; bote refuses the file rather than drop that column (save it again as UTF-8, or as Excel's \"CSV (Trennzeichen-getrennt)\", and retry)")]
    GarbledHeader {
        /// The file.
        path: PathBuf,
        /// The header cell as read (bounded).
        cell: String,
        /// The header it resembles.
        alias: String,
        /// Canonical name.
        column: String,
    },
    /// `--rejects` names the file being imported.
    #[error("--rejects {rejects} is the file being imported ({input}); choose another name")]
    RejectsIsInput {
        /// The rejects path.
        rejects: PathBuf,
        /// The input.
        input: PathBuf,
    },
    /// The import's spool of sorted rows could not be written or read back.
    #[error("import spool in {dir}: {source}")]
    Spool {
        /// The directory of the (unlinked) spool file.
        dir: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The rejects file could not be written.
    #[error("cannot write rejects file {path}: {message}")]
    Rejects {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
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

/// Imports `path` into `store`.
pub fn import(
    store: &Store,
    config: &Config,
    path: &Path,
    opts: &ImportOptions,
    mut rejects: Option<RejectsFile>,
    progress: &dyn Fn(u64, u64),
) -> Result<ImportReport, ImportError> {
    if let Some(r) = &rejects {
        if table::same_file(r.path(), path) {
            return Err(ImportError::RejectsIsInput {
                rejects: r.path().to_owned(),
                input: path.to_owned(),
            });
        }
    }
    let sniffed = table::sniff(path)?;
    let read = Arc::new(AtomicU64::new(0));
    let mut records = Records::open(path, &sniffed, read.clone())?;
    let headers = match records.next_record()? {
        None => return Err(TableError::Empty(path.to_owned()).into()),
        Some(Record {
            line,
            cells: Err(u),
        }) => {
            return Err(TableError::Csv {
                path: path.to_owned(),
                line,
                message: format!("the header row cannot be read: {}", u.reason),
            }
            .into())
        }
        Some(Record { cells: Ok(h), .. }) => h,
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
        r.write(
            ["line", "reason"]
                .into_iter()
                .chain(headers.iter().map(String::as_str)),
        )?;
    }
    // What the run decides at its start (an empty store, suppressions)
    // must stay true while it lasts: one import at a time.
    let _one_import = store.importer();
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
        fetched: HashMap::new(),
        spool: sorted::Spool::new(store.dir(), sorted::BUDGET),
        pending: Vec::with_capacity(CHUNK),
        batch: Batch::default(),
        last: None,
        refused: rejects.is_some().then(Vec::new),
        writer: None,
        method_without_date: None,
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
    if sniffed.sep_line {
        run.report.note(
            1,
            format!(
                "Excel's sep={} line: read as the delimiter, not as the header",
                sniffed.delimiter as char
            ),
        );
    }
    let parser = RowParser {
        columns: &columns,
        config,
        opts,
        region,
    };
    let records = std::sync::Mutex::new(Some(records));
    let (tx, rx) = mpsc::sync_channel(IN_FLIGHT);
    std::thread::scope(|scope| {
        let parser = &parser;
        let records = &records;
        for _ in 0..PARSERS {
            let tx = tx.clone();
            std::thread::Builder::new()
                .name("bote-import-parse".into())
                .spawn_scoped(scope, move || parser.read_all(records, tx))
                .map_err(|e| TableError::Io {
                    path: path.to_owned(),
                    source: e,
                })?;
        }
        // The channel ends when the last parse thread is done.
        drop(tx);
        // Returning drops `rx`: a parse thread still running stops at its
        // next hand-off, and the scope joins it.
        // Reading is the first half of the bar, writing the second.
        let half = sniffed.bytes / 2;
        run.consume(rx, &|p| match p {
            Progress::Reading => progress(read.load(Ordering::Relaxed) / 2, sniffed.bytes),
            Progress::Writing { rows, of } => {
                let done =
                    u128::from(sniffed.bytes - half) * u128::from(rows) / u128::from(of.max(1));
                progress(half + done as u64, sniffed.bytes)
            }
        })?;
        if let Some(r) = rejects {
            let refused = run.refused.take().unwrap_or_default();
            r.write_refused(path, &sniffed, refused)?;
        }
        progress(sniffed.bytes, sniffed.bytes);
        Ok(run.report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::{dates, Change, ConsentStatus};
    use crate::phone::Phone;

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

    /// A revocation that lands while an import is merging the same number
    /// is never overwritten by the import's chunk (it waits for the chunk's
    /// commit, and the next chunk merges the older opt-in under it). The
    /// file holds one number on every row, each with a new first name (a
    /// change, so every chunk writes the contact back), so that nearly all
    /// of the import's time is inside a chunk that has read it.
    #[test]
    fn a_revocation_racing_an_import_of_the_same_number_always_wins() {
        use rand::Rng;
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(&dir.path().join("store")).expect("open");
        let file = |i: usize| {
            let path = dir.path().join(format!("same-{i}.csv"));
            let mut text =
                "phone;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics;first_name\n"
                    .to_string();
            for j in 0..8 * CHUNK {
                text.push_str(&format!(
                    "{};2026-03-01;web;2026-03-02;link;sale;Name{j}\n",
                    number(i)
                ));
            }
            std::fs::write(&path, text).expect("write");
            path
        };
        let opts = ImportOptions {
            source: None,
            dry_run: false,
            actor: "tester".into(),
            now: Utc::now(),
        };
        let config = Config::default();
        // How long one such import takes here, to aim the revocations into it.
        let t0 = std::time::Instant::now();
        import(&store, &config, &file(100), &opts, None, &|_, _| {}).expect("warm-up");
        let took = t0.elapsed().as_micros().max(2) as u64;
        let mut rng = rand::thread_rng();
        for round in 0..6 {
            let path = file(round);
            let phone = Phone::from_e164(&number(round)).expect("phone");
            let delay = std::time::Duration::from_micros(rng.gen_range(took / 5..took * 4 / 5));
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    import(&store, &config, &path, &opts, None, &|_, _| {}).expect("import")
                });
                scope.spawn(|| {
                    std::thread::sleep(delay);
                    let rev = crate::consent::Revocation {
                        at: Utc::now(),
                        actor: "operator".into(),
                        origin: "operator:test".into(),
                        reason: "phoned in".into(),
                    };
                    // Before the import has created the contact there is
                    // nothing to revoke; try again until there is (bounded).
                    for _ in 0..20_000 {
                        if store.revoke(phone, None, &rev).expect("revoke") > 0 {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_micros(200));
                    }
                });
            });
            let contact = store.contact(phone).expect("read").expect("stored");
            assert_eq!(
                contact.topic("sale").map(|t| t.status),
                Some(ConsentStatus::Revoked),
                "round {round} (revoked after {delay:?} of a {took} µs import): the import overwrote the revocation"
            );
        }
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

    /// The merge goes in number order, the report and the rejects file
    /// stay in line order: a file in descending number order with a
    /// duplicate, a row refused while parsing and one refused while merging
    /// (an erased number) reports every line where it is in the file.
    #[test]
    fn a_file_out_of_number_order_reports_in_line_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(&dir.path().join("store")).expect("open");
        let erased = Phone::from_e164(&number(3)).expect("phone");
        let erased_at = dates::parse("2025-02-01T12:00:00Z").expect("date");
        store.suppress(erased, erased_at).expect("suppress");
        let path = dir.path().join("list.csv");
        let rows = [
            format!("{};2025-01-01;web;;;sale;", number(9)),
            format!("{};2025-01-01;web;;;sale;", number(3)),
            "12345;2025-01-01;web;;;sale;".to_string(),
            format!("{};2025-01-01;web;2025-01-02;link;sale;", number(9)),
            format!("{};2025-01-01;web;;;sale;", number(1)),
        ];
        let text = format!(
            "phone;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics;revoked_at\n{}\n",
            rows.join("\n")
        );
        std::fs::write(&path, text).expect("write");
        let rejects_path = dir.path().join("rejects.csv");
        let rejects = RejectsFile::create(&rejects_path).expect("rejects");
        let opts = ImportOptions {
            source: None,
            dry_run: false,
            actor: "tester".into(),
            now: Utc::now(),
        };
        let report = import(
            &store,
            &Config::default(),
            &path,
            &opts,
            Some(rejects),
            &|_, _| {},
        )
        .expect("import");
        assert_eq!((report.imported, report.updated), (2, 1));
        assert_eq!((report.rejected, report.duplicates), (2, 1));
        let lines: Vec<u64> = report.rejects.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 4]);
        assert!(
            report.rejects[0].reason.contains("erased"),
            "{:?}",
            report.rejects
        );
        assert_eq!(report.notes[0].line, 5);
        assert!(report.notes[0].message.contains("same number as line 2"));
        let written = std::fs::read_to_string(&rejects_path).expect("read");
        let rejected: Vec<&str> = written.lines().skip(1).collect();
        assert_eq!(rejected.len(), 2, "{written}");
        assert!(
            rejected[0].starts_with("3;") && rejected[0].contains(&number(3)[1..]),
            "{written}"
        );
        assert!(
            rejected[1].starts_with("4;") && rejected[1].contains("12345"),
            "{written}"
        );
        let nine = Phone::from_e164(&number(9)).expect("phone");
        let contact = store.contact(nine).expect("read").expect("stored");
        assert_eq!(contact.topics["sale"].status, ConsentStatus::Confirmed);
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
}
