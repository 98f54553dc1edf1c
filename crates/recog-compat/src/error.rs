//! The crate's error type.

use std::path::PathBuf;

/// Why a Recog pattern could not be translated into a Rust regex.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TranslateErrorKind {
    /// A Ruby/Onigmo construct this crate does not support (named in the string).
    Unsupported(&'static str),
    /// A bracket expression `[...]` is not closed.
    UnclosedClass,
    /// A group `(...)` is not closed.
    UnclosedGroup,
    /// A `)` without a matching `(`.
    UnmatchedParen,
    /// A pattern ends in a lone backslash.
    TrailingBackslash,
    /// A quantifier has nothing to repeat.
    NothingToRepeat,
    /// An inline option group such as `(?q)` uses an unknown option letter.
    UnknownInlineFlag(char),
    /// A numeric escape (`\x`, `\u`, octal) is malformed or out of range.
    BadEscape,
    /// A POSIX bracket class such as `[:alpah:]` has an unknown name.
    UnknownPosixClass,
    /// A `{n,m}` quantifier has `n > m` or a count beyond the supported limit.
    BadRepetition,
    /// The pattern nests groups deeper than the supported limit.
    TooDeep,
}

impl std::fmt::Display for TranslateErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unsupported(what) => write!(f, "unsupported construct: {what}"),
            Self::UnclosedClass => f.write_str("unclosed character class"),
            Self::UnclosedGroup => f.write_str("unclosed group"),
            Self::UnmatchedParen => f.write_str("unmatched ')'"),
            Self::TrailingBackslash => f.write_str("trailing backslash"),
            Self::NothingToRepeat => f.write_str("quantifier without a target"),
            Self::UnknownInlineFlag(c) => write!(f, "unknown inline option {c:?}"),
            Self::BadEscape => f.write_str("malformed escape sequence"),
            Self::UnknownPosixClass => f.write_str("unknown POSIX bracket class"),
            Self::BadRepetition => f.write_str("invalid repetition bounds"),
            Self::TooDeep => f.write_str("groups nested too deeply"),
        }
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a file or directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The XML itself is malformed.
    #[error("{path}:{line}: malformed XML: {source}")]
    Xml {
        /// The database file (or `<memory>`).
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The XML parser's error.
        #[source]
        source: quick_xml::Error,
    },
    /// An attribute value could not be decoded.
    #[error("{path}:{line}: bad attribute: {source}")]
    XmlAttribute {
        /// The database file (or `<memory>`).
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The XML parser's error.
        #[source]
        source: quick_xml::events::attributes::AttrError,
    },
    /// The XML is well formed but is not a Recog database.
    #[error("{path}:{line}: {message}")]
    Structure {
        /// The database file (or `<memory>`).
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A pattern uses a construct that cannot be translated.
    #[error("pattern {pattern:?} at offset {offset}: {kind}")]
    Translate {
        /// The Recog (Ruby) pattern.
        pattern: String,
        /// Byte offset in `pattern` where the problem starts.
        offset: usize,
        /// What is wrong.
        kind: TranslateErrorKind,
    },
    /// The translated pattern was rejected by the `regex` crate.
    #[error("pattern {pattern:?}: {source}")]
    Regex {
        /// The Recog (Ruby) pattern.
        pattern: String,
        /// The regex crate's error.
        #[source]
        source: regex::Error,
    },
    /// The translated pattern was rejected by `fancy-regex`.
    #[error("pattern {pattern:?}: {source}")]
    FancyRegex {
        /// The Recog (Ruby) pattern.
        pattern: String,
        /// The fancy-regex error.
        #[source]
        source: Box<fancy_regex::Error>,
    },
    /// A fingerprint of a database failed to compile.
    #[error("{path}:{line}: {source}")]
    Fingerprint {
        /// The database file (or `<memory>`).
        path: PathBuf,
        /// 1-based line number of the `<fingerprint>` element.
        line: usize,
        /// The translation or compilation error.
        #[source]
        source: Box<Error>,
    },
    /// Matching a backtracking pattern exceeded the backtrack limit (or its stack).
    #[error("pattern {pattern:?} gave up while matching: {source}")]
    MatchAborted {
        /// The Recog (Ruby) pattern.
        pattern: String,
        /// The fancy-regex runtime error.
        #[source]
        source: Box<fancy_regex::Error>,
    },
    /// A fixed param value interpolates `{name}` but the match has no such value,
    /// and Recog only tolerates that for `*.version` inside `*.cpe23`.
    #[error("fingerprint {fingerprint:?}: param {param:?} interpolates missing value {missing:?}")]
    Interpolation {
        /// Description of the fingerprint.
        fingerprint: String,
        /// The param whose value is interpolated.
        param: String,
        /// The missing value name.
        missing: String,
    },
    /// A parameter struct failed validation.
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    /// A fingerprint handed to the exporter cannot be written as valid Recog XML.
    #[error("export of fingerprint {index}: {message}")]
    Export {
        /// Index of the fingerprint in the export input.
        index: usize,
        /// What is wrong.
        message: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
