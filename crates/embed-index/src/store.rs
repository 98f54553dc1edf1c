//! The on-disk embedding store: a float32 `.npy` matrix `[N, D]` and a JSON
//! Lines file of record ids, row-aligned.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayBase, Data, Ix2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::npy;

/// What a store was made from, recorded beside it and checked when it is resumed.
///
/// A list of named facts (model digest, tokenizer digest, pooling, longest input, every
/// input file's size and digest, ...): [`BannerEmbedder::store_source`] fills it for
/// embedding runs; other writers add their own with [`with`](Self::with). Two sources are
/// the same when every fact is; [`difference`](Self::difference) names the first that is
/// not.
///
/// ```
/// use embed_index::StoreSource;
/// let a = StoreSource::new().with("model", "sha256:ab").with("max_input_len", 768);
/// let b = StoreSource::new().with("model", "sha256:cd").with("max_input_len", 768);
/// assert_eq!(a.difference(&a), None);
/// assert!(a.difference(&b).unwrap().starts_with("model:"));
/// ```
///
/// [`BannerEmbedder::store_source`]: crate::BannerEmbedder::store_source
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StoreSource(BTreeMap<String, serde_json::Value>);

impl StoreSource {
    /// No facts (a store whose writer records nothing about its origin).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the fact `key`.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }

    /// The facts, by name.
    pub fn facts(&self) -> &BTreeMap<String, serde_json::Value> {
        &self.0
    }

    /// The first fact (in name order) that differs between the store's source (`self`) and
    /// `other`, described as `key: store has X, this run has Y`; `None` when they agree.
    pub fn difference(&self, other: &StoreSource) -> Option<String> {
        let show = |v: Option<&serde_json::Value>| {
            v.map_or_else(
                || "nothing".to_owned(),
                |v| {
                    let s = v.to_string();
                    if s.chars().count() > 160 {
                        format!("{}...", s.chars().take(160).collect::<String>())
                    } else {
                        s
                    }
                },
            )
        };
        let keys: std::collections::BTreeSet<&String> =
            self.0.keys().chain(other.0.keys()).collect();
        keys.into_iter()
            .find(|k| self.0.get(*k) != other.0.get(*k))
            .map(|k| {
                format!(
                    "{k}: store has {}, this run has {}",
                    show(self.0.get(k)),
                    show(other.0.get(k))
                )
            })
    }
}

/// The sidecar manifest `<npy>.manifest.json` of a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// Format version of the manifest.
    format: u32,
    /// Row width.
    dim: usize,
    /// File name (last component) of the ids file written with the matrix.
    ids_file: String,
    /// What the rows were made from.
    source: StoreSource,
}

const MANIFEST_FORMAT: u32 = 1;
/// Longest manifest read (a few KB in practice).
const MAX_MANIFEST_LEN: u64 = 16 << 20;

/// The manifest path of a store's `.npy` file: `<npy>.manifest.json`.
///
/// ```
/// use std::path::Path;
/// assert_eq!(
///     embed_index::manifest_path(Path::new("out/emb.npy")),
///     Path::new("out/emb.npy.manifest.json")
/// );
/// ```
pub fn manifest_path(npy: &Path) -> PathBuf {
    let mut name = npy.file_name().unwrap_or_default().to_os_string();
    name.push(".manifest.json");
    npy.with_file_name(name)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_manifest(path: &Path) -> Result<Manifest> {
    let f = File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Resume {
                path: path.to_path_buf(),
                reason: "the store has no manifest, so what it was made from cannot be checked \
                         (written by another program or an older bannerlm); start a new store"
                    .into(),
            }
        } else {
            Error::io(path, e)
        }
    })?;
    let mut text = Vec::new();
    f.take(MAX_MANIFEST_LEN)
        .read_to_end(&mut text)
        .map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&text).map_err(|e| Error::format(path, format!("bad manifest: {e}")))
}

/// Appends rows and ids to a store, resumably.
///
/// The `.npy` header always holds the row count of the last
/// [`checkpoint`](Self::checkpoint) and is rewritten in place (its width does
/// not depend on the count), so the file is a valid `.npy` after every
/// checkpoint. A sidecar manifest ([`manifest_path`], written atomically when the store is
/// created) records the width, the ids file's name and what the rows are made from
/// ([`StoreSource`]).
///
/// [`StoreWriter::resume_with`] reopens a store left by a killed run. It first checks,
/// with both files open read-only, that the store is one this run may continue: the manifest
/// exists and records the same width, ids file name and source (else [`Error::Resume`]
/// naming what differs); the `.npy` header is this writer's own layout (a foreign header of
/// another length would misalign every row) and the file holds the rows it commits; the ids
/// file exists and has a line for every committed row. Only then are the files opened for
/// writing. Rows written after the last checkpoint that are complete in *both* files are
/// kept, a partial tail is cut (committed rows never are), and [`rows`](Self::rows) tells
/// how many rows are done, so the caller skips exactly that many inputs. Re-running the same
/// inputs therefore produces byte-identical files, without repeating or losing rows.
///
/// ```
/// use embed_index::{EmbeddingStore, StoreWriter};
/// use ndarray::array;
///
/// let dir = tempfile::tempdir()?;
/// let (npy, ids) = (dir.path().join("emb.npy"), dir.path().join("ids.jsonl"));
/// let mut w = StoreWriter::create(&npy, &ids, 2)?;
/// w.append(&array![[1.0, 0.0], [0.0, 1.0]], &["a", "b"])?;
/// w.finish()?;
/// let store = EmbeddingStore::open(&npy, &ids)?;
/// assert_eq!(store.len(), 2);
/// assert_eq!(store.row_by_id(&"b")?, Some(vec![0.0, 1.0]));
/// // A mistyped ids path is refused, and the store is left as it is.
/// assert!(StoreWriter::resume(&npy, dir.path().join("idz.jsonl"), 2).is_err());
/// assert_eq!(EmbeddingStore::open(&npy, &ids)?.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct StoreWriter {
    npy: BufWriter<File>,
    ids: BufWriter<File>,
    npy_path: PathBuf,
    ids_path: PathBuf,
    dim: usize,
    rows: u64,
    buf: Vec<u8>,
}

fn open_rw(path: &Path, create: bool) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(create)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

/// Complete lines (ending in `\n`) of `r`, up to `max`, and their bytes.
fn count_lines(r: impl Read, max: u64, path: &Path) -> Result<(u64, u64)> {
    let mut r = BufReader::new(r);
    let (mut lines, mut bytes) = (0u64, 0u64);
    let mut line = Vec::new();
    while lines < max {
        line.clear();
        let n = (&mut r)
            .take(1 << 24)
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 || !line.ends_with(b"\n") {
            if n == 1 << 24 {
                return Err(Error::format(path, "an id line longer than 16 MiB"));
            }
            break;
        }
        lines += 1;
        bytes += n as u64;
    }
    Ok((lines, bytes))
}

impl StoreWriter {
    /// Starts a new, empty store (existing files are replaced) whose source records nothing
    /// (see [`create_with`](Self::create_with)).
    ///
    /// # Errors
    /// As [`create_with`](Self::create_with).
    pub fn create(
        npy_path: impl AsRef<Path>,
        ids_path: impl AsRef<Path>,
        dim: usize,
    ) -> Result<Self> {
        Self::create_with(npy_path, ids_path, dim, &StoreSource::new())
    }

    /// Starts a new, empty store made from `source` (existing files are replaced); the
    /// manifest is written first, atomically.
    ///
    /// # Errors
    /// [`Error::Io`] when the files cannot be created;
    /// [`Error::InvalidParam`] when `dim` is 0.
    pub fn create_with(
        npy_path: impl AsRef<Path>,
        ids_path: impl AsRef<Path>,
        dim: usize,
        source: &StoreSource,
    ) -> Result<Self> {
        if dim == 0 {
            return Err(Error::InvalidParam {
                name: "dim",
                reason: "must be at least 1".into(),
            });
        }
        let (npy_path, ids_path) = (
            npy_path.as_ref().to_path_buf(),
            ids_path.as_ref().to_path_buf(),
        );
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            dim,
            ids_file: file_name(&ids_path),
            source: source.clone(),
        };
        let mpath = manifest_path(&npy_path);
        let text =
            serde_json::to_vec_pretty(&manifest).map_err(|e| Error::json_write(&mpath, e))?;
        bannerlm_base::write_atomic(&mpath, &text).map_err(|e| Error::io(&mpath, e))?;
        let mut npy = open_rw(&npy_path, true)?;
        npy.write_all(&npy::header(0, dim))
            .map_err(|e| Error::io(&npy_path, e))?;
        let ids = open_rw(&ids_path, true)?;
        Ok(StoreWriter {
            npy: BufWriter::with_capacity(1 << 20, npy),
            ids: BufWriter::with_capacity(1 << 16, ids),
            npy_path,
            ids_path,
            dim,
            rows: 0,
            buf: Vec::new(),
        })
    }

    /// [`resume_with`](Self::resume_with) for a store whose source records nothing (made by
    /// [`create`](Self::create)).
    ///
    /// # Errors
    /// As [`resume_with`](Self::resume_with).
    pub fn resume(
        npy_path: impl AsRef<Path>,
        ids_path: impl AsRef<Path>,
        dim: usize,
    ) -> Result<Self> {
        Self::resume_with(npy_path, ids_path, dim, &StoreSource::new())
    }

    /// Reopens a store left by an interrupted run after checking that it was made from
    /// `source` with width `dim` and the ids file `ids_path` (see [`StoreWriter`]), or
    /// creates it when neither file exists. [`rows`](Self::rows) tells how many rows are
    /// kept; the caller continues with input number `rows`. Nothing is written (or
    /// truncated) unless every check passes.
    ///
    /// # Errors
    /// [`Error::Resume`] when the manifest is missing or records another width, ids file or
    /// source, when the ids file is missing or shorter than the committed rows, or when only
    /// the ids file exists; [`Error::Format`] when the `.npy` is not a float32 matrix in this
    /// writer's layout or is shorter than its header says; [`Error::Io`] on I/O errors.
    pub fn resume_with(
        npy_path: impl AsRef<Path>,
        ids_path: impl AsRef<Path>,
        dim: usize,
        source: &StoreSource,
    ) -> Result<Self> {
        let (npy_path, ids_path) = (
            npy_path.as_ref().to_path_buf(),
            ids_path.as_ref().to_path_buf(),
        );
        if !npy_path.exists() {
            let ids_has_rows = std::fs::metadata(&ids_path).is_ok_and(|m| m.len() > 0);
            if ids_has_rows {
                return Err(Error::Resume {
                    path: npy_path,
                    reason: format!(
                        "does not exist but the ids file {} does: wrong --npy path? \
                         (remove the ids file to start over)",
                        ids_path.display()
                    ),
                });
            }
            return Self::create_with(npy_path, ids_path, dim, source);
        }
        let rows = Self::check_resumable(&npy_path, &ids_path, dim, source)?;

        // Every check passed: open for writing (never creating), cut uncommitted tails.
        let (row_bytes, data_offset) = (4 * dim as u64, npy::header(0, dim).len() as u64);
        let mut ids = open_rw(&ids_path, false)?;
        let (_, id_bytes_kept) = count_lines(&mut ids, rows, &ids_path)?;
        ids.set_len(id_bytes_kept)
            .map_err(|e| Error::io(&ids_path, e))?;
        ids.seek(SeekFrom::End(0))
            .map_err(|e| Error::io(&ids_path, e))?;
        let mut npy = open_rw(&npy_path, false)?;
        npy.set_len(data_offset + rows * row_bytes)
            .map_err(|e| Error::io(&npy_path, e))?;
        npy.seek(SeekFrom::End(0))
            .map_err(|e| Error::io(&npy_path, e))?;
        let mut w = StoreWriter {
            npy: BufWriter::with_capacity(1 << 20, npy),
            ids: BufWriter::with_capacity(1 << 16, ids),
            npy_path,
            ids_path,
            dim,
            rows,
            buf: Vec::new(),
        };
        w.checkpoint()?;
        Ok(w)
    }

    /// The read-only checks of [`resume_with`](Self::resume_with); the rows to keep.
    fn check_resumable(
        npy_path: &Path,
        ids_path: &Path,
        dim: usize,
        source: &StoreSource,
    ) -> Result<u64> {
        let resume_err = |path: &Path, reason: String| Error::Resume {
            path: path.to_path_buf(),
            reason,
        };
        // The .npy: this writer's layout, and at least the committed rows.
        let mut npy = File::open(npy_path).map_err(|e| Error::io(npy_path, e))?;
        let header = npy::read_header(&mut npy, npy_path)?;
        let own_len = npy::header(0, dim).len() as u64;
        if header.dtype != npy::Dtype::F32 {
            return Err(Error::format(npy_path, "store is not float32 ('<f4')"));
        }
        if header.dim != dim {
            return Err(Error::format(
                npy_path,
                format!("store has width {}, asked to resume with {dim}", header.dim),
            ));
        }
        if header.data_offset != own_len {
            return Err(Error::format(
                npy_path,
                format!(
                    "its .npy header is {} bytes, this writer's is {own_len}: not a store \
                     written by bannerlm, appending would misalign every row",
                    header.data_offset
                ),
            ));
        }
        let len = npy.metadata().map_err(|e| Error::io(npy_path, e))?.len();
        header.check_len(len, false, npy_path)?;
        let row_bytes = 4 * dim as u64;
        let data_rows = (len - header.data_offset) / row_bytes;

        // The manifest: same width, ids file and source.
        let mpath = manifest_path(npy_path);
        let manifest = read_manifest(&mpath)?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(Error::format(
                &mpath,
                format!(
                    "manifest format {} is not {MANIFEST_FORMAT}",
                    manifest.format
                ),
            ));
        }
        if manifest.dim != dim {
            return Err(resume_err(
                &mpath,
                format!("store has width {}, this run {dim}", manifest.dim),
            ));
        }
        if manifest.ids_file != file_name(ids_path) {
            return Err(resume_err(
                &mpath,
                format!(
                    "store's ids file is {:?}, this run names {}: wrong --ids path?",
                    manifest.ids_file,
                    ids_path.display()
                ),
            ));
        }
        if let Some(diff) = manifest.source.difference(source) {
            return Err(resume_err(
                &mpath,
                format!("the store was made from something else: {diff}"),
            ));
        }

        // The ids: present, with a line for every committed row.
        let ids = File::open(ids_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                resume_err(
                    ids_path,
                    format!(
                        "does not exist, but the store {} does: wrong --ids path?",
                        npy_path.display()
                    ),
                )
            } else {
                Error::io(ids_path, e)
            }
        })?;
        let (id_rows, _) = count_lines(ids, data_rows, ids_path)?;
        if id_rows < header.rows {
            return Err(resume_err(
                ids_path,
                format!(
                    "has {id_rows} complete lines, but the store has {} committed rows: \
                     wrong or damaged ids file",
                    header.rows
                ),
            ));
        }
        Ok(data_rows.min(id_rows))
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The row width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Appends `rows.nrows()` rows and as many ids (any `Serialize`, written
    /// as one compact JSON line each, e.g. a record key).
    ///
    /// # Errors
    /// [`Error::Shape`] when widths or counts differ; [`Error::Io`] on write errors.
    pub fn append<I: Serialize, S: Data<Elem = f32>>(
        &mut self,
        rows: &ArrayBase<S, Ix2>,
        ids: &[I],
    ) -> Result<()> {
        if rows.ncols() != self.dim || rows.nrows() != ids.len() {
            return Err(Error::Shape(format!(
                "append of {}x{} rows with {} ids to a store of width {}",
                rows.nrows(),
                rows.ncols(),
                ids.len(),
                self.dim
            )));
        }
        self.buf.clear();
        for v in rows {
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        self.npy
            .write_all(&self.buf)
            .map_err(|e| Error::io(&self.npy_path, e))?;
        for id in ids {
            serde_json::to_writer(&mut self.ids, id)
                .map_err(|e| Error::json_write(&self.ids_path, e))?;
            self.ids
                .write_all(b"\n")
                .map_err(|e| Error::io(&self.ids_path, e))?;
        }
        self.rows += rows.nrows() as u64;
        Ok(())
    }

    /// Flushes both files to disk and records the row count in the header.
    ///
    /// # Errors
    /// [`Error::Io`] on write errors.
    pub fn checkpoint(&mut self) -> Result<()> {
        self.ids.flush().map_err(|e| Error::io(&self.ids_path, e))?;
        self.ids
            .get_ref()
            .sync_data()
            .map_err(|e| Error::io(&self.ids_path, e))?;
        self.npy.flush().map_err(|e| Error::io(&self.npy_path, e))?;
        let f = self.npy.get_ref();
        f.write_all_at(&npy::header(self.rows, self.dim), 0)
            .map_err(|e| Error::io(&self.npy_path, e))?;
        f.sync_data().map_err(|e| Error::io(&self.npy_path, e))?;
        Ok(())
    }

    /// Final checkpoint; returns the number of rows.
    ///
    /// # Errors
    /// [`Error::Io`] on write errors.
    pub fn finish(mut self) -> Result<u64> {
        self.checkpoint()?;
        Ok(self.rows)
    }
}

/// Read access to a store: rows by index or by record id, without loading
/// the matrix into memory (positioned reads through the page cache).
///
/// The store does not memory-map the file: mapping a file is `unsafe` in
/// Rust (another process may truncate it under the map) and the workspace
/// forbids `unsafe`. Positioned reads of whole rows cost one system call per
/// read and let the OS cache do the rest; [`load`](Self::load) reads the whole
/// matrix for bulk work such as PCA or clustering.
#[derive(Debug)]
pub struct EmbeddingStore {
    file: File,
    npy_path: PathBuf,
    header: npy::Header,
    ids: Vec<String>,
    by_id: HashMap<String, usize>,
}

impl EmbeddingStore {
    /// Opens a store; the ids file must have exactly one line per row.
    ///
    /// # Errors
    /// [`Error::Format`] when the header is not a float32 matrix, the file is
    /// shorter than its header says, or rows and ids differ in number;
    /// [`Error::BadIdLine`] for an id line that is not JSON.
    pub fn open(npy_path: impl AsRef<Path>, ids_path: impl AsRef<Path>) -> Result<Self> {
        let npy_path = npy_path.as_ref().to_path_buf();
        let ids_path = ids_path.as_ref();
        let mut file = File::open(&npy_path).map_err(|e| Error::io(&npy_path, e))?;
        let header = npy::read_header(&mut file, &npy_path)?;
        if header.dtype != npy::Dtype::F32 {
            return Err(Error::format(
                &npy_path,
                "a store is float32 ('<f4'); convert float64 files with read_npy + write_npy",
            ));
        }
        let len = file.metadata().map_err(|e| Error::io(&npy_path, e))?.len();
        // Checked before anything is read or allocated: the shape must fit the file.
        header.check_len(len, false, &npy_path)?;
        let reader = BufReader::new(File::open(ids_path).map_err(|e| Error::io(ids_path, e))?);
        let mut ids = Vec::new();
        let mut by_id = HashMap::new();
        for (i, line) in reader.split(b'\n').enumerate() {
            let line = line.map_err(|e| Error::io(ids_path, e))?;
            let v: serde_json::Value =
                serde_json::from_slice(&line).map_err(|source| Error::BadIdLine {
                    path: ids_path.to_path_buf(),
                    line: i as u64 + 1,
                    source,
                })?;
            let key = v.to_string();
            by_id.entry(key.clone()).or_insert(ids.len());
            ids.push(key);
        }
        if ids.len() as u64 != header.rows {
            return Err(Error::format(
                ids_path,
                format!("{} ids for {} rows", ids.len(), header.rows),
            ));
        }
        Ok(EmbeddingStore {
            file,
            npy_path,
            header,
            ids,
            by_id,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the store has no rows.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Row width.
    pub fn dim(&self) -> usize {
        self.header.dim
    }

    /// The id of row `i` as compact JSON.
    pub fn id(&self, i: usize) -> Option<&str> {
        self.ids.get(i).map(String::as_str)
    }

    /// The row index of an id (compared as compact JSON; first occurrence).
    ///
    /// # Errors
    /// Only if `id` cannot be serialized.
    pub fn index_of<I: Serialize + ?Sized>(&self, id: &I) -> Result<Option<usize>> {
        let key = serde_json::to_value(id)
            .map_err(|e| Error::Shape(format!("id not serializable: {e}")))?
            .to_string();
        Ok(self.by_id.get(&key).copied())
    }

    /// Row `i`, read from disk.
    ///
    /// # Errors
    /// [`Error::Io`] on read errors; `Ok(None)` when `i` is out of range.
    pub fn row(&self, i: usize) -> Result<Option<Vec<f32>>> {
        if i >= self.len() {
            return Ok(None);
        }
        let mut bytes = vec![0u8; 4 * self.dim()];
        let off = self.header.data_offset + (i * 4 * self.dim()) as u64;
        self.file
            .read_exact_at(&mut bytes, off)
            .map_err(|e| Error::io(&self.npy_path, e))?;
        Ok(Some(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ))
    }

    /// The row of a record id.
    ///
    /// # Errors
    /// As [`row`](Self::row).
    pub fn row_by_id<I: Serialize + ?Sized>(&self, id: &I) -> Result<Option<Vec<f32>>> {
        match self.index_of(id)? {
            Some(i) => self.row(i),
            None => Ok(None),
        }
    }

    /// Reads the whole matrix into memory.
    ///
    /// # Errors
    /// [`Error::Io`] on read errors.
    pub fn load(&self) -> Result<Array2<f32>> {
        let mut f = &self.file;
        f.seek(SeekFrom::Start(self.header.data_offset))
            .map_err(|e| Error::io(&self.npy_path, e))?;
        let n = self.len() * self.dim();
        let mut data = Vec::with_capacity(n);
        let mut reader = BufReader::with_capacity(1 << 20, f.take(4 * n as u64));
        let mut chunk = vec![0u8; 1 << 16];
        let mut carry = Vec::new();
        loop {
            let got = reader
                .read(&mut chunk)
                .map_err(|e| Error::io(&self.npy_path, e))?;
            if got == 0 {
                break;
            }
            carry.extend_from_slice(&chunk[..got]);
            let whole = carry.len() / 4 * 4;
            data.extend(
                carry[..whole]
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
            carry.drain(..whole);
        }
        Array2::from_shape_vec((self.len(), self.dim()), data)
            .map_err(|e| Error::format(&self.npy_path, e.to_string()))
    }
}

/// Writes a whole matrix as a float32 `.npy` file, atomically ([`bannerlm_base::AtomicFile`]:
/// temporary file, fsync, rename).
///
/// # Errors
/// [`Error::Io`] on write errors; nothing is left behind.
pub fn write_npy<S: Data<Elem = f32>>(path: impl AsRef<Path>, m: &ArrayBase<S, Ix2>) -> Result<()> {
    let path = path.as_ref();
    let data: Vec<f32> = m.iter().copied().collect();
    bannerlm_base::write_atomic_with(path, |w| {
        npy::write_matrix(w, m.nrows() as u64, m.ncols(), &data)
    })
    .map_err(|e| Error::io(path, e))
}

/// Reads a `.npy` matrix into memory: little-endian float32, or float64 (NumPy's default)
/// narrowed to float32; C order, 2-D (e.g. one written by NumPy).
///
/// The header's shape is checked against the file's length before anything is allocated:
/// a file must hold exactly the bytes its shape promises, so memory stays below the file's
/// size (a 100-byte file claiming `(10**11, 64)` is an error, not an allocation).
///
/// # Errors
/// [`Error::Format`] (naming the file) when it is not such an array or its length does not
/// match its shape; [`Error::Io`].
pub fn read_npy(path: impl AsRef<Path>) -> Result<Array2<f32>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut f = BufReader::with_capacity(1 << 20, file);
    let h = npy::read_header(&mut f, path)?;
    h.check_len(len, true, path)?;
    let rows = usize::try_from(h.rows).map_err(|_| Error::format(path, "too many rows"))?;
    // check_len proved rows * dim * size + offset fits in a usize.
    let n = rows * h.dim;
    let size = h.dtype.size() as usize;
    let mut data = Vec::with_capacity(n);
    let mut chunk = vec![0u8; (1 << 16) * size];
    let mut left = n;
    while left > 0 {
        let take = left.min(1 << 16);
        let bytes = &mut chunk[..take * size];
        f.read_exact(bytes).map_err(|e| Error::io(path, e))?;
        match h.dtype {
            npy::Dtype::F32 => data.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            ),
            npy::Dtype::F64 => data.extend(bytes.chunks_exact(8).map(|c| {
                f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
            })),
        }
        left -= take;
    }
    Array2::from_shape_vec((rows, h.dim), data).map_err(|e| Error::format(path, e.to_string()))
}
