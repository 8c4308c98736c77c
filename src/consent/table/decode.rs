//! The csv crate's reader over a sniffed file (campaign `--list` files):
//! Windows-1252 decoded to UTF-8 on the fly, records located by line.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use super::{Encoding, Sniffed, TableError};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::table::sniff;
    use std::io::Write;

    fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("tmp");
        f.write_all(bytes).expect("write");
        f
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
}
