//! The sled database behind bote: consents, their history, suppressions and
//! the send index (for frequency caps and the messaging tier).
//!
//! Key layout of the `consent` tree, chosen so that a contact and its events
//! change together in one atomic `apply_batch`:
//!
//! ```text
//! c ‖ phone(8 BE)            → Contact (JSON)
//! e ‖ phone(8 BE) ‖ id(8 BE) → ConsentEvent (JSON), append-only
//! s ‖ sha256(salt ‖ phone)   → erased_at (RFC 3339)
//! v                          → consent epoch (u64 BE), bumped by every batch
//! ```
//!
//! Events recorded together for one number (the changes one import row
//! makes) may share one `e` record holding a JSON array of them: sled's cost
//! is per record, and an import row otherwise writes four or five.
//! [`Store::history`] reads both forms.
//!
//! The `sends` tree indexes accepted marketing sends by time, one entry per
//! dispatcher flush interval: `g ‖ ts(8 BE) ‖ id(8 BE)` → campaign name
//! (length-prefixed) ‖ phone(8 BE)…; both the frequency cap and the tier
//! read a window of it. (bote 0.1 wrote `t ‖ ts ‖ phone` per send; those
//! are still read.)
//!
//! sled lets one process open a database; the owner writes its PID beside
//! it so that a second `bote` fails at once naming the owner (never hangs).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{ConsentEvent, ConsentStatus, Contact};
use crate::phone::Phone;

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
    consent: sled::Tree,
    sends: sled::Tree,
    salt: [u8; 32],
    /// The last epoch written; the lock serialises changes so the stored
    /// epoch only ever grows.
    epoch: std::sync::Mutex<u64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

fn contact_key(p: Phone) -> [u8; 9] {
    let mut k = [CONTACT; 9];
    k[1..].copy_from_slice(&p.key());
    k
}

fn event_key(p: Phone, id: u64) -> [u8; 17] {
    let mut k = [EVENT; 17];
    k[1..9].copy_from_slice(&p.key());
    k[9..].copy_from_slice(&id.to_be_bytes());
    k
}

/// Decodes a record from [`Store::contact_records`] as `T` (a `Contact`, or
/// a type with some of its fields).
pub fn decode_contact<'a, T: serde::Deserialize<'a>>(
    key: &[u8],
    value: &'a [u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(value).map_err(|e| corrupt(key, e))
}

/// One `e` record: a single event, or an array of events recorded together.
fn decode_events(v: &[u8]) -> Result<Vec<ConsentEvent>, serde_json::Error> {
    if v.trim_ascii_start().first() == Some(&b'[') {
        serde_json::from_slice(v)
    } else {
        serde_json::from_slice(v).map(|e| vec![e])
    }
}

fn corrupt(key: &[u8], e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: hex::encode(key),
        message: e.to_string(),
    }
}

/// Consent totals for one topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TopicTotals {
    /// Confirmed consents.
    pub confirmed: u64,
    /// Pending consents.
    pub pending: u64,
    /// Revoked consents.
    pub revoked: u64,
}

/// Who revoked, when, why and on what evidence.
#[derive(Debug, Clone)]
pub struct Revocation {
    /// When the person revoked.
    pub at: DateTime<Utc>,
    /// Who recorded it (OS user, `webhook`, `dispatcher`).
    pub actor: String,
    /// The evidence: `operator`, `webhook:WAMID`, `send:131050:CAMPAIGN`.
    pub origin: String,
    /// Human reason.
    pub reason: String,
}

/// A pending write: contacts and events that must land together.
#[derive(Debug, Default)]
pub struct Batch {
    inner: sled::Batch,
    writes: usize,
}

impl Batch {
    /// Number of records queued.
    pub fn len(&self) -> usize {
        self.writes
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.writes == 0
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
    /// Opens (or creates) the store in `dir`, owner-only (G12).
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
        create_private_dir(dir).map_err(io(dir))?;
        let db_dir = dir.join("db");
        let db = match sled::Config::new()
            .path(&db_dir)
            .cache_capacity(cache_bytes)
            .open()
        {
            Ok(db) => db,
            Err(sled::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                return Err(StoreError::Locked {
                    path: dir.to_owned(),
                    pid: read_pid(dir),
                })
            }
            Err(sled::Error::Io(e)) if e.to_string().contains("lock") => {
                return Err(StoreError::Locked {
                    path: dir.to_owned(),
                    pid: read_pid(dir),
                })
            }
            Err(e) => return Err(e.into()),
        };
        restrict_tree(&db_dir).map_err(io(&db_dir))?;
        write_pid(dir).map_err(io(dir))?;
        let consent = db.open_tree("consent")?;
        let sends = db.open_tree("sends")?;
        let meta = db.open_tree("meta")?;
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
        Ok(Self {
            dir: dir.to_owned(),
            db,
            consent,
            sends,
            salt,
            epoch: std::sync::Mutex::new(epoch),
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

    /// One number's current state.
    pub fn contact(&self, phone: Phone) -> Result<Option<Contact>, StoreError> {
        let key = contact_key(phone);
        self.consent
            .get(key)?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(&key, e)))
            .transpose()
    }

    /// Every contact, in number order.
    pub fn contacts(&self) -> impl Iterator<Item = Result<Contact, StoreError>> + '_ {
        self.consent.scan_prefix([CONTACT]).map(|r| {
            let (k, v) = r?;
            serde_json::from_slice(&v).map_err(|e| corrupt(&k, e))
        })
    }

    /// Every contact's stored record, undecoded, in number order: for scans
    /// over many contacts that need a few fields each (the dry run decodes
    /// them with [`decode_contact`] into a smaller type).
    pub fn contact_records(
        &self,
    ) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec), StoreError>> + '_ {
        self.consent
            .scan_prefix([CONTACT])
            .map(|r| r.map_err(StoreError::from))
    }

    /// Number of contacts.
    pub fn contact_count(&self) -> usize {
        self.consent.scan_prefix([CONTACT]).count()
    }

    /// A number's history, oldest first.
    pub fn history(&self, phone: Phone) -> Result<Vec<ConsentEvent>, StoreError> {
        let mut prefix = [EVENT; 9];
        prefix[1..].copy_from_slice(&phone.key());
        self.consent
            .scan_prefix(prefix)
            .map(|r| {
                let (k, v) = r?;
                decode_events(&v).map_err(|e| corrupt(&k, e))
            })
            .try_fold(Vec::new(), |mut all, events| {
                all.extend(events?);
                Ok(all)
            })
    }

    /// Queues a contact's new state.
    pub fn stage_contact(&self, batch: &mut Batch, contact: &Contact) -> Result<(), StoreError> {
        let value = serde_json::to_vec(contact).map_err(|e| corrupt(b"contact", e))?;
        batch.inner.insert(&contact_key(contact.phone)[..], value);
        batch.writes += 1;
        Ok(())
    }

    /// Queues an event for a number's history.
    pub fn stage_event(
        &self,
        batch: &mut Batch,
        phone: Phone,
        event: &ConsentEvent,
    ) -> Result<(), StoreError> {
        let id = self.db.generate_id()?;
        let value = serde_json::to_vec(event).map_err(|e| corrupt(b"event", e))?;
        batch.inner.insert(&event_key(phone, id)[..], value);
        batch.writes += 1;
        Ok(())
    }

    /// Queues events recorded together for one number as one record (see
    /// the module docs); nothing for none.
    pub fn stage_events(
        &self,
        batch: &mut Batch,
        phone: Phone,
        events: &[ConsentEvent],
    ) -> Result<(), StoreError> {
        match events {
            [] => Ok(()),
            [one] => self.stage_event(batch, phone, one),
            many => {
                let id = self.db.generate_id()?;
                let value = serde_json::to_vec(many).map_err(|e| corrupt(b"event", e))?;
                batch.inner.insert(&event_key(phone, id)[..], value);
                batch.writes += 1;
                Ok(())
            }
        }
    }

    /// Queues a suppression: only a salted hash of the number is kept.
    pub fn stage_suppress(&self, batch: &mut Batch, phone: Phone, at: DateTime<Utc>) {
        batch
            .inner
            .insert(&self.suppression_key(phone)[..], at.to_rfc3339().as_bytes());
        batch.writes += 1;
    }

    /// Queues the removal of a suppression (a newer consent lifted it).
    pub fn stage_unsuppress(&self, batch: &mut Batch, phone: Phone) {
        batch.inner.remove(&self.suppression_key(phone)[..]);
        batch.writes += 1;
    }

    /// Applies a batch atomically: all of it lands, or none.
    pub fn commit(&self, mut batch: Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut epoch = self.epoch.lock().unwrap_or_else(|p| p.into_inner());
        batch
            .inner
            .insert(&EPOCH[..], &(*epoch + 1).to_be_bytes()[..]);
        self.consent.apply_batch(batch.inner)?;
        *epoch += 1;
        Ok(())
    }

    /// A number that changes with every change of any consent, revocation,
    /// erasure or suppression, stored with the change itself. A campaign
    /// planned at epoch `e` may skip the per-send consent re-read while the
    /// epoch is still `e`: nothing the plan checked can have changed (G2).
    pub fn consent_epoch(&self) -> u64 {
        *self.epoch.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes a contact and its events at once.
    pub fn write(&self, contact: &Contact, events: &[ConsentEvent]) -> Result<(), StoreError> {
        let mut batch = Batch::default();
        self.stage_contact(&mut batch, contact)?;
        for e in events {
            self.stage_event(&mut batch, contact.phone, e)?;
        }
        self.commit(batch)
    }

    /// Revokes a number's consent for `topic` (or every topic) at once (G5);
    /// returns how many topics changed. `origin` is the evidence (e.g. the
    /// inbound message id); already-revoked topics stay as they were.
    pub fn revoke(
        &self,
        phone: Phone,
        topic: Option<&str>,
        revocation: &Revocation,
    ) -> Result<usize, StoreError> {
        let Some(mut contact) = self.contact(phone)? else {
            return Ok(0);
        };
        let mut events = Vec::new();
        for (name, t) in contact.topics.iter_mut() {
            if topic.is_some_and(|x| x != name) || t.status == ConsentStatus::Revoked {
                continue;
            }
            t.status = ConsentStatus::Revoked;
            t.revoked_at = Some(revocation.at);
            t.revoked_by = Some(revocation.origin.clone());
            events.push(ConsentEvent {
                recorded_at: Utc::now(),
                actor: revocation.actor.clone(),
                origin: revocation.origin.clone(),
                change: super::Change::Revoked {
                    topic: name.clone(),
                    revoked_at: revocation.at,
                    reason: revocation.reason.clone(),
                },
            });
        }
        if !events.is_empty() {
            self.write(&contact, &events)?;
        }
        Ok(events.len())
    }

    /// Waits until everything written so far is on disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    fn suppression_key(&self, phone: Phone) -> [u8; 33] {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(phone.digits().as_bytes());
        let mut k = [SUPPRESSED; 33];
        k[1..].copy_from_slice(&h.finalize());
        k
    }

    /// When the number was erased, if it is on the suppression list (G10).
    pub fn suppressed_since(&self, phone: Phone) -> Result<Option<DateTime<Utc>>, StoreError> {
        let key = self.suppression_key(phone);
        self.consent
            .get(key)?
            .map(|v| {
                std::str::from_utf8(&v)
                    .map_err(|e| corrupt(&key, e))
                    .and_then(|s| DateTime::parse_from_rfc3339(s).map_err(|e| corrupt(&key, e)))
                    .map(|d| d.with_timezone(&Utc))
            })
            .transpose()
    }

    /// Whether any number is on the suppression list.
    pub fn has_suppressions(&self) -> Result<bool, StoreError> {
        Ok(self
            .consent
            .scan_prefix([SUPPRESSED])
            .next()
            .transpose()?
            .is_some())
    }

    /// Puts a number on the suppression list: only a salted hash is kept.
    pub fn suppress(&self, phone: Phone, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut batch = Batch::default();
        self.stage_suppress(&mut batch, phone, at);
        self.commit(batch)
    }

    /// Confirmed / pending / revoked counts per topic.
    pub fn totals(&self) -> Result<BTreeMap<String, TopicTotals>, StoreError> {
        let mut out: BTreeMap<String, TopicTotals> = BTreeMap::new();
        for c in self.contacts() {
            for (topic, t) in c?.topics {
                let e = out.entry(topic).or_default();
                match t.status {
                    ConsentStatus::Confirmed => e.confirmed += 1,
                    ConsentStatus::Pending => e.pending += 1,
                    ConsentStatus::Revoked => e.revoked += 1,
                }
            }
        }
        Ok(out)
    }

    /// Records an accepted marketing send, for caps and the tier (G15).
    pub fn record_send(
        &self,
        phone: Phone,
        at: DateTime<Utc>,
        campaign: &str,
    ) -> Result<(), StoreError> {
        self.record_sends(&[phone], at, campaign)
    }

    /// Records sends accepted together (one dispatcher flush interval) as
    /// one index entry: one sled write for them all instead of two per send.
    pub fn record_sends(
        &self,
        phones: &[Phone],
        at: DateTime<Utc>,
        campaign: &str,
    ) -> Result<(), StoreError> {
        if phones.is_empty() {
            return Ok(());
        }
        let mut key = Vec::with_capacity(17);
        key.push(b'g');
        key.extend_from_slice(&at.timestamp_millis().to_be_bytes());
        key.extend_from_slice(&self.db.generate_id()?.to_be_bytes());
        let name = &campaign.as_bytes()[..campaign.len().min(255)];
        let mut value = Vec::with_capacity(1 + name.len() + 8 * phones.len());
        value.push(name.len() as u8);
        value.extend_from_slice(name);
        for p in phones {
            value.extend_from_slice(&p.key());
        }
        self.sends.insert(key, value)?;
        Ok(())
    }

    /// Every recorded send since `since` as (milliseconds, number), oldest
    /// first: the grouped entries and the single `t` entries of bote 0.1.
    fn sends_in_window(&self, since: DateTime<Utc>) -> Result<Vec<(i64, Phone)>, StoreError> {
        let from = since.timestamp_millis().to_be_bytes();
        let ts_of = |k: &[u8]| {
            k.get(1..9)
                .and_then(|b| b.try_into().ok())
                .map(i64::from_be_bytes)
                .ok_or_else(|| corrupt(k, "short send key"))
        };
        let mut out = Vec::new();
        for r in self.sends.range([&[b'g'][..], &from].concat()..vec![b'h']) {
            let (k, v) = r?;
            let ts = ts_of(&k)?;
            let name_len = usize::from(*v.first().ok_or_else(|| corrupt(&k, "empty send entry"))?);
            let phones = v
                .get(1 + name_len..)
                .filter(|p| p.len() % 8 == 0)
                .ok_or_else(|| corrupt(&k, "bad send entry"))?;
            for chunk in phones.chunks_exact(8) {
                out.push((
                    ts,
                    Phone::from_key(chunk).ok_or_else(|| corrupt(&k, "bad phone"))?,
                ));
            }
        }
        for r in self.sends.range([&[b't'][..], &from].concat()..vec![b'u']) {
            let (k, _) = r?;
            let phone = k
                .get(9..)
                .and_then(Phone::from_key)
                .ok_or_else(|| corrupt(&k, "bad phone"))?;
            out.push((ts_of(&k)?, phone));
        }
        out.sort_by_key(|(ts, _)| *ts);
        Ok(out)
    }

    /// Marketing sends per recipient since `since`: [`Store::sends_since`]
    /// for every number at once, in one pass over the index.
    pub fn send_counts_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<HashMap<Phone, u32>, StoreError> {
        let mut counts = HashMap::new();
        for (_, phone) in self.sends_in_window(since)? {
            *counts.entry(phone).or_insert(0) += 1;
        }
        Ok(counts)
    }

    /// Marketing sends to `phone` since `since` (a scan of the window: for
    /// many numbers use [`Store::send_counts_since`]).
    pub fn sends_since(&self, phone: Phone, since: DateTime<Utc>) -> Result<u32, StoreError> {
        Ok(self
            .sends_in_window(since)?
            .iter()
            .filter(|(_, p)| *p == phone)
            .count() as u32)
    }

    /// The time of the latest send to each unique recipient since `since`,
    /// oldest first: a recipient stops counting against the messaging tier
    /// only when their latest send leaves the 24-hour window.
    pub fn unique_recipients_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let mut latest: HashMap<Phone, i64> = HashMap::new();
        for (ts, phone) in self.sends_in_window(since)? {
            latest.insert(phone, ts);
        }
        let mut out: Vec<DateTime<Utc>> = latest
            .into_values()
            .filter_map(DateTime::from_timestamp_millis)
            .collect();
        out.sort_unstable();
        Ok(out)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.db.flush();
        let _ = fs::remove_file(self.dir.join("owner.pid"));
    }
}

/// Creates `dir` (and parents) with mode 0700 where new.
/// Creates `dir` (and parents) owner-only, or restricts it.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir)
    }
}

/// sled creates its files with the process umask; tighten them (G12).
fn restrict_tree(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let mode = if entry.file_type()?.is_dir() {
                0o700
            } else {
                0o600
            };
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(mode))?;
            if entry.file_type()?.is_dir() {
                restrict_tree(&entry.path())?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn write_pid(dir: &Path) -> std::io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(dir.join("owner.pid"))?;
    write!(f, "{}", std::process::id())
}

fn read_pid(dir: &Path) -> Option<u32> {
    fs::read_to_string(dir.join("owner.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::{Change, TopicConsent};

    fn phone(s: &str) -> Phone {
        Phone::parse(s, "DE").expect("valid")
    }

    fn contact(p: Phone, status: ConsentStatus) -> Contact {
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

    #[test]
    fn every_consent_change_moves_the_epoch_and_the_epoch_survives_reopening() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = phone("0171 2345678");
        let epoch = {
            let store = Store::open(dir.path()).expect("store");
            let e0 = store.consent_epoch();
            store
                .write(&contact(p, ConsentStatus::Confirmed), &[])
                .expect("write");
            let e1 = store.consent_epoch();
            assert!(e1 > e0, "a write moves it");
            store.record_send(p, Utc::now(), "c1").expect("send");
            assert_eq!(store.consent_epoch(), e1, "sends are not consent");
            let rev = Revocation {
                at: Utc::now(),
                actor: "t".into(),
                origin: "t".into(),
                reason: "t".into(),
            };
            assert_eq!(store.revoke(p, None, &rev).expect("revoke"), 1);
            let e2 = store.consent_epoch();
            assert!(e2 > e1, "a revocation moves it");
            store.suppress(p, Utc::now()).expect("suppress");
            let e3 = store.consent_epoch();
            assert!(e3 > e2, "a suppression moves it");
            // Nothing to change, nothing moves.
            store.commit(Batch::default()).expect("empty");
            assert_eq!(store.consent_epoch(), e3);
            e3
        };
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(store.consent_epoch(), epoch);
        assert_eq!(store.contact_count(), 1, "the epoch is no contact");
    }

    #[test]
    fn contact_and_history_round_trip() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let p = phone("0171 2345678");
        let c = contact(p, ConsentStatus::Confirmed);
        let ev = ConsentEvent {
            recorded_at: c.profile_at,
            actor: "tester".into(),
            origin: "test".into(),
            change: Change::ProfileUpdated {
                locale: Some("de".into()),
                attributes: vec![],
            },
        };
        store.write(&c, &[ev.clone(), ev.clone()]).expect("write");
        assert_eq!(store.contact(p).expect("read"), Some(c.clone()));
        let records: Vec<_> = store
            .contact_records()
            .collect::<Result<_, _>>()
            .expect("scan");
        assert_eq!(records.len(), 1);
        let (k, v) = &records[0];
        assert_eq!(decode_contact::<Contact>(k, v).expect("decode"), c);
        assert_eq!(store.history(p).expect("history").len(), 2);
        // Events staged together land in one record and read back in order.
        let revoked = ConsentEvent {
            change: Change::Revoked {
                topic: "sale".into(),
                revoked_at: c.profile_at,
                reason: "test".into(),
            },
            ..ev.clone()
        };
        let mut batch = Batch::default();
        store
            .stage_events(&mut batch, p, &[ev.clone(), revoked.clone()])
            .expect("stage");
        assert_eq!(batch.len(), 1);
        store.commit(batch).expect("commit");
        store
            .stage_events(&mut Batch::default(), p, &[])
            .expect("nothing");
        assert_eq!(
            store.history(p).expect("history"),
            vec![ev.clone(), ev.clone(), ev, revoked]
        );
        assert_eq!(store.totals().expect("totals")["sale"].confirmed, 1);
    }

    #[test]
    fn second_process_is_refused_with_the_owner_named() {
        let dir = tempfile::tempdir().expect("tmp");
        let _first = Store::open(dir.path()).expect("open");
        // sled's lock is per process, so a second open in the same process
        // also fails: exactly the case of a second `bote`.
        match Store::open(dir.path()) {
            Err(StoreError::Locked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Locked, got {other:?}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let store_dir = dir.path().join("store");
        let _s = Store::open(&store_dir).expect("open");
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&store_dir), 0o700);
        for e in fs::read_dir(store_dir.join("db")).expect("db dir") {
            let p = e.expect("entry").path();
            assert_eq!(mode(&p) & 0o077, 0, "{} is readable by others", p.display());
        }
    }

    #[test]
    fn suppression_keeps_only_a_hash() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let p = phone("0171 2345678");
        let at = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        assert_eq!(store.suppressed_since(p).expect("read"), None);
        assert!(!store.has_suppressions().expect("read"));
        store.suppress(p, at).expect("suppress");
        assert_eq!(store.suppressed_since(p).expect("read"), Some(at));
        assert!(store.has_suppressions().expect("read"));
        let raw: Vec<u8> = store
            .consent
            .iter()
            .flat_map(|r| {
                let (k, v) = r.expect("entry");
                [k.to_vec(), v.to_vec()].concat()
            })
            .collect();
        assert!(
            !raw.windows(11).any(|w| w == b"49171234567"),
            "plain number stored"
        );
    }

    #[test]
    fn send_index_counts_caps_and_tier() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let (a, b) = (phone("0171 2345678"), phone("0171 2345679"));
        let t = |s: i64| DateTime::from_timestamp(1_700_000_000 + s, 0).expect("time");
        store.record_send(a, t(0), "c1").expect("send");
        store.record_send(a, t(10), "c2").expect("send");
        store.record_send(b, t(20), "c2").expect("send");
        assert_eq!(store.sends_since(a, t(0)).expect("count"), 2);
        assert_eq!(store.sends_since(a, t(5)).expect("count"), 1);
        assert_eq!(store.unique_recipients_since(t(0)).expect("tier").len(), 2);
        assert_eq!(store.unique_recipients_since(t(15)).expect("tier").len(), 1);
        for since in [t(0), t(5), t(15), t(25)] {
            let counts = store.send_counts_since(since).expect("counts");
            for p in [a, b] {
                assert_eq!(
                    counts.get(&p).copied().unwrap_or(0),
                    store.sends_since(p, since).expect("count"),
                    "{since}"
                );
            }
        }
    }
}
