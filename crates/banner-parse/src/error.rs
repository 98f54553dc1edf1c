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
    /// The input starts with the gzip magic bytes (`1f 8b`) but is not valid
    /// gzip: a corrupt or truncated stream, or trailing bytes after the last
    /// gzip member that are not another member. Records decoded before the
    /// bad spot have been yielded; reading stops here.
    #[error("{}: invalid gzip data at compressed byte {offset}: {source}", path.display())]
    Gzip {
        /// The file being read (`<stdin>`/`<memory>` for other sources).
        path: PathBuf,
        /// How many compressed bytes of the file the decoder had consumed
        /// when it failed (for a truncated stream: the file's length).
        offset: u64,
        /// The decoder's error.
        #[source]
        source: std::io::Error,
    },
    /// A temporary spill file of a [`PairJoin`](crate::PairJoin) could not be
    /// written or read back. The message names the original input and the
    /// record's line in it (when known), not only the temporary file, which
    /// is removed when the join ends.
    #[error(
        "pairing {}{}: temporary spill file {}: {source}",
        input.display(),
        line.map(|l| format!(":{l}")).unwrap_or_default(),
        spill.display()
    )]
    Spill {
        /// The original input the record came from (a file name, or the name
        /// given with [`PairJoin::names`](crate::PairJoin::names)).
        input: PathBuf,
        /// The record's line in `input` (its 1-based position when the input
        /// was an iterator of records); `None` when it could not be read back.
        line: Option<u64>,
        /// The temporary file (already removed when this error is seen).
        spill: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A record could not be serialized as JSON into `path`.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file being written.
        path: PathBuf,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
    /// A record could not be written to, or read back from, a temporary
    /// spill file of a [`PairJoin`](crate::PairJoin) as JSON. Named like
    /// [`Error::Spill`].
    #[error(
        "pairing {}{}: temporary spill file {}: {source}",
        input.display(),
        line.map(|l| format!(":{l}")).unwrap_or_default(),
        spill.display()
    )]
    SpillRecord {
        /// The original input the record came from.
        input: PathBuf,
        /// The record's line in `input`, when it could be read back.
        line: Option<u64>,
        /// The temporary file (already removed when this error is seen).
        spill: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
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
    /// The banner rebuilt from the record (zgrab2's `headers` map) would be
    /// longer than the reader's line limit (see
    /// [`ReadOptions::max_line_bytes`](crate::ReadOptions::max_line_bytes)).
    /// The rebuild stops at the limit, so a small record that expands into
    /// many header lines cannot exhaust memory.
    #[error("banner rebuilt from the record is longer than {0} bytes")]
    BannerTooLong(usize),
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
