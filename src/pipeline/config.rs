//! What a pipeline run computes ([`PipelineConfig`]) and how it runs ([`PipelineOptions`]).

use std::path::PathBuf;

use contrastive_trainer::TrainParams;
use roberta_model::{ModelPreset, RobertaConfig};
use scan_sim::BannerForm;
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

/// Where the banners come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
#[non_exhaustive]
pub enum Input {
    /// A scan simulated by `scan-sim`, with ground truth.
    Simulated {
        /// Simulated services (one per address).
        hosts: u64,
        /// Monthly snapshots (at least 2: pairs join consecutive snapshots).
        snapshots: usize,
        /// How HTTP banners are written; Censys form redacts `Date` values.
        form: BannerForm,
    },
    /// Banner-record files (bannerlm JSONL, zgrab2 or Censys JSON; `.gz` allowed), as glob
    /// patterns. Snapshots are the distinct `snapshot` values of the records, in sorted order.
    Files {
        /// Glob patterns, e.g. `scans/*.jsonl.gz`.
        patterns: Vec<String>,
    },
}

impl Input {
    /// A simulated scan of `hosts` services over two snapshots, in Censys form.
    pub fn simulated(hosts: u64) -> Self {
        Input::Simulated {
            hosts,
            snapshots: 2,
            form: BannerForm::Censys,
        }
    }

    /// Real banner-record files matching `patterns`.
    pub fn files<S: Into<String>>(patterns: impl IntoIterator<Item = S>) -> Self {
        Input::Files {
            patterns: patterns.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether the input is simulated (and so has ground truth).
    pub fn is_simulated(&self) -> bool {
        matches!(self, Input::Simulated { .. })
    }
}

/// The encoder's size in a pipeline configuration; [`config`](Self::config) turns it into a
/// RoBERTa config. The named sizes are roberta-model's [`ModelPreset`]s
/// ([`preset`](Self::preset)).
///
/// In a configuration file, `model` is either an object with the five sizes or the name of
/// a preset:
///
/// ```
/// use bannerlm::model::ModelPreset;
/// use bannerlm::pipeline::{ModelSize, PipelineConfig};
///
/// let by_name: PipelineConfig = serde_json::from_str(r#"{"model": "tiny"}"#)?;
/// assert_eq!(by_name.model, ModelSize::preset(ModelPreset::Tiny));
/// let sizes: PipelineConfig = serde_json::from_str(
///     r#"{"model": {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
///                   "intermediate_size": 64, "max_input_len": 96}}"#,
/// )?;
/// assert_eq!(sizes.model, by_name.model);
/// let c = ModelSize::preset(ModelPreset::Cpu).config(8_000);
/// assert_eq!((c.hidden_size, c.max_input_len(), c.vocab_size), (128, 256, 8_000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ModelSize {
    /// Hidden width.
    pub hidden_size: usize,
    /// Transformer layers.
    pub num_hidden_layers: usize,
    /// Attention heads (must divide `hidden_size`).
    pub num_attention_heads: usize,
    /// Feed-forward width.
    pub intermediate_size: usize,
    /// Longest input in tokens, `<s>` and `</s>` included; longer banners are truncated.
    pub max_input_len: usize,
}

/// The object form of [`ModelSize`] in a file (every key required, no other key).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelSizeFields {
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_input_len: usize,
}

impl<'de> Deserialize<'de> for ModelSize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Name(String),
            Sizes(serde_json::Map<String, serde_json::Value>),
        }
        use serde::de::Error as _;
        match Form::deserialize(deserializer).map_err(|_| {
            D::Error::custom(
                "model must be a preset name (tiny, small, cpu, paper) or an object of sizes",
            )
        })? {
            Form::Name(name) => name
                .parse::<ModelPreset>()
                .map(ModelSize::preset)
                .map_err(D::Error::custom),
            Form::Sizes(map) => {
                let f: ModelSizeFields = serde_json::from_value(serde_json::Value::Object(map))
                    .map_err(D::Error::custom)?;
                Ok(ModelSize {
                    hidden_size: f.hidden_size,
                    num_hidden_layers: f.num_hidden_layers,
                    num_attention_heads: f.num_attention_heads,
                    intermediate_size: f.intermediate_size,
                    max_input_len: f.max_input_len,
                })
            }
        }
    }
}

impl ModelSize {
    /// The sizes of a named preset ([`RobertaConfig::preset`], where each preset's sizes are
    /// listed).
    pub fn preset(preset: ModelPreset) -> Self {
        let c = RobertaConfig::preset(preset, 1);
        ModelSize {
            hidden_size: c.hidden_size,
            num_hidden_layers: c.num_hidden_layers,
            num_attention_heads: c.num_attention_heads,
            intermediate_size: c.intermediate_size,
            max_input_len: c.max_input_len(),
        }
    }

    /// The RoBERTa configuration of this size for a vocabulary (unchecked: sizes beyond
    /// roberta-model's limits fail its [`RobertaConfig::check`]).
    pub fn config(&self, vocab_size: usize) -> RobertaConfig {
        let base = RobertaConfig::default();
        RobertaConfig {
            vocab_size,
            hidden_size: self.hidden_size,
            num_hidden_layers: self.num_hidden_layers,
            num_attention_heads: self.num_attention_heads,
            intermediate_size: self.intermediate_size,
            max_position_embeddings: self.max_input_len + base.pad_token_id + 1,
            ..base
        }
    }
}

/// Which protocols fine-tuning takes banner pairs from, and in what mix. Evaluation takes the
/// same protocols, without the cap.
///
/// ```
/// use bannerlm::pipeline::PairMix;
/// let mix = PairMix::default();
/// assert!(mix.takes("ssh") && mix.takes("HTTP"));
/// let http = PairMix { protocols: vec!["http".into()], ..PairMix::default() };
/// assert!(http.takes("http") && !http.takes("smtp"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PairMix {
    /// Protocols (case-insensitive) to take pairs from; empty (the default): every protocol
    /// the input holds.
    pub protocols: Vec<String>,
    /// The largest share of all pairs that one protocol may have, in (0, 1]. 1 (the default):
    /// every protocol in proportion to its records (one pair per service and gap). Below 1,
    /// a protocol with more pairs than this share of all pairs offered is sampled down to it
    /// (seeded).
    pub max_share: f64,
}

impl Default for PairMix {
    fn default() -> Self {
        PairMix {
            protocols: Vec::new(),
            max_share: 1.0,
        }
    }
}

impl PairMix {
    /// Whether pairs of `protocol` are taken.
    pub fn takes(&self, protocol: &str) -> bool {
        self.protocols.is_empty()
            || self
                .protocols
                .iter()
                .any(|p| p.eq_ignore_ascii_case(protocol))
    }
}

/// Which snapshots' records are embedded, clustered and fingerprinted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum EmbedSnapshots {
    /// The last snapshot only (one record per service).
    #[default]
    Last,
    /// Every snapshot.
    All,
}

/// Everything a run computes. [`Default`] is the quick run on a simulated scan (the README's
/// command, sized for a 2-core CPU; its time is in docs/PERFORMANCE.md); [`paper`](Self::paper)
/// has the paper's sizes.
/// Two runs with equal configurations produce the same outputs, so `--resume` compares
/// configurations stage by stage.
///
/// ```
/// use bannerlm::pipeline::{Input, PipelineConfig};
/// let config = PipelineConfig { input: Input::simulated(500), ..PipelineConfig::default() }.check()?;
/// assert_eq!(config.epsilons, density_cluster::PAPER_EPSILONS);
/// assert!(PipelineConfig { epsilons: vec![], ..PipelineConfig::default() }.check().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Read from a file with [`from_json_file`](Self::from_json_file): a key the configuration
/// does not have (a misspelling) is an error naming the key and the file, never ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// The banners.
    pub input: Input,
    /// Seed of the simulation, training, sampling and fingerprint draws.
    pub seed: u64,
    /// Tokenizer vocabulary, special tokens and the 256 bytes included.
    pub vocab_size: usize,
    /// Banners the tokenizer is trained on (a sample of the training records).
    pub tokenizer_samples: usize,
    /// Encoder size.
    pub model: ModelSize,
    /// Masked-LM pretraining (all protocols, training hosts).
    pub pretrain: TrainParams,
    /// Contrastive fine-tuning (pairs of every consecutive pair of snapshots, training hosts,
    /// protocols as `finetune_mix` says).
    pub finetune: TrainParams,
    /// Which protocols fine-tuning (and evaluation) take pairs from, and the mix.
    pub finetune_mix: PairMix,
    /// Drop Censys rows flagged `truncated` (counted in the input stage's summary). Empty
    /// banners are always skipped and counted.
    pub drop_truncated: bool,
    /// Checkpoint every this many training steps.
    pub checkpoint_every: u64,
    /// Held-out pairs evaluated at most (a seeded sample beyond that).
    pub eval_max_pairs: usize,
    /// Which snapshots are embedded and clustered.
    pub embed_snapshots: EmbedSnapshots,
    /// Sequences per forward pass when embedding.
    pub embed_batch_size: usize,
    /// PCA output dimensions (the paper: 64); at most the model's hidden size.
    pub pca_components: usize,
    /// HDBSCAN `min_cluster_size` (the paper: 50).
    pub min_cluster_size: usize,
    /// HDBSCAN `min_samples` (the paper: 5).
    pub min_samples: usize,
    /// HDBSCAN `cluster_selection_epsilon` values (the paper: [`density_cluster::PAPER_EPSILONS`]).
    pub epsilons: Vec<f64>,
    /// HTTP headers to fingerprint.
    pub fingerprint_headers: Vec<String>,
    /// Banners per fingerprint draw (the paper: 10).
    pub fingerprint_k: usize,
    /// Draws per cluster and header (the paper: 100).
    pub fingerprint_draws: usize,
    /// Besides `fingerprint_headers`, fingerprint every HTTP header carried by at least this
    /// share of a cluster's members, as the paper did (`None`, the default: only
    /// `fingerprint_headers`); in `(0, 1]` ([`lcs_fingerprint::FingerprintParams::all_headers`]).
    pub fingerprint_all_headers: Option<f64>,
    /// Fingerprints whose precision (share of their matches inside their cluster) is below
    /// this are dropped, with the reason, into `fingerprint/dropped.json`
    /// ([`lcs_fingerprint::DEFAULT_MIN_PRECISION`]).
    pub fingerprint_min_precision: f64,
    /// Annotated example banners in the report.
    pub report_examples: usize,
}

impl Default for PipelineConfig {
    /// The default run. These are THE sizes of the README's command: change them here.
    fn default() -> Self {
        PipelineConfig {
            input: Input::Simulated {
                hosts: 40_000,
                snapshots: 2,
                form: BannerForm::Censys,
            },
            seed: 0,
            vocab_size: 8_000,
            tokenizer_samples: 100_000,
            model: ModelSize::preset(ModelPreset::Cpu),
            pretrain: TrainParams {
                steps: 400,
                batch_size: 32,
                learning_rate: 1e-3,
                warmup_steps: 50,
                ..TrainParams::default()
            },
            finetune: TrainParams {
                steps: 1_500,
                batch_size: 16,
                learning_rate: 5e-4,
                warmup_steps: 50,
                ..TrainParams::default()
            },
            finetune_mix: PairMix::default(),
            drop_truncated: false,
            checkpoint_every: 100,
            eval_max_pairs: 5_000,
            embed_snapshots: EmbedSnapshots::Last,
            embed_batch_size: 64,
            pca_components: 64,
            min_cluster_size: 50,
            min_samples: 5,
            epsilons: density_cluster::PAPER_EPSILONS.to_vec(),
            fingerprint_headers: vec![
                "Server".into(),
                "Set-Cookie".into(),
                "WWW-Authenticate".into(),
            ],
            fingerprint_k: 10,
            fingerprint_draws: 100,
            fingerprint_all_headers: None,
            fingerprint_min_precision: lcs_fingerprint::DEFAULT_MIN_PRECISION,
            report_examples: 6,
        }
    }
}

impl PipelineConfig {
    /// The paper's sizes: 50,000-token vocabulary, the paper's model, 100k MLM steps of 1,024
    /// sequences, 20k fine-tuning steps of 512 pairs, 500,000 simulated hosts over six
    /// snapshots. Meant for a GPU (`--features wgpu`, `BANNERLM_DEVICE=wgpu`).
    pub fn paper() -> Self {
        PipelineConfig {
            input: Input::Simulated {
                hosts: 500_000,
                snapshots: 6,
                form: BannerForm::Censys,
            },
            vocab_size: bpe_tokenizer::PAPER_VOCAB_SIZE,
            tokenizer_samples: 1_000_000,
            model: ModelSize::preset(ModelPreset::Paper),
            pretrain: TrainParams::paper_mlm(),
            finetune: TrainParams::paper_finetune(),
            checkpoint_every: 1_000,
            eval_max_pairs: 50_000,
            ..PipelineConfig::default()
        }
    }

    /// A tiny configuration for tests and smoke runs: `hosts` simulated services, the tiny
    /// model, a few training steps, small clusters.
    pub fn tiny(hosts: u64) -> Self {
        PipelineConfig {
            input: Input::Simulated {
                hosts,
                snapshots: 2,
                form: BannerForm::Censys,
            },
            vocab_size: 600,
            tokenizer_samples: 10_000,
            model: ModelSize::preset(ModelPreset::Tiny),
            pretrain: TrainParams {
                steps: 6,
                batch_size: 8,
                warmup_steps: 2,
                learning_rate: 1e-3,
                ..TrainParams::default()
            },
            finetune: TrainParams {
                steps: 6,
                batch_size: 8,
                warmup_steps: 2,
                learning_rate: 1e-3,
                ..TrainParams::default()
            },
            checkpoint_every: 3,
            eval_max_pairs: 200,
            pca_components: 8,
            min_cluster_size: 5,
            min_samples: 3,
            fingerprint_draws: 10,
            report_examples: 2,
            ..PipelineConfig::default()
        }
    }

    /// Reads a configuration from a JSON file (for example an earlier run's
    /// `<out>/config.json`). Keys left out take the [`Default`] values; a key the
    /// configuration does not have is an error.
    ///
    /// ```
    /// use bannerlm::pipeline::PipelineConfig;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("sizes.json");
    /// std::fs::write(&path, r#"{"seed": 7, "epsilon": [0.1]}"#)?;
    /// let err = PipelineConfig::from_json_file(&path).unwrap_err().to_string();
    /// assert!(err.contains("sizes.json") && err.contains("`epsilon`"), "{err}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read (or is larger than
    /// [`MAX_CONFIG_FILE_BYTES`]); [`Error::ConfigFile`] naming the file and serde's message
    /// (the key, line and column) when it does not parse.
    pub fn from_json_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        use std::io::Read as _;
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut text = Vec::new();
        file.take(MAX_CONFIG_FILE_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(|e| Error::io(path, e))?;
        if text.len() as u64 > MAX_CONFIG_FILE_BYTES {
            return Err(Error::io(
                path,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "larger than {MAX_CONFIG_FILE_BYTES} bytes: not a pipeline configuration"
                    ),
                ),
            ));
        }
        serde_json::from_slice(&text).map_err(|source| Error::ConfigFile {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Validates every field: sizes are positive and below the documented limits (so that no
    /// setting can make a run allocate without bound), header names are HTTP tokens.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first bad field.
    pub fn check(self) -> Result<ValidPipelineConfig> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        let within = |key: &str, value: usize, min: usize, max: usize| -> Result<()> {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(Error::InvalidConfig(format!(
                    "{key} must be in {min}..={max}, got {value}"
                )))
            }
        };
        match &self.input {
            Input::Simulated {
                hosts, snapshots, ..
            } => {
                if *hosts == 0 || *hosts > scan_sim::MAX_HOSTS {
                    return bad(format!(
                        "input.hosts must be in 1..={}, got {hosts}",
                        scan_sim::MAX_HOSTS
                    ));
                }
                if !(2..=240).contains(snapshots) {
                    return bad(format!(
                        "input.snapshots must be in 2..=240 (pairs need two), got {snapshots}"
                    ));
                }
            }
            Input::Files { patterns } => {
                if patterns.is_empty() || patterns.iter().any(String::is_empty) {
                    return bad("input.patterns must be non-empty".into());
                }
            }
        }
        within("vocab_size", self.vocab_size, 300, MAX_VOCAB_SIZE)?;
        if self.tokenizer_samples == 0 {
            return bad("tokenizer_samples must be at least 1".into());
        }
        let m = &self.model;
        within("model.hidden_size", m.hidden_size, 1, MAX_MODEL_WIDTH)?;
        within(
            "model.num_hidden_layers",
            m.num_hidden_layers,
            1,
            MAX_MODEL_LAYERS,
        )?;
        within(
            "model.num_attention_heads",
            m.num_attention_heads,
            1,
            MAX_MODEL_LAYERS,
        )?;
        within(
            "model.intermediate_size",
            m.intermediate_size,
            1,
            4 * MAX_MODEL_WIDTH,
        )?;
        if !m.hidden_size.is_multiple_of(m.num_attention_heads) {
            return bad(format!(
                "model.num_attention_heads ({}) must divide model.hidden_size ({})",
                m.num_attention_heads, m.hidden_size
            ));
        }
        within("model.max_input_len", m.max_input_len, 16, MAX_INPUT_LEN)?;
        for (name, p) in [("pretrain", &self.pretrain), ("finetune", &self.finetune)] {
            if let Err(e) = p.clone().check() {
                return bad(format!("{name}: {e}"));
            }
            within(&format!("{name}.batch_size"), p.batch_size, 1, MAX_BATCH)?;
        }
        if self.checkpoint_every == 0 {
            return bad("checkpoint_every must be at least 1".into());
        }
        if self.eval_max_pairs < 2 {
            return bad("eval_max_pairs must be at least 2".into());
        }
        let mix = &self.finetune_mix;
        within("finetune_mix.protocols", mix.protocols.len(), 0, MAX_LIST)?;
        if !(mix.max_share > 0.0 && mix.max_share <= 1.0) {
            return bad(format!(
                "finetune_mix.max_share must be in (0, 1], got {}",
                mix.max_share
            ));
        }
        if mix
            .protocols
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return bad("finetune_mix.protocols must be protocol names such as `ssh`".into());
        }
        within("embed_batch_size", self.embed_batch_size, 1, MAX_BATCH)?;
        if self.pca_components == 0 || self.pca_components > m.hidden_size {
            return bad(format!(
                "pca_components must be in 1..=model.hidden_size ({}), got {}",
                m.hidden_size, self.pca_components
            ));
        }
        within(
            "min_cluster_size",
            self.min_cluster_size,
            2,
            MAX_CLUSTER_PARAM,
        )?;
        within("min_samples", self.min_samples, 1, MAX_CLUSTER_PARAM)?;
        within("epsilons (count)", self.epsilons.len(), 1, MAX_LIST)?;
        if let Some(e) = self
            .epsilons
            .iter()
            .find(|e| !(e.is_finite() && **e >= 0.0))
        {
            return bad(format!("epsilons must be finite values >= 0, got {e}"));
        }
        within(
            "fingerprint_headers (count)",
            self.fingerprint_headers.len(),
            1,
            MAX_LIST,
        )?;
        for name in &self.fingerprint_headers {
            check_header_name(name)?;
        }
        within("fingerprint_k", self.fingerprint_k, 2, MAX_FINGERPRINT_K)?;
        within(
            "fingerprint_draws",
            self.fingerprint_draws,
            1,
            MAX_FINGERPRINT_DRAWS,
        )?;
        if let Some(share) = self.fingerprint_all_headers
            && !(share > 0.0 && share <= 1.0)
        {
            return bad(format!(
                "fingerprint_all_headers must be in (0, 1], got {share}"
            ));
        }
        if !(0.0..=1.0).contains(&self.fingerprint_min_precision) {
            return bad(format!(
                "fingerprint_min_precision must be in [0, 1], got {}",
                self.fingerprint_min_precision
            ));
        }
        within("report_examples", self.report_examples, 0, MAX_LIST)?;
        Ok(ValidPipelineConfig(self))
    }
}

/// Largest pipeline configuration file read (1 MiB).
pub const MAX_CONFIG_FILE_BYTES: u64 = 1 << 20;
/// Largest tokenizer vocabulary (the paper: 50,000).
pub const MAX_VOCAB_SIZE: usize = 1_000_000;
/// Largest `model.hidden_size` (`model.intermediate_size`: four times that).
pub const MAX_MODEL_WIDTH: usize = 16_384;
/// Most `model.num_hidden_layers` and `model.num_attention_heads`.
pub const MAX_MODEL_LAYERS: usize = 256;
/// Longest `model.max_input_len` in tokens (the paper: 768).
pub const MAX_INPUT_LEN: usize = 16_384;
/// Largest training and embedding batch.
pub const MAX_BATCH: usize = 65_536;
/// Largest `min_cluster_size` and `min_samples`.
pub const MAX_CLUSTER_PARAM: usize = 1_000_000;
/// Most epsilons, fingerprint headers and report examples.
pub const MAX_LIST: usize = 64;
/// Largest `fingerprint_k` (the paper: 10).
pub const MAX_FINGERPRINT_K: usize = 10_000;
/// Most `fingerprint_draws` (the paper: 100).
pub const MAX_FINGERPRINT_DRAWS: usize = 100_000;
/// Longest fingerprint header name.
pub const MAX_HEADER_NAME_LEN: usize = 64;

/// Checks that a header name is an HTTP field name (RFC 9110 `token`: letters, digits and
/// ``!#$%&'*+-.^_`|~``), at most [`MAX_HEADER_NAME_LEN`] bytes and not only dots. Header names
/// become file names of the output folder, so no separator or control character may pass.
fn check_header_name(name: &str) -> Result<()> {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty()
        || name.len() > MAX_HEADER_NAME_LEN
        || !name.bytes().all(tchar)
        || name.bytes().all(|b| b == b'.')
    {
        return Err(Error::InvalidConfig(format!(
            "fingerprint_headers: {:?} is not an HTTP header name (1 to {MAX_HEADER_NAME_LEN} of \
             the token characters A-Z a-z 0-9 !#$%&'*+-.^_`|~)",
            bannerlm_base::escape_str(name)
        )));
    }
    Ok(())
}

/// A checked [`PipelineConfig`] (dereferences to it).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidPipelineConfig(PipelineConfig);

impl std::ops::Deref for ValidPipelineConfig {
    type Target = PipelineConfig;
    fn deref(&self) -> &PipelineConfig {
        &self.0
    }
}

impl ValidPipelineConfig {
    /// The configuration.
    pub fn config(&self) -> &PipelineConfig {
        &self.0
    }
}

/// How a run behaves without changing what it computes: output folder, resume, progress,
/// Recog. Consuming setters; [`Default`] writes into `bannerlm-out/`.
///
/// ```
/// use bannerlm::pipeline::PipelineOptions;
/// let o = PipelineOptions::new("out").resume(true).progress(false);
/// assert!(o.resume && !o.progress && o.recog_dir.is_none() && !o.no_recog);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PipelineOptions {
    /// Output folder (created).
    pub out_dir: PathBuf,
    /// Skip stages whose outputs exist with the same configuration, and continue interrupted
    /// training and embedding from their checkpoints.
    pub resume: bool,
    /// Progress bars on a terminal (plain lines per stage are printed either way).
    pub progress: bool,
    /// Recog XML directory for the comparison stage; `None`: the `RECOG_XML_DIR` variable, else
    /// the stage is skipped with a note. A directory given here or in `RECOG_XML_DIR` that
    /// does not exist is an error, never a silent skip.
    pub recog_dir: Option<PathBuf>,
    /// Skip the Recog comparison even when `RECOG_XML_DIR` is set.
    pub no_recog: bool,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self::new("bannerlm-out")
    }
}

impl PipelineOptions {
    /// Options writing into `out_dir`, not resuming, with progress.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        PipelineOptions {
            out_dir: out_dir.into(),
            resume: false,
            progress: true,
            recog_dir: None,
            no_recog: false,
        }
    }

    /// Sets [`resume`](Self::resume).
    #[must_use]
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Sets [`progress`](Self::progress).
    #[must_use]
    pub fn progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// Sets [`recog_dir`](Self::recog_dir).
    #[must_use]
    pub fn recog_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.recog_dir = dir;
        self
    }

    /// Sets [`no_recog`](Self::no_recog).
    #[must_use]
    pub fn no_recog(mut self, no_recog: bool) -> Self {
        self.no_recog = no_recog;
        self
    }

    /// The Recog directory in effect: none with [`no_recog`](Self::no_recog), else the option,
    /// else a non-empty `RECOG_XML_DIR`.
    ///
    /// # Errors
    /// [`Error::RecogDir`] naming the path and where it came from when it is not a directory.
    pub fn effective_recog_dir(&self) -> Result<Option<PathBuf>> {
        if self.no_recog {
            return Ok(None);
        }
        let (dir, origin) = if let Some(d) = &self.recog_dir {
            (d.clone(), "--recog")
        } else {
            match std::env::var_os("RECOG_XML_DIR").filter(|v| !v.is_empty()) {
                Some(d) => (PathBuf::from(d), "RECOG_XML_DIR"),
                None => return Ok(None),
            }
        };
        let not_dir = |source| Error::RecogDir {
            path: dir.clone(),
            origin,
            source,
        };
        match std::fs::metadata(&dir) {
            Err(e) => Err(not_dir(e)),
            Ok(m) if !m.is_dir() => Err(not_dir(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "not a directory",
            ))),
            Ok(_) => Ok(Some(dir)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        for c in [
            PipelineConfig::default(),
            PipelineConfig::paper(),
            PipelineConfig::tiny(300),
        ] {
            assert!(c.check().is_ok());
        }
    }

    #[test]
    fn each_bad_field_is_rejected() {
        let d = PipelineConfig::default;
        let cases = [
            PipelineConfig {
                input: Input::simulated(0),
                ..d()
            },
            PipelineConfig {
                input: Input::Simulated {
                    hosts: 10,
                    snapshots: 1,
                    form: BannerForm::Raw,
                },
                ..d()
            },
            PipelineConfig {
                input: Input::files(Vec::<String>::new()),
                ..d()
            },
            PipelineConfig {
                vocab_size: 10,
                ..d()
            },
            PipelineConfig {
                model: ModelSize {
                    num_attention_heads: 3,
                    ..ModelSize::preset(ModelPreset::Cpu)
                },
                ..d()
            },
            PipelineConfig {
                pretrain: TrainParams {
                    steps: 0,
                    ..TrainParams::default()
                },
                ..d()
            },
            PipelineConfig {
                pca_components: 1_000,
                ..d()
            },
            PipelineConfig {
                epsilons: vec![f64::NAN],
                ..d()
            },
            PipelineConfig {
                fingerprint_headers: vec![String::new()],
                ..d()
            },
            PipelineConfig {
                fingerprint_k: 1,
                ..d()
            },
            PipelineConfig {
                finetune_mix: PairMix {
                    max_share: 0.0,
                    ..PairMix::default()
                },
                ..d()
            },
            PipelineConfig {
                finetune_mix: PairMix {
                    max_share: f64::NAN,
                    ..PairMix::default()
                },
                ..d()
            },
            PipelineConfig {
                finetune_mix: PairMix {
                    protocols: vec!["ssh".into(), "../x".into()],
                    ..PairMix::default()
                },
                ..d()
            },
            PipelineConfig {
                fingerprint_all_headers: Some(0.0),
                ..d()
            },
            PipelineConfig {
                fingerprint_all_headers: Some(f64::NAN),
                ..d()
            },
            PipelineConfig {
                fingerprint_min_precision: 1.5,
                ..d()
            },
        ];
        for c in cases {
            assert!(
                matches!(c.clone().check(), Err(Error::InvalidConfig(_))),
                "{c:?}"
            );
        }
    }

    #[test]
    fn header_names_are_http_tokens() {
        for name in [
            "../../etc/x",
            "a/b",
            "x\u{1b}[2J",
            "..",
            "",
            "a b",
            "Ser\u{e9}ver",
        ] {
            let c = PipelineConfig {
                fingerprint_headers: vec![name.into()],
                ..PipelineConfig::default()
            };
            let e = c.check().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains("fingerprint_headers"), "{name:?}: {e}");
            assert!(!e.chars().any(char::is_control), "{e:?}");
        }
        let long = "X".repeat(MAX_HEADER_NAME_LEN + 1);
        let c = PipelineConfig {
            fingerprint_headers: vec![long],
            ..PipelineConfig::default()
        };
        assert!(c.check().is_err());
        let c = PipelineConfig {
            fingerprint_headers: vec!["X-Powered-By".into(), "Set-Cookie".into()],
            ..PipelineConfig::default()
        };
        assert!(c.check().is_ok());
    }

    #[test]
    fn unknown_keys_are_errors_naming_key_and_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        for (text, key) in [
            (r#"{"epsilon": [0.1]}"#, "epsilon"),
            (r#"{"model": {"hidden": 64}}"#, "hidden"),
            (r#"{"pretrain": {"step": 3}}"#, "step"),
            (
                r#"{"input": {"type": "simulated", "hosts": 5, "snapshots": 2, "form": "censys", "host": 1}}"#,
                "host",
            ),
        ] {
            let path = dir.path().join("my-config.json");
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
            let e = PipelineConfig::from_json_file(&path)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                e.contains("my-config.json") && e.contains(&format!("`{key}`")),
                "{text}: {e}"
            );
        }
        let path = dir.path().join("ok.json");
        std::fs::write(&path, r#"{"seed": 3}"#).unwrap_or_else(|e| panic!("{e}"));
        let c = PipelineConfig::from_json_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.seed, 3);
        assert_eq!(c.epsilons, PipelineConfig::default().epsilons);
    }

    #[test]
    fn a_missing_recog_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let missing = dir.path().join("no-such-recog");
        let o = PipelineOptions::new("out").recog_dir(Some(missing.clone()));
        let e = o
            .effective_recog_dir()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("no-such-recog") && e.contains("--recog"), "{e}");
        let o = PipelineOptions::new("out")
            .recog_dir(Some(missing))
            .no_recog(true);
        assert!(matches!(o.effective_recog_dir(), Ok(None)));
        let o = PipelineOptions::new("out").recog_dir(Some(dir.path().to_path_buf()));
        assert!(matches!(o.effective_recog_dir(), Ok(Some(_))));
    }

    #[test]
    fn config_round_trips_through_json() {
        let c = PipelineConfig::paper();
        let json = serde_json::to_string(&c).unwrap_or_default();
        let back: PipelineConfig = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, c);
    }

    #[test]
    fn model_size_is_the_roberta_preset() {
        for p in ModelPreset::ALL {
            assert_eq!(
                ModelSize::preset(p).config(8_000),
                RobertaConfig::preset(p, 8_000)
            );
        }
        let tiny = ModelSize::preset(ModelPreset::Tiny);
        assert_eq!(
            [
                tiny.hidden_size,
                tiny.num_hidden_layers,
                tiny.num_attention_heads,
                tiny.intermediate_size,
                tiny.max_input_len
            ],
            [32, 1, 2, 64, 96]
        );
    }

    #[test]
    fn model_is_a_preset_name_or_sizes() {
        let c: PipelineConfig = serde_json::from_str(r#"{"model": "paper"}"#).unwrap_or_default();
        assert_eq!(c.model, ModelSize::preset(ModelPreset::Paper));
        for bad in [
            r#"{"model": "huge"}"#,
            r#"{"model": 3}"#,
            r#"{"model": {"hidden_size": 32}}"#,
        ] {
            assert!(
                serde_json::from_str::<PipelineConfig>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn autotraits() {
        fn check<T: Send + Sync>() {}
        check::<PipelineConfig>();
        check::<ValidPipelineConfig>();
        check::<PipelineOptions>();
        check::<Error>();
    }
}
