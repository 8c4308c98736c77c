//! Reading CSV files the way operators have them — `;` or `,` (or Excel's
//! `sep=` line), UTF-8 with or without BOM or Windows-1252 (Excel's "CSV"),
//! CRLF, LF or CR-only — and writing the CSVs bote hands back to them.
//!
//! [`sniff`] scans the whole file once before anything is written, so that a
//! binary file, an empty file or a runaway line is refused while the store
//! is still untouched, and the encoding is decided on the whole file's
//! evidence. [`Records`] then reads it record by record, each located at
//! its physical line, and turns a record it cannot read (an unbalanced
//! quote, bytes foreign to the file's encoding) into a located, bounded
//! error instead of losing what follows. [`SheetWriter`] writes every CSV
//! bote produces, spreadsheet-safe.

mod decode;
mod records;
mod sheet;
mod sniff;

use std::io;
use std::path::{Path, PathBuf};

pub use decode::{open, Counting, Lines};
pub use records::{Record, Records, Unreadable, MAX_RECORD_LINES};
pub use sheet::{escape_formula, overwrite_refused, same_file, NewFile, SheetWriter};
pub use sniff::sniff;

/// Longest physical line accepted; real consent rows are far below 1 KiB.
pub const MAX_LINE: usize = 64 * 1024;

/// Why a file cannot be read as a table.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A pipe or device: the file is read more than once.
    #[error("{0} is not a regular file: bote reads a list twice (save it to a file first)")]
    NotRegular(PathBuf),
    /// Zero bytes, or only a BOM / blank lines.
    #[error("{0} is empty: expected a header row and data rows")]
    Empty(PathBuf),
    /// Control bytes: not a text file.
    #[error("{path} is not a CSV text file: byte 0x{byte:02x} at offset {offset} (line {line})")]
    Binary {
        /// The file.
        path: PathBuf,
        /// The offending byte.
        byte: u8,
        /// Its offset.
        offset: u64,
        /// Its physical line.
        line: u64,
    },
    /// A physical line longer than [`MAX_LINE`].
    #[error("{path}: line {line} is longer than {limit} bytes; this is not a consent list")]
    LineTooLong {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The limit.
        limit: usize,
    },
    /// An Excel `sep=` line naming a delimiter bote does not read.
    #[error("{path}: line 1 says sep={found:?}; bote reads files separated by ; or ,")]
    Separator {
        /// The file.
        path: PathBuf,
        /// What the line named.
        found: String,
    },
    /// The CSV structure is broken.
    #[error("{path}: line {line}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

/// A text encoding bote accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// UTF-8 without BOM.
    Utf8,
    /// UTF-8 with a byte order mark.
    Utf8Bom,
    /// Windows-1252 (Western European "ANSI"), as Excel writes CSV.
    #[serde(rename = "windows-1252")]
    Windows1252,
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Utf8 => "utf-8",
            Self::Utf8Bom => "utf-8 with BOM",
            Self::Windows1252 => "windows-1252",
        })
    }
}

/// What the scan found.
#[derive(Debug, Clone, Copy)]
pub struct Sniffed {
    /// The encoding.
    pub encoding: Encoding,
    /// `;` or `,`.
    pub delimiter: u8,
    /// File size.
    pub bytes: u64,
    /// The first line is Excel's `sep=;` / `sep=,` (skipped, not a header).
    pub sep_line: bool,
    /// Invalid UTF-8 sequences in a file decided to be UTF-8 (each makes
    /// its record unreadable).
    pub invalid_utf8: u64,
}

/// Maps a csv error to a located [`TableError`].
pub fn csv_error(path: &Path, e: &csv::Error) -> TableError {
    TableError::Csv {
        path: path.to_owned(),
        line: e.position().map(|p| p.line()).unwrap_or(0),
        message: e.to_string(),
    }
}

/// A header cell normalised for alias matching: trimmed, lowercase, `_`
/// and `-` as spaces.
pub fn normalise_header(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_normalisation() {
        assert_eq!(normalise_header("\u{feff} Opted_In_At "), "opted in at");
        assert_eq!(normalise_header("Bestätigt  am"), "bestätigt am");
        assert_eq!(normalise_header("\u{a0}Themen\u{a0}"), "themen");
    }
}
