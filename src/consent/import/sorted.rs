//! The validated rows between parsing and merging: kept compact, put in
//! number order (then line order) for the merge, and spilled to a spool
//! file as sorted runs when they outgrow a memory budget.
//!
//! Why sorted: sled copies a leaf for every insert into it, and rows of a
//! file in random number order land on a different leaf each; written in
//! number order, consecutive inserts share leaves (BENCHMARKS.md).
//!
//! The spool file is created owner-only in the store's directory and
//! unlinked at once, so it is never visible under a name and nothing of it
//! outlives the import, not even after a crash.

use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::hash::Hash;
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::parse::Valid;
use super::ImportError;
use crate::consent::merge::ConsentRecord;
use crate::consent::ConfirmationMethod;
use crate::phone::Phone;

/// Bytes of rows (encoded plus index) held in memory before a sorted run
/// is spilled: ~1M typical rows, well inside the import's 300 MB.
pub(super) const BUDGET: usize = 96 << 20;
/// Bytes read from the spool at once, per run.
const READ_AHEAD: usize = 64 << 10;

/// Values that repeat across rows (sources, topic sets, locales), stored once.
struct Interner<T> {
    ids: HashMap<T, u32>,
    items: Vec<T>,
}

impl<T: Hash + Eq + Clone> Interner<T> {
    fn new() -> Self {
        Self {
            ids: HashMap::new(),
            items: Vec::new(),
        }
    }

    fn id(&mut self, v: T) -> u64 {
        if let Some(id) = self.ids.get(&v) {
            return u64::from(*id);
        }
        let id = self.items.len() as u32;
        self.items.push(v.clone());
        self.ids.insert(v, id);
        u64::from(id)
    }

    fn get(&self, id: u64) -> Option<&T> {
        self.items.get(usize::try_from(id).ok()?)
    }
}

/// One row's place: its number and line (the sort key) and its bytes.
#[derive(Clone, Copy)]
struct Entry {
    phone: u64,
    line: u64,
    at: u32,
    len: u32,
}

/// Validated rows, in any order in; in (number, line) order out.
pub(super) struct Spool {
    strings: Interner<String>,
    topic_sets: Interner<Vec<String>>,
    spelling_sets: Interner<Vec<(String, String)>>,
    index: Vec<Entry>,
    arena: Vec<u8>,
    budget: usize,
    dir: PathBuf,
    /// The spool file (unlinked) and the runs in it: (start, end) offsets.
    file: Option<File>,
    runs: Vec<(u64, u64)>,
    written: u64,
    rows: u64,
}

const CONFIRMED: u8 = 1;
const REVOKED: u8 = 2;
const METHOD_WITHOUT_DATE: u8 = 4;
const LOCALE: u8 = 8;
const TEXT_VERSION: u8 = 16;
const METHOD: u8 = 32;

impl Spool {
    /// An empty spool whose file, if it needs one, goes into `dir`.
    pub(super) fn new(dir: &Path, budget: usize) -> Self {
        Self {
            strings: Interner::new(),
            topic_sets: Interner::new(),
            spelling_sets: Interner::new(),
            index: Vec::new(),
            arena: Vec::new(),
            budget,
            dir: dir.to_owned(),
            file: None,
            runs: Vec::new(),
            written: 0,
            rows: 0,
        }
    }

    /// Rows taken in so far.
    pub(super) fn rows(&self) -> u64 {
        self.rows
    }

    /// Takes in one validated row of physical line `line`.
    pub(super) fn push(&mut self, line: u64, valid: Valid) -> Result<(), ImportError> {
        let Valid {
            record,
            method_without_date,
            spellings,
        } = valid;
        let at = self.arena.len();
        let mut flags = 0;
        for (set, bit) in [
            (record.confirmed_at.is_some(), CONFIRMED),
            (record.revoked_at.is_some(), REVOKED),
            (method_without_date, METHOD_WITHOUT_DATE),
            (record.locale.is_some(), LOCALE),
            (record.text_version.is_some(), TEXT_VERSION),
            (record.method.is_some(), METHOD),
        ] {
            if set {
                flags |= bit;
            }
        }
        self.arena.push(flags);
        time(&mut self.arena, record.opted_in_at);
        for t in [record.confirmed_at, record.revoked_at]
            .into_iter()
            .flatten()
        {
            time(&mut self.arena, t);
        }
        if let Some(m) = record.method {
            self.arena.push(method_to_u8(m));
        }
        let source = self.strings.id(record.source);
        varint(&mut self.arena, source);
        let topics = self.topic_sets.id(record.topics);
        varint(&mut self.arena, topics);
        for s in [record.locale, record.text_version].into_iter().flatten() {
            let id = self.strings.id(s);
            varint(&mut self.arena, id);
        }
        let spellings = if spellings.is_empty() {
            0
        } else {
            self.spelling_sets.id(spellings) + 1
        };
        varint(&mut self.arena, spellings);
        varint(&mut self.arena, record.attributes.len() as u64);
        for (name, value) in record.attributes {
            let id = self.strings.id(name);
            varint(&mut self.arena, id);
            varint(&mut self.arena, value.len() as u64);
            self.arena.extend_from_slice(value.as_bytes());
        }
        self.index.push(Entry {
            phone: record.phone.as_u64(),
            line,
            at: at as u32,
            len: (self.arena.len() - at) as u32,
        });
        self.rows += 1;
        if self.arena.len() + self.index.len() * std::mem::size_of::<Entry>() >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// Writes the rows in memory to the spool file as one sorted run.
    fn spill(&mut self) -> Result<(), ImportError> {
        self.index.sort_unstable_by_key(|e| (e.phone, e.line));
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(self.create()?),
        };
        let start = self.written;
        let mut out = std::io::BufWriter::with_capacity(READ_AHEAD, &*file);
        for e in &self.index {
            let bytes = &self.arena[e.at as usize..(e.at + e.len) as usize];
            let head = [e.phone.to_le_bytes(), e.line.to_le_bytes()];
            out.write_all(&head[0])
                .and_then(|()| out.write_all(&head[1]))
                .and_then(|()| out.write_all(&e.len.to_le_bytes()))
                .and_then(|()| out.write_all(bytes))
                .map_err(|e| spool_error(&self.dir, e))?;
            self.written += 20 + u64::from(e.len);
        }
        out.flush().map_err(|e| spool_error(&self.dir, e))?;
        self.runs.push((start, self.written));
        self.index.clear();
        self.arena.clear();
        Ok(())
    }

    fn create(&self) -> Result<File, ImportError> {
        let path = self.dir.join(format!(
            "import-spool-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        // Read and written, owner-only, never an existing file or a link.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| spool_error(&self.dir, e))?;
        // Unlinked while open: the rows never lie under a name, and a
        // crash leaves nothing behind.
        std::fs::remove_file(&path).map_err(|e| spool_error(&self.dir, e))?;
        Ok(file)
    }

    /// The rows in (number, line) order.
    pub(super) fn into_sorted(mut self) -> Result<Sorted, ImportError> {
        if !self.runs.is_empty() && !self.index.is_empty() {
            self.spill()?;
        }
        self.index.sort_unstable_by_key(|e| (e.phone, e.line));
        let mut readers = Vec::with_capacity(self.runs.len());
        let mut heap = BinaryHeap::with_capacity(self.runs.len());
        if let Some(file) = &self.file {
            for (i, &(start, end)) in self.runs.iter().enumerate() {
                let mut r = RunReader {
                    pos: start,
                    end,
                    buf: Vec::new(),
                    at: 0,
                };
                if let Some((phone, line)) = r.head(file).map_err(|e| spool_error(&self.dir, e))? {
                    heap.push(std::cmp::Reverse((phone, line, i)));
                }
                readers.push(r);
            }
        }
        Ok(Sorted {
            spool: self,
            next: 0,
            readers,
            heap,
            row: Vec::new(),
        })
    }

    /// Rebuilds a row from its bytes.
    fn decode(&self, phone: u64, bytes: &[u8]) -> Option<Valid> {
        let mut r = Reader { rest: bytes };
        let flags = r.byte()?;
        let opted_in_at = r.time()?;
        let confirmed_at = if flags & CONFIRMED != 0 {
            Some(r.time()?)
        } else {
            None
        };
        let revoked_at = if flags & REVOKED != 0 {
            Some(r.time()?)
        } else {
            None
        };
        let method = if flags & METHOD != 0 {
            Some(method_from_u8(r.byte()?)?)
        } else {
            None
        };
        let source = self.strings.get(r.varint()?)?.clone();
        let topics = self.topic_sets.get(r.varint()?)?.clone();
        let optional = |bit: u8, r: &mut Reader| -> Option<Option<String>> {
            if flags & bit == 0 {
                return Some(None);
            }
            Some(Some(self.strings.get(r.varint()?)?.clone()))
        };
        let locale = optional(LOCALE, &mut r)?;
        let text_version = optional(TEXT_VERSION, &mut r)?;
        let spellings = match r.varint()? {
            0 => Vec::new(),
            n => self.spelling_sets.get(n - 1)?.clone(),
        };
        let mut attributes = std::collections::BTreeMap::new();
        for _ in 0..r.varint()? {
            let name = self.strings.get(r.varint()?)?.clone();
            let len = usize::try_from(r.varint()?).ok()?;
            let value = std::str::from_utf8(r.take(len)?).ok()?.to_string();
            attributes.insert(name, value);
        }
        Some(Valid {
            record: ConsentRecord {
                phone: Phone::from_u64(phone)?,
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
            method_without_date: flags & METHOD_WITHOUT_DATE != 0,
            spellings,
        })
    }
}

/// The spool's rows coming out in (number, line) order.
pub(super) struct Sorted {
    spool: Spool,
    /// Next row of the in-memory index (when nothing was spilled).
    next: usize,
    readers: Vec<RunReader>,
    heap: BinaryHeap<std::cmp::Reverse<(u64, u64, usize)>>,
    row: Vec<u8>,
}

impl Sorted {
    /// The next row and its line, or `None` after the last.
    pub(super) fn next_row(&mut self) -> Result<Option<(u64, Valid)>, ImportError> {
        let spool = &self.spool;
        let damaged = || {
            spool_error(
                &spool.dir,
                std::io::Error::other("a spooled row is damaged"),
            )
        };
        let Some(file) = &spool.file else {
            let Some(e) = spool.index.get(self.next) else {
                return Ok(None);
            };
            self.next += 1;
            let bytes = &spool.arena[e.at as usize..(e.at + e.len) as usize];
            let valid = spool.decode(e.phone, bytes).ok_or_else(damaged)?;
            return Ok(Some((e.line, valid)));
        };
        let Some(std::cmp::Reverse((phone, line, run))) = self.heap.pop() else {
            return Ok(None);
        };
        let reader = self.readers.get_mut(run).ok_or_else(damaged)?;
        let io = |e| spool_error(&spool.dir, e);
        reader.body(file, &mut self.row).map_err(io)?;
        if let Some((p, l)) = reader.head(file).map_err(io)? {
            self.heap.push(std::cmp::Reverse((p, l, run)));
        }
        let valid = spool.decode(phone, &self.row).ok_or_else(damaged)?;
        Ok(Some((line, valid)))
    }
}

/// Reads one sorted run back from the spool file, buffered.
struct RunReader {
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    at: usize,
}

impl RunReader {
    /// Makes `n` bytes available at `self.at`.
    fn fill(&mut self, file: &File, n: usize) -> std::io::Result<()> {
        if self.buf.len() - self.at >= n {
            return Ok(());
        }
        self.buf.drain(..self.at);
        self.at = 0;
        let want = (n - self.buf.len()).max(READ_AHEAD) as u64;
        let more = want.min(self.end - self.pos) as usize;
        let old = self.buf.len();
        self.buf.resize(old + more, 0);
        file.read_exact_at(&mut self.buf[old..], self.pos)?;
        self.pos += more as u64;
        if self.buf.len() < n {
            return Err(std::io::Error::other("a spooled run ends early"));
        }
        Ok(())
    }

    /// The next row's number and line, or `None` at the run's end.
    fn head(&mut self, file: &File) -> std::io::Result<Option<(u64, u64)>> {
        if self.at == self.buf.len() && self.pos == self.end {
            return Ok(None);
        }
        self.fill(file, 16)?;
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.buf[self.at..self.at + 8]);
        let phone = u64::from_le_bytes(word);
        word.copy_from_slice(&self.buf[self.at + 8..self.at + 16]);
        self.at += 16;
        Ok(Some((phone, u64::from_le_bytes(word))))
    }

    /// The bytes of the row whose head was just read.
    fn body(&mut self, file: &File, row: &mut Vec<u8>) -> std::io::Result<()> {
        self.fill(file, 4)?;
        let mut len = [0u8; 4];
        len.copy_from_slice(&self.buf[self.at..self.at + 4]);
        self.at += 4;
        let len = u32::from_le_bytes(len) as usize;
        self.fill(file, len)?;
        row.clear();
        row.extend_from_slice(&self.buf[self.at..self.at + len]);
        self.at += len;
        Ok(())
    }
}

fn spool_error(dir: &Path, source: std::io::Error) -> ImportError {
    ImportError::Spool {
        dir: dir.to_owned(),
        source,
    }
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn time(out: &mut Vec<u8>, t: DateTime<Utc>) {
    let s = t.timestamp();
    varint(out, ((s << 1) ^ (s >> 63)) as u64);
    varint(out, u64::from(t.timestamp_subsec_nanos()));
}

fn method_to_u8(m: ConfirmationMethod) -> u8 {
    match m {
        ConfirmationMethod::Link => 0,
        ConfirmationMethod::Reply => 1,
        ConfirmationMethod::Button => 2,
        ConfirmationMethod::Code => 3,
    }
}

fn method_from_u8(b: u8) -> Option<ConfirmationMethod> {
    Some(match b {
        0 => ConfirmationMethod::Link,
        1 => ConfirmationMethod::Reply,
        2 => ConfirmationMethod::Button,
        3 => ConfirmationMethod::Code,
        _ => return None,
    })
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(*b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(head)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    fn time(&mut self) -> Option<DateTime<Utc>> {
        let z = self.varint()?;
        let secs = ((z >> 1) as i64) ^ -((z & 1) as i64);
        DateTime::from_timestamp(secs, u32::try_from(self.varint()?).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn valid(phone: u64, i: u64) -> Valid {
        let at = |s: i64| DateTime::from_timestamp(s, (i % 7) as u32 * 1000);
        Valid {
            record: ConsentRecord {
                phone: Phone::from_u64(phone).expect("phone"),
                opted_in_at: at(1_700_000_000 + i as i64).expect("time"),
                source: format!("src{}", i % 3),
                confirmed_at: (i % 2 == 0).then(|| at(1_700_100_000).expect("time")),
                method: (i % 2 == 0).then_some(ConfirmationMethod::Button),
                topics: vec!["sale".into(), format!("t{}", i % 2)],
                locale: (i % 3 == 0).then(|| "de_AT".into()),
                text_version: (i % 5 == 0).then(|| "v2".into()),
                revoked_at: (i % 4 == 1).then(|| at(1_700_200_000).expect("time")),
                attributes: BTreeMap::from([("first_name".into(), format!("Zoë {i}"))]),
            },
            method_without_date: i % 6 == 0,
            spellings: if i % 5 == 0 {
                vec![("Sale".into(), "sale".into())]
            } else {
                Vec::new()
            },
        }
    }

    fn sorted_out(budget: usize, rows: u64) -> (Vec<(u64, u64, Valid)>, tempfile::TempDir, bool) {
        let dir = tempfile::tempdir().expect("tmp");
        let mut spool = Spool::new(dir.path(), budget);
        // Numbers in scrambled order; every seventh number twice.
        for i in 0..rows {
            let n = 491_710_000_000 + (i * 7_919) % rows / 2 * 2 + u64::from(i % 7 == 0);
            spool.push(i + 2, valid(n, i)).expect("push");
        }
        assert_eq!(spool.rows(), rows);
        let spilled = !spool.runs.is_empty();
        let mut sorted = spool.into_sorted().expect("sorted");
        let mut out = Vec::new();
        while let Some((line, v)) = sorted.next_row().expect("row") {
            out.push((v.record.phone.as_u64(), line, v));
        }
        (out, dir, spilled)
    }

    fn check(out: &[(u64, u64, Valid)], rows: u64) {
        assert_eq!(out.len() as u64, rows);
        for w in out.windows(2) {
            assert!((w[0].0, w[0].1) < (w[1].0, w[1].1), "out of order");
        }
        for (_, line, v) in out {
            let want = valid(v.record.phone.as_u64(), line - 2);
            assert_eq!(v.record, want.record, "line {line}");
            assert_eq!(v.method_without_date, want.method_without_date);
            assert_eq!(v.spellings, want.spellings);
        }
    }

    #[test]
    fn rows_in_memory_come_out_in_number_then_line_order_unchanged() {
        let (out, _dir, spilled) = sorted_out(BUDGET, 5_000);
        assert!(!spilled);
        check(&out, 5_000);
    }

    /// A budget of a few rows spills dozens of runs; the merge of them
    /// gives the same rows in the same order, and the spool file was never
    /// left under a name.
    #[test]
    fn spilled_runs_merge_into_the_same_order_and_leave_no_file() {
        let (out, dir, spilled) = sorted_out(4_096, 5_000);
        assert!(spilled);
        check(&out, 5_000);
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
