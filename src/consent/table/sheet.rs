//! Every CSV bote writes (rejected rows, campaign exports): `;`-separated,
//! rows of any length, cells a spreadsheet would run as a formula
//! neutralised, and written to a private file that appears only complete.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::consent::store::{open_private, PrivateFile};

/// Neutralises a cell a spreadsheet would evaluate: one starting with
/// `= + - @`, tab or CR gets a leading `'` (OWASP's defence against CSV
/// injection), since these files are opened in Excel by people who trust
/// them. bote's import strips that apostrophe again.
pub fn escape_formula(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A `;`-separated CSV writer whose rows may differ in length (a rejected
/// row is kept as it was) and whose every cell is formula-escaped.
pub struct SheetWriter<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> SheetWriter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Self {
            inner: csv::WriterBuilder::new()
                .delimiter(b';')
                .flexible(true)
                .from_writer(out),
        }
    }

    /// One row, escaped.
    pub fn row<I, S>(&mut self, cells: I) -> io::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.inner
            .write_record(
                cells
                    .into_iter()
                    .map(|c| escape_formula(c.as_ref()).into_owned()),
            )
            .map_err(io::Error::other)
    }

    /// Flushes and hands back the output.
    pub fn into_inner(self) -> io::Result<W> {
        self.inner.into_inner().map_err(|e| e.into_error())
    }
}

/// A private (0600) file written under a temporary name beside `dest` and
/// put in place by [`NewFile::commit`]: an interrupted run leaves no half
/// file, and an existing `dest` is replaced only when asked to.
pub struct NewFile {
    dest: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    replace: bool,
}

/// Why bote will not write over `dest`: every file it writes may hold
/// personal data, so replacing one takes `--force`.
pub fn overwrite_refused(dest: &Path) -> String {
    format!(
        "{} exists; bote does not overwrite files with personal data (pass --force, remove it or choose another name)",
        dest.display()
    )
}

impl NewFile {
    /// Starts writing `dest`; refused when it exists and `replace` is false.
    pub fn create(dest: &Path, replace: bool) -> io::Result<Self> {
        if !replace && std::fs::symlink_metadata(dest).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                overwrite_refused(dest),
            ));
        }
        let name = dest
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        let tmp = dest.with_file_name(format!(
            ".{}.{:016x}.part",
            name.to_string_lossy(),
            rand::random::<u64>()
        ));
        let file = open_private(&tmp, PrivateFile::New)?;
        Ok(Self {
            dest: dest.to_owned(),
            tmp,
            file: Some(file),
            replace,
        })
    }

    /// Where the file goes.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Syncs the file and puts it in place.
    pub fn commit(mut self) -> io::Result<()> {
        if let Some(f) = self.file.take() {
            f.sync_all()?;
        }
        if self.replace {
            return std::fs::rename(&self.tmp, &self.dest);
        }
        // A link fails if `dest` appeared meanwhile: never overwrite
        // without being asked, even in a race.
        match std::fs::hard_link(&self.tmp, &self.dest) {
            Ok(()) => std::fs::remove_file(&self.tmp),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} appeared while bote wrote it; nothing was replaced",
                    self.dest.display()
                ),
            )),
            // File systems without hard links.
            Err(_) if std::fs::symlink_metadata(&self.dest).is_err() => {
                std::fs::rename(&self.tmp, &self.dest)
            }
            Err(e) => Err(e),
        }
    }
}

impl Write for NewFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("the file was committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// Whether `a` and `b` name the same file, by any path (links, `..`, `./`).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        use std::os::unix::fs::MetadataExt;
        return (x.dev(), x.ino()) == (y.dev(), y.ino());
    }
    let canonical = |p: &Path| {
        p.canonicalize().ok().or_else(|| {
            let parent = p.parent().filter(|d| !d.as_os_str().is_empty())?;
            Some(parent.canonicalize().ok()?.join(p.file_name()?))
        })
    };
    matches!((canonical(a), canonical(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(escape_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(escape_formula("+4917123"), "'+4917123");
        assert_eq!(escape_formula("-1"), "'-1");
        assert_eq!(escape_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(escape_formula("\tx"), "'\tx");
        assert_eq!(escape_formula("accepted"), "accepted");
    }

    #[test]
    fn rows_of_any_length_each_cell_escaped() {
        let mut w = SheetWriter::new(Vec::new());
        w.row(["line", "reason", "a", "b"]).expect("row");
        w.row(["3", "=cmd|' /C calc'!A0", "@SUM(1)"]).expect("row");
        w.row(["4", "x", "+49", "-1", "extra", "more"])
            .expect("row");
        let text = String::from_utf8(w.into_inner().expect("flush")).expect("utf-8");
        assert_eq!(
            text,
            "line;reason;a;b\n3;'=cmd|' /C calc'!A0;'@SUM(1)\n4;x;'+49;'-1;extra;more\n"
        );
    }

    #[test]
    fn a_new_file_appears_only_complete_and_never_replaces_unasked() {
        let dir = tempfile::tempdir().expect("tmp");
        let dest = dir.path().join("out.csv");
        let mut f = NewFile::create(&dest, false).expect("create");
        f.write_all(b"half").expect("write");
        assert!(!dest.exists(), "visible before commit");
        drop(f);
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("dir").count(),
            0,
            "temp left behind"
        );

        let mut f = NewFile::create(&dest, false).expect("create");
        f.write_all(b"one").expect("write");
        f.commit().expect("commit");
        assert_eq!(std::fs::read(&dest).expect("read"), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dest).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let e = NewFile::create(&dest, false).err().expect("exists");
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        let mut f = NewFile::create(&dest, true).expect("replace");
        f.write_all(b"two").expect("write");
        f.commit().expect("commit");
        assert_eq!(std::fs::read(&dest).expect("read"), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
    }

    #[test]
    fn the_same_file_by_another_path() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = dir.path().join("in.csv");
        std::fs::write(&a, "x").expect("write");
        std::fs::create_dir(dir.path().join("sub")).expect("dir");
        let b = dir.path().join("sub").join("..").join("in.csv");
        assert!(same_file(&a, &b));
        #[cfg(unix)]
        {
            let link = dir.path().join("link.csv");
            std::os::unix::fs::symlink(&a, &link).expect("symlink");
            assert!(same_file(&a, &link));
        }
        assert!(!same_file(&a, &dir.path().join("other.csv")));
    }
}
