//! The plaintext inside the age encryption: a framed stream written and
//! read in one pass, so that neither side ever needs the whole archive (or
//! a plaintext file) at once.
//!
//! ```text
//! archive  = MAGIC part* 'M' u32(len) manifest-json        (nothing after it)
//! part     = 'T' u32(len) tree-name  record* 'E'            one sled tree
//!          | 'A' chunk* 'E'                                  the audit trail
//! record   = 'K' u32(len) key u32(len) value                 in key order
//! chunk    = 'B' u32(len) bytes                              ≤ 1 MiB each
//! ```
//!
//! Lengths are big-endian. A part's SHA-256 in the manifest covers what it
//! holds — a tree's records as `u32 ‖ key ‖ u32 ‖ value`, the trail's raw
//! bytes — not its tags, so the trail's hash is that of the copied file.
//! The manifest comes last because only then are the hashes known.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use super::manifest::{Manifest, SeenAudit, SeenTree};
use super::BackupError;

/// The first bytes of the plaintext.
pub const MAGIC: &[u8] = b"BOTE-BACKUP 1\n";
/// The largest trail chunk written.
pub const CHUNK: usize = 1 << 20;
/// The largest key, value, name or manifest a reader accepts: far above
/// anything bote stores, low enough that a damaged length cannot make it
/// allocate the machine away.
const MAX_FIELD: u32 = 256 << 20;

/// Writes the framed stream into `W` (the age encryptor).
pub struct ArchiveWriter<W: Write> {
    out: W,
    part: Option<Sha256>,
    records: u64,
}

impl<W: Write> ArchiveWriter<W> {
    /// Starts the archive (writes [`MAGIC`]).
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(MAGIC)?;
        Ok(Self {
            out,
            part: None,
            records: 0,
        })
    }

    fn field(&mut self, bytes: &[u8]) -> io::Result<()> {
        let len = u32::try_from(bytes.len())
            .ok()
            .filter(|l| *l <= MAX_FIELD)
            .ok_or_else(|| io::Error::other("a record is too large for a backup"))?;
        let len = len.to_be_bytes();
        if let Some(h) = self.part.as_mut() {
            h.update(len);
            h.update(bytes);
        }
        self.out.write_all(&len)?;
        self.out.write_all(bytes)
    }

    /// Starts tree `name`.
    pub fn begin_tree(&mut self, name: &str) -> io::Result<()> {
        self.out.write_all(b"T")?;
        self.field(name.as_bytes())?;
        self.part = Some(Sha256::new());
        self.records = 0;
        Ok(())
    }

    /// One record of the current tree (in key order).
    pub fn record(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.out.write_all(b"K")?;
        self.field(key)?;
        self.field(value)?;
        self.records += 1;
        Ok(())
    }

    /// Starts the audit trail.
    pub fn begin_audit(&mut self) -> io::Result<()> {
        self.out.write_all(b"A")?;
        self.part = Some(Sha256::new());
        self.records = 0;
        Ok(())
    }

    /// Trail bytes (any amount; split into chunks).
    pub fn audit_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        for chunk in bytes.chunks(CHUNK) {
            self.out.write_all(b"B")?;
            self.out.write_all(&(chunk.len() as u32).to_be_bytes())?;
            self.out.write_all(chunk)?;
            if let Some(h) = self.part.as_mut() {
                h.update(chunk);
            }
        }
        Ok(())
    }

    /// Ends the current part: its record count and SHA-256 (hex).
    pub fn end(&mut self) -> io::Result<(u64, String)> {
        self.out.write_all(b"E")?;
        let hash = self.part.take().map(|h| h.finalize()).unwrap_or_default();
        Ok((self.records, hex::encode(hash)))
    }

    /// Writes the manifest and hands back the output (to be finished).
    pub fn finish(mut self, manifest: &Manifest) -> io::Result<W> {
        let json = serde_json::to_vec(manifest).map_err(io::Error::other)?;
        self.out.write_all(b"M")?;
        self.field(&json)?;
        Ok(self.out)
    }
}

/// One step of reading an archive.
#[derive(Debug)]
pub enum Event {
    /// A tree starts.
    Tree(String),
    /// A record of the current tree.
    Record(Vec<u8>, Vec<u8>),
    /// The audit trail starts: read it with [`ArchiveReader::audit`].
    Audit,
    /// The current tree ended.
    TreeEnd,
    /// The manifest, checked against every part: the archive is whole.
    Manifest(Box<Manifest>),
}

enum State {
    Between,
    InTree,
    InAudit,
    Done,
}

/// Reads the framed stream from `R` (the age decryptor), hashing and
/// counting every part and checking that keys ascend, so that the
/// manifest can be checked against what was really there.
pub struct ArchiveReader<R: Read> {
    input: R,
    state: State,
    hash: Sha256,
    records: u64,
    last_key: Option<Vec<u8>>,
    tree: String,
    trees: Vec<SeenTree>,
    audit: Option<SeenAudit>,
    /// Bytes left in the current trail chunk.
    chunk_left: u32,
}

fn damaged(what: impl Into<String>) -> BackupError {
    BackupError::Damaged(what.into())
}

impl<R: Read> ArchiveReader<R> {
    /// Checks [`MAGIC`] and gets ready to read the parts.
    pub fn new(mut input: R) -> Result<Self, BackupError> {
        let mut magic = [0u8; MAGIC.len()];
        read_exact(&mut input, &mut magic)?;
        if magic != MAGIC {
            return Err(BackupError::NotABackup(
                "it decrypts, but is not a bote backup (unknown content)".into(),
            ));
        }
        Ok(Self {
            input,
            state: State::Between,
            hash: Sha256::new(),
            records: 0,
            last_key: None,
            tree: String::new(),
            trees: Vec::new(),
            audit: None,
            chunk_left: 0,
        })
    }

    fn tag(&mut self) -> Result<u8, BackupError> {
        let mut t = [0u8; 1];
        read_exact(&mut self.input, &mut t)?;
        Ok(t[0])
    }

    fn len(&mut self) -> Result<u32, BackupError> {
        let mut l = [0u8; 4];
        read_exact(&mut self.input, &mut l)?;
        let len = u32::from_be_bytes(l);
        if len > MAX_FIELD {
            return Err(damaged(format!("a field claims {len} bytes")));
        }
        Ok(len)
    }

    fn field(&mut self, hashed: bool) -> Result<Vec<u8>, BackupError> {
        let len = self.len()?;
        let mut buf = vec![0u8; len as usize];
        read_exact(&mut self.input, &mut buf)?;
        if hashed {
            self.hash.update(len.to_be_bytes());
            self.hash.update(&buf);
        }
        Ok(buf)
    }

    fn finish_part(&mut self) -> (u64, String) {
        let hash = std::mem::replace(&mut self.hash, Sha256::new()).finalize();
        (std::mem::take(&mut self.records), hex::encode(hash))
    }

    /// The next step; an error names what is wrong with the archive.
    pub fn next_event(&mut self) -> Result<Event, BackupError> {
        match self.state {
            State::Done => Err(damaged("read past the manifest")),
            State::InAudit => Err(damaged("the audit trail was not read to its end")),
            State::InTree => match self.tag()? {
                b'K' => {
                    let key = self.field(true)?;
                    let value = self.field(true)?;
                    if self.last_key.as_ref().is_some_and(|last| *last >= key) {
                        return Err(damaged(format!(
                            "tree {:?}: records out of order or repeated",
                            self.tree
                        )));
                    }
                    self.last_key = Some(key.clone());
                    self.records += 1;
                    Ok(Event::Record(key, value))
                }
                b'E' => {
                    let (records, sha256) = self.finish_part();
                    self.trees.push(SeenTree {
                        name: std::mem::take(&mut self.tree),
                        records,
                        sha256,
                    });
                    self.state = State::Between;
                    Ok(Event::TreeEnd)
                }
                t => Err(damaged(format!(
                    "tree {:?}: unexpected frame {t:#04x}",
                    self.tree
                ))),
            },
            State::Between => match self.tag()? {
                b'T' => {
                    let name = self.field(false)?;
                    let name =
                        String::from_utf8(name).map_err(|_| damaged("a tree name is not UTF-8"))?;
                    self.tree = name.clone();
                    self.last_key = None;
                    self.state = State::InTree;
                    Ok(Event::Tree(name))
                }
                b'A' if self.audit.is_none() => {
                    self.state = State::InAudit;
                    self.chunk_left = 0;
                    Ok(Event::Audit)
                }
                b'M' => {
                    let json = self.field(false)?;
                    let manifest: Manifest = serde_json::from_slice(&json)
                        .map_err(|e| damaged(format!("the manifest is unreadable: {e}")))?;
                    let mut rest = [0u8; 1];
                    if self.input.read(&mut rest).map_err(read_error)? != 0 {
                        return Err(damaged("there are bytes after the manifest"));
                    }
                    let audit = self
                        .audit
                        .take()
                        .ok_or_else(|| damaged("the archive holds no audit trail"))?;
                    manifest.check(&self.trees, &audit).map_err(damaged)?;
                    self.state = State::Done;
                    Ok(Event::Manifest(Box::new(manifest)))
                }
                t => Err(damaged(format!("unexpected frame {t:#04x} between parts"))),
            },
        }
    }

    /// The audit trail's bytes, after [`Event::Audit`]; read it to its end.
    pub fn audit(&mut self) -> AuditReader<'_, R> {
        AuditReader(self)
    }

    fn audit_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !matches!(self.state, State::InAudit) || buf.is_empty() {
            return Ok(0);
        }
        while self.chunk_left == 0 {
            let mut t = [0u8; 1];
            self.input.read_exact(&mut t)?;
            match t[0] {
                b'B' => {
                    let mut l = [0u8; 4];
                    self.input.read_exact(&mut l)?;
                    self.chunk_left = u32::from_be_bytes(l);
                    if self.chunk_left as usize > CHUNK {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "an audit chunk is too large",
                        ));
                    }
                }
                b'E' => {
                    let (bytes, sha256) = self.finish_part();
                    self.audit = Some(SeenAudit { bytes, sha256 });
                    self.state = State::Between;
                    return Ok(0);
                }
                other => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("unexpected frame {other:#04x} in the audit trail"),
                    ))
                }
            }
        }
        let want = buf.len().min(self.chunk_left as usize);
        let n = self.input.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.hash.update(&buf[..n]);
        // While in the trail, `records` counts its bytes.
        self.records += n as u64;
        self.chunk_left -= n as u32;
        Ok(n)
    }
}

/// The audit trail inside an archive, as a reader (its bytes are hashed
/// as they pass).
pub struct AuditReader<'a, R: Read>(&'a mut ArchiveReader<R>);

impl<R: Read> Read for AuditReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.audit_read(buf)
    }
}

/// Reads exactly `buf`, naming a cut-off archive as such.
fn read_exact(r: &mut impl Read, buf: &mut [u8]) -> Result<(), BackupError> {
    r.read_exact(buf).map_err(read_error)
}

/// An error from the decrypting reader: the end of the stream before the
/// manifest is a cut archive; age's chunk authentication failing means
/// the ciphertext was changed.
pub fn read_error(e: io::Error) -> BackupError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            damaged("the archive ends before its manifest (cut off or incomplete)")
        }
        io::ErrorKind::InvalidData => damaged(format!(
            "the encrypted data does not authenticate ({e}): the archive was altered or is damaged"
        )),
        _ => BackupError::Io {
            what: "reading the archive".into(),
            source: e,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::manifest::{AuditPart, TreePart, FORMAT};
    use super::*;

    /// A tree's name and its records.
    type Tree<'a> = (&'a str, &'a [(&'a [u8], &'a [u8])]);

    /// An archive of `trees` and `trail`, and its manifest.
    fn archive(trees: &[Tree<'_>], trail: &[u8]) -> (Vec<u8>, Manifest) {
        let mut w = ArchiveWriter::new(Vec::new()).expect("new");
        let mut parts = Vec::new();
        for (name, records) in trees {
            w.begin_tree(name).expect("tree");
            for (k, v) in *records {
                w.record(k, v).expect("record");
            }
            let (records, sha256) = w.end().expect("end");
            parts.push(TreePart {
                name: name.to_string(),
                records,
                sha256,
            });
        }
        w.begin_audit().expect("audit");
        w.audit_bytes(trail).expect("bytes");
        let (_, sha256) = w.end().expect("end");
        let manifest = Manifest {
            format: FORMAT,
            bote_version: "test".into(),
            created_at: chrono::Utc::now(),
            mode: None,
            contacts: 0,
            campaigns: 0,
            trees: parts,
            audit: AuditPart {
                bytes: trail.len() as u64,
                entries: 0,
                head: String::new(),
                sha256,
            },
        };
        let bytes = w.finish(&manifest).expect("finish");
        (bytes, manifest)
    }

    fn read_all(bytes: &[u8]) -> Result<(Vec<String>, Vec<u8>, Manifest), BackupError> {
        let mut r = ArchiveReader::new(bytes)?;
        let mut log = Vec::new();
        let mut trail = Vec::new();
        loop {
            match r.next_event()? {
                Event::Tree(n) => log.push(format!("tree {n}")),
                Event::Record(k, v) => log.push(format!(
                    "{}={}",
                    String::from_utf8_lossy(&k),
                    String::from_utf8_lossy(&v)
                )),
                Event::TreeEnd => log.push("end".into()),
                Event::Audit => {
                    r.audit().read_to_end(&mut trail).map_err(read_error)?;
                }
                Event::Manifest(m) => return Ok((log, trail, *m)),
            }
        }
    }

    #[test]
    fn an_archive_reads_back_part_by_part_and_the_trail_hash_is_the_files() {
        let trail = b"{\"seq\":1}\n".repeat(200_000);
        let (bytes, manifest) = archive(
            &[("consent", &[(b"a", b"1"), (b"b", b"22")]), ("empty", &[])],
            &trail,
        );
        let (log, back, m) = read_all(&bytes).expect("read");
        assert_eq!(
            log,
            ["tree consent", "a=1", "b=22", "end", "tree empty", "end"]
        );
        assert_eq!(back, trail, "the trail spans several chunks");
        assert_eq!(m, manifest);
        assert_eq!(manifest.audit.sha256, crate::audit::digest_hex(&trail));
        assert_eq!(manifest.trees[0].records, 2);
    }

    #[test]
    fn any_change_cut_or_reorder_is_named() {
        let (bytes, _) = archive(&[("consent", &[(b"a", b"1"), (b"b", b"2")])], b"x\n");
        // A value changed: the tree's hash no longer matches.
        let at = bytes
            .windows(5)
            .position(|w| w == [0, 0, 0, 1, b'2'])
            .expect("value")
            + 4;
        let mut changed = bytes.clone();
        changed[at] = b'3';
        let e = read_all(&changed).expect_err("changed").to_string();
        assert!(e.contains("\"consent\" does not match its SHA-256"), "{e}");
        // Cut before the manifest.
        let e = read_all(&bytes[..bytes.len() - 10])
            .expect_err("cut")
            .to_string();
        assert!(e.contains("ends before its manifest"), "{e}");
        // Bytes after it.
        let mut longer = bytes.clone();
        longer.push(0);
        let e = read_all(&longer).expect_err("longer").to_string();
        assert!(e.contains("after the manifest"), "{e}");
        // Keys out of order (a crafted archive sled's import would trip on).
        let (swapped, _) = archive(&[("t", &[(b"b", b"1"), (b"a", b"2")])], b"");
        let e = read_all(&swapped).expect_err("order").to_string();
        assert!(e.contains("out of order or repeated"), "{e}");
        // Not an archive at all.
        let e = read_all(b"hello world, not a backup")
            .expect_err("magic")
            .to_string();
        assert!(e.contains("not a bote backup"), "{e}");
    }
}
