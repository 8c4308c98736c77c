//! `bote backup restore IN --store DIR`: into a new or empty directory
//! only. The archive is verified whole first (nothing is written before
//! it is known sound), then read a second time into a fresh sled database
//! and trail — checked again as it goes, so a file changed in between is
//! caught — then opened as a store, which records the restore in the
//! restored trail and verifies the chain.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::manifest::Manifest;
use super::{io_err, read_into, verify, BackupError, HashingReader, Opener, Sink};
use crate::audit::{Action, Record, AUDIT_FILE};
use crate::consent::store::{claim_store_dir, open_private, PrivateFile};
use crate::consent::Store;

/// Records per sled batch while importing: fewer, larger writes.
const BATCH: usize = 4096;

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restored {
    /// The new store.
    pub store: PathBuf,
    /// The archive's manifest.
    pub manifest: Manifest,
    /// SHA-256 (hex) of the encrypted archive.
    pub sha256: String,
    /// Entries in the restored trail, the restore's own included.
    pub audit_entries: u64,
    /// Its head hash.
    pub audit_head: String,
}

/// Refuses anything but a missing path or an empty real directory,
/// without changing it.
fn check_target(dir: &Path) -> Result<bool, BackupError> {
    let refuse = |why: String| {
        BackupError::Target(format!(
            "{}: {why}; bote restores only into a new or empty directory (nothing was changed)",
            dir.display()
        ))
    };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io_err(&format!("looking at {}", dir.display()))(e)),
        Ok(m) if m.file_type().is_symlink() => Err(refuse("it is a symbolic link".into())),
        Ok(m) if !m.is_dir() => Err(refuse("it exists and is not a directory".into())),
        Ok(_) => {
            let mut entries =
                std::fs::read_dir(dir).map_err(io_err(&format!("looking at {}", dir.display())))?;
            match entries.next() {
                None => Ok(false),
                Some(first) => {
                    let name = first
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .unwrap_or_default();
                    Err(refuse(format!("it is not empty (it holds {name:?})")))
                }
            }
        }
    }
}

/// Writes what it reads into a fresh database and trail.
struct Import {
    db: sled::Db,
    tree: Option<sled::Tree>,
    batch: sled::Batch,
    pending: usize,
    trail: BufWriter<File>,
}

impl Import {
    fn apply(&mut self) -> Result<(), BackupError> {
        if let Some(tree) = &self.tree {
            tree.apply_batch(std::mem::take(&mut self.batch))?;
        }
        self.pending = 0;
        Ok(())
    }
}

// sled's own `Db::import` does the same, but panics on any I/O error and
// on a repeated key; the archive reader has already refused repeated or
// unordered keys, and an error here must be an error, not an abort.
impl Sink for Import {
    fn tree(&mut self, name: &str) -> Result<(), BackupError> {
        self.tree = Some(self.db.open_tree(name)?);
        Ok(())
    }

    fn record(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), BackupError> {
        self.batch.insert(key, value);
        self.pending += 1;
        if self.pending >= BATCH {
            self.apply()?;
        }
        Ok(())
    }

    fn tree_end(&mut self) -> Result<(), BackupError> {
        self.apply()?;
        self.tree = None;
        Ok(())
    }

    fn trail(&mut self) -> &mut dyn Write {
        &mut self.trail
    }
}

/// Restores the archive at `input` into `dir` (new or empty), as `actor`.
pub fn restore(
    input: &Path,
    opener: &Opener,
    dir: &Path,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Restored, BackupError> {
    let open_input = || File::open(input).map_err(io_err(&format!("opening {}", input.display())));
    let missing = check_target(dir)?;
    let verified = verify(open_input()?, opener)?;
    claim_store_dir(dir)?;
    match fill(&open_input, opener, dir, &verified.sha256) {
        Ok(manifest) => finish(dir, manifest, verified.sha256, actor, now),
        Err(e) => {
            // The directory was new or empty: take back only what bote put there.
            let _ = clear(dir, missing);
            Err(e)
        }
    }
}

fn fill(
    open_input: &dyn Fn() -> Result<File, BackupError>,
    opener: &Opener,
    dir: &Path,
    sha256: &str,
) -> Result<Manifest, BackupError> {
    let db = sled::Config::new().path(dir.join("db")).open()?;
    let trail = open_private(&dir.join(AUDIT_FILE), PrivateFile::New)
        .map_err(io_err("writing the restored audit trail"))?;
    let mut sink = Import {
        db,
        tree: None,
        batch: sled::Batch::default(),
        pending: 0,
        trail: BufWriter::new(trail),
    };
    let mut hashing = HashingReader::new(open_input()?);
    let manifest = read_into(&mut hashing, opener, &mut sink)?;
    if hashing.hex() != sha256 {
        return Err(BackupError::Damaged(
            "the archive changed between its check and the restore".into(),
        ));
    }
    sink.db.flush()?;
    let file = sink
        .trail
        .into_inner()
        .map_err(|e| io_err("writing the restored audit trail")(e.into_error()))?;
    file.sync_all()
        .map_err(io_err("writing the restored audit trail"))?;
    if let Some(mode) = manifest
        .mode
        .as_deref()
        .filter(|m| matches!(*m, "live" | "sandbox"))
    {
        let path = crate::service::daemon::mode_file(dir);
        let mut f = open_private(&path, PrivateFile::New)
            .map_err(io_err("writing the restored store's mode"))?;
        writeln!(f, "{mode}")
            .and_then(|()| f.sync_all())
            .map_err(io_err("writing the restored store's mode"))?;
    }
    Ok(manifest)
}

/// Opens the restored store as bote always does (permissions, a rewrite an
/// erasure asked for, the trail against its anchor), records the restore
/// and checks the chain.
fn finish(
    dir: &Path,
    manifest: Manifest,
    sha256: String,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Restored, BackupError> {
    let store = Store::open(dir)?;
    store.audit().record(
        Record::new(Action::BackupRestored, actor)
            .details(serde_json::json!({
                "archive_sha256": sha256,
                "created_at": manifest.created_at,
                "bote_version": manifest.bote_version,
                "contacts": manifest.contacts,
                "campaigns": manifest.campaigns,
                "trees": manifest.trees.len(),
                "records": manifest.records(),
                "audit_entries": manifest.audit.entries,
                "audit_head": manifest.audit.head,
            }))
            .at(now),
    )?;
    let v = store.audit().verify()?;
    if let Some(b) = v.first_break {
        return Err(BackupError::Audit(format!(
            "the restored trail does not verify: {b}"
        )));
    }
    store.flush()?;
    drop(store);
    Ok(Restored {
        store: dir.to_owned(),
        manifest,
        sha256,
        audit_entries: v.entries,
        audit_head: v.head,
    })
}

/// Removes what a failed restore wrote into `dir` (which it found missing
/// or empty).
fn clear(dir: &Path, created: bool) -> io::Result<()> {
    if created {
        return std::fs::remove_dir_all(dir);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if std::fs::symlink_metadata(&path)?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}
