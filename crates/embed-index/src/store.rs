//! The on-disk embedding store: a float32 `.npy` matrix `[N, D]` and a JSON
//! Lines file of record ids, row-aligned.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayBase, Data, Ix2};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::npy;

/// Appends rows and ids to a store, resumably.
///
/// The `.npy` header always holds the row count of the last
/// [`checkpoint`](Self::checkpoint) and is rewritten in place (its width does
/// not depend on the count), so the file is a valid `.npy` after every
/// checkpoint. [`StoreWriter::resume`] reopens a store left by a killed run:
/// it keeps the rows that are complete in *both* files, truncates any partial
/// tail, and reports how many rows are done, so the caller skips exactly that
/// many inputs. Re-running the same inputs therefore produces byte-identical
/// files, without repeating or losing rows.
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

fn open_rw(path: &Path, truncate: bool) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

impl StoreWriter {
    /// Starts a new, empty store (existing files are replaced).
    ///
    /// # Errors
    /// [`Error::Io`] when the files cannot be created;
    /// [`Error::InvalidParam`] when `dim` is 0.
    pub fn create(
        npy_path: impl AsRef<Path>,
        ids_path: impl AsRef<Path>,
        dim: usize,
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

    /// Reopens a store left by an interrupted run, or creates it when the
    /// `.npy` file does not exist. [`rows`](Self::rows) tells how many rows
    /// are kept; the caller continues with input number `rows`.
    ///
    /// # Errors
    /// [`Error::Format`] when the existing `.npy` is not a float32 matrix of
    /// width `dim`; [`Error::Io`] on I/O errors.
    pub fn resume(
        npy_path: impl AsRef<Path>,
        ids_path: impl AsRef<Path>,
        dim: usize,
    ) -> Result<Self> {
        let (npy_path, ids_path) = (
            npy_path.as_ref().to_path_buf(),
            ids_path.as_ref().to_path_buf(),
        );
        if !npy_path.exists() {
            return Self::create(npy_path, ids_path, dim);
        }
        let mut npy = open_rw(&npy_path, false)?;
        let header = npy::read_header(&mut npy, &npy_path)?;
        if header.dim != dim {
            return Err(Error::format(
                &npy_path,
                format!("store has width {}, asked to resume with {dim}", header.dim),
            ));
        }
        let len = npy.metadata().map_err(|e| Error::io(&npy_path, e))?.len();
        let row_bytes = 4 * dim as u64;
        let data_rows = len.saturating_sub(header.data_offset) / row_bytes;

        // Complete id lines (ending in '\n').
        let mut ids = open_rw(&ids_path, false)?;
        let mut id_rows = 0u64;
        let mut id_bytes_kept = 0u64;
        {
            let mut r = BufReader::new(&mut ids);
            let mut line = Vec::new();
            loop {
                line.clear();
                let n = r
                    .read_until(b'\n', &mut line)
                    .map_err(|e| Error::io(&ids_path, e))?;
                if n == 0 || !line.ends_with(b"\n") || id_rows == data_rows {
                    break;
                }
                id_rows += 1;
                id_bytes_kept += n as u64;
            }
        }
        let rows = data_rows.min(id_rows);
        if rows < id_rows {
            // Recount the bytes of the first `rows` lines.
            id_bytes_kept = 0;
            ids.seek(SeekFrom::Start(0))
                .map_err(|e| Error::io(&ids_path, e))?;
            let mut r = BufReader::new(&mut ids);
            let mut line = Vec::new();
            for _ in 0..rows {
                line.clear();
                id_bytes_kept += r
                    .read_until(b'\n', &mut line)
                    .map_err(|e| Error::io(&ids_path, e))? as u64;
            }
        }
        ids.set_len(id_bytes_kept)
            .map_err(|e| Error::io(&ids_path, e))?;
        ids.seek(SeekFrom::End(0))
            .map_err(|e| Error::io(&ids_path, e))?;
        npy.set_len(header.data_offset + rows * row_bytes)
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
                .map_err(|e| Error::io(&self.ids_path, std::io::Error::other(e)))?;
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
        let len = file.metadata().map_err(|e| Error::io(&npy_path, e))?.len();
        let need = header.data_offset + header.rows * 4 * header.dim as u64;
        if len < need {
            return Err(Error::format(
                &npy_path,
                format!("file has {len} bytes, its header promises {need}"),
            ));
        }
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

/// Writes a whole matrix as a float32 `.npy` file, atomically (temporary file + rename).
///
/// # Errors
/// [`Error::Io`] on write errors.
pub fn write_npy<S: Data<Elem = f32>>(path: impl AsRef<Path>, m: &ArrayBase<S, Ix2>) -> Result<()> {
    let path = path.as_ref();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    let data: Vec<f32> = m.iter().copied().collect();
    {
        let mut w = BufWriter::new(tmp.as_file());
        npy::write_matrix(&mut w, m.nrows() as u64, m.ncols(), &data)
            .map_err(|e| Error::io(path, e))?;
        w.flush().map_err(|e| Error::io(path, e))?;
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    crate::set_data_file_mode(tmp.as_file(), path)?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Reads a float32 `.npy` matrix into memory (e.g. one written by NumPy).
///
/// # Errors
/// [`Error::Format`] when it is not a C-order float32 2-D array.
pub fn read_npy(path: impl AsRef<Path>) -> Result<Array2<f32>> {
    let path = path.as_ref();
    let mut f = BufReader::new(File::open(path).map_err(|e| Error::io(path, e))?);
    let h = npy::read_header(&mut f, path)?;
    let n = (h.rows as usize)
        .checked_mul(h.dim)
        .ok_or_else(|| Error::format(path, "shape too large"))?;
    let mut bytes = Vec::new();
    f.take(4 * n as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() != 4 * n {
        return Err(Error::format(
            path,
            format!("expected {} data bytes, found {}", 4 * n, bytes.len()),
        ));
    }
    let data = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Array2::from_shape_vec((h.rows as usize, h.dim), data)
        .map_err(|e| Error::format(path, e.to_string()))
}
