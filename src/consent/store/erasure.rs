//! Erasure (G10) in the store: the contact, its history and its entries
//! in the send index go; only the salted hash stays, as a suppression.
//!
//! sled keeps superseded values in its log segments until it reclaims them,
//! so an erased number could survive on disk. An erasure therefore asks for
//! a rewrite: the next [`Store::open`] copies every live record into a
//! fresh database and deletes the old files, so nothing that is no longer a
//! live value survives in bote's files.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::contacts::contact_key;
use super::history::legacy_prefix;
use super::{codec, corrupt, Batch, Store, StoreError, Suppression, SuppressionCause};
use crate::phone::Phone;

/// The `meta` key that asks the next open to rewrite the database.
pub(super) const REWRITE_PENDING: &str = "rewrite_pending";

/// What an erasure removed from the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    /// Whether a contact record existed.
    pub contact: bool,
    /// History events removed.
    pub history_records: usize,
    /// Send-index entries the number was taken out of.
    pub send_entries: usize,
}

impl Store {
    /// Removes `phone`'s contact, history and send-index entries and puts
    /// its salted hash on the suppression list, at once; then asks for the
    /// rewrite that removes the old bytes (see the module docs).
    pub fn erase(&self, phone: Phone, at: DateTime<Utc>) -> Result<Erased, StoreError> {
        self.remove_contact(phone, at, Some(SuppressionCause::Erased))
    }

    /// [`Store::erase`] with the suppression's cause, or none (a consent
    /// that was never confirmed leaves nothing to suppress).
    pub fn remove_contact(
        &self,
        phone: Phone,
        at: DateTime<Utc>,
        suppress: Option<SuppressionCause>,
    ) -> Result<Erased, StoreError> {
        let _writer = self.consent_writer();
        let mut erased = Erased::default();
        let mut batch = Batch::default();
        let ckey = contact_key(phone);
        if let Some(v) = self.consent.get(ckey)? {
            erased.contact = true;
            // The history is folded into the contact record: it goes with it.
            erased.history_records = codec::decode_history(&ckey, &v)?.len();
        }
        batch.inner.remove(&ckey[..]);
        batch.writes += 1;
        // `e` records of the first format, of a number without a contact.
        for r in self.consent.scan_prefix(legacy_prefix(phone)) {
            let (k, _) = r?;
            batch.inner.remove(k);
            erased.history_records += 1;
            batch.writes += 1;
        }
        // Its business-scoped user ids (BSUID links) go with it.
        self.stage_forget_user_ids(&mut batch, phone)?;
        if let Some(cause) = suppress {
            self.stage_suppression(&mut batch, phone, &Suppression { since: at, cause });
        }
        self.commit(batch)?;
        erased.send_entries = self.erase_sends(phone)?;
        self.db
            .open_tree("meta")?
            .insert(REWRITE_PENDING, &[1u8][..])?;
        Ok(erased)
    }

    /// Asks the next open to rewrite the database: something about an
    /// erased number reached the store after its erasure (a late status
    /// webhook names it) and its bytes must not outlive it.
    pub fn request_rewrite(&self) -> Result<(), StoreError> {
        self.db
            .open_tree("meta")?
            .insert(REWRITE_PENDING, &[1u8][..])?;
        Ok(())
    }

    /// Takes `phone` out of every send-index entry. The tier then counts
    /// one recipient less for at most a day; the cap no longer matters for
    /// a suppressed number.
    fn erase_sends(&self, phone: Phone) -> Result<usize, StoreError> {
        let needle = phone.key();
        let mut n = 0;
        for r in self.sends.iter() {
            let (k, v) = r?;
            if k.first() == Some(&b't') {
                // bote 0.1: one entry per send, the number in the key.
                if k.get(9..) == Some(&needle[..]) {
                    self.sends.remove(&k)?;
                    n += 1;
                }
                continue;
            }
            let name_len = usize::from(*v.first().ok_or_else(|| corrupt(&k, "empty send entry"))?);
            let (head, phones) = v
                .split_at_checked(1 + name_len)
                .ok_or_else(|| corrupt(&k, "bad send entry"))?;
            if !phones.chunks_exact(8).any(|c| c == needle) {
                continue;
            }
            let kept: Vec<u8> = phones
                .chunks_exact(8)
                .filter(|c| *c != needle)
                .flatten()
                .copied()
                .collect();
            if kept.is_empty() {
                self.sends.remove(&k)?;
            } else {
                self.sends.insert(&k, [head, &kept[..]].concat())?;
            }
            n += 1;
        }
        Ok(n)
    }
}

/// Where a rewrite builds the fresh database and parks the old one.
fn beside(db_dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let parent = db_dir.parent().unwrap_or(db_dir);
    (parent.join("db.rewrite"), parent.join("db.old"))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Whether an erasure asked for a rewrite of `db`.
pub(super) fn rewrite_pending(db: &sled::Db) -> Result<bool, StoreError> {
    Ok(db.open_tree("meta")?.get(REWRITE_PENDING)?.is_some())
}

/// Rewrites `db` (at `db_dir`): every live record is copied into a fresh
/// database, which replaces the old one; the old files are deleted. The
/// caller opens `db_dir` again.
pub(super) fn rewrite(db: sled::Db, db_dir: &Path) -> Result<(), StoreError> {
    let (fresh_dir, old_dir) = beside(db_dir);
    for d in [&fresh_dir, &old_dir] {
        if d.exists() {
            std::fs::remove_dir_all(d).map_err(io(d))?;
        }
    }
    {
        let fresh = sled::Config::new().path(&fresh_dir).open()?;
        fresh.import(db.export());
        fresh.open_tree("meta")?.remove(REWRITE_PENDING)?;
        fresh.flush()?;
    }
    drop(db);
    // A crash before the first rename leaves the old `db` asking for the
    // rewrite (the next open does it again); after it, the complete
    // `db.rewrite` is what [`finish_interrupted`] puts in place.
    std::fs::rename(db_dir, &old_dir).map_err(io(db_dir))?;
    std::fs::rename(&fresh_dir, db_dir).map_err(io(&fresh_dir))?;
    std::fs::remove_dir_all(&old_dir).map_err(io(&old_dir))?;
    tracing::info!(db = %db_dir.display(), "database rewritten after an erasure: no erased value survives in its files");
    Ok(())
}

/// Completes a rewrite a crash interrupted between its two renames.
pub(super) fn finish_interrupted(db_dir: &Path) -> Result<(), StoreError> {
    let (fresh_dir, old_dir) = beside(db_dir);
    if !db_dir.exists() && fresh_dir.exists() {
        std::fs::rename(&fresh_dir, db_dir).map_err(io(&fresh_dir))?;
    }
    if db_dir.exists() && old_dir.exists() {
        std::fs::remove_dir_all(&old_dir).map_err(io(&old_dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{contact, phone};
    use super::*;
    use crate::consent::ConsentStatus;

    fn files_hold(dir: &Path, needle: &[u8]) -> Vec<String> {
        let mut hits = Vec::new();
        for entry in walk(dir) {
            let bytes = std::fs::read(&entry).unwrap_or_default();
            if bytes.windows(needle.len()).any(|w| w == needle) {
                hits.push(entry.display().to_string());
            }
        }
        hits
    }

    fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn an_erased_number_is_gone_from_every_file_after_the_rewrite() {
        let dir = tempfile::tempdir().expect("dir");
        let p = phone("+4915112345678");
        let q = phone("+4915187654321");
        let at = chrono::Utc::now();
        {
            let store = Store::open(dir.path()).expect("open");
            for x in [p, q] {
                store
                    .write(&contact(x, ConsentStatus::Confirmed), &[])
                    .expect("write");
            }
            store
                .record_sends(&[p, q], at, "c1", crate::template::Category::Marketing)
                .expect("send");
            store.record_send(p, at, "c2").expect("send");
            store.flush().expect("flush");
            let erased = store.erase(p, at).expect("erase");
            assert_eq!(
                erased,
                Erased {
                    contact: true,
                    history_records: 0,
                    send_entries: 2
                }
            );
            assert!(store.contact(p).expect("read").is_none());
            assert!(store.suppressed_since(p).expect("read").is_some());
            assert_eq!(
                store
                    .sends_since(q, at - chrono::Duration::hours(1))
                    .expect("q"),
                1
            );
            assert_eq!(
                store
                    .sends_since(p, at - chrono::Duration::hours(1))
                    .expect("p"),
                0
            );
            store.flush().expect("flush");
        }
        // The packed key form sled stores (8 bytes) and any text form.
        let key = p.key();
        let store = Store::open(dir.path()).expect("reopen rewrites");
        assert!(
            store.contact(q).expect("read").is_some(),
            "the others survive"
        );
        assert!(
            store.suppressed_since(p).expect("read").is_some(),
            "the suppression survives"
        );
        drop(store);
        assert_eq!(files_hold(dir.path(), &key), Vec::<String>::new());
        assert_eq!(
            files_hold(dir.path(), b"4915112345678"),
            Vec::<String>::new()
        );
        assert!(!dir.path().join("db.old").exists() && !dir.path().join("db.rewrite").exists());
    }

    #[test]
    fn a_rewrite_interrupted_between_its_renames_is_finished() {
        let dir = tempfile::tempdir().expect("dir");
        let q = phone("+4915187654321");
        {
            let store = Store::open(dir.path()).expect("open");
            store
                .write(&contact(q, ConsentStatus::Confirmed), &[])
                .expect("write");
            store.flush().expect("flush");
        }
        // As if the crash came after `db` → `db.old`, with the rewrite complete.
        std::fs::rename(dir.path().join("db"), dir.path().join("db.rewrite")).expect("mv");
        std::fs::create_dir(dir.path().join("db.old")).expect("old");
        let store = Store::open(dir.path()).expect("open");
        assert!(store.contact(q).expect("read").is_some());
        drop(store);
        assert!(!dir.path().join("db.old").exists());
    }
}
