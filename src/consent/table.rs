//! Reading CSV files the way operators have them: `;` or `,`, UTF-8 with
//! or without BOM or Windows-1252 (Excel's "CSV"), CRLF or LF.
//!
//! [`sniff`] scans the whole file once before anything is written, so that a
//! binary file, an empty file or a runaway line is refused while the store
//! is still untouched. It reads in fixed-size chunks: memory stays flat
//! however large the file.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

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
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Scans the whole file: encoding, delimiter, and the refusals above.
pub fn sniff(path: &Path) -> Result<Sniffed, TableError> {
    let io_err = |source| TableError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut offset: u64 = 0;
    let mut line: u64 = 1;
    let mut line_len: usize = 0;
    let mut utf8_ok = true;
    // Bytes of an unfinished UTF-8 sequence carried to the next chunk.
    let mut carry: Vec<u8> = Vec::new();
    let mut head: Vec<u8> = Vec::new();
    let mut has_bom = false;
    let mut non_blank = false;
    loop {
        let n = file.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        let mut chunk = &buf[..n];
        if offset == 0 && chunk.starts_with(BOM) {
            has_bom = true;
            chunk = &chunk[BOM.len()..];
            offset += BOM.len() as u64;
        }
        for (i, &b) in chunk.iter().enumerate() {
            match b {
                b'\n' => {
                    line += 1;
                    line_len = 0;
                }
                b'\r' | b'\t' => line_len += 1,
                0..=0x1f | 0x7f => {
                    return Err(TableError::Binary {
                        path: path.to_owned(),
                        byte: b,
                        offset: offset + i as u64,
                        line,
                    })
                }
                _ => {
                    line_len += 1;
                    non_blank |= b != b' ';
                }
            }
            if line_len > MAX_LINE {
                return Err(TableError::LineTooLong {
                    path: path.to_owned(),
                    line,
                    limit: MAX_LINE,
                });
            }
        }
        if head.len() < 64 * 1024 {
            head.extend_from_slice(&chunk[..chunk.len().min(64 * 1024 - head.len())]);
        }
        if utf8_ok {
            carry.extend_from_slice(chunk);
            match std::str::from_utf8(&carry) {
                Ok(_) => carry.clear(),
                Err(e) if e.error_len().is_none() => {
                    // Incomplete sequence at the chunk's end: keep its bytes.
                    let keep = carry.split_off(e.valid_up_to());
                    carry = keep;
                }
                Err(_) => utf8_ok = false,
            }
        }
        offset += chunk.len() as u64;
    }
    if !carry.is_empty() {
        utf8_ok = false;
    }
    if !non_blank {
        return Err(TableError::Empty(path.to_owned()));
    }
    let encoding = match (utf8_ok, has_bom) {
        (true, true) => Encoding::Utf8Bom,
        (true, false) => Encoding::Utf8,
        (false, _) => Encoding::Windows1252,
    };
    Ok(Sniffed {
        encoding,
        delimiter: detect_delimiter(&head),
        bytes: offset,
    })
}

/// `;` or `,`, whichever the header line (outside quotes) uses more.
fn detect_delimiter(head: &[u8]) -> u8 {
    let (mut semi, mut comma, mut quoted) = (0, 0, false);
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b';' if !quoted => semi += 1,
            b',' if !quoted => comma += 1,
            _ => {}
        }
    }
    if semi >= comma && semi > 0 {
        b';'
    } else {
        b','
    }
}

/// A reader that turns Windows-1252 bytes into UTF-8, chunk by chunk.
struct Windows1252<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    raw: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl<R: Read> Read for Windows1252<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.out.len() {
            if self.eof {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.raw)?;
            self.eof = n == 0;
            self.out.clear();
            self.pos = 0;
            // Each 1252 byte becomes at most 3 UTF-8 bytes.
            self.out.resize(n * 3 + 16, 0);
            let (_, _, written, _) =
                self.decoder
                    .decode_to_utf8(&self.raw[..n], &mut self.out, self.eof);
            self.out.truncate(written);
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Counts bytes read, for progress bars.
pub struct Counting<R> {
    inner: R,
    /// Bytes read so far (shared with the progress view).
    pub read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Maps csv records to the physical line they start on.
///
/// The csv crate's own line count misses newlines inside quoted fields of
/// CRLF files, and its byte position points at the previous terminator or a
/// skipped blank line. Operators must find a rejected row by its line in an
/// editor, so the reader below notes where each non-blank line starts; a
/// record starts at the first such line at or after its byte position.
/// Records arrive in order, so passed entries are dropped and memory stays
/// bounded by the read-ahead buffer.
#[derive(Debug, Clone, Default)]
pub struct Lines(std::rc::Rc<std::cell::RefCell<LineState>>);

#[derive(Debug)]
struct LineState {
    offset: u64,
    line: u64,
    at_line_start: bool,
    /// (offset of the first byte, line number) of non-blank lines read ahead.
    starts: std::collections::VecDeque<(u64, u64)>,
}

impl Default for LineState {
    fn default() -> Self {
        Self {
            offset: 0,
            line: 1,
            at_line_start: true,
            starts: Default::default(),
        }
    }
}

impl Lines {
    /// The 1-based physical line of the first non-blank line at or after `offset`.
    pub fn line_at(&self, offset: u64) -> u64 {
        let mut s = self.0.borrow_mut();
        while s.starts.front().is_some_and(|&(o, _)| o < offset) {
            s.starts.pop_front();
        }
        s.starts.front().map_or(s.line, |&(_, line)| line)
    }

    /// The physical line a csv record starts on.
    pub fn of(&self, record: &csv::StringRecord) -> u64 {
        record.position().map_or(0, |p| self.line_at(p.byte()))
    }
}

struct LineIndexed<R> {
    inner: R,
    lines: Lines,
}

impl<R: Read> Read for LineIndexed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut guard = self.lines.0.borrow_mut();
        let s = &mut *guard;
        for (i, &b) in buf[..n].iter().enumerate() {
            match b {
                b'\n' => {
                    s.line += 1;
                    s.at_line_start = true;
                }
                b'\r' => {}
                _ if s.at_line_start => {
                    s.starts.push_back((s.offset + i as u64, s.line));
                    s.at_line_start = false;
                }
                _ => {}
            }
        }
        s.offset += n as u64;
        Ok(n)
    }
}

/// Opens the sniffed file as a CSV reader yielding UTF-8 records; `read`
/// counts raw bytes consumed; [`Lines`] locates records.
pub fn open(
    path: &Path,
    sniffed: &Sniffed,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Result<(csv::Reader<Box<dyn Read>>, Lines), TableError> {
    let file = File::open(path).map_err(|source| TableError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut counted = Counting {
        inner: BufReader::with_capacity(256 * 1024, file),
        read,
    };
    if sniffed.encoding == Encoding::Utf8Bom {
        let mut bom = [0u8; 3];
        counted
            .read_exact(&mut bom)
            .map_err(|source| TableError::Io {
                path: path.to_owned(),
                source,
            })?;
    }
    let decoded: Box<dyn Read> = match sniffed.encoding {
        Encoding::Utf8 | Encoding::Utf8Bom => Box::new(counted),
        Encoding::Windows1252 => Box::new(Windows1252 {
            inner: counted,
            decoder: encoding_rs::WINDOWS_1252.new_decoder_without_bom_handling(),
            raw: vec![0; 64 * 1024],
            out: Vec::new(),
            pos: 0,
            eof: false,
        }),
    };
    let lines = Lines::default();
    let input: Box<dyn Read> = Box::new(LineIndexed {
        inner: decoded,
        lines: lines.clone(),
    });
    let reader = csv::ReaderBuilder::new()
        .delimiter(sniffed.delimiter)
        .flexible(true)
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    Ok((reader, lines))
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
    use std::io::Write;

    fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("tmp");
        f.write_all(bytes).expect("write");
        f
    }

    #[test]
    fn detects_encodings_and_delimiters() {
        let f = file(b"\xEF\xBB\xBFphone;topics\r\n1;a\r\n");
        let s = sniff(f.path()).expect("sniff");
        assert_eq!((s.encoding, s.delimiter), (Encoding::Utf8Bom, b';'));
        let f = file(b"phone,topics\n\"1;2\",a\n");
        let s = sniff(f.path()).expect("sniff");
        assert_eq!((s.encoding, s.delimiter), (Encoding::Utf8, b','));
        let f = file(b"Vorname;Telefon\nJ\xfcrgen;1\n");
        let s = sniff(f.path()).expect("sniff");
        assert_eq!(s.encoding, Encoding::Windows1252);
    }

    #[test]
    fn windows_1252_decodes_umlauts() {
        let f = file(b"name;x\nJ\xfcrgen \xc4\xd6\xdc\xdf;\x80\n");
        let s = sniff(f.path()).expect("sniff");
        let (mut r, _) = open(f.path(), &s, Default::default()).expect("open");
        let rec = r.records().next().expect("row").expect("valid");
        assert_eq!(&rec[0], "Jürgen ÄÖÜß");
        assert_eq!(&rec[1], "€");
    }

    #[test]
    fn physical_lines_count_quoted_newlines_and_blank_lines() {
        let f = file(b"a;b\r\n1;\"x\r\ny\"\r\n\r\n2;\"p\nq\"\r\n3;z\r\n");
        let s = sniff(f.path()).expect("sniff");
        let (mut r, lines) = open(f.path(), &s, Default::default()).expect("open");
        let got: Vec<(String, u64)> = r
            .records()
            .map(|rec| {
                let rec = rec.expect("valid");
                (rec[0].to_string(), lines.of(&rec))
            })
            .collect();
        assert_eq!(got, vec![("1".into(), 2), ("2".into(), 5), ("3".into(), 7)]);
    }

    #[test]
    fn refuses_binary_empty_and_runaway_lines() {
        assert!(matches!(sniff(file(b"").path()), Err(TableError::Empty(_))));
        assert!(matches!(
            sniff(file(b"\xEF\xBB\xBF\r\n\n").path()),
            Err(TableError::Empty(_))
        ));
        assert!(matches!(
            sniff(file(b"phone\n\x00\x01\x02").path()),
            Err(TableError::Binary { line: 2, .. })
        ));
        let long = vec![b'a'; MAX_LINE + 10];
        assert!(matches!(
            sniff(file(&long).path()),
            Err(TableError::LineTooLong { line: 1, .. })
        ));
    }

    #[test]
    fn utf8_split_across_chunks_stays_utf8() {
        let mut bytes = b"name\n".to_vec();
        while bytes.len() < 256 * 1024 - 1 {
            bytes.push(if bytes.len() % 100 == 0 { b'\n' } else { b'a' });
        }
        bytes.extend_from_slice("ü\n".as_bytes());
        let s = sniff(file(&bytes).path()).expect("sniff");
        assert_eq!(s.encoding, Encoding::Utf8);
    }

    #[test]
    fn header_normalisation() {
        assert_eq!(normalise_header("\u{feff} Opted_In_At "), "opted in at");
        assert_eq!(normalise_header("Bestätigt  am"), "bestätigt am");
    }
}
