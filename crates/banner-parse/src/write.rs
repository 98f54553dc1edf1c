//! Atomic writer of banner-record JSON Lines.

use std::io::{BufWriter, Write};

use bannerlm_base::AtomicFile;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;

use crate::error::{Error, Result};
use crate::record::BannerRecord;

enum Sink {
    Plain(BufWriter<AtomicFile>),
    Gzip(BufWriter<GzEncoder<AtomicFile>>),
}

/// Writes [`BannerRecord`]s as JSON Lines, gzip-compressed when the path ends
/// in `.gz`. The file appears under its name only when [`finish`](Self::finish)
/// succeeds: records go to a temporary file in the same directory
/// ([`bannerlm_base::AtomicFile`]) that is synced and renamed at the end, so
/// a killed run never leaves a truncated file behind (its temporary file is
/// named `.bannerlm-tmp-*`, see [`bannerlm_base::remove_stale_temps`]).
///
/// ```
/// use banner_parse::{BannerRecord, RecordWriter, RecordReader, ReadOptions};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("snap.jsonl.gz");
/// let rec = BannerRecord {
///     ip: "192.0.2.1".parse()?,
///     port: 22,
///     snapshot: "2023-07-04".into(),
///     protocol: "ssh".into(),
///     banner: b"SSH-2.0-OpenSSH_8.9p1\r\n".to_vec(),
/// };
/// let mut w = RecordWriter::create(&path)?;
/// w.write(&rec)?;
/// w.finish()?;
/// let back: Vec<_> = RecordReader::open(&path, ReadOptions::default())?.collect::<Result<_, _>>()?;
/// assert_eq!(back, vec![rec]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RecordWriter {
    sink: Sink,
    path: PathBuf,
    written: u64,
    /// The line being written (reused).
    line: Vec<u8>,
}

impl std::fmt::Debug for RecordWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordWriter")
            .field("path", &self.path)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl RecordWriter {
    /// Starts writing to `path` (gzip when it ends in `.gz`); its folder is
    /// created if missing.
    ///
    /// # Errors
    /// [`Error::Io`] when the temporary file cannot be created.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = AtomicFile::create(&path).map_err(|e| Error::io(&path, e))?;
        let gz = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        let sink = if gz {
            Sink::Gzip(BufWriter::with_capacity(
                1 << 16,
                GzEncoder::new(file, flate2::Compression::fast()),
            ))
        } else {
            Sink::Plain(BufWriter::with_capacity(1 << 16, file))
        };
        Ok(RecordWriter {
            sink,
            path,
            written: 0,
            line: Vec::new(),
        })
    }

    /// Appends one record.
    ///
    /// # Errors
    /// [`Error::Io`] on a write error, [`Error::Json`] if the record cannot
    /// be serialized.
    pub fn write(&mut self, record: &BannerRecord) -> Result<()> {
        let w: &mut dyn Write = match &mut self.sink {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w,
        };
        self.line.clear();
        serde_json::to_writer(&mut self.line, record).map_err(|source| Error::Json {
            path: self.path.clone(),
            source,
        })?;
        self.line.push(b'\n');
        w.write_all(&self.line)
            .map_err(|e| Error::io(&self.path, e))?;
        self.written += 1;
        Ok(())
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes, syncs and moves the file into place.
    ///
    /// # Errors
    /// [`Error::Io`] when flushing or renaming fails.
    pub fn finish(self) -> Result<PathBuf> {
        let path = self.path;
        let io = |e| Error::io(&path, e);
        let file = match self.sink {
            Sink::Plain(w) => w.into_inner().map_err(|e| io(e.into_error()))?,
            Sink::Gzip(w) => w
                .into_inner()
                .map_err(|e| io(e.into_error()))?
                .finish()
                .map_err(io)?,
        };
        // Syncs, makes the file an ordinary 0644 data file, renames it into
        // place and syncs the folder.
        file.commit().map_err(io)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_file_is_world_readable_and_temp_is_gone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.jsonl");
        let w = RecordWriter::create(&path).expect("create");
        assert!(!path.exists(), "not visible before finish");
        w.finish().expect("finish");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = RecordWriter::create(dir.path().join("out.jsonl.gz")).expect("create");
        let rec = BannerRecord {
            ip: "192.0.2.1".parse().expect("ip"),
            port: 1,
            snapshot: "s".into(),
            protocol: "ftp".into(),
            banner: b"220 ready".to_vec(),
        };
        w.write(&rec).expect("write");
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
    }
}
