//! The crate's error type.
//!
//! Every `Display` here is terminal-safe: file names, patterns, tag names, attribute values,
//! descriptions and the texts of the XML and regex libraries (which quote their input) are
//! escaped with [`bannerlm_base::Escaped`], so no control character (other than the line
//! breaks of a regex error's caret diagram) and no bidirectional override reaches a terminal.

use std::fmt;
use std::path::{Path, PathBuf};

use bannerlm_base::Escaped;

/// Displays a path escaped (a hostile database directory may hold any file name).
pub(crate) struct ShowPath<'a>(pub(crate) &'a Path);

impl fmt::Display for ShowPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Escaped(self.0.as_os_str().as_encoded_bytes()).fmt(f)
    }
}

/// Displays text escaped line by line: the line breaks stay (a regex error's caret diagram
/// stays readable), everything else is as [`Escaped`].
pub(crate) struct ShowLines<'a>(pub(crate) &'a str);

impl fmt::Display for ShowLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.0.split('\n').enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            Escaped(line.as_bytes()).fmt(f)?;
        }
        Ok(())
    }
}

/// Displays the text of another library's error escaped (it may quote the input).
pub(crate) struct ShowErr<'a, E: fmt::Display>(pub(crate) &'a E);

impl<E: fmt::Display> fmt::Display for ShowErr<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ShowLines(&self.0.to_string()).fmt(f)
    }
}

/// Displays `": cause"` after a message when there is a cause (itself terminal-safe).
pub(crate) struct ShowCause<'a>(pub(crate) &'a Option<Box<Error>>);

impl fmt::Display for ShowCause<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(e) => write!(f, ": {e}"),
            None => Ok(()),
        }
    }
}

/// Displays text escaped with [`Escaped`].
pub(crate) fn show(s: &str) -> Escaped<'_> {
    Escaped(s.as_bytes())
}

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
            Self::UnknownInlineFlag(c) => {
                let mut buf = [0u8; 4];
                write!(
                    f,
                    "unknown inline option '{}'",
                    show(c.encode_utf8(&mut buf))
                )
            }
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
    #[error("{}: {source}", ShowPath(.path))]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The XML itself is malformed.
    #[error("{}:{line}: malformed XML: {}", ShowPath(.path), ShowErr(.source))]
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
    #[error("{}:{line}: bad attribute: {}", ShowPath(.path), ShowErr(.source))]
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
    #[error("{}:{line}: {}", ShowPath(.path), show(.message))]
    Structure {
        /// The database file (or `<memory>`).
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A pattern uses a construct that cannot be translated.
    #[error("pattern \"{}\" at offset {offset}: {kind}", show(.pattern))]
    Translate {
        /// The Recog (Ruby) pattern.
        pattern: String,
        /// Byte offset in `pattern` where the problem starts.
        offset: usize,
        /// What is wrong.
        kind: TranslateErrorKind,
    },
    /// The translated pattern was rejected by the `regex` crate.
    #[error("pattern \"{}\": {}", show(.pattern), ShowErr(.source))]
    Regex {
        /// The Recog (Ruby) pattern.
        pattern: String,
        /// The regex crate's error.
        #[source]
        source: regex::Error,
    },
    /// The translated pattern was rejected by `fancy-regex`.
    #[error("pattern \"{}\": {}", show(.pattern), ShowErr(.source))]
    FancyRegex {
        /// The Recog (Ruby) pattern.
        pattern: String,
        /// The fancy-regex error.
        #[source]
        source: Box<fancy_regex::Error>,
    },
    /// A fingerprint of a database failed to compile.
    #[error("{}:{line}: {source}", ShowPath(.path))]
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
    #[error("pattern \"{}\" gave up while matching: {}", show(.pattern), ShowErr(.source))]
    MatchAborted {
        /// The Recog (Ruby) pattern.
        pattern: String,
        /// The fancy-regex runtime error.
        #[source]
        source: Box<fancy_regex::Error>,
    },
    /// A fixed param value interpolates `{name}` but the match has no such value,
    /// and Recog only tolerates that for `*.version` inside `*.cpe23`.
    #[error(
        "fingerprint \"{}\": param \"{}\" interpolates missing value \"{}\"",
        show(.fingerprint),
        show(.param),
        show(.missing)
    )]
    Interpolation {
        /// Description of the fingerprint.
        fingerprint: String,
        /// The param whose value is interpolated.
        param: String,
        /// The missing value name.
        missing: String,
    },
    /// Interpolating the `{name}` references of a fixed param value would nest deeper than
    /// [`MAX_INTERPOLATION_DEPTH`](crate::MAX_INTERPOLATION_DEPTH) or grow the value beyond
    /// [`MAX_INTERPOLATED_LEN`](crate::MAX_INTERPOLATED_LEN) bytes (a hostile database can
    /// otherwise double a value with every param: 40 params, a terabyte).
    #[error(
        "{}:{line}: fingerprint \"{}\": param \"{}\": {what}",
        ShowPath(.path),
        show(.fingerprint),
        show(.param)
    )]
    InterpolationLimit {
        /// The database file (or `<memory>`).
        path: PathBuf,
        /// 1-based line number of the `<fingerprint>` element.
        line: usize,
        /// Description of the fingerprint.
        fingerprint: String,
        /// The param whose value is interpolated.
        param: String,
        /// Which limit, and its value.
        what: String,
    },
    /// A database file is larger than [`MAX_DATABASE_BYTES`](crate::MAX_DATABASE_BYTES), or an
    /// example file larger than [`MAX_EXAMPLE_FILE_BYTES`](crate::MAX_EXAMPLE_FILE_BYTES).
    #[error("{}: {size} bytes is more than the limit of {limit} bytes", ShowPath(.path))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes (at least; reading stops past the limit).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A parameter struct failed validation.
    #[error("invalid parameter: {}", show(.0))]
    InvalidParams(String),
    /// A fingerprint handed to the exporter cannot be written as valid Recog XML.
    #[error("export of fingerprint {index}: {message}{}", ShowCause(.source))]
    Export {
        /// Index of the fingerprint in the export input.
        index: usize,
        /// What is wrong (input quoted in it is already escaped).
        message: String,
        /// The translation or compilation error, when the pattern does not compile.
        #[source]
        source: Option<Box<Error>>,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
