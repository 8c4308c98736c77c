//! Owning the store on disk: claiming its directory, owner-only permissions (G12) and the owner's PID beside the database.
//!
//! bote sets its store directory to 0700. It does so only to a directory
//! that is its own — created now, empty, or already holding a bote store —
//! and never through a symbolic link: `--store ~/Documents` must not lock
//! the operator out of their documents, nor `--store link` change whatever
//! the link points to. [`claim_store_dir`] decides before anything is
//! written, and leaves [`STORE_MARKER`] so that later runs recognise it.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use super::StoreError;

/// The file bote writes into every store directory it claims, so that the
/// next run knows the directory is a bote store.
pub const STORE_MARKER: &str = "bote-store";

const MARKER_TEXT: &str = "This directory is a bote store (consents, campaigns, the daemon's \
socket and logs). bote created it or was given it empty; keep other files elsewhere.\n";

/// Makes `dir` bote's store directory, owner-only (G12): creates it (and its
/// parents) when missing; accepts an empty directory or one that already
/// holds a bote store; refuses a symbolic link, a file, and a directory
/// with someone else's files — without writing to or changing any of them.
pub fn claim_store_dir(dir: &Path) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: dir.to_owned(),
        source,
    };
    let refuse = |reason: String| StoreError::NotAStore {
        path: dir.to_owned(),
        reason,
    };
    let meta = match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            create_dirs(dir).map_err(io)?;
            // Looked at again below: whatever is there now must be a real,
            // empty directory (nobody slipped a link in meanwhile).
            fs::symlink_metadata(dir).map_err(io)?
        }
        other => other.map_err(io)?,
    };
    if meta.file_type().is_symlink() {
        let target = fs::read_link(dir)
            .map(|t| format!(" to {}", t.display()))
            .unwrap_or_default();
        return Err(refuse(format!(
            "it is a symbolic link{target}; bote does not follow links for its store (it \
             makes the store owner-only, which would change the link's target): pass the \
             real directory"
        )));
    }
    if !meta.is_dir() {
        return Err(refuse("it exists and is not a directory".into()));
    }
    if !holds_a_store(dir) {
        let mut entries = fs::read_dir(dir).map_err(io)?;
        if let Some(first) = entries.next() {
            let first = first.map_err(io)?.file_name();
            let more = entries.count();
            return Err(refuse(format!(
                "it is not empty ({:?}{}) and holds no bote store: bote will not take over \
                 a directory or change its permissions; pass a new or an empty directory",
                first,
                match more {
                    0 => String::new(),
                    1 => " and 1 more entry".into(),
                    n => format!(" and {n} more entries"),
                }
            )));
        }
    }
    if let Some(mode) = shared_mode(dir) {
        if !shared_store_allowed() {
            return Err(refuse(format!(
                "others can read it ({} has mode {mode:04o}); a store holds personal data (G12): \
                 make it owner-only (chmod -R go-rwx {}), or pass --allow-shared-store to use it as it is",
                dir.display(),
                dir.display()
            )));
        }
        tracing::warn!(store = %dir.display(), "using a store others can read (--allow-shared-store)");
        return Ok(());
    }
    restrict_dir(dir).map_err(io)?;
    match open_private(&dir.join(STORE_MARKER), PrivateFile::New) {
        Ok(mut f) => f.write_all(MARKER_TEXT.as_bytes()).map_err(io),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io(e)),
    }
}

/// Set once at start by `--allow-shared-store`: a store others can read is
/// used as it is instead of refused (process-wide, like the flag).
static ALLOW_SHARED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Lets this process use stores that others can read (`--allow-shared-store`).
pub fn allow_shared_store(allow: bool) {
    ALLOW_SHARED.store(allow, std::sync::atomic::Ordering::SeqCst);
}

/// Whether `--allow-shared-store` was given.
pub fn shared_store_allowed() -> bool {
    ALLOW_SHARED.load(std::sync::atomic::Ordering::SeqCst)
}

/// The mode of an existing store's directory when group or others may
/// enter it; `None` when it is owner-only. Files inside an owner-only
/// directory cannot be reached by anyone else, whatever their own modes
/// (sled creates some with the umask; `Store::open` tightens them).
pub fn shared_mode(dir: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if !holds_a_store(dir) {
            return None;
        }
        let mode = fs::symlink_metadata(dir).ok()?.permissions().mode() & 0o7777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Whether `dir` holds a bote store: its marker, or — from before the
/// marker — the mode its first daemon recorded or sled's config file.
fn holds_a_store(dir: &Path) -> bool {
    let is_file = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.is_file());
    is_file(&dir.join(STORE_MARKER))
        || fs::read_to_string(dir.join("mode"))
            .is_ok_and(|m| matches!(m.trim(), "live" | "sandbox"))
        || is_file(&dir.join("db").join("conf"))
}

fn create_dirs(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Sets a directory bote owns to 0700, only when it is not already: a
/// claim by a user who may not chmod it must not fail when nothing changes.
fn restrict_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if fs::symlink_metadata(dir)?.permissions().mode() & 0o777 != 0o700 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates `dir` (and parents) owner-only, or restricts it: for the
/// directories inside a claimed store (logs, spool). A symbolic link is
/// refused, never followed.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(std::io::Error::other(format!(
            "{} is a symbolic link; bote does not follow links for its own directories",
            dir.display()
        )));
    }
    create_dirs(dir)?;
    restrict_dir(dir)
}

/// How [`open_private`] opens a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivateFile {
    /// Create it; an existing file is an `AlreadyExists` error, never overwritten.
    New,
    /// Create it or append to it (logs).
    Append,
    /// Create it or empty it (files bote alone owns: the PID, the mode).
    Replace,
}

/// Opens `path` for writing, created owner-only (0600): every file bote
/// writes may hold numbers or say who runs it (G12).
pub fn open_private(path: &Path, how: PrivateFile) -> std::io::Result<fs::File> {
    let mut opts = fs::OpenOptions::new();
    match how {
        PrivateFile::New => opts.write(true).create_new(true),
        PrivateFile::Append => opts.create(true).append(true),
        PrivateFile::Replace => opts.write(true).create(true).truncate(true),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// sled creates its files with the process umask; tighten them (G12).
pub(super) fn restrict_tree(dir: &Path) -> std::io::Result<()> {
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

pub(super) fn write_pid(dir: &Path) -> std::io::Result<()> {
    let mut f = open_private(&dir.join("owner.pid"), PrivateFile::Replace)?;
    write!(f, "{}", std::process::id())
}

pub(super) fn read_pid(dir: &Path) -> Option<u32> {
    fs::read_to_string(dir.join("owner.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::store::{Store, StoreError};

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

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::symlink_metadata(p).expect("meta").permissions().mode() & 0o777
    }

    #[cfg(unix)]
    fn chmod(p: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[cfg(unix)]
    #[test]
    fn a_new_or_empty_directory_becomes_an_owner_only_store() {
        let tmp = tempfile::tempdir().expect("tmp");
        let new = tmp.path().join("a/b/store");
        claim_store_dir(&new).expect("new");
        assert_eq!(mode(&new), 0o700);
        assert_eq!(names(&new), [STORE_MARKER]);
        let empty = tmp.path().join("empty");
        fs::create_dir(&empty).expect("mkdir");
        chmod(&empty, 0o755);
        claim_store_dir(&empty).expect("empty");
        assert_eq!(mode(&empty), 0o700);
        // Claimed once, it is recognised however much is in it …
        fs::write(empty.join("whatever"), "x").expect("write");
        chmod(&empty.join("whatever"), 0o600);
        claim_store_dir(&empty).expect("a store now");
        assert_eq!(mode(&empty), 0o700);
        // … but one that others can read is refused, untouched (G12).
        chmod(&empty, 0o750);
        let e = claim_store_dir(&empty).expect_err("shared");
        assert!(
            e.to_string().contains("mode 0750") && e.to_string().contains("--allow-shared-store"),
            "{e}"
        );
        assert_eq!(mode(&empty), 0o750);
        // A file inside an owner-only store cannot be reached by others.
        chmod(&empty, 0o700);
        chmod(&empty.join("whatever"), 0o644);
        claim_store_dir(&empty).expect("owner-only dir");
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_with_other_files_is_refused_untouched() {
        let tmp = tempfile::tempdir().expect("tmp");
        let docs = tmp.path().join("Documents");
        fs::create_dir(&docs).expect("mkdir");
        fs::write(docs.join("taxes.pdf"), "x").expect("write");
        fs::write(docs.join("notes.txt"), "x").expect("write");
        chmod(&docs, 0o755);
        let e = claim_store_dir(&docs).expect_err("foreign");
        let msg = e.to_string();
        assert!(matches!(e, StoreError::NotAStore { .. }), "{e:?}");
        assert!(
            msg.contains("not empty") && msg.contains("1 more entry"),
            "{msg}"
        );
        assert_eq!(mode(&docs), 0o755, "permissions unchanged");
        assert_eq!(names(&docs), ["notes.txt", "taxes.pdf"], "nothing written");
        // Store::open refuses it the same way, before sled writes a byte.
        assert!(matches!(
            Store::open(&docs),
            Err(StoreError::NotAStore { .. })
        ));
        assert_eq!(names(&docs), ["notes.txt", "taxes.pdf"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_refused_and_its_target_left_alone() {
        let tmp = tempfile::tempdir().expect("tmp");
        let target = tmp.path().join("target");
        fs::create_dir(&target).expect("mkdir");
        chmod(&target, 0o755);
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let e = claim_store_dir(&link).expect_err("link");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(mode(&target), 0o755, "the target's permissions unchanged");
        assert!(
            names(&target).is_empty(),
            "nothing written through the link"
        );
        // A link inside a store (logs, spool) is not followed either.
        let store = tmp.path().join("store");
        claim_store_dir(&store).expect("store");
        std::os::unix::fs::symlink(&target, store.join("logs")).expect("symlink");
        create_private_dir(&store.join("logs")).expect_err("link");
        assert_eq!(mode(&target), 0o755);
        let file = tmp.path().join("file");
        fs::write(&file, "x").expect("write");
        let e = claim_store_dir(&file).expect_err("file");
        assert!(e.to_string().contains("not a directory"), "{e}");
    }

    #[test]
    fn stores_from_before_the_marker_are_recognised() {
        let tmp = tempfile::tempdir().expect("tmp");
        let by_daemon = tmp.path().join("daemon");
        fs::create_dir_all(by_daemon.join("logs")).expect("mkdir");
        fs::write(by_daemon.join("mode"), "sandbox\n").expect("write");
        // As bote left them: owner-only.
        chmod(&by_daemon, 0o700);
        chmod(&by_daemon.join("mode"), 0o600);
        claim_store_dir(&by_daemon).expect("a daemon's store");
        let by_sled = tmp.path().join("sled");
        fs::create_dir_all(by_sled.join("db")).expect("mkdir");
        fs::write(by_sled.join("db").join("conf"), "segment_size: 524288").expect("write");
        chmod(&by_sled, 0o700);
        chmod(&by_sled.join("db"), 0o700);
        chmod(&by_sled.join("db").join("conf"), 0o600);
        claim_store_dir(&by_sled).expect("a store opened before");
        assert!(by_sled.join(STORE_MARKER).is_file(), "marked from now on");
        let imposter = tmp.path().join("imposter");
        fs::create_dir_all(&imposter).expect("mkdir");
        fs::write(imposter.join("mode"), "0644\n").expect("write");
        claim_store_dir(&imposter).expect_err("a mode file that is not bote's");
    }
}
