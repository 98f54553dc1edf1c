//! HDBSCAN for embeddings, with several cluster-selection epsilons from one fit.
//!
//! # API
//!
//! - Fit: [`Hdbscan::params`] → [`HdbscanParams`] → [`check`](HdbscanParams::check)
//!   → [`ValidHdbscanParams`] → [`fit`](ValidHdbscanParams::fit) → [`HdbscanFit`]
//!   (with [`Progress`] reports; input elements implement [`Element`]).
//! - Select: [`SelectionParams`] ([`SelectionMethod`]) → [`check`](SelectionParams::check)
//!   → [`ValidSelectionParams`]; [`HdbscanFit::select`] → [`Clustering`] ([`ClusterSummary`]).
//! - Hierarchy: [`MstEdge`], [`SingleLinkage`] ([`Merge`]), [`CondensedTree`] ([`CondensedEdge`]).
//! - New points: [`HdbscanFit::prediction_data`] → [`PredictionData`] (serde) →
//!   [`predict`](PredictionData::predict) → [`Prediction`] per clustering.
//! - Groups apart (one per protocol): [`ValidHdbscanParams::fit_partitioned`] →
//!   [`PartitionedFit`] (the clusterings and a [`PartitionedPrediction`] of
//!   [`PredictionPart`]s): no cluster holds rows of two groups.
//! - Output: [`write_jsonl`], [`write_jsonl_file`] → [`ClusterRecord`] ([`Assignment`]).
//! - Against known classes: [`cluster_figures`] → [`ClusterFigures`] ([`LargestCluster`]);
//!   partitions against each other: [`adjusted_rand_index`]; prediction against a refit:
//!   [`holdout_agreement`] → [`HoldoutAgreement`].
//! - [`PAPER_EPSILONS`], [`Error`]/[`Result`], and [`synthetic`] benchmark data.
//!
//! # Place in the bannerlm pipeline
//!
//! Stage 7 of the paper (see `docs/ARCHITECTURE.md`): the 64-dimensional
//! banner embeddings (after PCA) are clustered with HDBSCAN
//! (`min_cluster_size = 50`, `min_samples = 5`) at four values of
//! `cluster_selection_epsilon` ([`PAPER_EPSILONS`]). The clusters feed the
//! fingerprint generator (`lcs-fingerprint`). Input is any `ndarray` 2-D array
//! of `f32` or `f64`.
//!
//! # What it does
//!
//! - [`Hdbscan::params`] → [`HdbscanParams`] → [`check`](HdbscanParams::check) →
//!   [`fit`](ValidHdbscanParams::fit) builds the hierarchy **once**: core distances,
//!   the mutual-reachability minimum spanning tree, the [`SingleLinkage`] hierarchy
//!   and the [`CondensedTree`].
//! - [`HdbscanFit::select`] picks flat clusters in `O(n)`: excess of mass or leaf
//!   selection, `cluster_selection_epsilon`, `allow_single_cluster`, with the exact
//!   semantics of Python `hdbscan` (`get_clusters`, `epsilon_search`,
//!   `do_labelling`, `get_probabilities`). So four epsilons cost one fit plus
//!   four cheap selections.
//! - A [`Clustering`] has labels (`Option<usize>`, `None` = outlier; `labels_i64`
//!   gives scikit-learn's -1 form), membership strengths, per-cluster size,
//!   stability and persistence, and the outlier share.
//! - [`write_jsonl`] writes the bannerlm clusters file (record id, label per
//!   epsilon, outlier flag) for any `serde::Serialize` record ids.
//!
//! # The spanning tree, and why this one
//!
//! The expensive part of HDBSCAN is the minimum spanning tree of the
//! mutual-reachability graph. Three designs were measured on the benchmark data
//! (64 dimensions, Gaussian blobs plus 5% noise; figures in `docs/PERFORMANCE.md`):
//!
//! - petal-clustering 0.14's ball tree + Borůvka (its `HDbscan` with
//!   `boruvka: true`; the tree is private, so only the whole fit can be timed);
//! - Python `hdbscan` / scikit-learn: k-d tree core distances + Prim's algorithm
//!   over all pairs, one scalar distance at a time;
//! - this crate: blocked brute force through matrix-multiply kernels, pruned by
//!   a one-level partition into leaves of 256 points (centre + radius bounds),
//!   with Borůvka rounds whose candidate edges come from the kNN lists and a
//!   final exact pass over the component graph once 16 components are left.
//!
//! In 64 dimensions a space-partitioning tree cannot prune inside a blob (every
//! query's ball overlaps most nodes), so the tree methods pay nearly `n²`
//! distance evaluations with per-node overhead; the blocked kernels pay the
//! same count, but at matrix-multiply speed on all cores, and the leaf bounds
//! still skip whole blobs that are far apart. The mutual-reachability bound
//! `max(core p, core q, d(p, q)) ≥ d_k(p)` for points outside `p`'s kNN list
//! settles most Borůvka candidates without any search. Details are in the
//! module sources: `points` (input storage, leaves, distance kernels), `knn`
//! (neighbours and core distances), `boruvka` (the spanning tree) and
//! `union_find`.
//!
//! Complexity: `O(n · (d + min_samples))` memory (no distance matrix), and
//! `O(n² d)` time in the worst case (uniform data, where no bound prunes);
//! on clustered data the kNN pass costs about `Σ |blob|² d`. Measured time and
//! memory, against Python `hdbscan`, are in `docs/PERFORMANCE.md`.
//!
//! Agreement: on the committed fixture (`tests/agreement.rs`) the labels match
//! Python `hdbscan` 0.8 with adjusted Rand index ≥ 0.99 for every epsilon and
//! both selection methods (identical partitions, with probabilities and
//! persistence equal to 10⁻⁵), and the excess-of-mass labels agree with
//! `petal-clustering`'s `HDbscan` with ARI ≥ 0.99 (0.998 and 0.9996 on the
//! two test sets: a few border points differ; petal builds its hierarchy
//! differently, merging equal-distance edges in one step where `hdbscan` makes
//! a binary hierarchy).
//!
//! Exact duplicates (common in scan data: identical banners embed identically)
//! have equal distances to everything, so the binary hierarchy orders their
//! merges by tie-breaking alone. With `min_cluster_size` 2 that can produce a
//! two-point cluster holding one twin and a neighbour while the other twin
//! falls out as noise, exactly as Python `hdbscan` does with the same
//! hierarchy. A property test found no such split from `min_cluster_size` 3
//! up (`tests/properties.rs`); the paper's setting is 50. To keep duplicates
//! together at any size, cluster the distinct embeddings and map labels back.
//!
//! # Example
//!
//! ```
//! use density_cluster::{Hdbscan, SelectionMethod, SelectionParams};
//! use density_cluster::synthetic::{blobs, BlobsConfig};
//!
//! let x = blobs(&BlobsConfig { n: 2_000, dim: 16, n_blobs: 5, ..BlobsConfig::default() });
//! let fit = Hdbscan::params(50).min_samples(5).fit(&x)?;
//! for epsilon in density_cluster::PAPER_EPSILONS {
//!     let c = fit.select(&SelectionParams { epsilon, method: SelectionMethod::Eom, ..Default::default() })?;
//!     println!("eps {epsilon}: {} clusters, {:.2}% outliers", c.n_clusters(), 100.0 * c.outlier_share());
//! }
//! let leaf = fit.select(&SelectionParams::leaf(0.0))?;
//! assert!(leaf.n_clusters() >= 5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Differences from the Python tools
//!
//! - `min_samples` counts neighbours without the point itself, as Python
//!   `hdbscan`; scikit-learn's `HDBSCAN(min_samples=m)` equals `min_samples(m - 1)` here.
//! - Only the Euclidean metric; all arithmetic is in `f64` (as Python), on a
//!   column-centred copy of the input.
//! - Not implemented: `alpha`, `max_cluster_size`, `cluster_selection_epsilon_max`,
//!   `cluster_selection_persistence`, `match_reference_implementation`, and of
//!   `hdbscan.prediction` only `approximate_predict` ([`PredictionData`], for
//!   every selection; Python maps a selected cluster without points of its own
//!   to one of its sub-clusters, see there), not membership vectors.
//!
//! # Crate features
//!
//! None; rayon parallelism is always on (set `RAYON_NUM_THREADS` to limit it).

mod algorithm;
mod boruvka;
mod error;
mod figures;
mod holdout;
mod hyperparams;
mod knn;
mod output;
mod partition;
mod points;
mod predict;
mod select;
pub mod synthetic;
mod tree;
mod union_find;

pub use algorithm::{Element, Hdbscan, HdbscanFit, Progress};
pub use boruvka::MstEdge;
pub use error::{Error, Result};
pub use figures::{ClusterFigures, LargestCluster, cluster_figures};
pub use holdout::{HoldoutAgreement, adjusted_rand_index, holdout_agreement};
pub use hyperparams::{
    HdbscanParams, SelectionMethod, SelectionParams, ValidHdbscanParams, ValidSelectionParams,
};
pub use output::{Assignment, ClusterRecord, write_jsonl, write_jsonl_file};
pub use partition::{
    PARTITIONED_FORMAT_VERSION, PartitionedFit, PartitionedPrediction, PredictionPart,
};
pub use predict::{PREDICTION_FORMAT_VERSION, Placement, Prediction, PredictionData};
pub use select::{ClusterSummary, Clustering};
pub use tree::{CondensedEdge, CondensedTree, Merge, SingleLinkage};

/// The paper's `cluster_selection_epsilon` values, 0.01, 0.02, 0.05 and 0.1: the pipeline's
/// and the `cluster` example's default, one [`HdbscanFit::select`] each from one fit.
///
/// ```
/// assert_eq!(density_cluster::PAPER_EPSILONS, [0.01, 0.02, 0.05, 0.1]);
/// ```
pub const PAPER_EPSILONS: [f64; 4] = [0.01, 0.02, 0.05, 0.1];
