//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A `config.json` is not valid JSON or does not match the RoBERTa schema.
    #[error("invalid model config {path} (line {line}, column {column}): {source}")]
    ConfigParse {
        /// The file concerned.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// Serializing a config failed.
    #[error("cannot serialize model config: {0}")]
    ConfigSerialize(#[source] serde_json::Error),
    /// A model preset name that is not one of `tiny`, `small`, `cpu`, `paper`.
    #[error("unknown model preset {0:?} (tiny, small, cpu, paper)")]
    UnknownPreset(String),
    /// A config value is out of range or inconsistent.
    #[error("invalid model config: {0}")]
    InvalidConfig(String),
    /// The safetensors store failed (missing or mis-shaped tensors, bad file).
    #[error("safetensors store error on {path}: {source}")]
    Store {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: burn::store::SafetensorsStoreError,
    },
    /// Some model tensors were not found in the weights file.
    #[error("{path}: {count} model tensor(s) missing from the weights file, e.g. {example}")]
    MissingTensors {
        /// The file concerned.
        path: PathBuf,
        /// Number of missing tensors.
        count: usize,
        /// One missing tensor path (burn naming).
        example: String,
    },
    /// Some tensors of the file could not be applied (shape or dtype mismatch).
    #[error("{path}: {count} tensor(s) could not be applied: {first}")]
    ApplyFailed {
        /// The file concerned.
        path: PathBuf,
        /// Number of failures.
        count: usize,
        /// The first failure, as reported by burn-store.
        first: String,
    },
    /// A compute device could not be chosen or opened (unknown backend name, backend not
    /// compiled in, no wgpu adapter).
    #[error("cannot use the {backend} device: {reason}")]
    Device {
        /// The backend asked for (`flex`, `ndarray`, `wgpu`, or the name given).
        backend: String,
        /// Why it is unavailable.
        reason: String,
    },
    /// A weights file that is malformed or does not fit the config (checked before the model
    /// is allocated, [`check_weights_file`](crate::loader::check_weights_file)).
    #[error("invalid weights file {path}: {reason}")]
    Weights {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A token id outside the model's vocabulary (a tokenizer that does not belong to the
    /// model), found before it reaches the model ([`check_token_ids`](crate::check_token_ids)).
    #[error(
        "token id {id} is outside the model's vocabulary of {vocab_size}: tokenizer and model do not belong together"
    )]
    TokenOutOfVocab {
        /// The id.
        id: u32,
        /// The model's vocabulary size (ids are `0..vocab_size`).
        vocab_size: usize,
    },
    /// A tensor handed to a function has the wrong shape or values.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
