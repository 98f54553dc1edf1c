//! Atomic file writes.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Prefix of every temporary file an [`AtomicFile`] creates (`.bannerlm-tmp-<name>-<random>`),
/// so that leftovers of a killed process can be recognised ([`remove_stale_temps`]).
pub const TEMP_PREFIX: &str = ".bannerlm-tmp-";

/// A file written under a temporary name in its destination folder and renamed into place
/// by [`commit`](AtomicFile::commit).
///
/// Readers see either the previous file or the complete new one, never a partial write.
/// Dropping an `AtomicFile` without committing removes the temporary file. The committed file
/// has mode 0644 on Unix (temporary files are created 0600).
///
/// ```
/// use std::io::Write as _;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("data.jsonl");
/// let mut f = bannerlm_base::AtomicFile::create(&path)?;
/// writeln!(f, "{{\"a\": 1}}")?;
/// assert!(!path.exists()); // not visible before commit
/// f.commit()?;
/// assert_eq!(std::fs::read_to_string(&path)?, "{\"a\": 1}\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

impl AtomicFile {
    /// Starts writing `path`: creates its folder if needed and a temporary file beside it.
    ///
    /// # Errors
    /// When the folder or the temporary file cannot be created.
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let dir = parent_dir(&path);
        std::fs::create_dir_all(dir)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{TEMP_PREFIX}{name}-"))
            .tempfile_in(dir)?;
        Ok(AtomicFile { tmp, path })
    }

    /// The destination path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary file's path, for writers that need a path rather than a handle
    /// (they must write the file in place; [`commit`](Self::commit) syncs and renames it).
    pub fn temp_path(&self) -> &Path {
        self.tmp.path()
    }

    /// The open temporary file.
    pub fn file(&self) -> &File {
        self.tmp.as_file()
    }

    /// Flushes the file to disk, renames it over the destination and syncs the folder.
    ///
    /// # Errors
    /// When syncing or renaming fails; the temporary file is then removed.
    pub fn commit(self) -> io::Result<()> {
        let AtomicFile { tmp, path } = self;
        // Re-open by path: a writer given `temp_path` may have replaced the inode.
        File::options().write(true).open(tmp.path())?.sync_all()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))?;
        }
        tmp.persist(&path).map_err(|e| e.error)?;
        #[cfg(unix)]
        File::open(parent_dir(&path))?.sync_all()?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.tmp.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

/// Writes `bytes` to `path` atomically (see [`AtomicFile`]).
///
/// # Errors
/// When the file cannot be created, written, synced or renamed; nothing is left behind.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Builds `path` atomically through a buffered writer: `fill` writes the contents, and the
/// file is committed only when it returns `Ok`.
///
/// `E` is the caller's error type (it must take [`io::Error`]), so `fill` can fail with
/// serialisation errors of its own.
///
/// ```
/// use std::io::Write as _;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("rows.txt");
/// bannerlm_base::write_atomic_with(&path, |w| -> std::io::Result<()> {
///     for i in 0..3 {
///         writeln!(w, "{i}")?;
///     }
///     Ok(())
/// })?;
/// assert_eq!(std::fs::read_to_string(&path)?, "0\n1\n2\n");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// `fill`'s error, or an [`io::Error`] converted into `E`; nothing is left behind.
pub fn write_atomic_with<E, F>(path: impl AsRef<Path>, fill: F) -> Result<(), E>
where
    E: From<io::Error>,
    F: FnOnce(&mut BufWriter<&mut AtomicFile>) -> Result<(), E>,
{
    let mut f = AtomicFile::create(path)?;
    {
        let mut w = BufWriter::with_capacity(1 << 16, &mut f);
        fill(&mut w)?;
        w.flush()?;
    }
    f.commit()?;
    Ok(())
}

/// Removes temporary files that a killed process left in `dir` ([`TEMP_PREFIX`] names) and
/// returns how many were removed. Only plain files with that prefix are touched.
///
/// # Errors
/// When `dir` cannot be listed; files that cannot be removed are skipped.
pub fn remove_stale_temps(dir: impl AsRef<Path>) -> io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let is_temp = entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX);
        if is_temp
            && entry.file_type().is_ok_and(|t| t.is_file())
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commit_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["a.txt"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
    }

    #[test]
    fn failed_fill_keeps_the_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, b"old").unwrap();
        let r: io::Result<()> = write_atomic_with(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["a.txt"]);
    }

    #[test]
    fn creates_missing_folders() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/y/z.bin");
        write_atomic(&path, b"1").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"1");
    }

    #[test]
    fn writers_that_replace_the_temp_path_are_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        let f = AtomicFile::create(&path).unwrap();
        std::fs::remove_file(f.temp_path()).unwrap();
        std::fs::write(f.temp_path(), b"by path").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"by path");
        assert_eq!(names(dir.path()), ["m.bin"]);
    }

    #[test]
    fn stale_temps_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(format!("{TEMP_PREFIX}x-abc")), b"").unwrap();
        std::fs::write(dir.path().join("keep.txt"), b"").unwrap();
        assert_eq!(remove_stale_temps(dir.path()).unwrap(), 1);
        assert_eq!(names(dir.path()), ["keep.txt"]);
    }
}
