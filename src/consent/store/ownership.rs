//! Owning the store on disk: owner-only permissions (G12) and the owner's PID beside the database.

use std::fs;
use std::io::Write as _;
use std::path::Path;

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
}
