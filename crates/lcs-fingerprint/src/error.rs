//! The crate's error type.

use std::path::PathBuf;

/// Errors of lcs-fingerprint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An invalid parameter (see [`FingerprintParams`](crate::FingerprintParams)).
    #[error("invalid parameter: {0}")]
    Params(#[from] ParamsError),
    /// A generated regex did not compile (only possible past the size limit).
    #[error("regex {regex:?} does not compile")]
    Regex {
        /// The regex text.
        regex: String,
        /// The compiler's error.
        #[source]
        source: regex::Error,
    },
    /// The cluster labels of a clustering do not line up with the banners.
    #[error("clustering {clustering:?} has {labels} labels for {banners} banners")]
    LabelCount {
        /// The clustering's name.
        clustering: String,
        /// Its number of labels.
        labels: usize,
        /// The number of banners.
        banners: usize,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Writing fingerprints to a stream failed.
    #[error("writing fingerprints: {0}")]
    Write(#[source] std::io::Error),
    /// A line of a cluster-labels file is not valid.
    #[error("{path}:{line}: {message}")]
    Labels {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A line of a cluster-labels file is not JSON.
    #[error("{path}:{line}: {source}")]
    LabelsJson {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// Serializing a fingerprint failed.
    #[error("serializing a fingerprint: {0}")]
    Json(#[from] serde_json::Error),
    /// A line of a fingerprints file ([`read_jsonl`](crate::read_jsonl)) is not a fingerprint.
    #[error("{path}:{line}: not a fingerprint: {source}")]
    FingerprintsJson {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The comparison with Recog failed (a pattern that does not compile, invalid params).
    #[error("comparing with Recog: {0}")]
    Recog(#[from] recog_compat::Error),
    /// A protocol (or field) with no text fingerprints ([`text_field`](crate::text_field)).
    #[error("no text fingerprints for protocol {0:?}")]
    UnknownProtocol(String),
}

/// Invalid values of [`FingerprintParams`](crate::FingerprintParams).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    /// `k` (values per draw) must be at least 2.
    #[error("k must be at least 2, got {0}")]
    K(usize),
    /// `n_draws` must be at least 1.
    #[error("n_draws must be at least 1")]
    Draws,
    /// `min_piece_len` must be at least 1.
    #[error("min_piece_len must be at least 1")]
    MinPieceLen,
    /// `min_samples` must be at least 1 and at most `k`.
    #[error("min_samples must be in 1..=k, got {0}")]
    MinSamples(usize),
    /// At least one header must be given, and no header name may be empty.
    #[error("headers must be non-empty names")]
    Headers,
    /// `min_precision` must be in `[0, 1]`.
    #[error("min_precision must be in [0, 1], got {0}")]
    MinPrecision(f64),
    /// `max_examples` must be at least 1.
    #[error("max_examples must be at least 1")]
    MaxExamples,
    /// `max_value_len` must be at least 1.
    #[error("max_value_len must be at least 1")]
    MaxValueLen,
    /// The header share of [`all_headers`](crate::FingerprintParams::all_headers) must be in
    /// `(0, 1]`.
    #[error("all_headers share must be in (0, 1], got {0}")]
    HeaderShare(f64),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
