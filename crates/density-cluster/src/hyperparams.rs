//! Hyperparameters, in linfa's validated-params pattern: [`HdbscanParams`]
//! (unchecked) → [`check`](HdbscanParams::check) → [`ValidHdbscanParams`], and
//! the per-selection [`SelectionParams`] → [`check`](SelectionParams::check) →
//! [`ValidSelectionParams`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How flat clusters are chosen from the condensed tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectionMethod {
    /// Excess of mass: the most stable clusters (Python `hdbscan`'s default).
    #[default]
    Eom,
    /// The leaves of the condensed cluster tree: many small, homogeneous clusters.
    Leaf,
}

/// Parameters of one flat selection from a fitted hierarchy.
///
/// Selecting is cheap (linear in the number of points), so one
/// [`HdbscanFit`](crate::HdbscanFit) can be selected at many epsilons.
///
/// ```
/// use density_cluster::{SelectionMethod, SelectionParams};
/// let p = SelectionParams { epsilon: 0.05, method: SelectionMethod::Leaf, ..SelectionParams::default() };
/// assert_eq!(p.check()?.epsilon(), 0.05);
/// assert!(SelectionParams::eom(-1.0).check().is_err());
/// # Ok::<(), density_cluster::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SelectionParams {
    /// `cluster_selection_epsilon`: clusters born at a distance below this are
    /// merged up to the ancestor that exists at this distance (Malzer & Baum 2019).
    /// 0 disables it.
    pub epsilon: f64,
    /// `cluster_selection_method`.
    pub method: SelectionMethod,
    /// `allow_single_cluster`: let the root of the tree be selected as the only cluster.
    pub allow_single_cluster: bool,
}

impl SelectionParams {
    /// Excess-of-mass selection at `epsilon`.
    #[must_use]
    pub fn eom(epsilon: f64) -> Self {
        Self {
            epsilon,
            ..Self::default()
        }
    }

    /// Leaf selection at `epsilon`.
    #[must_use]
    pub fn leaf(epsilon: f64) -> Self {
        Self {
            epsilon,
            method: SelectionMethod::Leaf,
            allow_single_cluster: false,
        }
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// [`Error::Epsilon`] when epsilon is negative, NaN or infinite.
    pub fn check(self) -> Result<ValidSelectionParams> {
        if self.epsilon.is_finite() && self.epsilon >= 0.0 {
            Ok(ValidSelectionParams(self))
        } else {
            Err(Error::Epsilon(self.epsilon))
        }
    }
}

/// Checked selection parameters; created by [`SelectionParams::check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidSelectionParams(SelectionParams);

impl ValidSelectionParams {
    /// `cluster_selection_epsilon` (finite, not negative).
    pub fn epsilon(&self) -> f64 {
        self.0.epsilon
    }

    /// `cluster_selection_method`.
    pub fn method(&self) -> SelectionMethod {
        self.0.method
    }

    /// `allow_single_cluster`.
    pub fn allow_single_cluster(&self) -> bool {
        self.0.allow_single_cluster
    }

    /// The parameters as plain values.
    pub fn params(&self) -> SelectionParams {
        self.0
    }
}

/// Checked HDBSCAN hyperparameters; created by [`HdbscanParams::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidHdbscanParams {
    pub(crate) min_cluster_size: usize,
    pub(crate) min_samples: Option<usize>,
    pub(crate) selection: SelectionParams,
}

impl ValidHdbscanParams {
    /// Smallest group of points that counts as a cluster.
    pub fn min_cluster_size(&self) -> usize {
        self.min_cluster_size
    }

    /// Neighbours (not counting the point itself) that define a point's core
    /// distance; defaults to `min_cluster_size` as in Python `hdbscan`.
    pub fn min_samples(&self) -> usize {
        self.min_samples.unwrap_or(self.min_cluster_size)
    }

    /// The selection used by [`HdbscanFit::cluster`](crate::HdbscanFit::cluster).
    pub fn selection(&self) -> SelectionParams {
        self.selection
    }
}

/// Unchecked HDBSCAN hyperparameters with consuming setters (linfa style).
///
/// The names and meanings follow Python `hdbscan`. Note that scikit-learn's
/// `HDBSCAN(min_samples=m)` counts the point itself, so it corresponds to
/// `min_samples(m - 1)` here.
///
/// ```
/// use density_cluster::{Hdbscan, SelectionMethod};
/// let params = Hdbscan::params(50)
///     .min_samples(5)
///     .cluster_selection_epsilon(0.05)
///     .cluster_selection_method(SelectionMethod::Eom)
///     .check()?;
/// assert_eq!(params.min_samples(), 5);
/// assert!(Hdbscan::params(1).check().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HdbscanParams(pub(crate) ValidHdbscanParams);

impl Default for HdbscanParams {
    /// Python `hdbscan`'s defaults: `min_cluster_size = 5`, `min_samples = min_cluster_size`, eom, no epsilon.
    fn default() -> Self {
        Self::new(5)
    }
}

impl HdbscanParams {
    /// Parameters with the given `min_cluster_size` and defaults elsewhere.
    #[must_use]
    pub fn new(min_cluster_size: usize) -> Self {
        Self(ValidHdbscanParams {
            min_cluster_size,
            min_samples: None,
            selection: SelectionParams::default(),
        })
    }

    /// Sets `min_cluster_size`.
    #[must_use]
    pub fn min_cluster_size(mut self, min_cluster_size: usize) -> Self {
        self.0.min_cluster_size = min_cluster_size;
        self
    }

    /// Sets `min_samples` (neighbours, the point itself not counted).
    #[must_use]
    pub fn min_samples(mut self, min_samples: usize) -> Self {
        self.0.min_samples = Some(min_samples);
        self
    }

    /// Sets the default `cluster_selection_epsilon`.
    #[must_use]
    pub fn cluster_selection_epsilon(mut self, epsilon: f64) -> Self {
        self.0.selection.epsilon = epsilon;
        self
    }

    /// Sets the default `cluster_selection_method`.
    #[must_use]
    pub fn cluster_selection_method(mut self, method: SelectionMethod) -> Self {
        self.0.selection.method = method;
        self
    }

    /// Sets the default `allow_single_cluster`.
    #[must_use]
    pub fn allow_single_cluster(mut self, allow: bool) -> Self {
        self.0.selection.allow_single_cluster = allow;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// [`Error::MinClusterSize`], [`Error::MinSamples`] or [`Error::Epsilon`].
    pub fn check(self) -> Result<ValidHdbscanParams> {
        self.check_ref()?;
        Ok(self.0)
    }

    /// Validates the parameters without consuming them.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn check_ref(&self) -> Result<&ValidHdbscanParams> {
        let p = &self.0;
        if p.min_cluster_size < 2 {
            return Err(Error::MinClusterSize(p.min_cluster_size));
        }
        if p.min_samples == Some(0) {
            return Err(Error::MinSamples(0));
        }
        p.selection.check()?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors() {
        assert!(matches!(
            HdbscanParams::new(1).check(),
            Err(Error::MinClusterSize(1))
        ));
        assert!(matches!(
            HdbscanParams::new(5).min_samples(0).check(),
            Err(Error::MinSamples(0))
        ));
        assert!(matches!(
            HdbscanParams::new(5)
                .cluster_selection_epsilon(f64::NAN)
                .check(),
            Err(Error::Epsilon(_))
        ));
        assert!(matches!(
            SelectionParams::eom(f64::INFINITY).check(),
            Err(Error::Epsilon(_))
        ));
        let ok = HdbscanParams::new(5).check().expect("valid");
        assert_eq!(ok.min_samples(), 5);
        assert_eq!(
            HdbscanParams::default()
                .check()
                .expect("valid")
                .min_cluster_size(),
            5
        );
    }

    #[test]
    fn autotraits() {
        fn has_autotraits<T: Send + Sync + Unpin>() {}
        has_autotraits::<HdbscanParams>();
        has_autotraits::<ValidHdbscanParams>();
        has_autotraits::<SelectionParams>();
        has_autotraits::<ValidSelectionParams>();
    }
}
