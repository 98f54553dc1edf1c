//! Hugging Face safetensors import and export.
//!
//! Weights go through burn-store's [`SafetensorsStore`] with the [`PyTorchToBurnAdapter`] on load
//! (linear weights transposed from `[out, in]`, LayerNorm `weight`/`bias` to `gamma`/`beta`) and
//! the [`BurnToPyTorchAdapter`] on save, plus a [`KeyRemapper`] for the few names that differ:
//!
//! | Hugging Face key                                   | burn module path                                |
//! |----------------------------------------------------|-------------------------------------------------|
//! | `roberta.embeddings.word_embeddings.weight`        | `roberta.embeddings.word_embeddings.weight`     |
//! | `roberta.embeddings.position_embeddings.weight`    | `roberta.embeddings.position_embeddings.weight` |
//! | `roberta.embeddings.token_type_embeddings.weight`  | `roberta.embeddings.token_type_embeddings.weight` |
//! | `roberta.embeddings.LayerNorm.{weight,bias}`       | `roberta.embeddings.layer_norm.{gamma,beta}`    |
//! | `roberta.encoder.layer.{i}.attention.self.{query,key,value}.*` | `roberta.encoder.layer.{i}.attention.self_attn.{query,key,value}.*` |
//! | `roberta.encoder.layer.{i}.attention.output.dense.*` | same                                          |
//! | `roberta.encoder.layer.{i}.attention.output.LayerNorm.*` | `....attention.output.layer_norm.*`       |
//! | `roberta.encoder.layer.{i}.intermediate.dense.*`   | same                                            |
//! | `roberta.encoder.layer.{i}.output.dense.*`         | same                                            |
//! | `roberta.encoder.layer.{i}.output.LayerNorm.*`     | `roberta.encoder.layer.{i}.output.layer_norm.*` |
//! | `lm_head.dense.*`, `lm_head.layer_norm.*`          | same                                            |
//! | `lm_head.bias` (or `lm_head.decoder.bias`)         | `lm_head.bias`                                  |
//! | `lm_head.decoder.weight`                           | not stored: tied to `word_embeddings`           |
//! | `classifier.{weight,bias}`                         | `classifier.dense.{weight,bias}`                |
//! | `roberta.pooler.*`, `roberta.embeddings.position_ids` | ignored                                      |
//!
//! A bare `RobertaModel` checkpoint (keys without the `roberta.` prefix) loads into
//! [`RobertaModel`] as well.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::{
    BurnToPyTorchAdapter, KeyRemapper, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore,
};
use burn::tensor::Device;

use crate::config::RobertaConfig;
use crate::error::{Error, Result};
use crate::heads::{RobertaForMaskedLm, RobertaForStability};
use crate::model::RobertaModel;

/// File name of the weights inside a model directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// File name of the config inside a model directory.
pub const CONFIG_FILE: &str = "config.json";

/// Hugging Face key -> burn path, applied when loading.
const LOAD_PATTERNS: [(&str, &str); 4] = [
    (r"\.LayerNorm\.", ".layer_norm."),
    (r"\.attention\.self\.", ".attention.self_attn."),
    (r"^classifier\.(weight|bias)$", "classifier.dense.$1"),
    (r"^lm_head\.decoder\.bias$", "lm_head.bias"),
];

/// burn path -> Hugging Face key, applied when saving.
const SAVE_PATTERNS: [(&str, &str); 3] = [
    (r"\.(embeddings|output)\.layer_norm\.", ".$1.LayerNorm."),
    (r"\.attention\.self_attn\.", ".attention.self."),
    (r"^classifier\.dense\.", "classifier."),
];

fn remapper(patterns: &[(&str, &str)], strip_prefix: bool) -> KeyRemapper {
    let mut remapper = KeyRemapper::new();
    if strip_prefix {
        // Only ever built from the constant patterns above, which are valid regexes.
        if let Ok(r) = remapper.clone().add_pattern(r"^roberta\.", "") {
            remapper = r;
        }
    }
    for (from, to) in patterns {
        if let Ok(r) = remapper.clone().add_pattern(*from, *to) {
            remapper = r;
        }
    }
    remapper
}

/// Loads HF-named safetensors into `module`, failing if any of its tensors is missing or
/// mis-shaped. Tensors of the file that the module lacks (pooler, other heads) are ignored.
fn load_into<M: Module + ModuleSnapshot>(
    mut module: M,
    path: &Path,
    strip_prefix: bool,
) -> Result<M> {
    if !path.is_file() {
        return Err(Error::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let mut store = SafetensorsStore::from_file(path)
        .with_from_adapter(PyTorchToBurnAdapter)
        .remap(remapper(&LOAD_PATTERNS, strip_prefix))
        .allow_partial(true);
    let result = module
        .load_from(&mut store)
        .map_err(|source| Error::Store {
            path: path.to_owned(),
            source,
        })?;
    if let Some(first) = result.errors.first() {
        return Err(Error::ApplyFailed {
            path: path.to_owned(),
            count: result.errors.len(),
            first: first.to_string(),
        });
    }
    if let Some((example, _)) = result.missing.first() {
        return Err(Error::MissingTensors {
            path: path.to_owned(),
            count: result.missing.len(),
            example: example.clone(),
        });
    }
    Ok(module)
}

/// Writes the weights to a temporary file beside `path`, then renames it into place, so a
/// reader (or a killed run) never sees a half-written `model.safetensors`.
fn save_from<M: Module + ModuleSnapshot>(module: &M, path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let name = path.file_name().map_or_else(
        || "model.safetensors".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let mut store = SafetensorsStore::from_file(&tmp)
        .with_to_adapter(BurnToPyTorchAdapter)
        .remap(remapper(&SAVE_PATTERNS, false))
        .metadata("format", "pt")
        .overwrite(true);
    let saved = module
        .save_into(&mut store)
        .map_err(|source| Error::Store {
            path: path.to_owned(),
            source,
        })
        .and_then(|()| {
            // An ordinary data file (0644), whatever the store's temporary mode was.
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).map_err(io)?;
            std::fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(io)?;
            std::fs::rename(&tmp, path).map_err(io)
        });
    if saved.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    saved
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_owned(),
        source,
    })
}

fn with_architecture(config: &RobertaConfig, arch: &str) -> RobertaConfig {
    let mut config = config.clone();
    config
        .extra
        .insert("architectures".into(), serde_json::json!([arch]));
    config
}

impl RobertaModel {
    /// Replaces the weights with those of a safetensors file holding either a bare HF
    /// `RobertaModel` or any `RobertaFor*` checkpoint (its `roberta.*` part).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Store`], [`Error::MissingTensors`] or [`Error::ApplyFailed`].
    pub fn load_weights(self, path: impl AsRef<Path>) -> Result<Self> {
        load_into(self, path.as_ref(), true)
    }
}

macro_rules! task_model_io {
    ($ty:ty, $arch:literal) => {
        impl $ty {
            /// Replaces the weights with those of a transformers safetensors file.
            ///
            /// # Errors
            /// [`Error::Io`], [`Error::Store`], [`Error::MissingTensors`] (for example a
            /// head absent from the file) or [`Error::ApplyFailed`] (shape mismatch).
            pub fn load_weights(self, path: impl AsRef<Path>) -> Result<Self> {
                load_into(self, path.as_ref(), false)
            }

            /// Writes the weights as safetensors with Hugging Face names.
            ///
            /// # Errors
            /// [`Error::Store`] when the file cannot be written.
            pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
                save_from(self, path.as_ref())
            }

            /// Loads `config.json` and `model.safetensors` from a transformers model directory.
            ///
            /// # Errors
            /// Config errors of [`RobertaConfig::load`], weight errors of
            /// [`load_weights`](Self::load_weights).
            pub fn from_pretrained(
                dir: impl AsRef<Path>,
                device: &Device,
            ) -> Result<(Self, RobertaConfig)> {
                let dir = dir.as_ref();
                let config = RobertaConfig::load(dir.join(CONFIG_FILE))?;
                let model = Self::new(&config, device)?.load_weights(dir.join(WEIGHTS_FILE))?;
                Ok((model, config))
            }

            /// Writes `config.json` and `model.safetensors` into `dir` (created if needed), a
            /// directory that transformers' `from_pretrained` reads.
            ///
            /// # Errors
            /// [`Error::Io`], [`Error::ConfigSerialize`] or [`Error::Store`].
            pub fn save_pretrained(
                &self,
                dir: impl AsRef<Path>,
                config: &RobertaConfig,
            ) -> Result<PathBuf> {
                let dir = dir.as_ref();
                create_dir(dir)?;
                with_architecture(config, $arch).save(dir.join(CONFIG_FILE))?;
                let weights = dir.join(WEIGHTS_FILE);
                self.save_weights(&weights)?;
                Ok(weights)
            }
        }
    };
}

task_model_io!(RobertaForMaskedLm, "RobertaForMaskedLM");
task_model_io!(RobertaForStability, "RobertaForTokenClassification");
