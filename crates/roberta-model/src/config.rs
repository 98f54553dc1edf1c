//! Model hyper-parameters, read from and written to Hugging Face `config.json`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Largest `vocab_size` accepted (16,777,216 tokens; RoBERTa has 50,265).
pub const MAX_VOCAB_SIZE: usize = 1 << 24;
/// Largest `hidden_size` accepted (32,768; the paper's model has 256, roberta-large 1,024).
pub const MAX_HIDDEN_SIZE: usize = 1 << 15;
/// Largest `intermediate_size` accepted (131,072).
pub const MAX_INTERMEDIATE_SIZE: usize = 1 << 17;
/// Largest `num_hidden_layers` accepted.
pub const MAX_LAYERS: usize = 256;
/// Largest `max_position_embeddings` accepted (131,072; the paper's model has 770).
pub const MAX_POSITIONS: usize = 1 << 17;
/// Largest `type_vocab_size` accepted.
pub const MAX_TYPE_VOCAB_SIZE: usize = 1 << 10;
/// Largest number of encoder parameters accepted (2^32, 16 GiB of float32; the paper's model
/// has 16 million). A model read from disk must also have its weights in the file
/// ([`loader::check_weights_file`](crate::loader::check_weights_file)), so memory stays a
/// small multiple of the file's size.
pub const MAX_PARAMETERS: u64 = 1 << 32;
/// Longest `config.json` read (a few KB in practice).
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Activation of the feed-forward block and of the MLM head (`hidden_act`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum HiddenAct {
    /// Exact GELU, `x * Φ(x)` with the error function (RoBERTa's default).
    #[default]
    #[serde(rename = "gelu")]
    Gelu,
    /// Tanh approximation of GELU (`gelu_new`, `gelu_pytorch_tanh` in transformers).
    #[serde(rename = "gelu_new", alias = "gelu_pytorch_tanh")]
    GeluApprox,
    /// Rectified linear unit.
    #[serde(rename = "relu")]
    Relu,
}

/// The named model sizes of bannerlm, for [`RobertaConfig::preset`]; written in
/// configuration files and on command lines by their lowercase names (`tiny`, `small`, `cpu`,
/// `paper`).
///
/// | preset | hidden | layers | heads | FFN | longest input (tokens) |
/// |---|---|---|---|---|---|
/// | `tiny` | 32 | 1 | 2 | 64 | 96 |
/// | `small` | 64 | 2 | 2 | 128 | 128 |
/// | `cpu` | 128 | 2 | 4 | 512 | 256 |
/// | `paper` | 256 | 4 | 4 | 1024 | 768 |
///
/// ```
/// use roberta_model::ModelPreset;
///
/// assert_eq!("cpu".parse::<ModelPreset>()?, ModelPreset::Cpu);
/// assert_eq!(ModelPreset::Paper.to_string(), "paper");
/// assert!("huge".parse::<ModelPreset>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ModelPreset {
    /// Hidden 32, 1 layer, 2 heads, FFN 64, 96 tokens: tests and smoke runs.
    Tiny,
    /// Hidden 64, 2 layers, 2 heads, FFN 128, 128 tokens: CPU experiments and CI.
    Small,
    /// Hidden 128, 2 layers, 4 heads, FFN 512, 256 tokens: the default run on a 2-core CPU.
    Cpu,
    /// The paper's model: hidden 256, 4 layers, 4 heads, FFN 1024, inputs of up to 768 tokens
    /// (`max_position_embeddings` 770, as in the authors' code).
    Paper,
}

impl ModelPreset {
    /// Every preset, smallest first.
    pub const ALL: [ModelPreset; 4] = [
        ModelPreset::Tiny,
        ModelPreset::Small,
        ModelPreset::Cpu,
        ModelPreset::Paper,
    ];

    /// The lowercase name (`tiny`, `small`, `cpu`, `paper`).
    pub fn name(self) -> &'static str {
        match self {
            ModelPreset::Tiny => "tiny",
            ModelPreset::Small => "small",
            ModelPreset::Cpu => "cpu",
            ModelPreset::Paper => "paper",
        }
    }

    /// `[hidden, layers, heads, FFN, longest input]`.
    fn sizes(self) -> [usize; 5] {
        match self {
            ModelPreset::Tiny => [32, 1, 2, 64, 96],
            ModelPreset::Small => [64, 2, 2, 128, 128],
            ModelPreset::Cpu => [128, 2, 4, 512, 256],
            ModelPreset::Paper => [256, 4, 4, 1024, 768],
        }
    }
}

impl std::fmt::Display for ModelPreset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ModelPreset {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        ModelPreset::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| Error::UnknownPreset(name.to_owned()))
    }
}

/// RoBERTa hyper-parameters; field names are the keys of a transformers `config.json`.
///
/// Keys this crate does not use (`architectures`, `id2label`, `torch_dtype`, ...) are kept in
/// [`extra`](Self::extra) and written back unchanged by [`save`](Self::save), so a config makes
/// the round trip bannerlm -> transformers -> bannerlm without loss.
///
/// ```
/// use roberta_model::RobertaConfig;
///
/// let paper = RobertaConfig::preset(roberta_model::ModelPreset::Paper, 50_000);
/// assert_eq!((paper.hidden_size, paper.num_hidden_layers, paper.num_attention_heads), (256, 4, 4));
/// assert_eq!(paper.max_position_embeddings, 770);
/// paper.check()?;
///
/// let json = r#"{"model_type": "roberta", "vocab_size": 1000, "hidden_size": 64,
///   "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128}"#;
/// let small = RobertaConfig::from_json_str(json)?;
/// assert_eq!(small.layer_norm_eps, 1e-5);
/// assert_eq!(small.pad_token_id, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RobertaConfig {
    /// Always `"roberta"`.
    pub model_type: String,
    /// Vocabulary size (rows of the word-embedding matrix).
    pub vocab_size: usize,
    /// Width of the token states.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer; must divide `hidden_size`.
    pub num_attention_heads: usize,
    /// Width of the feed-forward block.
    pub intermediate_size: usize,
    /// Feed-forward activation.
    pub hidden_act: HiddenAct,
    /// Dropout on embeddings and sub-layer outputs (training only).
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities (training only).
    pub attention_probs_dropout_prob: f64,
    /// Rows of the position-embedding table; RoBERTa uses `pad_token_id + 1 + max_len`.
    pub max_position_embeddings: usize,
    /// Rows of the token-type table (1 for RoBERTa).
    pub type_vocab_size: usize,
    /// Epsilon of every LayerNorm.
    pub layer_norm_eps: f64,
    /// Standard deviation of the normal initialisation of fresh weights.
    pub initializer_range: f64,
    /// Padding token id; also RoBERTa's position offset.
    pub pad_token_id: usize,
    /// Beginning-of-sequence token id (`<s>`).
    pub bos_token_id: usize,
    /// End-of-sequence token id (`</s>`).
    pub eos_token_id: usize,
    /// Dropout before the token-classification head; `None` means `hidden_dropout_prob`.
    pub classifier_dropout: Option<f64>,
    /// Only `"absolute"` is supported.
    pub position_embedding_type: String,
    /// Every other key of the file, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for RobertaConfig {
    /// The defaults of transformers' `RobertaConfig` (roberta-base sizes).
    fn default() -> Self {
        Self {
            model_type: "roberta".to_owned(),
            vocab_size: 50_265,
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            hidden_act: HiddenAct::Gelu,
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
            max_position_embeddings: 514,
            type_vocab_size: 1,
            layer_norm_eps: 1e-5,
            initializer_range: 0.02,
            pad_token_id: 1,
            bos_token_id: 0,
            eos_token_id: 2,
            classifier_dropout: None,
            position_embedding_type: "absolute".to_owned(),
            extra: Map::new(),
        }
    }
}

impl RobertaConfig {
    /// The configuration of a named size ([`ModelPreset`]) for a vocabulary of `vocab_size`
    /// tokens; every other field is transformers' default (see [`ModelPreset`] for the sizes).
    ///
    /// ```
    /// use roberta_model::{ModelPreset, RobertaConfig};
    ///
    /// let c = RobertaConfig::preset(ModelPreset::Cpu, 8_000);
    /// assert_eq!((c.hidden_size, c.num_hidden_layers, c.max_input_len()), (128, 2, 256));
    /// let tiny = RobertaConfig::preset(ModelPreset::Tiny, 600);
    /// assert_eq!((tiny.hidden_size, tiny.intermediate_size, tiny.max_input_len()), (32, 64, 96));
    /// ```
    pub fn preset(preset: ModelPreset, vocab_size: usize) -> Self {
        let [hidden, layers, heads, ffn, max_input_len] = preset.sizes();
        let base = Self::default();
        Self {
            vocab_size,
            hidden_size: hidden,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            intermediate_size: ffn,
            max_position_embeddings: max_input_len + base.pad_token_id + 1,
            ..base
        }
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }

    /// Longest input (in tokens, special tokens included) the position table can hold.
    pub fn max_input_len(&self) -> usize {
        self.max_position_embeddings
            .saturating_sub(self.pad_token_id + 1)
    }

    /// Parameters of the encoder this config describes (embeddings and layers, no head), or
    /// `None` when the count does not fit in a `u64`.
    ///
    /// ```
    /// let c = roberta_model::RobertaConfig::preset(roberta_model::ModelPreset::Paper, 50_000);
    /// assert_eq!(c.parameter_count(), Some(16_156_928));
    /// ```
    pub fn parameter_count(&self) -> Option<u64> {
        let [v, h, l, i, p, t] = [
            self.vocab_size,
            self.hidden_size,
            self.num_hidden_layers,
            self.intermediate_size,
            self.max_position_embeddings,
            self.type_vocab_size,
        ]
        .map(|x| x as u64);
        let embeddings = v
            .checked_add(p)?
            .checked_add(t)?
            .checked_mul(h)?
            .checked_add(2 * h)?;
        // q, k, v, o (weight + bias), two layer norms, FFN in and out.
        let attention = h.checked_mul(h)?.checked_add(h)?.checked_mul(4)?;
        let ffn = h
            .checked_mul(i)?
            .checked_mul(2)?
            .checked_add(i)?
            .checked_add(h)?;
        let layer = attention.checked_add(ffn)?.checked_add(4 * h)?;
        embeddings.checked_add(layer.checked_mul(l)?)
    }

    /// Validates sizes (against the documented limits [`MAX_VOCAB_SIZE`], [`MAX_HIDDEN_SIZE`],
    /// [`MAX_INTERMEDIATE_SIZE`], [`MAX_LAYERS`], [`MAX_POSITIONS`], [`MAX_TYPE_VOCAB_SIZE`]
    /// and [`MAX_PARAMETERS`]), probabilities and ids; the model constructors take the
    /// [`ValidRobertaConfig`] it returns, so nothing is allocated for an invalid config.
    ///
    /// ```
    /// use roberta_model::{ModelPreset, RobertaConfig};
    ///
    /// let mut c = RobertaConfig::preset(ModelPreset::Small, 1000);
    /// c.hidden_size = 1 << 30;
    /// assert!(c.check().is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first offending key.
    pub fn check(self) -> Result<ValidRobertaConfig> {
        self.validate()?;
        Ok(ValidRobertaConfig(self))
    }

    fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::InvalidConfig(msg));
        if self.model_type != "roberta" && self.model_type != "xlm-roberta" {
            return bad(format!("model_type {:?} is not roberta", self.model_type));
        }
        for (key, value) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("type_vocab_size", self.type_vocab_size),
        ] {
            if value == 0 {
                return bad(format!("{key} must be positive"));
            }
        }
        for (key, value, max) in [
            ("vocab_size", self.vocab_size, MAX_VOCAB_SIZE),
            ("hidden_size", self.hidden_size, MAX_HIDDEN_SIZE),
            ("num_hidden_layers", self.num_hidden_layers, MAX_LAYERS),
            (
                "intermediate_size",
                self.intermediate_size,
                MAX_INTERMEDIATE_SIZE,
            ),
            (
                "max_position_embeddings",
                self.max_position_embeddings,
                MAX_POSITIONS,
            ),
            ("type_vocab_size", self.type_vocab_size, MAX_TYPE_VOCAB_SIZE),
        ] {
            if value > max {
                return bad(format!("{key} {value} is above the limit of {max}"));
            }
        }
        match self.parameter_count() {
            Some(n) if n <= MAX_PARAMETERS => {}
            n => {
                return bad(format!(
                    "the model would have {} parameters, above the limit of {MAX_PARAMETERS}",
                    n.map_or_else(|| "more than 2^64".to_owned(), |n| n.to_string())
                ));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return bad(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        let dropouts = [
            ("hidden_dropout_prob", Some(self.hidden_dropout_prob)),
            (
                "attention_probs_dropout_prob",
                Some(self.attention_probs_dropout_prob),
            ),
            ("classifier_dropout", self.classifier_dropout),
        ];
        for (key, value) in dropouts {
            if let Some(p) = value
                && !(p.is_finite() && (0.0..1.0).contains(&p))
            {
                return bad(format!("{key} {p} is not in [0, 1)"));
            }
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return bad(format!(
                "layer_norm_eps {} must be positive",
                self.layer_norm_eps
            ));
        }
        if !(self.initializer_range.is_finite() && self.initializer_range >= 0.0) {
            return bad(format!(
                "initializer_range {} must be non-negative",
                self.initializer_range
            ));
        }
        for (key, id) in [
            ("pad_token_id", self.pad_token_id),
            ("bos_token_id", self.bos_token_id),
            ("eos_token_id", self.eos_token_id),
        ] {
            if id >= self.vocab_size {
                return bad(format!(
                    "{key} {id} is outside the vocabulary of {}",
                    self.vocab_size
                ));
            }
        }
        if self.max_position_embeddings <= self.pad_token_id.saturating_add(1) {
            return bad(format!(
                "max_position_embeddings {} leaves no room after the padding offset {}",
                self.max_position_embeddings,
                self.pad_token_id + 1
            ));
        }
        if self.position_embedding_type != "absolute" {
            return bad(format!(
                "position_embedding_type {:?} is not supported (only \"absolute\")",
                self.position_embedding_type
            ));
        }
        Ok(())
    }

    /// Parses and checks a `config.json` text.
    ///
    /// # Errors
    /// [`Error::ConfigParse`] (with line and column) or [`Error::InvalidConfig`].
    pub fn from_json_str(json: &str) -> Result<ValidRobertaConfig> {
        Self::parse(json, Path::new("<string>"))
    }

    /// Reads and checks a transformers `config.json` (at most [`MAX_CONFIG_BYTES`]).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::ConfigParse`] (with path, line and column) or
    /// [`Error::InvalidConfig`] (with the path).
    pub fn load(path: impl AsRef<Path>) -> Result<ValidRobertaConfig> {
        use std::io::Read as _;
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut text = String::new();
        file.take(MAX_CONFIG_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(Error::InvalidConfig(format!(
                "{}: longer than {MAX_CONFIG_BYTES} bytes",
                path.display()
            )));
        }
        Self::parse(&text, path)
    }

    fn parse(json: &str, path: &Path) -> Result<ValidRobertaConfig> {
        let config: Self = serde_json::from_str(json).map_err(|source| Error::ConfigParse {
            path: path.to_owned(),
            line: source.line(),
            column: source.column(),
            source,
        })?;
        config.check().map_err(|e| match e {
            Error::InvalidConfig(m) => Error::InvalidConfig(format!("{}: {m}", path.display())),
            e => e,
        })
    }

    /// The config as pretty JSON, in the form transformers reads.
    ///
    /// # Errors
    /// [`Error::ConfigSerialize`] (not expected for valid configs).
    pub fn to_json_string(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(Error::ConfigSerialize)
    }

    /// Writes the config as a transformers `config.json`, atomically
    /// ([`bannerlm_base::write_atomic`]: a reader never sees half a file).
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::ConfigSerialize`].
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let mut text = self.to_json_string()?;
        text.push('\n');
        bannerlm_base::write_atomic(path, text.as_bytes()).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })
    }
}

/// A [`RobertaConfig`] that passed [`RobertaConfig::check`]: what the model constructors
/// take. Dereferences to the config; serialises as it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidRobertaConfig(RobertaConfig);

impl ValidRobertaConfig {
    /// The checked configuration.
    pub fn config(&self) -> &RobertaConfig {
        &self.0
    }

    /// The configuration, to change it (check it again before use).
    pub fn into_inner(self) -> RobertaConfig {
        self.0
    }
}

impl std::ops::Deref for ValidRobertaConfig {
    type Target = RobertaConfig;
    fn deref(&self) -> &RobertaConfig {
        &self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        for p in ModelPreset::ALL {
            RobertaConfig::preset(p, 50_000).check().unwrap();
        }
        RobertaConfig::default().check().unwrap();
        assert_eq!(
            RobertaConfig::preset(ModelPreset::Paper, 50_000).max_input_len(),
            768
        );
    }

    #[test]
    fn validation_errors() {
        let base = RobertaConfig::preset(ModelPreset::Small, 100);
        let cases = [
            RobertaConfig {
                num_attention_heads: 3,
                ..base.clone()
            },
            RobertaConfig {
                hidden_dropout_prob: 1.0,
                ..base.clone()
            },
            RobertaConfig {
                pad_token_id: 100,
                ..base.clone()
            },
            RobertaConfig {
                max_position_embeddings: 2,
                ..base.clone()
            },
            RobertaConfig {
                layer_norm_eps: 0.0,
                ..base.clone()
            },
            RobertaConfig {
                hidden_size: 0,
                ..base.clone()
            },
            RobertaConfig {
                position_embedding_type: "relative_key".into(),
                ..base.clone()
            },
        ];
        for case in cases {
            assert!(
                matches!(case.clone().check(), Err(Error::InvalidConfig(_))),
                "{case:?}"
            );
        }
    }

    #[test]
    fn preset_sizes_known_answer() {
        let sizes = |p| {
            let c = RobertaConfig::preset(p, 1000);
            [
                c.hidden_size,
                c.num_hidden_layers,
                c.num_attention_heads,
                c.intermediate_size,
                c.max_position_embeddings,
            ]
        };
        assert_eq!(sizes(ModelPreset::Tiny), [32, 1, 2, 64, 98]);
        assert_eq!(sizes(ModelPreset::Small), [64, 2, 2, 128, 130]);
        assert_eq!(sizes(ModelPreset::Cpu), [128, 2, 4, 512, 258]);
        assert_eq!(sizes(ModelPreset::Paper), [256, 4, 4, 1024, 770]);
        assert_eq!(
            RobertaConfig::preset(ModelPreset::Tiny, 1000).vocab_size,
            1000
        );
        for p in ModelPreset::ALL {
            assert_eq!(p.name().parse::<ModelPreset>().unwrap(), p);
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
        assert!(matches!(
            "huge".parse::<ModelPreset>(),
            Err(Error::UnknownPreset(_))
        ));
    }

    #[test]
    fn json_round_trip_keeps_unknown_keys() {
        let json = r#"{"architectures": ["RobertaForMaskedLM"], "model_type": "roberta",
            "vocab_size": 300, "hidden_size": 32, "num_hidden_layers": 1,
            "num_attention_heads": 2, "intermediate_size": 64, "hidden_act": "gelu",
            "torch_dtype": "float32", "classifier_dropout": null}"#;
        let config = RobertaConfig::from_json_str(json).unwrap();
        assert_eq!(config.extra["torch_dtype"], "float32");
        let again = RobertaConfig::from_json_str(&config.to_json_string().unwrap()).unwrap();
        assert_eq!(config, again);
    }

    #[test]
    fn parse_error_has_position() {
        let err = RobertaConfig::from_json_str("{\n \"hidden_size\": \"x\"}").unwrap_err();
        assert!(matches!(err, Error::ConfigParse { line: 2, .. }), "{err}");
        let err = RobertaConfig::from_json_str(r#"{"hidden_act": "swish"}"#).unwrap_err();
        assert!(matches!(err, Error::ConfigParse { .. }), "{err}");
    }
}
