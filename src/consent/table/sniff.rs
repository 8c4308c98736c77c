//! The scan before the import: refusals, encoding, delimiter, `sep=` line.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::{Encoding, Sniffed, TableError, MAX_LINE};

pub(super) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Evidence for and against UTF-8, gathered over the whole file.
#[derive(Debug, Default)]
struct Utf8Evidence {
    /// Well-formed multi-byte sequences (umlauts, €, …).
    valid: u64,
    /// Bytes that start no well-formed sequence, a truncated tail included.
    invalid: u64,
    /// An unfinished sequence carried over to the next chunk.
    carry: Vec<u8>,
}

impl Utf8Evidence {
    fn feed(&mut self, chunk: &[u8]) {
        let mut owned = std::mem::take(&mut self.carry);
        owned.extend_from_slice(chunk);
        let mut rest = owned.as_slice();
        // Bounded: every turn consumes at least one byte or stops.
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.valid += s.bytes().filter(|b| *b >= 0xC0).count() as u64;
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    self.valid += good.iter().filter(|b| **b >= 0xC0).count() as u64;
                    match e.error_len() {
                        None => {
                            self.carry = bad.to_vec();
                            break;
                        }
                        Some(n) => {
                            self.invalid += 1;
                            rest = &bad[n..];
                        }
                    }
                }
            }
        }
    }

    fn finish(&mut self) {
        if !self.carry.is_empty() {
            self.invalid += 1;
            self.carry.clear();
        }
    }
}

/// Scans the whole file: encoding, delimiter, and the refusals of
/// [`TableError`]. Memory stays flat however large the file.
///
/// The encoding is decided on the whole file, never on its first invalid
/// byte: UTF-8 when every sequence is well-formed, when the file starts
/// with a BOM, or when well-formed multi-byte sequences are at least as
/// many as the invalid ones (a truncated tail, one bad paste) — the invalid
/// ones then make their records unreadable, located. Windows-1252
/// otherwise: its umlauts are single bytes that do not form UTF-8.
pub fn sniff(path: &Path) -> Result<Sniffed, TableError> {
    let io_err = |source| TableError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    if !file.metadata().map_err(io_err)?.is_file() {
        return Err(TableError::NotRegular(path.to_owned()));
    }
    let mut buf = vec![0u8; 256 * 1024];
    let mut offset: u64 = 0;
    let mut line: u64 = 1;
    let mut line_len: usize = 0;
    let mut after_cr = false;
    let mut evidence = Utf8Evidence::default();
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
                // CRLF is one line end, a lone CR (old Mac, some exports) another.
                b'\n' if after_cr => {}
                b'\n' | b'\r' => {
                    line += 1;
                    line_len = 0;
                }
                b'\t' => line_len += 1,
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
            after_cr = b == b'\r';
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
        evidence.feed(chunk);
        offset += chunk.len() as u64;
    }
    evidence.finish();
    if !non_blank {
        return Err(TableError::Empty(path.to_owned()));
    }
    let utf8 = evidence.invalid == 0
        || has_bom
        || (evidence.valid > 0 && evidence.valid >= evidence.invalid);
    let encoding = match (utf8, has_bom) {
        (true, true) => Encoding::Utf8Bom,
        (true, false) => Encoding::Utf8,
        (false, _) => Encoding::Windows1252,
    };
    let (sep, header) = sep_line(path, &head)?;
    Ok(Sniffed {
        encoding,
        delimiter: sep.unwrap_or_else(|| detect_delimiter(header)),
        bytes: offset,
        sep_line: sep.is_some(),
        invalid_utf8: if utf8 { evidence.invalid } else { 0 },
    })
}

/// Excel's `sep=;` first line (with "CSV UTF-8" exports and regional
/// settings that disagree): the delimiter it names, and the head after it.
fn sep_line<'a>(path: &Path, head: &'a [u8]) -> Result<(Option<u8>, &'a [u8]), TableError> {
    let end = head
        .iter()
        .position(|b| matches!(b, b'\n' | b'\r'))
        .unwrap_or(head.len());
    let first = String::from_utf8_lossy(&head[..end]);
    let first = first.trim().trim_matches('"');
    let Some(named) = first
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("sep="))
        .map(|_| &first[4..])
    else {
        return Ok((None, head));
    };
    let delimiter = match named {
        ";" => b';',
        "," => b',',
        other => {
            return Err(TableError::Separator {
                path: path.to_owned(),
                found: other.chars().take(8).collect(),
            })
        }
    };
    let rest = &head[end..];
    let rest = match rest {
        [b'\r', b'\n', tail @ ..] | [_, tail @ ..] => tail,
        [] => rest,
    };
    Ok((Some(delimiter), rest))
}

/// `;` or `,`, whichever the header line (outside quotes) uses more.
fn detect_delimiter(head: &[u8]) -> u8 {
    let (mut semi, mut comma, mut quoted) = (0, 0, false);
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
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

    /// One bad byte at the end of a UTF-8 file no longer turns the whole
    /// file into Windows-1252 ("Bestätigt" → "BestÃ¤tigt").
    #[test]
    fn the_whole_file_decides_the_encoding() {
        let mut utf8 = "Telefon;Bestätigt am\n0171;Zoë\n".as_bytes().to_vec();
        utf8.push(0xC3); // a truncated tail
        let s = sniff(file(&utf8).path()).expect("sniff");
        assert_eq!((s.encoding, s.invalid_utf8), (Encoding::Utf8, 1));
        let mut utf8 = "Telefon;Bestätigt am\n0171;Zoë\n".as_bytes().to_vec();
        utf8.extend_from_slice(b"0172;J\xfcrgen\n");
        let s = sniff(file(&utf8).path()).expect("sniff");
        assert_eq!((s.encoding, s.invalid_utf8), (Encoding::Utf8, 1));
        // Mostly single high bytes: Windows-1252 after all.
        let s = sniff(file(b"Best\xe4tigt am;x\nJ\xfcrgen;\xd6\n").path()).expect("sniff");
        assert_eq!((s.encoding, s.invalid_utf8), (Encoding::Windows1252, 0));
    }

    #[test]
    fn excel_sep_lines_name_the_delimiter() {
        let s = sniff(file(b"sep=,\r\nphone;x,topics\r\n").path()).expect("sniff");
        assert_eq!((s.delimiter, s.sep_line), (b',', true));
        let s = sniff(file(b"\xEF\xBB\xBF\"sep=;\"\nphone,a;b,c\n").path()).expect("sniff");
        assert_eq!((s.delimiter, s.sep_line), (b';', true));
        assert!(matches!(
            sniff(file(b"sep=|\nphone|topics\n").path()),
            Err(TableError::Separator { .. })
        ));
    }

    #[test]
    fn cr_only_lines_are_lines() {
        let mut bytes = b"phone;topics\r".to_vec();
        for _ in 0..2_000 {
            bytes.extend_from_slice(&[b'1'; 60]);
            bytes.push(b'\r');
        }
        let s = sniff(file(&bytes).path()).expect("a CR-only file is not one long line");
        assert_eq!(s.delimiter, b';');
    }

    #[test]
    fn refuses_binary_empty_runaway_lines_and_pipes() {
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
        #[cfg(unix)]
        assert!(matches!(
            sniff(Path::new("/dev/null")),
            Err(TableError::NotRegular(_))
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
        assert_eq!((s.encoding, s.invalid_utf8), (Encoding::Utf8, 0));
    }
}
