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

use crate::config::{RobertaConfig, ValidRobertaConfig};
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

/// Writes the weights through a [`bannerlm_base::AtomicFile`] beside `path` (burn's store
/// writes its temporary path, `commit` syncs and renames it), so a reader (or a killed run)
/// never sees a half-written `model.safetensors`, and an error leaves no temporary file.
fn save_from<M: Module + ModuleSnapshot>(module: &M, path: &Path) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file = bannerlm_base::AtomicFile::create(path).map_err(io)?;
    let mut store = SafetensorsStore::from_file(file.temp_path())
        .with_to_adapter(BurnToPyTorchAdapter)
        .remap(remapper(&SAVE_PATTERNS, false))
        .metadata("format", "pt")
        .overwrite(true);
    module
        .save_into(&mut store)
        .map_err(|source| Error::Store {
            path: path.to_owned(),
            source,
        })?;
    drop(store);
    file.commit().map_err(io)
}

/// Longest safetensors header read (the format's own limit is 100 MB).
pub const MAX_SAFETENSORS_HEADER: u64 = 100 << 20;

fn dtype_size(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 1,
        "U16" | "I16" | "F16" | "BF16" => 2,
        "U32" | "I32" | "F32" => 4,
        "U64" | "I64" | "F64" => 8,
        _ => return None,
    })
}

/// One tensor entry of a safetensors header.
#[derive(serde::Deserialize)]
struct TensorEntry {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: [u64; 2],
}

/// Checks a safetensors file against `config` *before* a model of that config is allocated.
///
/// Reads only the header (at most [`MAX_SAFETENSORS_HEADER`] bytes, and never more than the
/// file holds) and checks: every tensor's shape, dtype and byte range agree with each other
/// and lie inside the file; the word-embedding table (`roberta.embeddings.word_embeddings.weight`
/// or `embeddings.word_embeddings.weight`) is `[vocab_size, hidden_size]`; and the file holds at
/// least as many values as the config's encoder has parameters
/// ([`RobertaConfig::parameter_count`]). So a `config.json` whose sizes do not match its
/// weights is an error, and the memory a model takes stays a small multiple of its file.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Weights`] naming the file and what
/// is wrong.
pub fn check_weights_file(config: &RobertaConfig, path: impl AsRef<Path>) -> Result<()> {
    use std::io::Read as _;
    let path = path.as_ref();
    let bad = |reason: String| Error::Weights {
        path: path.to_owned(),
        reason,
    };
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut n = [0u8; 8];
    file.read_exact(&mut n)
        .map_err(|_| bad(format!("{len} bytes: too short for a safetensors header")))?;
    let header_len = u64::from_le_bytes(n);
    if header_len > MAX_SAFETENSORS_HEADER || header_len > len.saturating_sub(8) {
        return Err(bad(format!(
            "header of {header_len} bytes in a file of {len} (at most {MAX_SAFETENSORS_HEADER})"
        )));
    }
    let mut header = Vec::new();
    (&mut file)
        .take(header_len)
        .read_to_end(&mut header)
        .map_err(io)?;
    let entries: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| bad(format!("header is not JSON: {e}")))?;
    let data_len = len.saturating_sub(8).saturating_sub(header_len);
    let mut values = 0u64;
    let mut embeddings = None;
    for (name, value) in entries {
        if name == "__metadata__" {
            continue;
        }
        let shown: String = name.chars().take(120).collect();
        let t: TensorEntry =
            serde_json::from_value(value).map_err(|e| bad(format!("tensor {shown:?}: {e}")))?;
        let size = dtype_size(&t.dtype)
            .ok_or_else(|| bad(format!("tensor {shown:?}: unknown dtype {:?}", t.dtype)))?;
        let count = t
            .shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| bad(format!("tensor {shown:?}: shape {:?} overflows", t.shape)))?;
        let [begin, end] = t.data_offsets;
        if begin > end || end > data_len || count.checked_mul(size) != Some(end - begin) {
            return Err(bad(format!(
                "tensor {shown:?}: shape {:?} of {} at bytes {begin}..{end} does not fit \
                 (data section of {data_len} bytes)",
                t.shape, t.dtype
            )));
        }
        values = values.saturating_add(count);
        if name == "roberta.embeddings.word_embeddings.weight"
            || name == "embeddings.word_embeddings.weight"
        {
            embeddings = Some(t.shape);
        }
    }
    let want = [config.vocab_size as u64, config.hidden_size as u64];
    match embeddings {
        Some(shape) if shape == want => {}
        Some(shape) => {
            return Err(bad(format!(
                "word embeddings are {shape:?}, the config says [vocab_size, hidden_size] = {want:?}"
            )));
        }
        None => return Err(bad("no word-embedding tensor".into())),
    }
    let params = config.parameter_count().unwrap_or(u64::MAX);
    if values < params {
        return Err(bad(format!(
            "holds {values} values, the config's encoder has {params} parameters"
        )));
    }
    Ok(())
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

            /// Loads `config.json` and `model.safetensors` from a transformers model directory;
            /// the config is checked against the weights file's header
            /// ([`check_weights_file`]) before the model is allocated.
            ///
            /// # Errors
            /// Config errors of [`RobertaConfig::load`], [`Error::Weights`], weight errors of
            /// [`load_weights`](Self::load_weights).
            pub fn from_pretrained(
                dir: impl AsRef<Path>,
                device: &Device,
            ) -> Result<(Self, ValidRobertaConfig)> {
                let dir = dir.as_ref();
                let config = RobertaConfig::load(dir.join(CONFIG_FILE))?;
                let weights = dir.join(WEIGHTS_FILE);
                check_weights_file(&config, &weights)?;
                let model = Self::new(&config, device)?.load_weights(weights)?;
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
