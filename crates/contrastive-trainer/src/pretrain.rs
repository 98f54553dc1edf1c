//! Masked-LM pretraining.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use roberta_model::{RobertaForMaskedLm, ValidRobertaConfig};

use crate::data::{MlmCorpus, check_batch, check_length};
use crate::error::{Error, Result};
use crate::mask::{ValidMaskingParams, mask_batch};
use crate::order::{BatchOrder, MLM_BUCKETING, TAG_MASK, derive_seed};
use crate::params::{RunOptions, ValidTrainParams};
use crate::train::{StepLoss, Task, TrainOutcome, run};

/// Masked-LM pretraining of a RoBERTa on banner token sequences.
///
/// ```no_run
/// use bpe_tokenizer::BannerTokenizer;
/// use contrastive_trainer::{MlmCorpus, Pretrainer, RunOptions, TrainParams};
/// use roberta_model::{ModelPreset, RobertaConfig};
///
/// let tokenizer = BannerTokenizer::from_file("tokenizer.json")?;
/// let corpus = MlmCorpus::encode(&tokenizer, &["HTTP/1.1 200 OK\r\n\r\n"])?;
/// let config = RobertaConfig::preset(ModelPreset::Small, tokenizer.vocab_size()).check()?;
/// let trainer = Pretrainer::new(config, TrainParams::default().check()?);
/// let out = trainer.run(&corpus, &RunOptions::new("runs/mlm").resume(true), &roberta_model::default_device()?)?;
/// out.model.save_pretrained("runs/mlm/final", trainer.model_config())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Pretrainer {
    model: ValidRobertaConfig,
    params: ValidTrainParams,
    masking: ValidMaskingParams,
}

impl Pretrainer {
    /// A pretrainer for a fresh model of `model` size with RoBERTa's masking rule.
    pub fn new(model: ValidRobertaConfig, params: ValidTrainParams) -> Self {
        Self {
            model,
            params,
            masking: ValidMaskingParams::default(),
        }
    }

    /// Replaces the masking rule.
    #[must_use]
    pub fn with_masking(mut self, masking: ValidMaskingParams) -> Self {
        self.masking = masking;
        self
    }

    /// The model configuration.
    pub fn model_config(&self) -> &ValidRobertaConfig {
        &self.model
    }

    /// The optimisation settings.
    pub fn params(&self) -> &ValidTrainParams {
        &self.params
    }

    /// Trains from scratch (or resumes, see [`RunOptions::resume`]).
    ///
    /// # Errors
    /// [`Error::NoData`] for an empty corpus, [`Error::InvalidParam`] when the corpus vocabulary
    /// does not fit the model or a run exists in the directory without `resume`, checkpoint and
    /// I/O errors, [`Error::NonFinite`] when the loss diverges.
    pub fn run(
        &self,
        corpus: &MlmCorpus,
        options: &RunOptions,
        device: &Device,
    ) -> Result<TrainOutcome<RobertaForMaskedLm>> {
        check_batch(corpus.len(), self.params.batch_size, "masked-LM")?;
        if corpus.vocab_size() > self.model.vocab_size {
            return Err(Error::InvalidParam(format!(
                "tokenizer vocabulary ({}) is larger than the model's ({})",
                corpus.vocab_size(),
                self.model.vocab_size
            )));
        }
        let longest = corpus.sequences().iter().map(Vec::len).max().unwrap_or(0);
        check_length(longest, &self.model)?;
        crate::eval::check_ids(corpus.sequences(), self.model.vocab_size)?;
        let mut task = MlmTask {
            corpus,
            order: BatchOrder::new(
                corpus.sequences().iter().map(Vec::len).collect(),
                self.params.batch_size,
                Some(MLM_BUCKETING),
                self.params.seed,
            ),
            masking: self.masking,
            seed: self.params.seed,
        };
        let settings = serde_json::json!({ "model": &self.model, "masking": self.masking });
        let config = self.model.clone();
        run(&mut task, &self.params, settings, options, device, |d| {
            Ok(RobertaForMaskedLm::new(&config, d)?)
        })
    }
}

struct MlmTask<'a> {
    corpus: &'a MlmCorpus,
    order: BatchOrder,
    masking: ValidMaskingParams,
    seed: u64,
}

impl Task for MlmTask<'_> {
    type Model = RobertaForMaskedLm;
    const NAME: &'static str = "mlm";

    fn loss(&mut self, model: &RobertaForMaskedLm, step: u64, device: &Device) -> Result<StepLoss> {
        let seqs: Vec<&[u32]> = self
            .order
            .indices(step)
            .iter()
            .map(|&i| self.corpus.sequences()[i].as_slice())
            .collect();
        let tokens = seqs.iter().map(|s| s.len()).sum();
        let mut rng = StdRng::seed_from_u64(derive_seed(self.seed, TAG_MASK, step));
        let b = mask_batch(
            &seqs,
            self.corpus.special_ids(),
            self.corpus.vocab_size(),
            self.masking,
            &mut rng,
        );
        let n = b.positions.len();
        let ids = Tensor::<2, Int>::from_data(TensorData::new(b.input, b.shape), device);
        let mask_pad: Tensor<2, Bool> = model.roberta.padding_mask(ids.clone());
        let positions = Tensor::<1, Int>::from_data(TensorData::new(b.positions, [n]), device);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(b.labels, [n]), device);
        let total = model.mlm_loss(ids, mask_pad, positions, labels);
        Ok(StepLoss {
            total: total.clone(),
            parts: vec![("mlm", total)],
            tokens,
        })
    }
}
