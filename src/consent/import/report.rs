//! What an import reports: counts, the first rejects and notes, and the full rejects file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ImportError;
use crate::consent::table::Encoding;

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

    pub(super) fn reject(&mut self, line: u64, reason: String) {
        self.rejected += 1;
        if self.rejects.len() < REPORT_LIMIT {
            self.rejects.push(Reject { line, reason });
        }
    }

    pub(super) fn note(&mut self, line: u64, message: String) {
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
        let file =
            crate::consent::store::open_private(path, crate::consent::store::PrivateFile::Replace)
                .map_err(|e| ImportError::Rejects {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?;
        Ok(Self {
            path: path.to_owned(),
            writer: csv::WriterBuilder::new().delimiter(b';').from_writer(file),
        })
    }

    pub(super) fn write(&mut self, row: &[&str]) -> Result<(), ImportError> {
        self.writer
            .write_record(row)
            .map_err(|e| ImportError::Rejects {
                path: self.path.clone(),
                message: e.to_string(),
            })
    }

    pub(super) fn finish(mut self) -> Result<(), ImportError> {
        self.writer.flush().map_err(|e| ImportError::Rejects {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }
}
