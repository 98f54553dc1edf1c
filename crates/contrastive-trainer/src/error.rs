//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while preparing data, training or evaluating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A parameter is out of range or inconsistent (the message names it).
    #[error("invalid parameter: {0}")]
    InvalidParam(String),
    /// The data gave nothing to train on (no sequence, no kept pair).
    #[error("no training data: {0}")]
    NoData(String),
    /// Reading banner records failed.
    #[error(transparent)]
    Parse(#[from] banner_parse::Error),
    /// Tokenizing failed.
    #[error(transparent)]
    Tokenizer(#[from] bpe_tokenizer::Error),
    /// The model failed (config, weights, device).
    #[error(transparent)]
    Model(#[from] roberta_model::Error),
    /// Checkpoint weights could not be written or read (burnpack store).
    #[error("checkpoint weights {path}: {source}")]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// The store's error.
        #[source]
        source: <burn::store::BurnpackStore as burn::store::ModuleStore>::Error,
    },
    /// The optimizer state of a checkpoint could not be written or read.
    #[error("optimizer state {path}: {source}")]
    Optimizer {
        /// The optimizer file.
        path: PathBuf,
        /// burn's record error.
        #[source]
        source: burn::store::RecordError,
    },
    /// A checkpoint is incomplete or inconsistent.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint directory or file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// `--resume` found a run whose configuration differs from the one asked for.
    #[error(
        "the run in {dir} was started with another configuration ({field} differs); \
         use a new output directory or the same settings"
    )]
    ConfigMismatch {
        /// The run directory.
        dir: PathBuf,
        /// The first differing setting.
        field: String,
    },
    /// The loss became NaN or infinite; the last good checkpoint is kept.
    #[error(
        "loss is {value} at step {step}: training stopped; the last good checkpoint is {last_checkpoint}"
    )]
    NonFinite {
        /// The step (0-based) whose loss was not finite.
        step: u64,
        /// The loss value as printed (`NaN`, `inf`).
        value: String,
        /// The newest checkpoint on disk, or `none`.
        last_checkpoint: String,
    },
    /// Reading a tensor back from the device failed.
    #[error("cannot read tensor data: {0}")]
    Tensor(#[from] burn::tensor::DataError),
    /// A run or checkpoint JSON file could not be read or written.
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse or serialisation error.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn checkpoint(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Error::Checkpoint {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
