//! Records of a sniffed file, each at its physical line, for the import.
//!
//! The reader splits physical lines itself (LF, CRLF or a lone CR, so that
//! CR-only exports number their lines right) and fields by RFC 4180: a
//! field that starts with `"` runs to the next `"` not doubled, and may span
//! lines. A quote that never closes is the one way a single byte used to
//! swallow the rest of a file; here a quoted field that is still open after
//! [`MAX_RECORD_LINES`] lines or the file's end, or is followed by text
//! after its closing quote, makes only the record it began unreadable: the
//! lines it ran over are read again as records of their own. An
//! unreadable record is reported with its line, why, and a bounded excerpt
//! of that line alone, never of the lines after it.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::sniff::BOM;
use super::{Encoding, Sniffed, TableError, MAX_LINE};

/// Physical lines one quoted field may span; real multi-line cells (an
/// address, a note) have a few.
pub const MAX_RECORD_LINES: usize = 32;
/// Characters of a line quoted in an error.
const EXCERPT: usize = 24;

/// One record: where it starts, and its cells or why it cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Physical line it starts on (1-based).
    pub line: u64,
    /// The cells, decoded and trimmed; or why the record is unreadable.
    pub cells: Result<Vec<String>, Unreadable>,
}

/// A record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Why, with a bounded excerpt.
    pub reason: String,
    /// The record's first physical line as it was (for the rejects file).
    pub text: String,
}

struct PhysLine {
    number: u64,
    bytes: Vec<u8>,
    eol: &'static [u8],
}

/// Reads the records of a sniffed file in order (the header first).
pub struct Records {
    path: PathBuf,
    input: BufReader<File>,
    delimiter: u8,
    encoding: Encoding,
    read: Arc<AtomicU64>,
    next_line: u64,
    /// Lines read ahead for a quoted field that did not close: read again.
    again: VecDeque<PhysLine>,
}

enum Split {
    Fields(Vec<Vec<u8>>),
    /// A quoted field (starting at this offset) is still open at the end.
    Open(usize),
    /// A quoted field (starting at the first offset) has text after its
    /// closing quote (at the second).
    Malformed(usize, usize),
}

impl Records {
    /// Opens `path` as `sniffed` found it; `read` counts the bytes consumed.
    pub fn open(path: &Path, sniffed: &Sniffed, read: Arc<AtomicU64>) -> Result<Self, TableError> {
        let file = File::open(path).map_err(|source| TableError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut records = Self {
            path: path.to_owned(),
            input: BufReader::with_capacity(256 * 1024, file),
            delimiter: sniffed.delimiter,
            encoding: sniffed.encoding,
            read,
            next_line: 1,
            again: VecDeque::new(),
        };
        let head = records.input.fill_buf().map_err(io_err(&records.path))?;
        if head.starts_with(BOM) {
            records.input.consume(BOM.len());
            records.read.fetch_add(BOM.len() as u64, Ordering::Relaxed);
        }
        if sniffed.sep_line {
            records.line()?;
        }
        Ok(records)
    }

    /// The next physical line, without its terminator.
    fn line(&mut self) -> Result<Option<PhysLine>, TableError> {
        if let Some(l) = self.again.pop_front() {
            return Ok(Some(l));
        }
        let mut bytes = Vec::new();
        let mut consumed = 0u64;
        // Bounded by the file: every turn consumes bytes or ends.
        let eol: &'static [u8] = loop {
            let buf = self.input.fill_buf().map_err(io_err(&self.path))?;
            if buf.is_empty() {
                if bytes.is_empty() && consumed == 0 {
                    return Ok(None);
                }
                break b"";
            }
            match buf.iter().position(|b| matches!(b, b'\n' | b'\r')) {
                Some(i) => {
                    let lf = buf[i] == b'\n';
                    // The sniff refused longer lines; a file changed since
                    // is cut, not followed into unbounded memory.
                    if bytes.len() < 2 * MAX_LINE {
                        bytes.extend_from_slice(&buf[..i]);
                    }
                    self.input.consume(i + 1);
                    consumed += i as u64 + 1;
                    if lf {
                        break b"\n";
                    }
                    let next = self.input.fill_buf().map_err(io_err(&self.path))?;
                    if next.first() == Some(&b'\n') {
                        self.input.consume(1);
                        consumed += 1;
                        break b"\r\n";
                    }
                    break b"\r";
                }
                None => {
                    let n = buf.len();
                    if bytes.len() < 2 * MAX_LINE {
                        bytes.extend_from_slice(buf);
                    }
                    self.input.consume(n);
                    consumed += n as u64;
                }
            }
        };
        self.read.fetch_add(consumed, Ordering::Relaxed);
        let number = self.next_line;
        self.next_line += 1;
        Ok(Some(PhysLine { number, bytes, eol }))
    }

    /// The next record that is not blank (only spaces or delimiters), or
    /// `None` at the end; an error only when the file cannot be read.
    pub fn next_record(&mut self) -> Result<Option<Record>, TableError> {
        // Bounded: each turn takes at least one line for good.
        while let Some(first) = self.line()? {
            if first
                .bytes
                .iter()
                .all(|b| matches!(b, b' ' | b'\t') || *b == self.delimiter)
            {
                continue;
            }
            let mut text = first.bytes.clone();
            let mut eol = first.eol;
            let mut taken: Vec<PhysLine> = Vec::new();
            // Where each line after the first starts in `text`.
            let mut starts: Vec<usize> = Vec::new();
            let outcome = loop {
                match split(&text, self.delimiter) {
                    Split::Fields(fields) => break Ok(fields),
                    Split::Malformed(open, close) => {
                        let close_line =
                            first.number + starts.iter().filter(|&&o| o <= close).count() as u64;
                        let at = if close_line == first.number {
                            "right after its closing quote".to_string()
                        } else {
                            format!("after the quote that closes it on line {close_line}")
                        };
                        break Err(format!(
                            "unbalanced quote: the quoted field that begins here ({}) has text {at}; \
                             a quote inside a quoted field must be doubled (\"\")",
                            self.excerpt_at(&first.bytes, open)
                        ));
                    }
                    Split::Open(open) => {
                        let bound = taken.len() + 1 >= MAX_RECORD_LINES || text.len() > MAX_LINE;
                        let next = if bound { None } else { self.line()? };
                        match next {
                            Some(l) => {
                                text.extend_from_slice(eol);
                                starts.push(text.len());
                                text.extend_from_slice(&l.bytes);
                                eol = l.eol;
                                taken.push(l);
                            }
                            None => {
                                break Err(format!(
                                    "unbalanced quote: the quoted field that begins here ({}) is not closed {}",
                                    self.excerpt_at(&first.bytes, open),
                                    if bound {
                                        format!("within {MAX_RECORD_LINES} lines")
                                    } else {
                                        "before the end of the file".into()
                                    }
                                ))
                            }
                        }
                    }
                }
            };
            let cells = match outcome {
                Ok(fields) => self.decode(&first, fields),
                Err(reason) => {
                    let resume = first.number + 1;
                    for l in taken.into_iter().rev() {
                        self.again.push_front(l);
                    }
                    Err(Unreadable {
                        reason: format!("{reason}; this line was not imported, reading went on at line {resume}"),
                        text: self.text(&first.bytes),
                    })
                }
            };
            if let Ok(cells) = &cells {
                if cells.iter().all(String::is_empty) {
                    continue;
                }
            }
            return Ok(Some(Record {
                line: first.number,
                cells,
            }));
        }
        Ok(None)
    }

    fn decode(&self, first: &PhysLine, fields: Vec<Vec<u8>>) -> Result<Vec<String>, Unreadable> {
        let mut cells = Vec::with_capacity(fields.len());
        for field in fields {
            let cell = match self.encoding {
                Encoding::Windows1252 => encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(&field)
                    .0
                    .into_owned(),
                Encoding::Utf8 | Encoding::Utf8Bom => match String::from_utf8(field) {
                    Ok(s) => s,
                    Err(e) => {
                        let bad = e.as_bytes()[e.utf8_error().valid_up_to()];
                        return Err(Unreadable {
                            reason: format!(
                                "byte 0x{bad:02x} is not UTF-8, while the rest of the file is; \
                                 this row was not imported (save the file as UTF-8 again, or fix the row)"
                            ),
                            text: self.text(&first.bytes),
                        });
                    }
                },
            };
            cells.push(trim(&cell).to_string());
        }
        Ok(cells)
    }

    fn text(&self, bytes: &[u8]) -> String {
        match self.encoding {
            Encoding::Windows1252 => encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
            _ => String::from_utf8_lossy(bytes).into_owned(),
        }
    }

    fn excerpt_at(&self, line: &[u8], from: usize) -> String {
        excerpt(&self.text(&line[from.min(line.len())..]))
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> TableError + '_ {
    move |source| TableError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A cell without the padding spreadsheets leave: whitespace of any kind
/// (no-break spaces included) and stray BOMs.
fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// At most [`EXCERPT`] characters of `s`, quoted, marked when cut.
pub fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(EXCERPT).collect();
    if s.chars().nth(EXCERPT).is_some() {
        out.push('…');
    }
    format!("{out:?}")
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t')
}

/// Splits one record's bytes into unquoted fields.
fn split(text: &[u8], delim: u8) -> Split {
    let n = text.len();
    let mut fields = Vec::new();
    let mut i = 0;
    // Bounded: each turn ends a field and moves past it.
    loop {
        let mut j = i;
        while j < n && is_space(text[j]) {
            j += 1;
        }
        if j < n && text[j] == b'"' {
            let open = j;
            let mut cell = Vec::new();
            let mut k = j + 1;
            loop {
                let Some(p) = text[k..].iter().position(|b| *b == b'"') else {
                    return Split::Open(open);
                };
                let q = k + p;
                cell.extend_from_slice(&text[k..q]);
                if text.get(q + 1) == Some(&b'"') {
                    cell.push(b'"');
                    k = q + 2;
                    continue;
                }
                let mut m = q + 1;
                while m < n && is_space(text[m]) {
                    m += 1;
                }
                if m == n {
                    fields.push(cell);
                    return Split::Fields(fields);
                }
                if text[m] != delim {
                    return Split::Malformed(open, q);
                }
                fields.push(cell);
                i = m + 1;
                break;
            }
        } else {
            match text[i..].iter().position(|b| *b == delim) {
                Some(p) => {
                    fields.push(text[i..i + p].to_vec());
                    i += p + 1;
                }
                None => {
                    fields.push(text[i..].to_vec());
                    return Split::Fields(fields);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::table::sniff;
    use std::io::Write;

    fn records(bytes: &[u8]) -> Vec<(u64, Result<Vec<String>, String>)> {
        let mut f = tempfile::NamedTempFile::new().expect("tmp");
        f.write_all(bytes).expect("write");
        let s = sniff(f.path()).expect("sniff");
        let mut r = Records::open(f.path(), &s, Arc::default()).expect("open");
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().expect("read") {
            out.push((rec.line, rec.cells.map_err(|u| u.reason)));
        }
        out
    }

    fn cells(v: &[&str]) -> Result<Vec<String>, String> {
        Ok(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn physical_lines_in_every_line_ending() {
        for eol in ["\n", "\r\n", "\r"] {
            let text = ["a;b", "1;\"x", "y\"", "", "2;\" p \"", "3;z"].join(eol);
            let got = records(text.as_bytes());
            assert_eq!(
                got,
                vec![
                    (1, cells(&["a", "b"])),
                    (2, Ok(vec!["1".into(), format!("x{eol}y")])),
                    (5, cells(&["2", "p"])),
                    (6, cells(&["3", "z"])),
                ],
                "{eol:?}"
            );
        }
    }

    #[test]
    fn doubled_quotes_padding_and_empty_rows() {
        let got = records("a,b,c\n\"x \"\"y\"\"\" , \u{a0}z\u{a0},\n,,\n , \n".as_bytes());
        assert_eq!(got[0], (1, cells(&["a", "b", "c"])));
        assert_eq!(got[1], (2, cells(&["x \"y\"", "z", ""])));
        // ",," and " , " are rows of empty cells: they carry nothing.
        assert_eq!(got.len(), 2, "{got:?}");
    }

    /// A stray quote costs its own line, never the rest of the file, and
    /// the reason quotes only that line, bounded.
    #[test]
    fn an_unbalanced_quote_costs_one_line() {
        let mut text = String::from("phone;topics\n1;a\n\"2;a\n");
        for i in 3..2_000 {
            text.push_str(&format!("{i};a\n"));
        }
        let got = records(text.as_bytes());
        assert_eq!(got.len(), 2_000);
        let (line, bad) = &got[2];
        assert_eq!(*line, 3);
        let reason = bad.as_ref().expect_err("unreadable");
        assert!(reason.contains("unbalanced quote"), "{reason}");
        assert!(reason.contains("within 32 lines"), "{reason}");
        assert!(reason.contains("\"\\\"2;a\""), "{reason}");
        assert!(reason.len() < 400, "{reason}");
        assert_eq!(got[3], (4, cells(&["3", "a"])));
        assert_eq!(got[1999], (2000, cells(&["1999", "a"])));

        // At the end of the file, and closed with text after the quote.
        let got = records(b"h;t\n1;\"open\n2;b\n");
        assert!(got[1]
            .1
            .as_ref()
            .is_err_and(|r| r.contains("before the end of the file")));
        assert_eq!(got[2], (3, cells(&["2", "b"])));
        let got = records(b"h;t\n\"1\"x;a\n2;\"b\"\n");
        assert!(got[1]
            .1
            .as_ref()
            .is_err_and(|r| r.contains("right after its closing quote")));
        assert_eq!(got[2], (3, cells(&["2", "b"])));
        let got = records(b"h;t\n\"1;a\n2;\"b\"\n");
        assert!(
            got[1]
                .1
                .as_ref()
                .is_err_and(|r| r.contains("closes it on line 3")),
            "{got:?}"
        );
        assert_eq!(got[2], (3, cells(&["2", "b"])));
    }

    #[test]
    fn invalid_utf8_in_a_utf8_file_is_a_located_row() {
        let mut bytes = "h;name\n1;Zoë\n2;Jürgen\n3;J".as_bytes().to_vec();
        bytes.extend_from_slice(b"\xfcrgen\n4;ok\n");
        let got = records(&bytes);
        assert_eq!(got[1], (2, cells(&["1", "Zoë"])));
        assert!(got[3]
            .1
            .as_ref()
            .is_err_and(|r| r.contains("0xfc is not UTF-8")));
        assert_eq!(got[3].0, 4);
        assert_eq!(got[4], (5, cells(&["4", "ok"])));
    }

    #[test]
    fn a_sep_line_is_skipped_but_counted() {
        let got = records(b"sep=,\r\nphone,topics\r\n1,a\r\n");
        assert_eq!(
            got,
            vec![(2, cells(&["phone", "topics"])), (3, cells(&["1", "a"]))]
        );
    }
}
