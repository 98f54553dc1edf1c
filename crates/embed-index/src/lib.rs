//! # embed-index
//!
//! Embeddings at scale: batch embedding of banners, the on-disk store, PCA, nearest
//! neighbours, drift statistics and change detection of bannerlm's banner embeddings.
//!
//! - **Batch embedding** ([`BannerEmbedder`], feature `model`): a model directory in Hugging
//!   Face layout (`config.json`, `model.safetensors`, `tokenizer.json`, from bannerlm or
//!   transformers) turns banners into unit-length vectors, the paper's P(stable)-weighted
//!   mean of the last-layer token states (or the plain mean for a masked-LM-only checkpoint,
//!   [`Pooling`]). Banners run in length-sorted batches; [`BannerEmbedder::embed_records`]
//!   streams records (any iterator of them) and [`BannerEmbedder::embed_files`] record
//!   files (JSONL, zgrab2, Censys, gzip) into the store in checkpointed chunks with a
//!   banners/s progress bar, and resumes a killed run to byte-identical files.
//! - **Store** ([`StoreWriter`], [`EmbeddingStore`]): a float32 `.npy` matrix `[N, D]` and a
//!   JSON Lines file of record ids, row-aligned (the format of `docs/FORMATS.md`). Reading
//!   gives rows by index or by record id without loading the matrix.
//! - **PCA** ([`PcaParams`], [`Pca`]): fit on a sample (the paper reduces 256 to 64
//!   dimensions keeping 99.97% of the variance), cumulative explained-variance ratio, batch
//!   transform, save/load as JSON. The eigen-decomposition is `nalgebra`'s.
//! - **Nearest neighbours**: exact ([`ExactIndex`], brute force over blocked matrix
//!   products, multi-threaded) and approximate ([`HnswIndex`], HNSW graphs from the `hnsw_rs`
//!   crate), with [`recall_at_k`] to measure the approximation against the exact answer.
//! - **Pair statistics** ([`distance_stats`], [`LogHistogram`], [`random_pairs`], the one
//!   random-pair draw, and [`random_host_pairs`] of two snapshots):
//!   the paper's section 4.3 figures for matching and random pairs (share below/above 0.1,
//!   share of exact zeros, mean and deviation of log10 distance), and the Figure 3 histogram
//!   as PNG and SVG ([`pair_histogram`], feature `plot`).
//! - **Change detection** ([`host_changes`], [`top_changes`]): the embedding distance of
//!   every host seen in two snapshots, flagged above a threshold ([`snapshot_changes`] for two
//!   stores, e.g. a bundle's and a new month's, with the services that appeared or vanished,
//!   and [`cluster_growth`] for the clusters and the drift share); compared with the
//!   [`normalized_edit_distance`] of the banners and scored against ground truth with
//!   [`precision_recall`] and [`best_threshold`].
//!
//! Place in the pipeline: after the model (`roberta-model`, trained by
//! `contrastive-trainer`), before `density-cluster` (PCA-reduced vectors out). Without the
//! `model` feature the crate depends on no other bannerlm crate and not on burn.
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
//! # Example: embed a scan, then see what changed a month later
//!
//! ```no_run
//! use embed_index::{BannerEmbedder, EmbedParams, EmbeddingStore, host_changes, top_changes};
//!
//! let device = roberta_model::default_device()?;
//! let embedder = BannerEmbedder::from_dir("runs/ft/final", &device)?;
//! let inputs = ["records-2023-01-04.jsonl.gz".into(), "records-2023-02-04.jsonl.gz".into()];
//! embedder.embed_files(&inputs, "emb.npy".as_ref(), "ids.jsonl".as_ref(), &EmbedParams::default())?;
//! let store = EmbeddingStore::open("emb.npy", "ids.jsonl")?;
//! let changes = host_changes(&store, "2023-01-04", "2023-02-04", 0.1)?;
//! for c in top_changes(&changes, 10) {
//!     println!("{:.3} {}", c.distance, c.host);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! - `model` (default): [`BannerEmbedder`] and [`read_banners`]; depends on `roberta-model`
//!   (burn), `bpe-tokenizer` and `banner-parse`. The compute backend is `roberta-model`'s
//!   (its `flex`, `ndarray` and `wgpu` features).
//! - `plot` (default): [`pair_histogram`] and [`HistogramPlot`]: SVG drawn with `plotters`,
//!   PNG rendered from it by `resvg` with a font compiled in (no fontconfig or system fonts).

mod changes;
#[cfg(feature = "model")]
mod embed;
mod error;
mod hnsw;
mod knn;
mod npy;
mod pca;
#[cfg(feature = "plot")]
mod plot;
mod stats;
mod store;

pub use changes::{
    CHANGE_THRESHOLD, ChangeCounts, ClusterCount, ClusterGrowth, HostChange, PrecisionRecall,
    RandomPair, SnapshotChanges, best_threshold, cluster_growth, host_changes,
    normalized_edit_distance, precision_recall, random_host_pairs, random_pairs, snapshot_changes,
    top_changes,
};
#[cfg(feature = "model")]
pub use embed::{
    BannerEmbedder, EmbedParams, EmbedSummary, Pooling, TOKENIZER_FILE, TokenStability,
    ValidEmbedParams, read_banners,
};
pub use error::{Error, Result};
pub use hnsw::{HnswIndex, HnswParams, ValidHnswParams, recall_at_k};
pub use knn::{ExactIndex, Neighbour};
pub use pca::{Pca, PcaParams, ValidPcaParams};
#[cfg(feature = "plot")]
pub use plot::{HistogramPlot, ValidHistogramPlot, pair_histogram};
pub use stats::{DistanceStats, LogHistogram, distance_stats, euclidean};
pub use store::{EmbeddingStore, StoreSource, StoreWriter, manifest_path, read_npy, write_npy};

/// Writes `bytes` to `path` atomically ([`bannerlm_base::write_atomic`]: temporary file in
/// the same folder, fsync, mode 0644, rename, folder fsync).
pub(crate) fn atomic_write(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    bannerlm_base::write_atomic(path, bytes).map_err(|e| Error::io(path, e))
}
