//! Encrypted backups (G11): an age-encrypted archive of a consistent
//! snapshot of the store — every sled tree, the audit trail and a manifest
//! — written, checked and restored in one streaming pass each, so that no
//! plaintext copy of the store is ever written anywhere.
//!
//! - `create` (in the daemon, which owns the store): see [`create`] for
//!   what the snapshot guarantees.
//! - `verify` (anywhere, no store): decrypts, checks every part against
//!   the manifest and the audit chain against the manifest's head.
//! - `restore` (no daemon: the target store is new): [`restore::restore`].
//!
//! The format is in [`archive`]; the manifest in [`manifest`].

pub mod archive;
pub mod manifest;
pub mod restore;

use std::io::{self, BufReader, Read, Write};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::verify as chain_verify;
use crate::consent::store::StoreError;
use crate::consent::Store;
use archive::{read_error, ArchiveReader, ArchiveWriter, Event};
use manifest::{AuditPart, Manifest, TreePart, FORMAT};

/// Why a backup could not be written, read or restored.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file or the store could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What bote was doing.
        what: String,
        /// The cause.
        source: io::Error,
    },
    /// The passphrase or identity does not open the archive.
    #[error("{0}")]
    Key(String),
    /// The file is not a bote backup (or from a newer bote).
    #[error("not a bote backup: {0}")]
    NotABackup(String),
    /// The archive decrypts but is not what was written.
    #[error("the backup is damaged: {0}")]
    Damaged(String),
    /// The audit trail inside does not verify.
    #[error("the backup's audit trail does not verify: {0}")]
    Audit(String),
    /// Restore refused to touch the target.
    #[error("{0}")]
    Target(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sled::Error> for BackupError {
    fn from(e: sled::Error) -> Self {
        Self::Store(StoreError::Db(e))
    }
}

impl From<crate::audit::AuditError> for BackupError {
    fn from(e: crate::audit::AuditError) -> Self {
        Self::Store(StoreError::Audit(e))
    }
}

fn io_err(what: &str) -> impl FnOnce(io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        what: what.to_string(),
        source,
    }
}

/// A passphrase on its way to the encryptor: never printed, never logged.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `s`.
    pub fn new(s: String) -> Self {
        Self(s)
    }

    fn age(&self) -> age::secrecy::SecretString {
        age::secrecy::SecretString::from(self.0.clone())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(••••)")
    }
}

/// Whom an archive is encrypted to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupKey {
    /// A passphrase (age's scrypt recipient).
    Passphrase(Secret),
    /// age X25519 public keys (`age1…`): any one of their identities opens it.
    Recipients(Vec<String>),
}

impl BackupKey {
    /// The age encryptor for this key.
    pub fn encryptor(&self) -> Result<age::Encryptor, BackupError> {
        match self {
            Self::Passphrase(p) if p.0.is_empty() => {
                Err(BackupError::Key("the passphrase is empty".into()))
            }
            Self::Passphrase(p) => Ok(age::Encryptor::with_user_passphrase(p.age())),
            Self::Recipients(keys) => {
                let mut parsed = Vec::new();
                for k in keys {
                    let r: age::x25519::Recipient = k.trim().parse().map_err(|e| {
                        BackupError::Key(format!("--recipient {k:?} is not an age public key: {e}"))
                    })?;
                    parsed.push(r);
                }
                age::Encryptor::with_recipients(parsed.iter().map(|r| r as &dyn age::Recipient))
                    .map_err(|e| BackupError::Key(format!("encrypting to the recipients: {e}")))
            }
        }
    }
}

/// How an archive is opened: its passphrase or identities (`--identity FILE`).
pub enum Opener {
    /// The passphrase it was written with.
    Passphrase(Secret),
    /// age identities (X25519 secret keys), read from identity files.
    Identities(Vec<Box<dyn age::Identity>>),
}

impl Opener {
    /// The identities in the age identity file at `path` (`AGE-SECRET-KEY-1…` lines).
    pub fn identity_file(
        path: &std::path::Path,
    ) -> Result<Vec<Box<dyn age::Identity>>, BackupError> {
        let file = age::IdentityFile::from_file(path.display().to_string()).map_err(io_err(
            &format!("reading the identity file {}", path.display()),
        ))?;
        file.into_identities().map_err(|e| {
            BackupError::Key(format!("{}: not an age identity file: {e}", path.display()))
        })
    }

    /// The decrypted plaintext of `input`.
    pub fn open<R: Read>(&self, input: R) -> Result<age::stream::StreamReader<R>, BackupError> {
        let decryptor = age::Decryptor::new(input).map_err(|e| match e {
            age::DecryptError::Io(e) => BackupError::Io {
                what: "reading the archive".into(),
                source: e,
            },
            age::DecryptError::UnknownFormat => {
                BackupError::NotABackup("it is not an age file (or from a newer age)".into())
            }
            e => BackupError::NotABackup(format!("its age header is unreadable: {e}")),
        })?;
        let scrypt;
        let identities: Vec<&dyn age::Identity> = match self {
            Self::Passphrase(p) => {
                if !decryptor.is_scrypt() {
                    return Err(BackupError::Key(
                        "this backup is encrypted to public keys (--recipient), not a passphrase: \
                         pass --identity FILE"
                            .into(),
                    ));
                }
                scrypt = age::scrypt::Identity::new(p.age());
                vec![&scrypt]
            }
            Self::Identities(ids) => {
                if decryptor.is_scrypt() {
                    return Err(BackupError::Key(
                        "this backup is encrypted with a passphrase, not to a public key: \
                         give the passphrase (BOTE_BACKUP_PASSPHRASE or the prompt)"
                            .into(),
                    ));
                }
                ids.iter().map(|i| i.as_ref()).collect()
            }
        };
        decryptor
            .decrypt(identities.into_iter())
            .map_err(|e| match e {
                age::DecryptError::DecryptionFailed
                | age::DecryptError::NoMatchingKeys
                | age::DecryptError::KeyDecryptionFailed => BackupError::Key(match self {
                    Self::Passphrase(_) => "wrong passphrase: it does not open this backup".into(),
                    Self::Identities(_) => {
                        "none of the identities opens this backup (it was encrypted to other keys)"
                            .into()
                    }
                }),
                age::DecryptError::ExcessiveWork { required, target } => BackupError::Key(format!(
                    "the passphrase's work factor ({required}) is far above what this machine \
                 does in a second ({target}); bote refuses it as a possible denial of service"
                )),
                age::DecryptError::Io(e) => read_error(e),
                e => BackupError::Damaged(format!("its age header does not authenticate: {e}")),
            })
    }
}

/// What `create` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The manifest inside.
    pub manifest: Manifest,
    /// Size of the encrypted archive.
    pub bytes: u64,
    /// SHA-256 (hex) of the encrypted archive (recorded in the trail).
    pub sha256: String,
}

/// A writer that counts and hashes what passes to `W`.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes an encrypted archive of `store` to `out`.
///
/// What the snapshot guarantees: the store is flushed first, then, while
/// bote's consent locks are held (the importer's and the consent writer's,
/// so no import is half in and no consent change lands), every tree is
/// copied and the audit trail's head taken. So the consent tree is one
/// point in time, and every consent change in it has its trail entry in
/// the copy. Trees written without those locks (a campaign sending: its
/// journal, the send index) are copied record by record, each record whole
/// — as a crash would leave them, which the next daemon repairs (records
/// in flight become unknown, never re-sent unasked). The trail is the
/// prefix up to the head taken, never a torn line.
///
/// `out` should be a private file: only ciphertext is ever written to it.
pub fn create(
    store: &Store,
    mode: Option<String>,
    key: &BackupKey,
    out: impl Write,
    now: DateTime<Utc>,
) -> Result<Created, BackupError> {
    let encryptor = key.encryptor()?;
    let mut hashing = Hashing {
        inner: out,
        hash: Sha256::new(),
        bytes: 0,
    };
    let write = io_err("writing the backup");
    let sealed = encryptor
        .wrap_output(&mut hashing)
        .map_err(io_err("writing the backup"))?;
    let mut w = ArchiveWriter::new(io::BufWriter::with_capacity(1 << 16, sealed))
        .map_err(io_err("writing the backup"))?;
    let (trees, contacts, campaigns, trail) = {
        let _importer = store.importer();
        let _writer = store.consent_writer();
        store.flush()?;
        let db = store.db();
        let mut trees = Vec::new();
        let (mut contacts, mut campaigns) = (0, 0);
        let mut names = db.tree_names();
        names.sort();
        for raw in names {
            let name = String::from_utf8(raw.to_vec()).map_err(|_| {
                BackupError::Damaged("the store has a tree whose name is not UTF-8".into())
            })?;
            let tree = db.open_tree(&raw)?;
            w.begin_tree(&name).map_err(io_err("writing the backup"))?;
            for r in tree.iter() {
                let (k, v) = r?;
                // Counted as `consent list` and `campaign list` count them:
                // contacts are `c‖phone`, campaigns the 4-byte ids.
                if name == "consent" && k.first() == Some(&b'c') {
                    contacts += 1;
                }
                if name == "campaigns" && k.len() == 4 {
                    campaigns += 1;
                }
                w.record(&k, &v).map_err(io_err("writing the backup"))?;
            }
            let (records, sha256) = w.end().map_err(io_err("writing the backup"))?;
            trees.push(TreePart {
                name,
                records,
                sha256,
            });
        }
        (trees, contacts, campaigns, store.audit().snapshot()?)
    };
    // The trail only grows: its first `len` bytes are the snapshot's,
    // whatever is appended while they are copied.
    let path = store.audit().path().to_owned();
    let file = std::fs::File::open(&path).map_err(io_err("reading the audit trail"))?;
    w.begin_audit().map_err(io_err("writing the backup"))?;
    let mut trail_reader = BufReader::new(file).take(trail.len);
    let mut buf = vec![0u8; archive::CHUNK];
    let mut copied = 0u64;
    loop {
        let n = trail_reader
            .read(&mut buf)
            .map_err(io_err("reading the audit trail"))?;
        if n == 0 {
            break;
        }
        w.audit_bytes(&buf[..n])
            .map_err(io_err("writing the backup"))?;
        copied += n as u64;
    }
    if copied != trail.len {
        return Err(BackupError::Damaged(format!(
            "the audit trail is shorter ({copied} bytes) than its head says ({})",
            trail.len
        )));
    }
    let (_, audit_sha) = w.end().map_err(io_err("writing the backup"))?;
    let manifest = Manifest {
        format: FORMAT,
        bote_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: now,
        mode,
        contacts,
        campaigns,
        trees,
        audit: AuditPart {
            bytes: trail.len,
            entries: trail.seq,
            head: trail.hash,
            sha256: audit_sha,
        },
    };
    let buffered = w.finish(&manifest).map_err(io_err("writing the backup"))?;
    let sealed = buffered.into_inner().map_err(|e| write(e.into_error()))?;
    sealed.finish().map_err(io_err("writing the backup"))?;
    hashing.flush().map_err(io_err("writing the backup"))?;
    Ok(Created {
        manifest,
        bytes: hashing.bytes,
        sha256: hex::encode(hashing.hash.finalize()),
    })
}

/// What `verify` found: the manifest of a sound archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    /// The archive's manifest, every part checked against it.
    pub manifest: Manifest,
    /// SHA-256 (hex) of the encrypted file (compare with the trail's
    /// `backup_created` entry).
    pub sha256: String,
}

/// A reader that hashes what passes through it (the encrypted file).
pub(crate) struct HashingReader<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            hash: Sha256::new(),
        }
    }

    pub(crate) fn hex(&self) -> String {
        hex::encode(self.hash.clone().finalize())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// What a sink does with the parts of an archive as they are read
/// (nothing, for `verify`; the new store, for `restore`).
pub(crate) trait Sink {
    /// A tree starts.
    fn tree(&mut self, name: &str) -> Result<(), BackupError>;
    /// One of its records.
    fn record(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), BackupError>;
    /// The tree ended.
    fn tree_end(&mut self) -> Result<(), BackupError>;
    /// Where the trail's bytes go (besides the chain check).
    fn trail(&mut self) -> &mut dyn Write;
}

/// Discards everything: `verify`.
struct Discard(io::Sink);

impl Sink for Discard {
    fn tree(&mut self, _: &str) -> Result<(), BackupError> {
        Ok(())
    }
    fn record(&mut self, _: Vec<u8>, _: Vec<u8>) -> Result<(), BackupError> {
        Ok(())
    }
    fn tree_end(&mut self) -> Result<(), BackupError> {
        Ok(())
    }
    fn trail(&mut self) -> &mut dyn Write {
        &mut self.0
    }
}

/// Copies what is read to `out` too.
struct Tee<'a, R> {
    inner: R,
    out: &'a mut dyn Write,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Reads a whole archive from `input` into `sink`, checking every part
/// against the manifest and the audit chain against the manifest's head
/// (and against the head the copied store had anchored).
pub(crate) fn read_into(
    input: impl Read,
    opener: &Opener,
    sink: &mut dyn Sink,
) -> Result<Manifest, BackupError> {
    let plain = opener.open(input)?;
    let mut r = ArchiveReader::new(BufReader::with_capacity(1 << 16, plain))?;
    let mut anchor = None;
    let mut in_meta = false;
    let mut chain = None;
    loop {
        match r.next_event()? {
            Event::Tree(name) => {
                in_meta = name == "meta";
                sink.tree(&name)?;
            }
            Event::Record(k, v) => {
                if in_meta && k == crate::audit::HEAD_KEY.as_bytes() {
                    anchor = crate::audit::decode_anchor(&v);
                }
                sink.record(k, v)?;
            }
            Event::TreeEnd => sink.tree_end()?,
            Event::Audit => {
                let out = sink.trail();
                let mut tee = BufReader::new(Tee {
                    inner: r.audit(),
                    out,
                });
                let verified = chain_verify(&mut tee, anchor.clone()).map_err(read_error)?;
                // A break stops the check early: the rest is still read
                // (and hashed) so the manifest check sees every byte.
                io::copy(&mut tee, &mut io::sink()).map_err(read_error)?;
                chain = Some(verified);
            }
            Event::Manifest(m) => {
                let Some(v) = chain else {
                    return Err(BackupError::Damaged(
                        "the archive holds no audit trail".into(),
                    ));
                };
                if let Some(b) = v.first_break {
                    return Err(BackupError::Audit(b));
                }
                if v.entries != m.audit.entries || v.head != m.audit.head {
                    return Err(BackupError::Audit(format!(
                        "the trail ends at entry {} ({}), the manifest recorded entry {} ({})",
                        v.entries,
                        short(&v.head),
                        m.audit.entries,
                        short(&m.audit.head)
                    )));
                }
                return Ok(*m);
            }
        }
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Checks the archive read from `input`: it decrypts with `opener`, every
/// part matches the manifest, the audit chain is sound up to the
/// manifest's head. Writes nothing anywhere.
pub fn verify(input: impl Read, opener: &Opener) -> Result<Verified, BackupError> {
    let mut hashing = HashingReader::new(input);
    let manifest = read_into(&mut hashing, opener, &mut Discard(io::sink()))?;
    Ok(Verified {
        manifest,
        sha256: hashing.hex(),
    })
}

#[cfg(test)]
mod tests;
