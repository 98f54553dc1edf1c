//! The error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong in `density-cluster`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `min_cluster_size` must be at least 2 (a cluster of one point is an outlier).
    #[error("min_cluster_size must be at least 2, got {0}")]
    MinClusterSize(usize),
    /// `min_samples` must be at least 1.
    #[error("min_samples must be at least 1, got {0}")]
    MinSamples(usize),
    /// `cluster_selection_epsilon` must be finite and not negative.
    #[error("cluster_selection_epsilon must be finite and >= 0, got {0}")]
    Epsilon(f64),
    /// The input has no rows or no columns.
    #[error("input has shape ({rows}, {cols}); at least 2 rows and 1 column are needed")]
    EmptyInput {
        /// Number of rows of the input.
        rows: usize,
        /// Number of columns of the input.
        cols: usize,
    },
    /// The input holds a NaN or an infinite value.
    #[error("input value at row {row}, column {col} is not finite")]
    NonFinite {
        /// Row of the first non-finite value.
        row: usize,
        /// Column of the first non-finite value.
        col: usize,
    },
    /// [`holdout_agreement`](crate::holdout_agreement) needs every n-th row held out, n >= 2.
    #[error("holdout_agreement holds out every n-th row, n at least 2, not {0}")]
    HoldoutEvery(usize),
    /// More than `u32::MAX` points were given.
    #[error("{0} points is more than this implementation supports (u32::MAX)")]
    TooManyPoints(usize),
    /// The record ids given to a writer do not line up with the clustered rows.
    #[error("{ids} record ids given for {rows} clustered rows")]
    IdsMismatch {
        /// Number of ids.
        ids: usize,
        /// Number of rows in the clusterings.
        rows: usize,
    },
    /// Clusterings written together must come from the same rows.
    #[error("clusterings have different numbers of rows ({0} and {1})")]
    RowsMismatch(usize, usize),
    /// Writing output failed.
    #[error("cannot write {}", path.as_ref().map_or_else(|| "output".to_owned(), |p| p.display().to_string()))]
    Io {
        /// File being written, if known.
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Serialising a record failed.
    #[error("cannot serialise record {row}")]
    Json {
        /// Row whose record failed.
        row: usize,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// New points have another number of columns than the fitted points.
    #[error("points have {got} columns, the fitted points {expected}")]
    DimensionMismatch {
        /// Columns of the fitted points.
        expected: usize,
        /// Columns given.
        got: usize,
    },
    /// Data given with a fit does not have the fit's number of rows.
    #[error("{what} has {got} rows, the fit {expected}")]
    FitMismatch {
        /// What was given (the fitted points, a clustering).
        what: &'static str,
        /// Rows of the fit.
        expected: usize,
        /// Rows given.
        got: usize,
    },
    /// A clustering index beyond those held by the prediction data.
    #[error("clustering {index} requested; the prediction data holds {count}")]
    NoSuchClustering {
        /// Index asked for.
        index: usize,
        /// Clusterings held.
        count: usize,
    },
    /// Saved prediction data of a format version this build does not read.
    #[error("prediction data has format version {found}; this build reads version {supported}")]
    PredictionFormat {
        /// Version in the data (0 when the field is missing).
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// Saved prediction data is inconsistent (truncated, edited or corrupt).
    #[error("invalid prediction data: {0}")]
    InvalidPredictionData(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
