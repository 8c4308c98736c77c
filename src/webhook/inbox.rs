//! The durable inbox: every accepted webhook body lands here, flushed,
//! before Meta gets its `200`; processing runs behind it.
//!
//! ```text
//! webhook/inbox       id(8 BE) → InboxEntry (JSON: received_at, raw body)
//! webhook/processed   id(8 BE) → Processed  (JSON: times, actor, outcomes)
//! ```
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
            let value = serde_json::to_vec(e).map_err(|err| corrupt(b"new", err))?;
            batch.insert(&id.to_be_bytes()[..], value);
            ids.push(id);
        }
        self.pending.apply_batch(batch)?;
        Ok(ids)
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
            Ok((
                id_of(&k)?,
                serde_json::from_slice(&v).map_err(|e| e.to_string()),
            ))
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
        let key = id.to_be_bytes();
        let value = serde_json::to_vec(result).map_err(|e| corrupt(&key, e))?;
        (&self.pending, &self.done)
            .transaction(|(pending, done)| {
                pending.remove(&key[..])?;
                done.insert(&key[..], value.clone())?;
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(s) => StoreError::Db(s),
                TransactionError::Abort(()) => corrupt(&key, "transaction aborted"),
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
}
