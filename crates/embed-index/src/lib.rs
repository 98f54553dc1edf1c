//! # embed-index
//!
//! Embeddings at scale: the on-disk store, PCA and nearest neighbours of
//! bannerlm's banner embeddings.
//!
//! - **Store** ([`StoreWriter`], [`EmbeddingStore`]): a float32 `.npy`
//!   matrix `[N, D]` and a JSON Lines file of record ids, row-aligned (the
//!   format of `docs/FORMATS.md`). Writing is chunked and resumable: a killed
//!   run resumes where it stopped, without repeating or losing rows. Reading
//!   gives rows by index or by record id without loading the matrix.
//! - **PCA** ([`PcaParams`], [`Pca`]): fit on a sample (the paper reduces
//!   256 to 64 dimensions keeping 99.97% of the variance), cumulative
//!   explained-variance ratio, batch transform, save/load as JSON. The
//!   eigen-decomposition is `nalgebra`'s.
//! - **Nearest neighbours**: exact ([`ExactIndex`], brute force over blocked
//!   matrix products, multi-threaded) and approximate ([`HnswIndex`], HNSW
//!   graphs from the `hnsw_rs` crate), with [`recall_at_k`] to measure the
//!   approximation against the exact answer.
//! - **Pair statistics** ([`distance_stats`], [`LogHistogram`]): the paper's
//!   section 4.3 figures for a set of pair distances (share below/above 0.1,
//!   share of exact zeros, mean and deviation of log10 distance).
//!
//! Place in the pipeline: after the model (embeddings in), before
//! `density-cluster` (PCA-reduced vectors out). This part depends on no other
//! bannerlm crate.
//!
//! # Example: reduce stored embeddings and find neighbours
//!
//! ```
//! use embed_index::{EmbeddingStore, ExactIndex, PcaParams, StoreWriter};
//! use ndarray::Array2;
//!
//! let dir = tempfile::tempdir()?;
//! let (npy, ids) = (dir.path().join("emb.npy"), dir.path().join("ids.jsonl"));
//! let x = Array2::from_shape_fn((200, 8), |(i, j)| ((i * 7 + j * 3) % 11) as f32);
//! let keys: Vec<String> = (0..200).map(|i| format!("host-{i}")).collect();
//! let mut w = StoreWriter::create(&npy, &ids, 8)?;
//! w.append(&x, &keys)?;
//! w.finish()?;
//!
//! let store = EmbeddingStore::open(&npy, &ids)?;
//! let pca = PcaParams::new(4).fit(&store.load()?)?;
//! let reduced = pca.transform(&store.load()?)?;
//! let index = ExactIndex::new(reduced);
//! let row = store.index_of("host-3")?.expect("known id");
//! let near = index.neighbours_of(row, 5)?;
//! assert_eq!(near.len(), 5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! None.

mod error;
mod hnsw;
mod knn;
mod npy;
mod pca;
mod stats;
mod store;

pub use error::{Error, Result};
pub use hnsw::{HnswIndex, HnswParams, recall_at_k};
pub use knn::{ExactIndex, Neighbour};
pub use pca::{Pca, PcaParams};
pub use stats::{DistanceStats, LogHistogram, distance_stats, euclidean};
pub use store::{EmbeddingStore, StoreWriter, read_npy, write_npy};

/// Writes `bytes` to `path` atomically (temporary file in the same directory, then rename).
pub(crate) fn atomic_write(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    set_data_file_mode(tmp.as_file(), path)?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Temporary files are created private (0600); outputs are ordinary data files (0644).
pub(crate) fn set_data_file_mode(file: &std::fs::File, path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(|e| Error::io(path, e))
}
