//! Atomic, rotating checkpoints.
//!
//! A checkpoint is a directory `checkpoint-<step>` (step zero-padded to 9 digits) holding
//! `model.bpk` (burn's burnpack format, which keeps parameter identities so the optimizer state
//! can be re-attached), `optimizer.bpk` (AdamW moments) and `state.json` (step, seed, loss
//! history). It is written into a hidden temporary directory beside the final one and renamed
//! into place only when complete, so a run killed at any moment (even with `SIGKILL`) never
//! leaves a half-written checkpoint under a real name; leftovers of such kills are removed when
//! the next run opens the directory.

use std::fs;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::{BurnpackStore, ModuleSnapshot};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const PREFIX: &str = "checkpoint-";
const TMP_PREFIX: &str = ".tmp-checkpoint-";
/// File name of the model weights inside a checkpoint.
pub(crate) const MODEL_FILE: &str = "model.bpk";
/// File name of the optimizer state inside a checkpoint.
pub(crate) const OPTIMIZER_FILE: &str = "optimizer.bpk";
/// File name of the trainer state inside a checkpoint.
pub(crate) const STATE_FILE: &str = "state.json";

/// One logged point of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Steps completed.
    pub step: u64,
    /// Mean total loss over the steps since the previous entry.
    pub loss: f64,
    /// Mean of each loss term over the same steps, by name.
    pub parts: Vec<(String, f64)>,
    /// Learning rate of the last step.
    pub lr: f64,
    /// Tokens per second over the same steps.
    pub tokens_per_s: f64,
}

/// What a checkpoint records besides tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Steps completed (the next step to run).
    pub step: u64,
    /// The run's seed.
    pub seed: u64,
    /// Tokens processed so far.
    pub tokens: u64,
    /// Training wall time so far, seconds (over all resumed parts).
    pub elapsed_s: f64,
    /// Loss history.
    pub history: Vec<LogEntry>,
}

/// The checkpoints of one run directory.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    dir: PathBuf,
    keep: usize,
}

impl Checkpoints {
    /// Opens (creating it if needed) the run directory `dir`, keeping the newest `keep`
    /// checkpoints (at least 1), and removes temporary directories left by killed runs.
    ///
    /// ```
    /// use contrastive_trainer::Checkpoints;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let ckpt = Checkpoints::open(dir.path(), 2)?;
    /// assert!(ckpt.latest()?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] when the directory cannot be created or listed.
    pub fn open(dir: impl Into<PathBuf>, keep: usize) -> Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let this = Self {
            dir,
            keep: keep.max(1),
        };
        for entry in this.entries()? {
            if entry.0.is_none() {
                let _ = fs::remove_dir_all(&entry.1);
            }
        }
        Ok(this)
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// (step, path) of every complete checkpoint, oldest first; temporary ones as `None`.
    fn entries(&self) -> Result<Vec<(Option<u64>, PathBuf)>> {
        let mut out = Vec::new();
        let rd = fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| Error::io(&self.dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(TMP_PREFIX) {
                out.push((None, entry.path()));
            } else if let Some(step) = name.strip_prefix(PREFIX)
                && let Ok(step) = step.parse::<u64>()
                && entry.path().join(STATE_FILE).is_file()
            {
                out.push((Some(step), entry.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The newest complete checkpoint: (steps completed, directory).
    ///
    /// # Errors
    /// [`Error::Io`] when the directory cannot be listed.
    pub fn latest(&self) -> Result<Option<(u64, PathBuf)>> {
        Ok(self
            .entries()?
            .into_iter()
            .filter_map(|(s, p)| s.map(|s| (s, p)))
            .next_back())
    }

    /// Writes a checkpoint atomically: `write` fills a temporary directory, which is then
    /// renamed to `checkpoint-<step>`; older checkpoints beyond `keep` are removed.
    pub(crate) fn save(
        &self,
        step: u64,
        write: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<PathBuf> {
        let tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempdir_in(&self.dir)
            .map_err(|e| Error::io(&self.dir, e))?;
        write(tmp.path())?;
        for entry in fs::read_dir(tmp.path()).map_err(|e| Error::io(tmp.path(), e))? {
            let path = entry.map_err(|e| Error::io(tmp.path(), e))?.path();
            let f = fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
            f.sync_all().map_err(|e| Error::io(&path, e))?;
        }
        let final_dir = self.dir.join(format!("{PREFIX}{step:09}"));
        if final_dir.exists() {
            fs::remove_dir_all(&final_dir).map_err(|e| Error::io(&final_dir, e))?;
        }
        let tmp_path = tmp.keep();
        fs::rename(&tmp_path, &final_dir).map_err(|e| Error::io(&final_dir, e))?;
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        let complete: Vec<PathBuf> = self
            .entries()?
            .into_iter()
            .filter_map(|(s, p)| s.map(|_| p))
            .collect();
        if complete.len() > self.keep {
            for old in &complete[..complete.len() - self.keep] {
                fs::remove_dir_all(old).map_err(|e| Error::io(old, e))?;
            }
        }
        Ok(final_dir)
    }
}

/// Saves a module's weights in burnpack format (parameter identities included).
pub(crate) fn save_module<M: Module + ModuleSnapshot>(module: &M, path: &Path) -> Result<()> {
    let mut store = BurnpackStore::from_file(path)
        .auto_extension(false)
        .overwrite(true);
    module
        .save_into(&mut store)
        .map_err(|source| Error::Weights {
            path: path.to_owned(),
            source,
        })
}

/// Loads weights saved by [`save_module`] into `module`.
pub(crate) fn load_module<M: Module + ModuleSnapshot>(mut module: M, path: &Path) -> Result<M> {
    let mut store = BurnpackStore::from_file(path).auto_extension(false);
    let result = module
        .load_from(&mut store)
        .map_err(|source| Error::Weights {
            path: path.to_owned(),
            source,
        })?;
    if !result.errors.is_empty() || !result.missing.is_empty() {
        return Err(Error::checkpoint(
            path,
            format!(
                "{} tensor(s) missing, {} could not be applied",
                result.missing.len(),
                result.errors.len()
            ),
        ));
    }
    Ok(module)
}

/// Writes `value` as pretty JSON to `path` atomically ([`bannerlm_base::write_atomic`]:
/// temporary file in the same directory, fsync, rename; nothing left behind on error).
pub(crate) fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let json = serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
        path: path.to_owned(),
        source,
    })?;
    bannerlm_base::write_atomic(path, &json).map_err(|e| Error::io(path, e))
}

/// Reads a JSON file.
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.to_owned(),
        source,
    })
}
