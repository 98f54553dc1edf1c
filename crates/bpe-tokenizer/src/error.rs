//! The crate's error type.

use std::path::PathBuf;

/// A boxed error from another library (the `tokenizers` crate or a banner source).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong in `bpe-tokenizer`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter was outside its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// The parameter's name.
        name: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
    /// An I/O error while reading or writing `path`.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A `tokenizer.json` could not be parsed.
    #[error("{}: cannot read tokenizer: {source}", path.display())]
    Load {
        /// The file (`<memory>` when parsed from a string).
        path: PathBuf,
        /// The error reported by the `tokenizers` crate.
        #[source]
        source: BoxError,
    },
    /// A `tokenizer.json` parsed but is not a lossless byte-level BPE
    /// tokenizer with the expected special tokens.
    #[error("{}: not a bannerlm byte-level BPE tokenizer: {reason}", path.display())]
    Incompatible {
        /// The file (`<memory>` when parsed from a string).
        path: PathBuf,
        /// What does not fit.
        reason: String,
    },
    /// The `tokenizers` crate failed while training, encoding or serialising.
    #[error("tokenizer failed while {during}: {source}")]
    Tokenizer {
        /// What was being done (`training`, `encoding`, ...).
        during: &'static str,
        /// The error reported by the `tokenizers` crate.
        #[source]
        source: BoxError,
    },
    /// The banner source given to [`BannerTokenizer::try_train`](crate::BannerTokenizer::try_train) failed.
    #[error("reading banners for training: {0}")]
    Input(#[source] BoxError),
    /// Byte labels do not have one label per banner byte.
    #[error("{labels} labels for a banner of {bytes} bytes (one label per byte expected)")]
    LabelLength {
        /// The banner's length in bytes.
        bytes: usize,
        /// The number of labels given.
        labels: usize,
    },
    /// An encoding's offsets point outside the banner it is aligned with
    /// (it was made from another banner).
    #[error("token {token} covers bytes {start}..{end}, outside a banner of {bytes} bytes")]
    OffsetOutOfRange {
        /// The token's index in the encoding.
        token: usize,
        /// Its first byte.
        start: usize,
        /// One past its last byte.
        end: usize,
        /// The banner's length.
        bytes: usize,
    },
    /// A token id that is not in the vocabulary.
    #[error("token id {id} is not in the vocabulary of {vocab_size} tokens")]
    UnknownId {
        /// The id.
        id: u32,
        /// The vocabulary size (ids are `0..vocab_size`).
        vocab_size: usize,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn tokenizer(during: &'static str, source: BoxError) -> Self {
        Error::Tokenizer { during, source }
    }

    pub(crate) fn param(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidParam {
            name,
            reason: reason.into(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
