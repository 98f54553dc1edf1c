//! Fitting: [`Hdbscan`], [`ValidHdbscanParams::fit`] and the fitted [`HdbscanFit`].

use ndarray::{Array2, ArrayBase, Data, Ix2};
use serde::{Deserialize, Serialize};

use crate::boruvka::{MstEdge, boruvka};
use crate::error::{Error, Result};
use crate::hyperparams::{HdbscanParams, SelectionParams, ValidHdbscanParams};
use crate::knn::knn;
use crate::points::Points;
use crate::select::{self, Clustering};
use crate::tree::{CondensedTree, SingleLinkage};

/// Entry point: `Hdbscan::params(min_cluster_size)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hdbscan;

impl Hdbscan {
    /// Unchecked parameters with the given `min_cluster_size` (see [`HdbscanParams`]).
    #[must_use]
    pub fn params(min_cluster_size: usize) -> HdbscanParams {
        HdbscanParams::new(min_cluster_size)
    }
}

/// Stage of a running fit, reported to a progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// Nearest-neighbour search: `done` of `total` points finished.
    Neighbours {
        /// Points whose neighbours are known.
        done: usize,
        /// All points.
        total: usize,
    },
    /// Borůvka rounds: `components` trees left (1 when the spanning tree is done).
    SpanningTree {
        /// Connected components left.
        components: usize,
    },
    /// The hierarchy and condensed tree are being built.
    Hierarchy,
}

/// Element types accepted as input: `f32` and `f64`.
///
/// Distances are computed in `f64` whatever the input type.
pub trait Element: Copy + Send + Sync + 'static {
    /// The value as `f64`.
    fn to_f64(self) -> f64;
}

impl Element for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Element for f64 {
    fn to_f64(self) -> f64 {
        self
    }
}

impl ValidHdbscanParams {
    /// Fits the hierarchy: core distances, mutual-reachability minimum spanning
    /// tree, single-linkage hierarchy and condensed tree.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for fewer than 2 rows or no columns,
    /// [`Error::NonFinite`] for NaN or infinite values, [`Error::TooManyPoints`].
    pub fn fit<A: Element, S: Data<Elem = A>>(&self, x: &ArrayBase<S, Ix2>) -> Result<HdbscanFit> {
        self.fit_with_progress(x, |_| {})
    }

    /// As [`fit`](Self::fit), reporting progress to `progress` (called from worker threads).
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
    pub fn fit_with_progress<A, S, F>(
        &self,
        x: &ArrayBase<S, Ix2>,
        progress: F,
    ) -> Result<HdbscanFit>
    where
        A: Element,
        S: Data<Elem = A>,
        F: Fn(Progress) + Sync,
    {
        let (rows, cols) = x.dim();
        if rows < 2 || cols == 0 {
            return Err(Error::EmptyInput { rows, cols });
        }
        if u32::try_from(rows).is_err() {
            return Err(Error::TooManyPoints(rows));
        }
        let data: Array2<f64> = x.mapv(Element::to_f64);
        if let Some(((row, col), _)) = data.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite { row, col });
        }
        // As Python hdbscan: at most n - 1 neighbours, at least 1.
        let min_samples = self.min_samples().min(rows - 1).max(1);
        let points = Points::new(data);
        let knn = knn(&points, min_samples, &|done, total| {
            progress(Progress::Neighbours { done, total });
        });
        let core = knn.core_distances();
        let mut mst = boruvka(&points, &knn, &core, &|components| {
            progress(Progress::SpanningTree { components });
        });
        progress(Progress::Hierarchy);
        // Back from the internal (leaf) order to input rows.
        let perm = &points.perm;
        let mut core_distances = vec![0.0; rows];
        for (i, &c) in core.iter().enumerate() {
            core_distances[perm[i]] = c;
        }
        for e in &mut mst {
            e.a = perm[e.a];
            e.b = perm[e.b];
        }
        let single_linkage = SingleLinkage::from_mst(rows, &mst);
        let condensed = CondensedTree::new(&single_linkage, self.min_cluster_size);
        Ok(HdbscanFit {
            params: self.clone(),
            core_distances,
            mst,
            single_linkage,
            condensed,
        })
    }
}

impl HdbscanParams {
    /// Checks the parameters, then fits (see [`ValidHdbscanParams::fit`]).
    ///
    /// ```
    /// use density_cluster::Hdbscan;
    /// use ndarray::Array2;
    /// // two tight groups of 10 points on a line, far apart
    /// let x = Array2::from_shape_fn((20, 1), |(i, _)| if i < 10 { i as f32 * 0.01 } else { 5.0 + i as f32 * 0.01 });
    /// let fit = Hdbscan::params(5).min_samples(2).fit(&x)?;
    /// let clustering = fit.cluster()?;
    /// assert_eq!(clustering.n_clusters(), 2);
    /// assert_eq!(clustering.labels[0], clustering.labels[9]);
    /// assert_ne!(clustering.labels[0], clustering.labels[10]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Invalid parameters, or as [`ValidHdbscanParams::fit`].
    pub fn fit<A: Element, S: Data<Elem = A>>(&self, x: &ArrayBase<S, Ix2>) -> Result<HdbscanFit> {
        self.check_ref()?.fit(x)
    }

    /// Checks the parameters, then fits with progress reports (see
    /// [`ValidHdbscanParams::fit_with_progress`]).
    ///
    /// # Errors
    /// Invalid parameters, or as [`ValidHdbscanParams::fit`].
    pub fn fit_with_progress<A, S, F>(
        &self,
        x: &ArrayBase<S, Ix2>,
        progress: F,
    ) -> Result<HdbscanFit>
    where
        A: Element,
        S: Data<Elem = A>,
        F: Fn(Progress) + Sync,
    {
        self.check_ref()?.fit_with_progress(x, progress)
    }
}

/// A fitted hierarchy; select flat clusterings from it with [`select`](Self::select).
///
/// The expensive part (spanning tree) is done once; each selection costs
/// `O(n)`, so the paper's four epsilons cost little more than one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HdbscanFit {
    params: ValidHdbscanParams,
    core_distances: Vec<f64>,
    mst: Vec<MstEdge>,
    single_linkage: SingleLinkage,
    condensed: CondensedTree,
}

impl HdbscanFit {
    /// Flat clusters with the selection given at fit time.
    ///
    /// # Errors
    /// As [`select`](Self::select).
    pub fn cluster(&self) -> Result<Clustering> {
        self.select(&self.params.selection())
    }

    /// Flat clusters for one selection (method, epsilon, `allow_single_cluster`).
    ///
    /// # Errors
    /// [`Error::Epsilon`] for an invalid epsilon.
    pub fn select(&self, params: &SelectionParams) -> Result<Clustering> {
        Ok(select::select(&self.condensed, &params.check()?))
    }

    /// One clustering per epsilon, with the fit-time method and `allow_single_cluster`.
    ///
    /// # Errors
    /// [`Error::Epsilon`] for an invalid epsilon.
    pub fn select_epsilons(&self, epsilons: &[f64]) -> Result<Vec<Clustering>> {
        let base = self.params.selection();
        epsilons
            .iter()
            .map(|&epsilon| self.select(&SelectionParams { epsilon, ..base }))
            .collect()
    }

    /// The parameters of the fit.
    pub fn params(&self) -> &ValidHdbscanParams {
        &self.params
    }

    /// Core distance of each point: distance to its `min_samples`-th neighbour.
    pub fn core_distances(&self) -> &[f64] {
        &self.core_distances
    }

    /// Edges of the mutual-reachability minimum spanning tree, in the order found.
    pub fn minimum_spanning_tree(&self) -> &[MstEdge] {
        &self.mst
    }

    /// The single-linkage hierarchy.
    pub fn single_linkage(&self) -> &SingleLinkage {
        &self.single_linkage
    }

    /// The condensed tree.
    pub fn condensed_tree(&self) -> &CondensedTree {
        &self.condensed
    }
}
