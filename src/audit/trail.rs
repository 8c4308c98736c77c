//! The trail on disk: one append-only file, owner-only, its head anchored in
//! the store's database. [`AuditLog::record`] writes the line; the store's
//! flusher syncs the file in every round after the database, so the wait a
//! step makes for its change to be durable covers its record too (a sync per
//! entry would cost a webhook STOP storm one fsync each). A crash of the
//! process loses nothing written; a power loss can lose what no round has
//! synced yet — the same as for the change itself.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use super::chain::{self, Entry, Verified, GENESIS};
use super::Action;

/// The trail's file name in the store directory.
pub const AUDIT_FILE: &str = "audit.jsonl";
/// The key of the anchored head in the store's `meta` tree: seq (8 BE) ‖ hash (32).
pub const HEAD_KEY: &str = "audit_head";
/// How much of the file's end is read at a time to find the last line.
const TAIL_CHUNK: u64 = 64 * 1024;

/// A problem with the trail.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file could not be read or written.
    #[error("audit trail {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The anchor could not be read or written.
    #[error("audit trail head in the store: {0}")]
    Db(#[from] sled::Error),
    /// The last entry cannot be read, so nothing can follow it.
    #[error("audit trail {path}: its last entry is damaged ({reason}); run `bote audit verify`")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An entry could not be written as JSON.
    #[error("audit entry: {0}")]
    Encode(#[from] serde_json::Error),
}

/// One step to record.
#[derive(Debug, Clone)]
pub struct Record {
    /// What happened.
    pub action: Action,
    /// Who did it.
    pub actor: String,
    /// What it concerned (never a phone number).
    pub subject: Option<String>,
    /// Counts, names, reasons.
    pub details: serde_json::Value,
    /// When.
    pub at: DateTime<Utc>,
}

impl Record {
    /// `action` by `actor`, now.
    pub fn new(action: Action, actor: impl Into<String>) -> Self {
        Self {
            action,
            actor: actor.into(),
            subject: None,
            details: serde_json::Value::Null,
            at: Utc::now(),
        }
    }

    /// Concerning `subject`.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// With `details`.
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// At `at` (the engine's clock).
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = at;
        self
    }
}

struct Head {
    file: File,
    seq: u64,
    hash: String,
}

struct Inner {
    path: PathBuf,
    meta: sled::Tree,
    head: Mutex<Head>,
}

/// The store's audit trail; clones share it.
#[derive(Clone)]
pub struct AuditLog(Arc<Inner>);

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.0.path)
            .finish()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_owned(),
        source,
    }
}

impl AuditLog {
    /// Opens the trail in store directory `dir`, creating it (0600) if
    /// new. A last line a crash tore is cut off and the repair recorded;
    /// a trail shorter than the head the store anchored is continued after
    /// the anchor, with the gap recorded, so that `audit verify` keeps
    /// naming it.
    pub fn open(dir: &Path, meta: sled::Tree) -> Result<Self, AuditError> {
        let path = dir.join(AUDIT_FILE);
        let mut file = open_trail(&path).map_err(io(&path))?;
        let (tail, torn) = last_line(&mut file).map_err(io(&path))?;
        let (mut seq, mut hash) = match &tail {
            None => (0, GENESIS.to_string()),
            Some(line) => {
                let sealed = chain::unseal(line, 0).map_err(|b| AuditError::Damaged {
                    path: path.clone(),
                    reason: b.to_string(),
                })?;
                (sealed.entry.seq, sealed.hash)
            }
        };
        let mut repairs = Vec::new();
        if torn > 0 {
            repairs.push(serde_json::json!({"torn_bytes_dropped": torn}));
        }
        if let Some((anchored, anchor_hash)) = read_anchor(&meta)? {
            if anchored > seq {
                repairs.push(serde_json::json!({
                    "missing_entries": format!("{}..{anchored}", seq + 1),
                    "reason": "the trail ended before the head the store recorded",
                }));
                seq = anchored;
                hash = anchor_hash;
            }
        }
        let log = Self(Arc::new(Inner {
            path,
            meta,
            head: Mutex::new(Head { file, seq, hash }),
        }));
        for details in repairs {
            tracing::warn!(%details, "audit trail repaired at start");
            log.record(Record::new(Action::TrailRepaired, "bote").details(details))?;
        }
        Ok(log)
    }

    fn head(&self) -> MutexGuard<'_, Head> {
        match self.0.head.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// A handle on the trail's file, for the flusher that syncs it.
    pub fn sync_handle(&self) -> Result<File, AuditError> {
        self.head().file.try_clone().map_err(io(&self.0.path))
    }

    /// The trail's file.
    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// The last entry's seq and hash.
    pub fn last(&self) -> (u64, String) {
        let h = self.head();
        (h.seq, h.hash.clone())
    }

    /// Appends `record` (durable with the store's next flush round). Returns its seq.
    pub fn record(&self, record: Record) -> Result<u64, AuditError> {
        let mut head = self.head();
        let entry = Entry {
            seq: head.seq + 1,
            at: record.at,
            actor: record.actor,
            action: record.action,
            subject: record.subject,
            details: record.details,
            prev: head.hash.clone(),
        };
        let (mut line, hash) = chain::seal(&entry)?;
        line.push('\n');
        let path = &self.0.path;
        head.file.write_all(line.as_bytes()).map_err(io(path))?;
        head.seq = entry.seq;
        head.hash = hash;
        let mut anchor = Vec::with_capacity(40);
        anchor.extend_from_slice(&head.seq.to_be_bytes());
        anchor.extend(hex::decode(&head.hash).unwrap_or_default());
        // Made durable by the store's flusher with everything else.
        self.0.meta.insert(HEAD_KEY, anchor)?;
        Ok(entry.seq)
    }

    /// The head and the file's length at this instant: the trail's first
    /// `len` bytes are exactly the entries up to `seq` (the file only grows,
    /// and every entry is written whole under the head lock). A backup
    /// copies that prefix while others keep appending.
    pub fn snapshot(&self) -> Result<TrailSnapshot, AuditError> {
        let head = self.head();
        let len = head.file.metadata().map_err(io(&self.0.path))?.len();
        Ok(TrailSnapshot {
            seq: head.seq,
            hash: head.hash.clone(),
            len,
        })
    }

    /// Checks the whole chain and its end against the anchored head.
    pub fn verify(&self) -> Result<Verified, AuditError> {
        let _head = self.head();
        verify_file(&self.0.path, read_anchor(&self.0.meta)?)
    }

    /// Every entry, oldest first, read with `each` (stops at the first
    /// line that is not an entry and says where).
    pub fn for_each(&self, mut each: impl FnMut(Entry)) -> Result<(), AuditError> {
        use std::io::BufRead;
        let path = &self.0.path;
        let file = File::open(path).map_err(io(path))?;
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(io(path))?;
            let sealed = chain::unseal(&line, i as u64 + 1).map_err(|b| AuditError::Damaged {
                path: path.clone(),
                reason: b.to_string(),
            })?;
            each(sealed.entry);
        }
        Ok(())
    }
}

/// The trail's head and length at one instant (see [`AuditLog::snapshot`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailSnapshot {
    /// The last entry's seq (0 for an empty trail).
    pub seq: u64,
    /// The last entry's hash ([`GENESIS`] for an empty trail).
    pub hash: String,
    /// Bytes of the file that hold entries 1..=seq.
    pub len: u64,
}

/// Checks the trail at `path` against `anchor` (see [`chain::verify`]).
pub fn verify_file(path: &Path, anchor: Option<(u64, String)>) -> Result<Verified, AuditError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return chain::verify(&b""[..], anchor).map_err(io(path));
        }
        Err(e) => return Err(io(path)(e)),
    };
    chain::verify(BufReader::new(file), anchor).map_err(io(path))
}

/// The trail for reading and appending, created owner-only.
fn open_trail(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}

/// The head the store anchored.
pub fn read_anchor(meta: &sled::Tree) -> Result<Option<(u64, String)>, AuditError> {
    Ok(meta.get(HEAD_KEY)?.and_then(|v| decode_anchor(&v)))
}

/// The anchored head from its stored value (seq 8 BE ‖ hash 32), if well formed.
pub fn decode_anchor(v: &[u8]) -> Option<(u64, String)> {
    let seq = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
    Some((seq, hex::encode(v.get(8..)?)))
}

/// The last complete line of `file` and how many bytes of a torn line
/// after it were cut off (the file is truncated to end with a newline).
fn last_line(file: &mut File) -> std::io::Result<(Option<String>, u64)> {
    let len = file.seek(SeekFrom::End(0))?;
    let mut end = len;
    let mut buf = Vec::new();
    // Find the last newline: what follows it was torn by a crash.
    let mut pos = len;
    let last_nl = loop {
        if pos == 0 {
            break None;
        }
        let start = pos.saturating_sub(TAIL_CHUNK);
        let chunk = read_at(file, start, pos - start)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            break Some(start + i as u64);
        }
        pos = start;
    };
    let torn = match last_nl {
        Some(nl) => len - nl - 1,
        None => len,
    };
    if torn > 0 {
        end = len - torn;
        file.set_len(end)?;
        file.sync_data()?;
    }
    if end == 0 {
        return Ok((None, torn));
    }
    // The line before that newline.
    let mut pos = end - 1;
    loop {
        let start = pos.saturating_sub(TAIL_CHUNK);
        let mut chunk = read_at(file, start, pos - start)?;
        chunk.append(&mut buf);
        buf = chunk;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            buf.drain(..=i);
            break;
        }
        if start == 0 {
            break;
        }
        pos = start;
    }
    file.seek(SeekFrom::End(0))?;
    Ok((Some(String::from_utf8_lossy(&buf).into_owned()), torn))
}

fn read_at(file: &mut File, start: u64, n: u64) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(start))?;
    let mut chunk = vec![0; n as usize];
    file.read_exact(&mut chunk)?;
    Ok(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path, db: &sled::Db) -> AuditLog {
        AuditLog::open(dir, db.open_tree("meta").expect("tree")).expect("open")
    }

    fn temp() -> (tempfile::TempDir, sled::Db) {
        let dir = tempfile::tempdir().expect("dir");
        let db = sled::Config::new().temporary(true).open().expect("db");
        (dir, db)
    }

    #[test]
    fn entries_chain_across_reopening_and_the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, db) = temp();
        let log = open(dir.path(), &db);
        assert_eq!(
            log.record(Record::new(Action::Plan, "alice")).expect("1"),
            1
        );
        drop(log);
        let log = open(dir.path(), &db);
        assert_eq!(log.record(Record::new(Action::Plan, "bob")).expect("2"), 2);
        let v = log.verify().expect("verify");
        assert_eq!((v.entries, v.first_break), (2, None));
        let mode = std::fs::metadata(log.path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_torn_last_line_is_cut_and_the_repair_recorded() {
        let (dir, db) = temp();
        let log = open(dir.path(), &db);
        log.record(Record::new(Action::Plan, "alice")).expect("1");
        drop(log);
        let path = dir.path().join(AUDIT_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).expect("open");
        f.write_all(b"{\"seq\":2,\"at\":\"20").expect("tear");
        drop(f);
        let log = open(dir.path(), &db);
        let mut actions = Vec::new();
        log.for_each(|e| actions.push((e.seq, e.action, e.details)))
            .expect("read");
        assert_eq!(actions.len(), 2);
        assert_eq!(actions[1].1, Action::TrailRepaired);
        assert_eq!(actions[1].2["torn_bytes_dropped"], 17);
        assert_eq!(log.verify().expect("verify").first_break, None);
    }

    #[test]
    fn a_cut_trail_is_named_by_verify_even_after_more_entries() {
        let (dir, db) = temp();
        let log = open(dir.path(), &db);
        for _ in 0..3 {
            log.record(Record::new(Action::Plan, "alice")).expect("rec");
        }
        drop(log);
        let path = dir.path().join(AUDIT_FILE);
        let text = std::fs::read_to_string(&path).expect("read");
        let first: String = text.lines().next().map(|l| format!("{l}\n")).expect("line");
        std::fs::write(&path, first).expect("cut");
        // Before reopening: verify sees the cut against the anchor.
        let v = verify_file(
            &path,
            read_anchor(&db.open_tree("meta").expect("t")).expect("a"),
        )
        .expect("verify");
        assert!(v
            .first_break
            .expect("break")
            .contains("ends at entry 1 but the store recorded entry 3"));
        // Reopening continues after the anchor; the gap stays visible.
        let log = open(dir.path(), &db);
        log.record(Record::new(Action::Plan, "alice")).expect("rec");
        let b = log.verify().expect("verify").first_break.expect("break");
        assert!(b.contains("entries 2..3 are missing"), "{b}");
    }

    #[test]
    fn the_last_line_is_found_across_chunks() {
        let (dir, db) = temp();
        let log = open(dir.path(), &db);
        let big = "x".repeat(150_000);
        log.record(Record::new(Action::Plan, "a").details(serde_json::json!({ "big": big })))
            .expect("big");
        drop(log);
        let log = open(dir.path(), &db);
        assert_eq!(log.last().0, 1);
        log.record(Record::new(Action::Plan, "a")).expect("after");
        assert_eq!(log.verify().expect("v").first_break, None);
    }
}
