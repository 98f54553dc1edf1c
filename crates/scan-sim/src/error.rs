//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in `scan-sim`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A [`SimConfig`](crate::SimConfig) field is outside its valid range.
    #[error("invalid simulation parameter `{name}`: {reason}")]
    InvalidParam {
        /// The field's name.
        name: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
    /// The catalogue text is not valid JSON or does not have the catalogue's shape.
    #[error("catalogue {source_name}:{line}:{column}: {source}")]
    CatalogueSyntax {
        /// Where the catalogue came from (a path, or `<builtin>`/`<memory>`).
        source_name: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A catalogue entry is well-formed JSON but not a valid product or profile.
    #[error("catalogue {source_name}: {entry}: {reason}")]
    CatalogueEntry {
        /// Where the catalogue came from.
        source_name: String,
        /// The product id or profile name, with the field when known.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A snapshot index beyond the configured number of snapshots.
    #[error("snapshot {index} out of range (the simulation has {snapshots})")]
    SnapshotOutOfRange {
        /// The requested index.
        index: usize,
        /// How many snapshots the simulation has.
        snapshots: usize,
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
    /// A line of a ground-truth file that could not be read.
    #[error("{}:{line}: invalid truth line: {source}", path.display())]
    BadTruthLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// An error from `banner-parse` while writing banner records.
    #[error(transparent)]
    Records(#[from] banner_parse::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
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
