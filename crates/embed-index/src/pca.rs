//! Principal component analysis: fit on a sample, transform in batches,
//! save and load the projection.

use std::path::Path;

use ndarray::{Array1, Array2, ArrayBase, Axis, Data, Ix2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// PCA hyperparameters, unchecked: [`check`](Self::check) gives the [`ValidPcaParams`] that
/// fits ([`ValidPcaParams::fit`]); [`fit`](Self::fit) checks and fits in one call.
///
/// ```
/// use embed_index::PcaParams;
/// use ndarray::Array2;
///
/// // Points on a line in 3-D: one component explains everything.
/// let x = Array2::from_shape_fn((100, 3), |(i, j)| i as f32 * [1.0, 2.0, -1.0][j]);
/// let pca = PcaParams::new(2).fit(&x)?;
/// assert!(pca.explained_variance_ratio()[0] > 0.999);
/// let y = pca.transform(&x)?;
/// assert_eq!(y.dim(), (100, 2));
/// assert!(PcaParams::new(0).check().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcaParams(ValidPcaParams);

/// PCA hyperparameters that passed [`PcaParams::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPcaParams {
    n_components: usize,
    batch_rows: usize,
}

impl PcaParams {
    /// Keep `n_components` components (paper: 256 -> 64).
    pub fn new(n_components: usize) -> Self {
        PcaParams(ValidPcaParams {
            n_components,
            batch_rows: 65_536,
        })
    }

    /// Rows per block when accumulating the covariance (memory vs speed; default 65,536).
    #[must_use]
    pub fn batch_rows(mut self, rows: usize) -> Self {
        self.0.batch_rows = rows;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] when `n_components` or `batch_rows` is 0.
    pub fn check(self) -> Result<ValidPcaParams> {
        self.check_ref()?;
        Ok(self.0)
    }

    /// Validates the parameters without consuming them.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn check_ref(&self) -> Result<&ValidPcaParams> {
        if self.0.n_components == 0 {
            return Err(Error::InvalidParam {
                name: "n_components",
                reason: "must be at least 1".into(),
            });
        }
        if self.0.batch_rows == 0 {
            return Err(Error::InvalidParam {
                name: "batch_rows",
                reason: "must be at least 1".into(),
            });
        }
        Ok(&self.0)
    }

    /// Validates, then fits (see [`ValidPcaParams::fit`]).
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for invalid parameters, then as [`ValidPcaParams::fit`].
    pub fn fit<S: Data<Elem = f32>>(&self, x: &ArrayBase<S, Ix2>) -> Result<Pca> {
        self.check_ref()?.fit(x)
    }
}

impl ValidPcaParams {
    /// Components kept.
    pub fn n_components(&self) -> usize {
        self.n_components
    }

    /// Rows per block when accumulating the covariance.
    pub fn batch_rows(&self) -> usize {
        self.batch_rows
    }

    /// Fits on the rows of `x` (a sample of the embeddings).
    ///
    /// The covariance is accumulated in f64 over blocks of rows (one pass
    /// for the mean, one for the scatter matrix, each a matrix product), then
    /// decomposed with `nalgebra`'s symmetric eigen-solver; components are
    /// ordered by decreasing variance, with the sign fixed so that each
    /// component's largest-magnitude coefficient is positive (as
    /// scikit-learn's `svd_flip` makes the output deterministic).
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` has fewer than 2 rows or fewer columns than components,
    /// [`Error::Pca`] when `x` holds NaN or infinite values.
    pub fn fit<S: Data<Elem = f32>>(&self, x: &ArrayBase<S, Ix2>) -> Result<Pca> {
        let (n, d) = x.dim();
        if n < 2 {
            return Err(Error::Shape(format!("PCA needs at least 2 rows, got {n}")));
        }
        if self.n_components > d {
            return Err(Error::Shape(format!(
                "{} components asked from {d}-dimensional data",
                self.n_components
            )));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::Pca("input holds NaN or infinite values".into()));
        }
        let mut mean = Array1::<f64>::zeros(d);
        for block in x.axis_chunks_iter(Axis(0), self.batch_rows) {
            mean += &block.mapv(f64::from).sum_axis(Axis(0));
        }
        mean /= n as f64;
        // Scatter matrix: each block is centred in f32 (the mean is removed first, so the
        // values are small and f32 loses nothing that matters), multiplied with the f32
        // GEMM, and the block products are summed in f64; blocks run in parallel.
        let mean32 = mean.mapv(|v| v as f32);
        let blocks: Vec<_> = x.axis_chunks_iter(Axis(0), self.batch_rows).collect();
        let scatter = blocks
            .into_par_iter()
            .map(|block| {
                let centred = &block - &mean32;
                centred.t().dot(&centred).mapv(f64::from)
            })
            .reduce(|| Array2::<f64>::zeros((d, d)), |a, b| a + b);
        let cov = scatter / (n as f64 - 1.0);
        let total_variance: f64 = cov.diag().sum();
        let m = nalgebra::DMatrix::from_fn(d, d, |i, j| cov[[i, j]]);
        let eig = nalgebra::SymmetricEigen::new(m);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        let k = self.n_components;
        let mut components = Array2::<f32>::zeros((k, d));
        let mut variance = Array1::<f64>::zeros(k);
        for (row, &idx) in order.iter().take(k).enumerate() {
            let v = eig.eigenvectors.column(idx);
            let pivot = v
                .iter()
                .copied()
                .fold(0.0f64, |acc, x| if x.abs() > acc.abs() { x } else { acc });
            let sign = if pivot < 0.0 { -1.0 } else { 1.0 };
            for j in 0..d {
                components[[row, j]] = (sign * v[j]) as f32;
            }
            variance[row] = eig.eigenvalues[idx].max(0.0);
        }
        if variance.iter().any(|v| !v.is_finite()) {
            return Err(Error::Pca(
                "eigen-decomposition produced non-finite values".into(),
            ));
        }
        let ratio = if total_variance > 0.0 {
            variance.mapv(|v| v / total_variance)
        } else {
            Array1::zeros(k)
        };
        Ok(Pca {
            mean: mean.mapv(|v| v as f32),
            components,
            explained_variance: variance.to_vec(),
            explained_variance_ratio: ratio.to_vec(),
            n_samples: n as u64,
        })
    }
}

/// A fitted PCA projection.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    mean: Array1<f32>,
    /// `[n_components, dim]`.
    components: Array2<f32>,
    explained_variance: Vec<f64>,
    explained_variance_ratio: Vec<f64>,
    n_samples: u64,
}

/// The JSON form of a [`Pca`].
#[derive(Serialize, Deserialize)]
struct PcaFile {
    format: String,
    dim: usize,
    n_components: usize,
    n_samples: u64,
    mean: Vec<f32>,
    /// Row-major `[n_components, dim]`.
    components: Vec<f32>,
    explained_variance: Vec<f64>,
    explained_variance_ratio: Vec<f64>,
}

const PCA_FORMAT: &str = "bannerlm-pca-1";

impl Pca {
    /// Input width.
    pub fn dim(&self) -> usize {
        self.components.ncols()
    }

    /// Output width.
    pub fn n_components(&self) -> usize {
        self.components.nrows()
    }

    /// Rows the projection was fitted on.
    pub fn n_samples(&self) -> u64 {
        self.n_samples
    }

    /// The mean that is subtracted before projecting.
    pub fn mean(&self) -> &Array1<f32> {
        &self.mean
    }

    /// The components, one per row, `[n_components, dim]`.
    pub fn components(&self) -> &Array2<f32> {
        &self.components
    }

    /// Variance along each component (eigenvalues of the sample covariance).
    pub fn explained_variance(&self) -> &[f64] {
        &self.explained_variance
    }

    /// Share of the total variance along each component.
    pub fn explained_variance_ratio(&self) -> &[f64] {
        &self.explained_variance_ratio
    }

    /// Cumulative share of variance kept by the first 1, 2, ... components
    /// (the paper keeps 99.97% with 64 of 256).
    pub fn cumulative_variance_ratio(&self) -> Vec<f64> {
        self.explained_variance_ratio
            .iter()
            .scan(0.0, |acc, v| {
                *acc += v;
                Some(*acc)
            })
            .collect()
    }

    /// Projects rows of `x`: `(x - mean) @ components^T`.
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` has the wrong width.
    pub fn transform<S: Data<Elem = f32>>(&self, x: &ArrayBase<S, Ix2>) -> Result<Array2<f32>> {
        if x.ncols() != self.dim() {
            return Err(Error::Shape(format!(
                "PCA fitted on width {}, input has width {}",
                self.dim(),
                x.ncols()
            )));
        }
        let centred = x - &self.mean;
        Ok(centred.dot(&self.components.t()))
    }

    /// Saves the projection as JSON, atomically.
    ///
    /// # Errors
    /// [`Error::Io`] on write errors.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file = PcaFile {
            format: PCA_FORMAT.into(),
            dim: self.dim(),
            n_components: self.n_components(),
            n_samples: self.n_samples,
            mean: self.mean.to_vec(),
            components: self.components.iter().copied().collect(),
            explained_variance: self.explained_variance.clone(),
            explained_variance_ratio: self.explained_variance_ratio.clone(),
        };
        let json = serde_json::to_vec(&file).map_err(|e| Error::json_write(path, e))?;
        crate::atomic_write(path, &json)
    }

    /// Loads a projection saved by [`save`](Self::save).
    ///
    /// # Errors
    /// [`Error::Io`] when unreadable, [`Error::Format`] when inconsistent.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let f: PcaFile =
            serde_json::from_slice(&bytes).map_err(|e| Error::format(path, e.to_string()))?;
        if f.format != PCA_FORMAT {
            return Err(Error::format(
                path,
                format!("unknown PCA file format {:?}", f.format),
            ));
        }
        let ok = f.mean.len() == f.dim
            && f.explained_variance.len() == f.n_components
            && f.explained_variance_ratio.len() == f.n_components;
        let components = Array2::from_shape_vec((f.n_components, f.dim), f.components);
        match (ok, components) {
            (true, Ok(components)) => Ok(Pca {
                mean: Array1::from(f.mean),
                components,
                explained_variance: f.explained_variance,
                explained_variance_ratio: f.explained_variance_ratio,
                n_samples: f.n_samples,
            }),
            _ => Err(Error::format(
                path,
                "inconsistent PCA file (lengths do not match)",
            )),
        }
    }
}
