//! Inbound events already processed, so that a redelivered one does nothing.
//!
//! Meta redelivers a webhook until it gets a `200` — and sometimes after —
//! for up to 7 days, so the same STOP or JA can arrive again long after a
//! newer consent was given. Revocations and confirmations are also ordered
//! by their own time (`consent::store::revocation`), which keeps a late one
//! from undoing a newer consent; this set makes a redelivered message a
//! no-op outright, also where time alone cannot tell (a JA replayed within
//! the confirmation skew of a new sign-up).
//!
//! ```text
//! webhook/seen   k ‖ digest(16)            → first seen (unix s, 8 BE)
//!                t ‖ first seen(8 BE) ‖ digest(16) → ()   (oldest first, for pruning)
//! ```
//!
//! The digest is the store's salted SHA-256 of the event's id (a message id
//! carries the sender's number, G8), cut to 16 bytes: a collision would
//! need 2^64 ids. Retention: an id is kept for [`RETENTION`] (Meta's 7 days
//! of redelivery and a day of margin) and at most [`CAPACITY`] ids are kept;
//! beyond either the oldest go first. An id pruned early is still ordered by
//! time, so the worst a very late redelivery can do is what that order allows.
//! Entries are written beside the processed inbox entry and made durable by
//! the same flush.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, Utc};

use crate::consent::{Store, StoreError};

const TREE: &str = "webhook/seen";
const BY_ID: u8 = b'k';
const BY_AGE: u8 = b't';
/// How long an id is remembered.
pub const RETENTION: Duration = Duration::days(8);
/// How many ids are remembered at most (~60 bytes on disk each).
pub const CAPACITY: usize = 200_000;

type Digest = [u8; 16];

/// The set of processed inbound event ids.
#[derive(Debug)]
pub struct SeenEvents {
    tree: sled::Tree,
    retention: Duration,
    capacity: usize,
    /// Ids in the set (every `t` key has its `k` key).
    len: AtomicUsize,
}

fn age_key(first_seen: i64, d: &Digest) -> [u8; 25] {
    let mut k = [BY_AGE; 25];
    k[1..9].copy_from_slice(&first_seen.to_be_bytes());
    k[9..].copy_from_slice(d);
    k
}

fn id_key(d: &Digest) -> [u8; 17] {
    let mut k = [BY_ID; 17];
    k[1..].copy_from_slice(d);
    k
}

impl SeenEvents {
    /// The set in `store`, with the default retention and capacity.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Self::open_with(store, RETENTION, CAPACITY)
    }

    /// The set with other bounds (tests).
    pub fn open_with(
        store: &Store,
        retention: Duration,
        capacity: usize,
    ) -> Result<Self, StoreError> {
        let tree = store.db().open_tree(TREE)?;
        let len = tree.scan_prefix([BY_AGE]).count();
        Ok(Self {
            tree,
            retention,
            capacity: capacity.max(1),
            len: AtomicUsize::new(len),
        })
    }

    /// The key of event `id` of kind `kind` (`message`, `preference`).
    pub fn digest(store: &Store, kind: &str, id: &str) -> Digest {
        let full = store.salted_digest(kind.as_bytes(), id.as_bytes());
        let mut d = [0u8; 16];
        d.copy_from_slice(&full[..16]);
        d
    }

    /// Whether the event was processed before.
    pub fn contains(&self, d: &Digest) -> Result<bool, StoreError> {
        Ok(self.tree.contains_key(id_key(d))?)
    }

    /// Remembers the event as processed at `now` (durable with the next
    /// flush), then drops what the bounds no longer allow.
    pub fn insert(&self, d: &Digest, now: DateTime<Utc>) -> Result<(), StoreError> {
        let secs = now.timestamp();
        let previous = self
            .tree
            .insert(id_key(d), &secs.to_be_bytes()[..])?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(i64::from_be_bytes);
        match previous {
            // Seen already: keep one age entry, the newest.
            Some(old) => {
                self.tree.remove(age_key(old, d))?;
            }
            None => {
                self.len.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.tree.insert(age_key(secs, d), &[][..])?;
        self.prune(now)
    }

    /// Drops ids older than the retention, then the oldest beyond capacity.
    pub fn prune(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let cutoff = (now - self.retention).timestamp();
        loop {
            let over = self.len.load(Ordering::Relaxed) > self.capacity;
            let Some(entry) = self.tree.scan_prefix([BY_AGE]).next() else {
                return Ok(());
            };
            let (k, _) = entry?;
            let first_seen = k
                .get(1..9)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(i64::from_be_bytes);
            let digest = k.get(9..).and_then(|b| Digest::try_from(b).ok());
            let (Some(first_seen), Some(digest)) = (first_seen, digest) else {
                // Not a key this module writes: drop it rather than stop pruning.
                self.tree.remove(&k)?;
                continue;
            };
            if !over && first_seen >= cutoff {
                return Ok(());
            }
            self.tree.remove(&k)?;
            self.tree.remove(id_key(&digest))?;
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Ids remembered.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        (dir, store)
    }

    #[test]
    fn ids_are_remembered_across_reopening_and_kept_only_as_digests() {
        let dir = tempfile::tempdir().expect("tmp");
        let now = Utc::now();
        {
            let store = Store::open(dir.path()).expect("open");
            let seen = SeenEvents::open(&store).expect("seen");
            let d = SeenEvents::digest(&store, "message", "wamid.HBgMNDkxNzEyMzQ1Njc4");
            assert!(!seen.contains(&d).expect("read"));
            seen.insert(&d, now).expect("insert");
            seen.insert(&d, now).expect("again");
            assert_eq!(seen.len(), 1);
            let raw: Vec<u8> = seen
                .tree
                .iter()
                .flat_map(|r| {
                    r.map(|(k, v)| [k.to_vec(), v.to_vec()].concat())
                        .expect("entry")
                })
                .collect();
            assert!(!raw.windows(8).any(|w| w == b"HBgMNDkx"), "id stored as is");
            store.flush().expect("flush");
        }
        let store = Store::open(dir.path()).expect("reopen");
        let seen = SeenEvents::open(&store).expect("seen");
        let d = SeenEvents::digest(&store, "message", "wamid.HBgMNDkxNzEyMzQ1Njc4");
        assert!(seen.contains(&d).expect("read"));
        assert_eq!(seen.len(), 1);
        assert!(!seen
            .contains(&SeenEvents::digest(
                &store,
                "preference",
                "wamid.HBgMNDkxNzEyMzQ1Njc4"
            ))
            .expect("read"));
    }

    #[test]
    fn the_set_is_bounded_by_age_and_by_count_oldest_first() {
        let (_dir, store) = store();
        let seen = SeenEvents::open_with(&store, Duration::hours(1), 3).expect("seen");
        let t0 = DateTime::from_timestamp(1_760_000_000, 0).expect("time");
        let d = |i: u32| SeenEvents::digest(&store, "message", &format!("wamid.{i}"));
        for i in 0..5 {
            seen.insert(&d(i), t0 + Duration::seconds(i64::from(i)))
                .expect("insert");
        }
        assert_eq!(seen.len(), 3);
        let kept: Vec<bool> = (0..5)
            .map(|i| seen.contains(&d(i)).expect("read"))
            .collect();
        assert_eq!(kept, [false, false, true, true, true]);
        seen.prune(t0 + Duration::seconds(3) + Duration::hours(1))
            .expect("prune");
        let kept: Vec<bool> = (0..5)
            .map(|i| seen.contains(&d(i)).expect("read"))
            .collect();
        assert_eq!(kept, [false, false, false, true, true]);
        assert_eq!(seen.tree.len(), 2 * seen.len(), "both keys go together");
    }
}
