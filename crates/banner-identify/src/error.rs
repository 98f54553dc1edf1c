//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in `banner-identify`. Errors about a bundle file name it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading, writing, copying or renaming a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file of the bundle is not what it should be.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A bundle file is not in the expected format (or the manifest lacks a file).
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The manifest names a format this build does not read.
    #[error(
        "{path}: bundle format version {found} is newer than this bannerlm reads ({supported})"
    )]
    FormatVersion {
        /// The manifest.
        path: PathBuf,
        /// The version in the manifest.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// A bundle file's size differs from the manifest's (truncated, extended or replaced).
    #[error(
        "{path}: {found} bytes, but the bundle manifest says {expected} (truncated or replaced)"
    )]
    FileSize {
        /// The file.
        path: PathBuf,
        /// Size in the manifest.
        expected: u64,
        /// Size on disk.
        found: u64,
    },
    /// A bundle file's SHA-256 differs from the manifest's (edited or corrupted).
    #[error("{path}: contents do not match the bundle manifest's sha256 (edited or corrupted)")]
    Digest {
        /// The file.
        path: PathBuf,
    },
    /// The bundle's prediction data (or a prediction) failed.
    #[error("{path}: {source}")]
    Prediction {
        /// `prediction.json` of the bundle.
        path: PathBuf,
        /// density-cluster's error.
        #[source]
        source: density_cluster::Error,
    },
    /// The PCA, the embedding store or the model failed.
    #[error("{path}: {source}")]
    Index {
        /// The file or folder concerned.
        path: PathBuf,
        /// embed-index's error.
        #[source]
        source: embed_index::Error,
    },
    /// The fingerprints could not be read or written.
    #[error(transparent)]
    Fingerprints(#[from] lcs_fingerprint::Error),
    /// A fingerprint regex does not compile (set or single) for a header.
    #[error("fingerprints of header {header:?}: {source}")]
    Regex {
        /// The header.
        header: String,
        /// The regex compiler's error.
        #[source]
        source: regex::Error,
    },
    /// Loading or matching Recog databases failed.
    #[error(transparent)]
    Recog(#[from] recog_compat::Error),
    /// Reading or writing banner records failed.
    #[error(transparent)]
    Records(#[from] banner_parse::Error),
    /// The model device could not be opened.
    #[error("model device: {0}")]
    Device(#[source] roberta_model::Error),
    /// The model is switched off ([`IdentifyOptions::model`](crate::IdentifyOptions::model)).
    #[error("the model is switched off (IdentifyOptions::model(false)): nothing to embed with")]
    ModelOff,
    /// Invalid options or builder input.
    #[error("invalid options: {0}")]
    Invalid(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn json(path: impl Into<PathBuf>, source: serde_json::Error) -> Self {
        Error::Json {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
