//! The sled database behind bote: consents, their history, suppressions and
//! the send index (for frequency caps and the messaging tier).
//!
//! Key layout of the `consent` tree, chosen so that a contact and its events
//! change together in one atomic `apply_batch`:
//!
//! ```text
//! c ‖ phone(8 BE)            → Contact + its whole history (binary, `codec`)
//! s ‖ sha256(salt ‖ phone)   → Suppression (erased or opted out, since when)
//! v                          → consent epoch (u64 BE), bumped by every batch
//! e ‖ phone(8 BE) ‖ id(8 BE) → ConsentEvent(s) (JSON), first format only
//! ```
//!
//! One record per number: sled's cost is per record and per page written,
//! so an import row costs one ~200-byte insert, and writing a chunk in
//! number order writes each leaf once. A number's history changes only
//! with its contact (under [`Store::consent_writer`]), so folding it in
//! costs a read-modify-write only where one happened anyway. Stores of the
//! first format (JSON contacts, events in `e` records) are migrated when
//! opened (`migration`; `meta/consent_format` = 2 marks the binary form).
//!
//! The `sends` tree indexes accepted marketing sends by time, one entry per
//! dispatcher flush interval: `g ‖ ts(8 BE) ‖ id(8 BE)` → campaign name
//! (length-prefixed) ‖ phone(8 BE)…; both the frequency cap and the tier
//! read a window of it. (bote 0.1 wrote `t ‖ ts ‖ phone` per send; those
//! are still read.)
//!
//! sled lets one process open a database; the owner writes its PID beside
//! it so that a second `bote` fails at once naming the owner (never hangs).
//!
//! This module opens the store; each part of the key layout has its own file:
//! `contacts`, `history`, `suppressions`, `sends`, with `batch` for atomic
//! writes, `revocation` for G5 and `ownership` for the files on disk.

mod audited;
mod batch;
mod claims;
mod codec;
mod contacts;
mod erasure;
mod flusher;
mod history;
mod identities;
mod migration;
mod ownership;
mod revocation;
mod sends;
mod suppressions;

use std::fs;
use std::path::{Path, PathBuf};

pub use batch::Batch;
pub use claims::RunClaim;
pub use codec::{decode_contact_view, ContactView};
pub use contacts::TopicTotals;
pub(crate) use contacts::{record_contact, record_history};
pub use erasure::Erased;
pub use flusher::Durability;
pub use identities::{is_bsuid, Identity, UserOptOut};
pub use ownership::{
    allow_shared_store, claim_store_dir, create_private_dir, open_private, shared_mode,
    shared_store_allowed, PrivateFile, STORE_MARKER,
};
pub use revocation::{OptOut, Revocation};
pub use suppressions::{Suppression, SuppressionCause};

use ownership::{read_pid, restrict_tree, write_pid};

/// A problem with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the store.
    #[error("the store at {path} is in use by another bote process{}; stop it or use another --store", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked {
        /// Store dir.
        path: PathBuf,
        /// The owner's PID, if it wrote one.
        pid: Option<u32>,
    },
    /// The directory cannot become a store: a symbolic link, a file, or a
    /// directory holding someone else's files (see [`claim_store_dir`]).
    #[error("{path} cannot be a bote store: {reason}")]
    NotAStore {
        /// The directory.
        path: PathBuf,
        /// Why, and what to pass instead.
        reason: String,
    },
    /// A filesystem problem.
    #[error("store {path}: {source}")]
    Io {
        /// The file or dir.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// sled failed.
    #[error("store database error: {0}")]
    Db(#[from] sled::Error),
    /// Written data could not be made durable (a full disk, an I/O error):
    /// whatever waited for it must stop and say so.
    #[error("cannot write to the store at {path}: {message}{}", if message.contains("No space left") || message.contains("os error 28") { " (the disk is full: free space, then resume)" } else { "" })]
    Flush {
        /// The store's database directory.
        path: PathBuf,
        /// sled's message.
        message: String,
    },
    /// The audit trail could not be written: the step it records is done,
    /// but must not pass unrecorded.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// A record could not be decoded: the store is damaged or from a newer bote.
    #[error("store record {key} is damaged: {message}")]
    Corrupt {
        /// Which record.
        key: String,
        /// The decoder's message.
        message: String,
    },
}

const CONTACT: u8 = b'c';
const EVENT: u8 = b'e';
const SUPPRESSED: u8 = b's';
/// The consent epoch: bumped with every change to the tree (see
/// [`Store::consent_epoch`]).
const EPOCH: [u8; 1] = [b'v'];

/// The opened store.
pub struct Store {
    dir: PathBuf,
    db: sled::Db,
    durability: Durability,
    consent: sled::Tree,
    sends: sled::Tree,
    salt: [u8; 32],
    /// The last epoch written; the lock serialises changes so the stored
    /// epoch only ever grows.
    epoch: std::sync::Mutex<u64>,
    /// Held by every read-modify-write of a contact, from the read to the
    /// commit (see [`Store::consent_writer`]).
    writer: std::sync::Mutex<()>,
    /// Held by an import from start to end (see [`Store::importer`]).
    importer: std::sync::Mutex<()>,
    /// The campaigns running in this process (see [`Store::claim_run`]).
    running: claims::Running,
    /// The audit trail beside the database.
    audit: crate::audit::AuditLog,
    /// Template states and the send gate (one per store: the webhook
    /// processor and the dispatcher must share it).
    templates: crate::platform::TemplateStates,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

fn corrupt(key: &[u8], e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: hex::encode(key),
        message: e.to_string(),
    }
}

/// sled's page cache. sled keeps about twice this resident, and more
/// for pages written since they were last read: 8 MB instead of 16 took a
/// 1M-recipient send from ~200 to ~180 MB flat with huge pages on
/// (BENCHMARKS.md, dispatcher (c)); 64 → 16 MB had taken it from 474 to
/// 319 MB at the same CPU.
const CACHE_BYTES: u64 = 8 * 1024 * 1024;
/// sled's page cache for bulk imports: 16 MB imports 200k rows ~20 % faster
/// than 8 MB; 64 MB is no faster than 16 (BENCHMARKS.md, dispatcher (c)).
const IMPORT_CACHE_BYTES: u64 = 16 * 1024 * 1024;

impl Store {
    /// Opens (or creates) the store in `dir`, owner-only (G12); `dir` must
    /// be new, empty or a store already (see [`claim_store_dir`]).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(dir, CACHE_BYTES)
    }

    /// [`Store::open`] for a bulk consent import, which writes under random
    /// keys all over a large tree and runs ~20 % faster with a bigger cache.
    pub fn open_for_import(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(dir, IMPORT_CACHE_BYTES)
    }

    fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Self, StoreError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| StoreError::Io { path, source }
        };
        claim_store_dir(dir)?;
        let db_dir = dir.join("db");
        erasure::finish_interrupted(&db_dir)?;
        let mut db = open_db(dir, &db_dir, cache_bytes)?;
        if erasure::rewrite_pending(&db)? {
            db.flush()?;
            erasure::rewrite(db, &db_dir)?;
            db = open_db(dir, &db_dir, cache_bytes)?;
        }
        if !ownership::shared_store_allowed() {
            restrict_tree(&db_dir).map_err(io(&db_dir))?;
        }
        write_pid(dir).map_err(io(dir))?;
        let consent = db.open_tree("consent")?;
        let sends = db.open_tree("sends")?;
        let meta = db.open_tree("meta")?;
        migration::migrate(&db, &consent, &meta)?;
        let salt = match meta.get("salt")? {
            Some(v) if v.len() == 32 => {
                let mut s = [0u8; 32];
                s.copy_from_slice(&v);
                s
            }
            Some(v) => return Err(corrupt(b"salt", format!("salt has {} bytes", v.len()))),
            None => {
                let s: [u8; 32] = rand::random();
                meta.insert("salt", &s[..])?;
                s
            }
        };
        let epoch = match consent.get(EPOCH)? {
            None => 0,
            Some(v) => v
                .as_ref()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| corrupt(&EPOCH, format!("epoch has {} bytes", v.len())))?,
        };
        let durability = Durability::start(db.clone(), &db_dir).map_err(io(&db_dir))?;
        let audit = crate::audit::AuditLog::open(dir, meta)?;
        durability.sync_with_rounds(audit.sync_handle()?);
        let templates = crate::platform::TemplateStates::open(&db)?;
        Ok(Self {
            dir: dir.to_owned(),
            db,
            durability,
            consent,
            sends,
            salt,
            epoch: std::sync::Mutex::new(epoch),
            writer: std::sync::Mutex::new(()),
            importer: std::sync::Mutex::new(()),
            running: claims::Running::default(),
            audit,
            templates,
        })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The database, for other owners of trees (campaign journals, audit).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// The audit trail (G4, G13).
    pub fn audit(&self) -> &crate::audit::AuditLog {
        &self.audit
    }

    /// What Meta reported about each template, and the send gate.
    pub fn templates(&self) -> &crate::platform::TemplateStates {
        &self.templates
    }

    /// The store's one flusher, for owners of trees in its database: the
    /// only way anything in bote makes sled durable.
    pub fn durability(&self) -> &Durability {
        &self.durability
    }

    /// Waits (blocking the thread) until everything written so far is on disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.durability.flushed_blocking()
    }

    /// Waits until everything written so far is on disk.
    pub async fn flushed(&self) -> Result<(), StoreError> {
        self.durability.flushed().await
    }
}

/// Opens sled in `db_dir`, naming the owner if another process holds it.
fn open_db(dir: &Path, db_dir: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    // A store just dropped in this process keeps its lock until sled's
    // flusher thread lets go of the tree; no owner on record means
    // nobody else holds it, so wait for that a little.
    let mut attempts = 0;
    loop {
        let opened = sled::Config::new()
            .path(db_dir)
            .cache_capacity(cache_bytes)
            .open();
        match opened {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("lock") =>
            {
                let pid = read_pid(dir);
                attempts += 1;
                if pid.is_some() || attempts > 50 {
                    return Err(StoreError::Locked {
                        path: dir.to_owned(),
                        pid,
                    });
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // The last round flushes whatever is left.
        self.durability.stop();
        let _ = fs::remove_file(self.dir.join("owner.pid"));
    }
}

/// Contacts and numbers the tests of every part share.
#[cfg(test)]
mod fixtures {
    use std::collections::BTreeMap;

    use chrono::DateTime;

    use crate::consent::{ConsentStatus, Contact, TopicConsent};
    use crate::phone::Phone;

    pub(super) fn phone(s: &str) -> Phone {
        Phone::parse(s, "DE").expect("valid")
    }

    pub(super) fn contact(p: Phone, status: ConsentStatus) -> Contact {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        Contact {
            phone: p,
            locale: Some("de".into()),
            attributes: BTreeMap::new(),
            profile_at: t0,
            topics: BTreeMap::from([(
                "sale".to_string(),
                TopicConsent {
                    status,
                    opted_in_at: t0,
                    source: "test".into(),
                    confirmed_at: None,
                    method: None,
                    text_version: None,
                    revoked_at: None,
                    revoked_by: None,
                },
            )]),
        }
    }
}
