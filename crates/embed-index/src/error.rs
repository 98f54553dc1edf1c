//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in `embed-index`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error on `path`.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file that is not what it should be (bad `.npy` header, ids that do
    /// not line up with rows, a corrupt saved projection).
    #[error("{}: {reason}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A store that cannot be resumed by this run: its manifest is missing or records another
    /// width, ids file or source (model, tokenizer, inputs, parameters), or its ids file is
    /// missing or short. The reason says what differs; nothing was written.
    #[error("cannot resume {}: {reason}", path.display())]
    Resume {
        /// The file concerned (manifest, `.npy` or ids file).
        path: PathBuf,
        /// What differs or is missing.
        reason: String,
    },
    /// A line of an ids file that is not JSON.
    #[error("{}:{line}: invalid JSON: {source}", path.display())]
    BadIdLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A value could not be written as JSON (a manifest, a saved projection, an id).
    #[error("{}: cannot write JSON: {source}", path.display())]
    JsonWrite {
        /// The file.
        path: PathBuf,
        /// The serialisation error.
        #[source]
        source: serde_json::Error,
    },
    /// Arrays whose shapes do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A parameter outside its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// The parameter.
        name: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// The eigen-decomposition did not produce finite values (input with NaN or inf).
    #[error("PCA failed: {0}")]
    Pca(String),
    /// Loading or running the model failed (config, weights, device).
    #[cfg(feature = "model")]
    #[error(transparent)]
    Model(#[from] roberta_model::Error),
    /// Loading or running the tokenizer failed.
    #[cfg(feature = "model")]
    #[error(transparent)]
    Tokenizer(#[from] bpe_tokenizer::Error),
    /// Reading banner records failed (I/O, or a bad line with its file and line number).
    #[cfg(feature = "model")]
    #[error(transparent)]
    Records(#[from] banner_parse::Error),
    /// A tensor could not be read back from the compute device.
    #[cfg(feature = "model")]
    #[error("cannot read tensor data from the device: {0}")]
    Tensor(#[from] roberta_model::burn::tensor::DataError),
    /// The model has no token-stability head (a masked-LM-only checkpoint), so there is no
    /// P(stable) per token to report.
    #[error("the model has no stability head (masked-LM checkpoint); P(stable) is unavailable")]
    NoStabilityHead,
    /// Drawing a plot failed.
    #[error("cannot draw {}: {source}", path.display())]
    Plot {
        /// The output file.
        path: PathBuf,
        /// The plotting library's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An embedding store without the rows a computation needs (e.g. no host seen in both
    /// snapshots).
    #[error("no data: {0}")]
    NoData(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn json_write(path: impl Into<PathBuf>, source: serde_json::Error) -> Self {
        Error::JsonWrite {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn format(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
