//! The pipeline's error type.

use std::path::PathBuf;

/// Everything that can stop a pipeline run. Errors of the stage crates are
/// wrapped with the stage they came from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range; the message names the field.
    #[error("invalid pipeline configuration: {0}")]
    InvalidConfig(String),
    /// An input glob pattern is malformed.
    #[error("bad input pattern {pattern:?}: {source}")]
    Pattern {
        /// The pattern as given.
        pattern: String,
        /// Why it does not parse.
        #[source]
        source: glob::PatternError,
    },
    /// The input patterns matched no file, or the files hold no record.
    #[error("no input: {0}")]
    NoInput(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file of the output folder does not parse or cannot be written.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A pipeline configuration file does not parse: bad JSON, a wrong type, or a key the
    /// configuration does not have (a misspelling is an error, never silently ignored).
    #[error("pipeline configuration {}: {source}", path.display())]
    ConfigFile {
        /// The configuration file.
        path: PathBuf,
        /// serde's message: names the key, line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The output folder is not empty and was not made by bannerlm: nothing in it is touched.
    #[error(
        "{}: not a bannerlm output folder (it is not empty and has no {marker} marker); \
         bannerlm writes only into a new or empty folder or an earlier run's output folder, \
         and never clears what it did not create: choose another --out",
        path.display()
    )]
    ForeignOutput {
        /// The output folder.
        path: PathBuf,
        /// The marker file name bannerlm looks for.
        marker: &'static str,
    },
    /// The output folder holds another kind of run (a monthly run into a full run's folder,
    /// or the reverse), whose files this run would replace.
    #[error(
        "{}: holds a {found} run, not a {wanted} run; its files would be replaced: choose another --out",
        path.display()
    )]
    OtherRunKind {
        /// The output folder.
        path: PathBuf,
        /// The kind of run in it (`full` or `monthly`).
        found: String,
        /// The kind of run asked for.
        wanted: &'static str,
    },
    /// A stage folder of the output folder lacks bannerlm's mark, so it is not cleared.
    #[error(
        "{}: refusing to clear a folder that bannerlm did not create (no {marker} marker); \
         move it away or choose another --out",
        path.display()
    )]
    ForeignStageDir {
        /// The stage folder.
        path: PathBuf,
        /// The marker file name bannerlm looks for.
        marker: &'static str,
    },
    /// The Recog directory given (option or `RECOG_XML_DIR`) is not a readable directory.
    #[error("Recog directory {} (from {origin}): {source}", path.display())]
    RecogDir {
        /// The directory as given.
        path: PathBuf,
        /// Where it came from: `--recog` or `RECOG_XML_DIR`.
        origin: &'static str,
        /// Why it cannot be used.
        #[source]
        source: std::io::Error,
    },
    /// A stage crate failed.
    #[error("stage {stage}: {source}")]
    Stage {
        /// The stage name (`simulate`, `tokenizer`, ...).
        stage: &'static str,
        /// The crate's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

/// The pipeline's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

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

    pub(crate) fn stage<E: std::error::Error + Send + Sync + 'static>(
        stage: &'static str,
    ) -> impl FnOnce(E) -> Self {
        move |e| Error::Stage {
            stage,
            source: Box::new(e),
        }
    }
}
