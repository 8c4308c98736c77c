//! The durable inbox: every accepted webhook body lands here, flushed,
//! before Meta gets its `200`; processing runs behind it.
//!
//! ```text
//! webhook/inbox       id(8 BE) → 0x01 ‖ received_at (µs, 8 BE) ‖ the raw body
//!                                (bote ≤ 0.1: InboxEntry as JSON, still read)
//! webhook/processed   id(8 BE) → Processed  (JSON: times, actor, outcomes)
//! ```
//!
//! The body is stored as it came, not as a JSON string inside JSON: that
//! escaping and unescaping cost every event twice its body's length.
//!
//! An entry moves from `inbox` to `processed` in one sled transaction, so it
//! is always in exactly one of the two. The raw body (which holds numbers
//! and message text) is dropped when it moves: the processed record keeps
//! only what was done, with masked numbers (G8). A crash between processing
//! and the move re-processes the entry on the next start, which changes
//! nothing: every step is idempotent (statuses never go backwards, revoked
//! stays revoked, only pending consents confirm).
//!
//! Ids come from sled's monotonic id generator, so the inbox drains in the
//! order bodies arrived, across restarts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use super::process::Outcome;
use crate::consent::StoreError;

const INBOX: &str = "webhook/inbox";
const PROCESSED: &str = "webhook/processed";
/// First byte of an entry stored raw (a JSON entry starts with `{`).
const RAW: u8 = 0x01;

fn encode(received_at: DateTime<Utc>, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(9 + body.len());
    v.push(RAW);
    v.extend_from_slice(&received_at.timestamp_micros().to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn decode(v: &[u8]) -> Result<InboxEntry, String> {
    let Some((&RAW, rest)) = v.split_first() else {
        return serde_json::from_slice(v).map_err(|e| e.to_string());
    };
    let (time, body) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| "entry shorter than its header".to_string())?;
    let received_at = DateTime::from_timestamp_micros(i64::from_be_bytes(*time))
        .ok_or_else(|| "entry time out of range".to_string())?;
    let body = String::from_utf8(body.to_vec()).map_err(|e| e.to_string())?;
    Ok(InboxEntry { received_at, body })
}

/// A received body waiting to be processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxEntry {
    /// When the receiver took it.
    pub received_at: DateTime<Utc>,
    /// The exact body Meta signed (valid JSON, checked before it was stored).
    pub body: String,
}

/// What processing an entry did (G13: actor and time of every change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Processed {
    /// When the receiver took it.
    pub received_at: DateTime<Utc>,
    /// When processing finished.
    pub processed_at: DateTime<Utc>,
    /// Always `webhook`.
    pub actor: String,
    /// Processing passes it took (statuses of records still in flight wait).
    pub attempts: u32,
    /// One per status, message or preference in the body.
    pub outcomes: Vec<Outcome>,
}

/// An inbox entry as read: its id and the entry, or why it cannot be decoded.
pub type PendingEntry = (u64, Result<InboxEntry, String>);

/// The two trees.
#[derive(Clone)]
pub struct Inbox {
    db: sled::Db,
    durability: crate::consent::store::Durability,
    pending: sled::Tree,
    done: sled::Tree,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("pending", &self.pending.len())
            .field("processed", &self.done.len())
            .finish()
    }
}

fn corrupt(key: &[u8], e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: format!("webhook inbox {}", hex::encode(key)),
        message: e.to_string(),
    }
}

fn id_of(key: &[u8]) -> Result<u64, StoreError> {
    key.try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| corrupt(key, "key is not 8 bytes"))
}

impl Inbox {
    /// The inbox trees in the store's database.
    pub fn open(store: &crate::consent::Store) -> Result<Self, StoreError> {
        let db = store.db();
        Ok(Self {
            db: db.clone(),
            durability: store.durability().clone(),
            pending: db.open_tree(INBOX)?,
            done: db.open_tree(PROCESSED)?,
        })
    }

    /// Appends bodies in order, one atomic batch; returns their ids. Not
    /// durable until [`Inbox::flush`].
    pub fn append(&self, entries: &[InboxEntry]) -> Result<Vec<u64>, StoreError> {
        let mut batch = sled::Batch::default();
        let mut ids = Vec::with_capacity(entries.len());
        for e in entries {
            let id = self.db.generate_id()?;
            batch.insert(
                &id.to_be_bytes()[..],
                encode(e.received_at, e.body.as_bytes()),
            );
            ids.push(id);
        }
        self.pending.apply_batch(batch)?;
        Ok(ids)
    }

    /// Appends one body as received (valid JSON, so valid UTF-8); returns
    /// its id. One insert, no batch; not durable until [`Inbox::flush`].
    pub fn append_raw(&self, received_at: DateTime<Utc>, body: &[u8]) -> Result<u64, StoreError> {
        let id = self.db.generate_id()?;
        self.pending
            .insert(id.to_be_bytes(), encode(received_at, body))?;
        Ok(id)
    }

    /// Waits until everything appended is on disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.durability.flushed().await
    }

    /// Up to `n` unprocessed entries, oldest first.
    pub fn pending(&self, n: usize) -> Result<Vec<PendingEntry>, StoreError> {
        self.iter_pending().take(n).collect()
    }

    /// Unprocessed entries, oldest first, read lazily; an entry that cannot
    /// be decoded comes with the decoder's message instead.
    pub fn iter_pending(&self) -> impl Iterator<Item = Result<PendingEntry, StoreError>> + '_ {
        self.pending.iter().map(|r| {
            let (k, v) = r?;
            Ok((id_of(&k)?, decode(&v)))
        })
    }

    /// How many entries wait (a scan).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing waits (cheap).
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty()
    }

    /// Moves an entry from the inbox to the processed log, atomically.
    pub fn complete(&self, id: u64, result: &Processed) -> Result<(), StoreError> {
        self.complete_all(&[(id, result)])
    }

    /// Moves entries from the inbox to the processed log, all in one
    /// transaction: sled seals and syncs its log buffer for every
    /// transaction, which cost more than processing the entry did.
    pub fn complete_all(&self, done: &[(u64, &Processed)]) -> Result<(), StoreError> {
        let mut moves = Vec::with_capacity(done.len());
        for (id, result) in done {
            let key = id.to_be_bytes();
            let value = serde_json::to_vec(result).map_err(|e| corrupt(&key, e))?;
            moves.push((key, value));
        }
        (&self.pending, &self.done)
            .transaction(|(pending, done)| {
                for (key, value) in &moves {
                    pending.remove(&key[..])?;
                    done.insert(&key[..], value.clone())?;
                }
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(s) => StoreError::Db(s),
                TransactionError::Abort(()) => corrupt(b"complete", "transaction aborted"),
            })
    }

    /// The processing result of entry `id`.
    pub fn processed(&self, id: u64) -> Result<Option<Processed>, StoreError> {
        let key = id.to_be_bytes();
        self.done
            .get(key)?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(&key, e)))
            .transpose()
    }

    /// Every processing result, oldest first.
    pub fn processed_all(&self) -> impl Iterator<Item = Result<(u64, Processed), StoreError>> + '_ {
        self.done.iter().map(|r| {
            let (k, v) = r?;
            Ok((
                id_of(&k)?,
                serde_json::from_slice(&v).map_err(|e| corrupt(&k, e))?,
            ))
        })
    }

    /// How many entries were processed.
    pub fn processed_len(&self) -> usize {
        self.done.len()
    }

    /// Drops the processing records of entries processed before `before`
    /// (retention, G9); with `dry_run` only counts them. Returns how many.
    pub fn prune_processed(&self, before: DateTime<Utc>, dry_run: bool) -> Result<u64, StoreError> {
        let mut n = 0;
        for r in self.processed_all() {
            let (id, p) = r?;
            if p.processed_at < before {
                if !dry_run {
                    self.done.remove(id.to_be_bytes())?;
                }
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_move_atomically_and_keep_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = crate::consent::Store::open(dir.path()).expect("store");
        let inbox = Inbox::open(&store).expect("open");
        let t = Utc::now();
        let e = |b: &str| InboxEntry {
            received_at: t,
            body: b.into(),
        };
        let ids = inbox.append(&[e("{}"), e("[]")]).expect("append");
        assert!(ids[0] < ids[1]);
        let p = inbox.pending(10).expect("pending");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].1.as_ref().map(|x| x.body.as_str()), Ok("{}"));
        let done = Processed {
            received_at: t,
            processed_at: t,
            actor: "webhook".into(),
            attempts: 1,
            outcomes: vec![],
        };
        inbox.complete(ids[0], &done).expect("complete");
        assert_eq!(inbox.pending_len(), 1);
        assert_eq!(inbox.processed(ids[0]).expect("read"), Some(done));
        assert_eq!(inbox.processed_len(), 1);
    }

    #[test]
    fn raw_entries_and_json_entries_of_older_versions_both_read() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = crate::consent::Store::open(dir.path()).expect("store");
        let inbox = Inbox::open(&store).expect("open");
        let t = DateTime::from_timestamp_micros(1_760_000_000_123_456).expect("time");
        let body = r#"{"object":"x","entry":[],"text":"ü \" \\"}"#;
        let raw = inbox.append_raw(t, body.as_bytes()).expect("raw");
        let old = InboxEntry {
            received_at: t,
            body: "{}".into(),
        };
        let id = inbox.db.generate_id().expect("id");
        inbox
            .pending
            .insert(id.to_be_bytes(), serde_json::to_vec(&old).expect("json"))
            .expect("old entry");
        inbox
            .pending
            .insert(u64::MAX.to_be_bytes(), &[RAW, 1, 2][..])
            .expect("damaged entry");
        let p = inbox.pending(10).expect("pending");
        assert_eq!(p[0].0, raw);
        assert_eq!(
            p[0].1,
            Ok(InboxEntry {
                received_at: t,
                body: body.into()
            })
        );
        assert_eq!(p[1].1, Ok(old));
        assert!(
            p[2].1.is_err(),
            "a damaged entry says so instead of failing the scan"
        );
    }
}
