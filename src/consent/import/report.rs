//! What an import reports: counts, the first rejects and notes, and the full rejects file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ImportError;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::consent::table::{Encoding, NewFile, Records, SheetWriter, Sniffed};

/// Rejects and notes kept in the report; `--rejects` gets them all.
const REPORT_LIMIT: usize = 200;

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
    /// Rows that could not be read as a record (an unbalanced quote,
    /// bytes foreign to the file's encoding): reported, never imported.
    #[serde(default)]
    pub unreadable: u64,
    /// Rows whose number appeared earlier in the same file (merged).
    pub duplicates: u64,
    /// Columns dropped because they are not declared (G8).
    pub dropped_columns: Vec<String>,
    /// The first rejects (all of them go to `--rejects`).
    pub rejects: Vec<Reject>,
    /// The first unreadable rows (all of them go to `--rejects`).
    #[serde(default)]
    pub unreadable_rows: Vec<Reject>,
    /// Topics spelled otherwise in the file (case, padding) → the configured topic.
    #[serde(default)]
    pub topic_spellings: BTreeMap<String, String>,
    /// Merges, warnings and deliberately ignored parts of rows.
    pub notes: Vec<Note>,
}

impl ImportReport {
    /// Rows accepted (imported + updated + unchanged).
    pub fn accepted(&self) -> u64 {
        self.imported + self.updated + self.unchanged
    }

    /// Rows are merged in number order, not line order, so the lists keep
    /// the rows of the lowest lines seen so far, not the first reported.
    pub(super) fn reject(&mut self, line: u64, reason: String) {
        self.rejected += 1;
        keep_first(&mut self.rejects, Reject { line, reason }, |r| r.line);
    }

    /// Rows that did not get in: rejected or unreadable.
    pub fn refused_rows(&self) -> u64 {
        self.rejected + self.unreadable
    }

    pub(super) fn unreadable(&mut self, line: u64, reason: String) {
        self.unreadable += 1;
        keep_first(&mut self.unreadable_rows, Reject { line, reason }, |r| {
            r.line
        });
    }

    pub(super) fn note(&mut self, line: u64, message: String) {
        keep_first(&mut self.notes, Note { line, message }, |n| n.line);
    }

    /// Puts the lists in line order (a line's entries in the order they
    /// came) and cuts them to the report's limit.
    pub(super) fn settle(&mut self) {
        settle(&mut self.rejects, |r| r.line);
        settle(&mut self.unreadable_rows, |r| r.line);
        settle(&mut self.notes, |n| n.line);
    }
}

/// Adds `item`, keeping (once settled) the [`REPORT_LIMIT`] of lowest line.
fn keep_first<T>(list: &mut Vec<T>, item: T, line: impl Fn(&T) -> u64) {
    list.push(item);
    if list.len() >= 2 * REPORT_LIMIT {
        settle(list, line);
    }
}

fn settle<T>(list: &mut Vec<T>, line: impl Fn(&T) -> u64) {
    // Stable: entries of one line keep the order they were made in.
    list.sort_by_key(line);
    list.truncate(REPORT_LIMIT);
}

/// Where rejected rows go: a CSV with `line`, `reason` and the original
/// cells, rows of any length, spreadsheet-safe; written beside its path
/// and put in place only when the import ends.
pub struct RejectsFile {
    path: PathBuf,
    writer: SheetWriter<NewFile>,
}

impl RejectsFile {
    /// Starts the rejects file at `path`, owner-only (it holds numbers);
    /// an existing file is refused.
    pub fn create(path: &Path) -> Result<Self, ImportError> {
        Self::create_with(path, false)
    }

    /// [`RejectsFile::create`], replacing an existing file when `replace`.
    pub fn create_with(path: &Path, replace: bool) -> Result<Self, ImportError> {
        let file = NewFile::create(path, replace).map_err(|e| ImportError::Rejects {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Ok(Self {
            path: path.to_owned(),
            writer: SheetWriter::new(file),
        })
    }

    /// Where the file goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn write<I, S>(&mut self, row: I) -> Result<(), ImportError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.writer.row(row).map_err(|e| ImportError::Rejects {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }

    /// Writes the refused rows (line, reason) with their cells, read again
    /// from `input`, in line order, and puts the file in place.
    pub(super) fn write_refused(
        mut self,
        input: &Path,
        sniffed: &Sniffed,
        mut refused: Vec<(u64, String)>,
    ) -> Result<(), ImportError> {
        refused.sort_by_key(|(line, _)| *line);
        let mut wanted = refused.into_iter().peekable();
        if wanted.peek().is_some() {
            let mut records = Records::open(input, sniffed, Arc::new(AtomicU64::new(0)))?;
            while let Some(record) = records.next_record()? {
                let Some((line, _)) = wanted.peek() else {
                    break;
                };
                if record.line != *line {
                    continue;
                }
                let Some((line, reason)) = wanted.next() else {
                    break;
                };
                let line = line.to_string();
                let head = [line.as_str(), reason.as_str()];
                match &record.cells {
                    Ok(cells) => {
                        self.write(head.into_iter().chain(cells.iter().map(String::as_str)))?
                    }
                    Err(u) => self.write(head.into_iter().chain([u.text.as_str()]))?,
                }
            }
        }
        // A file changed under the import: its rejects file would miss rows.
        if let Some((line, _)) = wanted.next() {
            return Err(ImportError::Rejects {
                path: self.path,
                message: format!(
                    "{} changed while it was imported: line {line} is no longer a row of it",
                    input.display()
                ),
            });
        }
        self.finish()
    }

    pub(super) fn finish(self) -> Result<(), ImportError> {
        let err = |e: std::io::Error| ImportError::Rejects {
            path: self.path.clone(),
            message: e.to_string(),
        };
        self.writer.into_inner().map_err(err)?.commit().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::config::Config;
    use crate::consent::import::{import, ImportOptions};
    use crate::consent::Store;

    fn opts(now: chrono::DateTime<Utc>) -> ImportOptions {
        ImportOptions {
            source: None,
            dry_run: false,
            actor: "tester".into(),
            now,
        }
    }

    const HEAD: &str = "phone;opted_in_at;opt_in_source;topics\n";

    /// Before, `RejectsFile::create` truncated whatever was there, the
    /// input included, before the import had read a byte.
    #[test]
    fn the_rejects_file_is_checked_before_anything_is_read_or_written() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(&dir.path().join("store")).expect("store");
        let input = dir.path().join("in.csv");
        let text = format!("{HEAD}+491711234567;2025-03-01;web;sale\n12345;2025-03-01;web;sale\n");
        std::fs::write(&input, &text).expect("write");

        let existing = RejectsFile::create(&input);
        assert!(existing.is_err(), "an existing file was opened for writing");
        assert_eq!(std::fs::read_to_string(&input).expect("kept"), text);

        let via = dir.path().join(".").join("in.csv");
        let r = RejectsFile::create_with(&via, true).expect("replace allowed");
        let e = import(
            &store,
            &Config::default(),
            &input,
            &opts(Utc::now()),
            Some(r),
            &|_, _| {},
        )
        .expect_err("rejects = input");
        assert!(matches!(e, ImportError::RejectsIsInput { .. }), "{e}");
        assert_eq!(std::fs::read_to_string(&input).expect("kept"), text);
        assert_eq!(store.contact_count(), 0);

        // A refused file leaves no rejects file, and no temp file either.
        let binary = dir.path().join("binary.csv");
        std::fs::write(&binary, b"phone\n\x00\x01").expect("write");
        let out = dir.path().join("rejects.csv");
        let r = RejectsFile::create(&out).expect("create");
        import(
            &store,
            &Config::default(),
            &binary,
            &opts(Utc::now()),
            Some(r),
            &|_, _| {},
        )
        .expect_err("binary");
        assert!(!out.exists());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");

        let r = RejectsFile::create(&out).expect("create");
        let report = import(
            &store,
            &Config::default(),
            &input,
            &opts(Utc::now()),
            Some(r),
            &|_, _| {},
        )
        .expect("import");
        assert_eq!((report.imported, report.rejected), (1, 1));
        let written = std::fs::read_to_string(&out).expect("rejects");
        assert!(written.starts_with("line;reason;phone;"), "{written}");
        assert!(written.contains("\n3;"), "{written}");
    }

    /// "In the future" is the engine's clock, not the machine's.
    #[test]
    fn the_future_is_the_clock_passed_in() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        let input = dir.path().join("in.csv");
        std::fs::write(
            &input,
            format!("{HEAD}+491711234567;2025-03-01;web;sale\n+491711234568;2025-06-01;web;sale\n"),
        )
        .expect("write");
        let now = Utc
            .with_ymd_and_hms(2025, 4, 1, 0, 0, 0)
            .single()
            .expect("now");
        let report = import(
            &store,
            &Config::default(),
            &input,
            &opts(now),
            None,
            &|_, _| {},
        )
        .expect("import");
        assert_eq!(report.imported, 1);
        assert_eq!(report.rejects[0].line, 3);
        assert!(
            report.rejects[0].reason.contains("lies in the future"),
            "{:?}",
            report.rejects
        );
    }
}
