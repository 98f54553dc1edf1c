//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in `banner-parse`.
///
/// Errors about input data carry the file (when there is one) and the
/// 1-based line number, so a user can find the offending record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error while reading or writing `path`.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line that could not be turned into a record.
    #[error("{}:{line}: {kind}", path.display())]
    BadLine {
        /// The file the line came from (`<stdin>`/`<memory>` for other sources).
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong with the line.
        kind: BadLineKind,
    },
    /// A parameter was outside its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// The parameter's name.
        name: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
}

/// Why a line of input was rejected. Part of [`Error::BadLine`] and of
/// [`BadLine`](crate::BadLine) reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadLineKind {
    /// The line is not valid JSON (or not valid UTF-8 JSON text).
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A field is missing.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field has a value of the wrong type or form.
    #[error("invalid field `{field}`: {reason}")]
    InvalidField {
        /// The field's name (dotted path for nested fields).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The line is longer than the reader's limit (see
    /// [`ReadOptions::max_line_bytes`](crate::ReadOptions::max_line_bytes)).
    #[error("line longer than {0} bytes")]
    LineTooLong(usize),
    /// The record is well-formed but holds no banner (e.g. a failed zgrab2 scan).
    #[error("no banner in record: {0}")]
    NoBanner(String),
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
