//! Contrastive fine-tuning with the paper's loss (Eq. 1).

use banner_parse::Label;
use burn::module::Module;
use burn::tensor::activation::{log_sigmoid, sigmoid};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use roberta_model::{RobertaForStability, ValidRobertaConfig, pool_weighted};
use serde::{Deserialize, Serialize};

use crate::data::{PairCorpus, check_batch, check_length};
use crate::error::{Error, Result};
use crate::mask::pad;
use crate::order::BatchOrder;
use crate::params::{RunOptions, ValidTrainParams};
use crate::train::{StepLoss, Task, TrainOutcome, run};

/// Weights of the three terms of the fine-tuning loss
/// `stability * BCE + pull * mean d(a_i, b_i) - push * mean d(a_i, b_{i+1 mod n})`
/// (`d` the Euclidean distance of unit-norm embeddings). The paper uses 1, 1, 1.
///
/// With `push_margin = Some(m)` the push term becomes the hinge `mean max(0, m - d(a_i,
/// b_{i+1}))`: shifted partners are pushed only until they are `m` apart (an extension, off by
/// default). Unchecked; [`check`](Self::check) gives the [`ValidLossWeights`] that
/// [`Finetuner::with_weights`] takes.
///
/// ```
/// use contrastive_trainer::LossWeights;
/// let w = LossWeights::default();
/// assert_eq!((w.stability, w.pull, w.push, w.push_margin), (1.0, 1.0, 1.0, None));
/// assert!(w.check().is_ok());
/// assert!(LossWeights { pull: -1.0, ..w }.check().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossWeights {
    /// Weight of the token-stability binary cross-entropy. Default 1.
    pub stability: f32,
    /// Weight of the mean distance of matching pairs. Default 1.
    pub pull: f32,
    /// Weight of the mean distance to the circularly shifted partner (subtracted). Default 1.
    pub push: f32,
    /// Hinge margin for the push term; `None` is the paper's plain distance. Default `None`.
    pub push_margin: Option<f32>,
}

impl Default for LossWeights {
    fn default() -> Self {
        Self {
            stability: 1.0,
            pull: 1.0,
            push: 1.0,
            push_margin: None,
        }
    }
}

impl LossWeights {
    /// Validates that the weights are finite and non-negative.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] otherwise.
    pub fn check(self) -> Result<ValidLossWeights> {
        for (name, v) in [
            ("stability", self.stability),
            ("pull", self.pull),
            ("push", self.push),
            ("push_margin", self.push_margin.unwrap_or(0.0)),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(Error::InvalidParam(format!(
                    "loss weight {name} must be finite and >= 0, got {v}"
                )));
            }
        }
        Ok(ValidLossWeights(self))
    }
}

/// [`LossWeights`] that passed [`LossWeights::check`] (dereferences to them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidLossWeights(LossWeights);

impl Default for ValidLossWeights {
    /// The paper's weights ([`LossWeights::default`]).
    fn default() -> Self {
        ValidLossWeights(LossWeights::default())
    }
}

impl std::ops::Deref for ValidLossWeights {
    type Target = LossWeights;
    fn deref(&self) -> &LossWeights {
        &self.0
    }
}

/// Contrastive fine-tuning of a RoBERTa with a stability head on banner pairs.
///
/// ```no_run
/// use bpe_tokenizer::BannerTokenizer;
/// use contrastive_trainer::{Finetuner, PairCorpus, RunOptions, TrainParams};
/// use roberta_model::RobertaForMaskedLm;
///
/// # let pairs = vec![];
/// let tokenizer = BannerTokenizer::from_file("tokenizer.json")?;
/// let corpus = PairCorpus::from_pairs(&tokenizer, &pairs, bpe_tokenizer::MIN_MATCHED_TOKENS)?;
/// let device = roberta_model::default_device()?;
/// let (mlm, config) = RobertaForMaskedLm::from_pretrained("runs/mlm/final", &device)?;
/// let tuner = Finetuner::new(config, TrainParams::default().check()?);
/// let out = tuner.run_from(mlm, &corpus, &RunOptions::new("runs/ft"), &device)?;
/// out.model.save_pretrained("runs/ft/final", tuner.model_config())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Finetuner {
    model: ValidRobertaConfig,
    params: ValidTrainParams,
    weights: ValidLossWeights,
}

impl Finetuner {
    /// A fine-tuner for a model of `model` size with the paper's loss weights.
    pub fn new(model: ValidRobertaConfig, params: ValidTrainParams) -> Self {
        Self {
            model,
            params,
            weights: ValidLossWeights::default(),
        }
    }

    /// Replaces the loss weights.
    #[must_use]
    pub fn with_weights(mut self, weights: ValidLossWeights) -> Self {
        self.weights = weights;
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

    /// Fine-tunes a pretrained masked-LM model (its encoder, with a fresh stability head), or
    /// resumes the run in `options.dir`.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub fn run_from(
        &self,
        pretrained: roberta_model::RobertaForMaskedLm,
        corpus: &PairCorpus,
        options: &RunOptions,
        device: &Device,
    ) -> Result<TrainOutcome<RobertaForStability>> {
        let vocab = pretrained.roberta.vocab_size();
        if vocab != self.model.vocab_size {
            return Err(Error::InvalidParam(format!(
                "the pretrained model has a vocabulary of {vocab}, the configuration {}",
                self.model.vocab_size
            )));
        }
        let config = self.model.clone();
        self.run_with(corpus, options, device, move |d| {
            // A fresh graph: the pretrained weights become new leaves on the training device.
            let model = pretrained.valid().into_stability(&config)?;
            Ok(model.to_device(d).train())
        })
    }

    /// Fine-tunes a freshly initialised model (no pretraining; for ablations and tests), or
    /// resumes the run in `options.dir`.
    ///
    /// # Errors
    /// [`Error::NoData`] for an empty corpus, [`Error::InvalidParam`] for a model too small for
    /// the data or a run already in the directory without `resume`, checkpoint and I/O errors,
    /// [`Error::NonFinite`] when the loss diverges.
    pub fn run(
        &self,
        corpus: &PairCorpus,
        options: &RunOptions,
        device: &Device,
    ) -> Result<TrainOutcome<RobertaForStability>> {
        let config = self.model.clone();
        self.run_with(corpus, options, device, move |d| {
            Ok(RobertaForStability::new(&config, d)?)
        })
    }

    fn run_with(
        &self,
        corpus: &PairCorpus,
        options: &RunOptions,
        device: &Device,
        init: impl FnOnce(&Device) -> Result<RobertaForStability>,
    ) -> Result<TrainOutcome<RobertaForStability>> {
        check_batch(corpus.len(), self.params.batch_size, "pair")?;
        let longest = corpus
            .pairs()
            .iter()
            .map(|p| p.a.ids.len().max(p.b.ids.len()))
            .max()
            .unwrap_or(0);
        check_length(longest, &self.model)?;
        for p in corpus.pairs() {
            crate::eval::check_ids(&[&p.a.ids, &p.b.ids], self.model.vocab_size)?;
        }
        let pad_id = u32::try_from(self.model.pad_token_id).unwrap_or(1);
        let mut task = PairTask {
            corpus,
            order: BatchOrder::new(
                corpus
                    .pairs()
                    .iter()
                    .map(|p| p.a.ids.len().max(p.b.ids.len()))
                    .collect(),
                self.params.batch_size,
                // Random batches: bucketed pair batches (`PAIR_BUCKETING`) cut padding from
                // 52% to 12% but, measured on the default run, lowered unchanged pairs below
                // 0.1 from 98.2% to 94.4% (docs/performance-history.md); off until that is
                // understood.
                None,
                self.params.seed,
            ),
            weights: self.weights,
            pad_id,
        };
        let settings = serde_json::json!({ "model": &self.model, "loss": self.weights });
        run(&mut task, &self.params, settings, options, device, init)
    }
}

struct PairTask<'a> {
    corpus: &'a PairCorpus,
    order: BatchOrder,
    weights: ValidLossWeights,
    pad_id: u32,
}

impl Task for PairTask<'_> {
    type Model = RobertaForStability;
    const NAME: &'static str = "finetune";

    fn loss(
        &mut self,
        model: &RobertaForStability,
        step: u64,
        device: &Device,
    ) -> Result<StepLoss> {
        let pairs: Vec<_> = self
            .order
            .indices(step)
            .iter()
            .map(|&i| &self.corpus.pairs()[i])
            .collect();
        // One forward pass over [a_0 .. a_n, b_0 .. b_n].
        let seqs: Vec<&[u32]> = pairs
            .iter()
            .map(|p| p.a.ids.as_slice())
            .chain(pairs.iter().map(|p| p.b.ids.as_slice()))
            .collect();
        let targets: Vec<&[Label]> = pairs
            .iter()
            .map(|p| p.a.targets.as_slice())
            .chain(pairs.iter().map(|p| p.b.targets.as_slice()))
            .collect();
        let tokens = seqs.iter().map(|s| s.len()).sum();
        let (ids, shape) = pad(&seqs, self.pad_id);
        let (t, w) = target_tensors(&targets, shape);
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, shape), device);
        let t = Tensor::<2>::from_data(TensorData::new(t, shape), device);
        let w = Tensor::<2>::from_data(TensorData::new(w, shape), device);
        let mask_pad: Tensor<2, Bool> = model.roberta.padding_mask(ids.clone());
        let parts = pair_loss(model, ids, mask_pad, t, w, *self.weights);
        Ok(StepLoss {
            total: parts.total,
            parts: vec![
                ("bce", parts.bce),
                ("pull", parts.pull),
                ("push", parts.push),
            ],
            tokens,
        })
    }
}

/// Float targets and loss weights `[batch, seq]` (weight 0 on ignored tokens and padding).
pub(crate) fn target_tensors(targets: &[&[Label]], shape: [usize; 2]) -> (Vec<f32>, Vec<f32>) {
    let mut t = vec![0.0f32; shape[0] * shape[1]];
    let mut w = vec![0.0f32; shape[0] * shape[1]];
    for (row, tg) in targets.iter().enumerate() {
        for (col, &v) in tg.iter().enumerate() {
            if v != Label::Unlabelled {
                t[row * shape[1] + col] = if v == Label::Stable { 1.0 } else { 0.0 };
                w[row * shape[1] + col] = 1.0;
            }
        }
    }
    (t, w)
}

/// The terms of the fine-tuning loss for a batch `[a; b]` of `2n` sequences.
pub(crate) struct PairLossParts {
    pub total: Tensor<1>,
    pub bce: Tensor<1>,
    pub pull: Tensor<1>,
    pub push: Tensor<1>,
}

pub(crate) fn pair_loss(
    model: &RobertaForStability,
    ids: Tensor<2, Int>,
    mask_pad: Tensor<2, Bool>,
    targets: Tensor<2>,
    weights: Tensor<2>,
    w: LossWeights,
) -> PairLossParts {
    let states = model.roberta.forward(ids, mask_pad.clone());
    let logits = model.classifier.logits(states.clone());
    // BCE with logits, averaged over labelled tokens.
    let per_token = (targets.clone() * log_sigmoid(logits.clone())
        + (targets.neg() + 1.0) * log_sigmoid(logits.clone().neg()))
    .neg();
    let count = weights.clone().sum().clamp_min(1.0);
    let bce = (per_token * weights).sum() / count;
    let emb = pool_weighted(states, sigmoid(logits), mask_pad);
    let [two_n, _] = emb.dims();
    let n = two_n / 2;
    let ea = emb.clone().slice(0..n);
    let eb = emb.slice(n..two_n);
    let pull = distance(ea.clone(), eb.clone()).mean();
    let push = if n > 1 {
        let shifted = Tensor::cat(vec![eb.clone().slice(1..n), eb.slice(0..1)], 0);
        let d = distance(ea, shifted);
        match w.push_margin {
            Some(m) => (d.neg() + f64::from(m)).clamp_min(0.0).mean(),
            None => d.mean(),
        }
    } else {
        pull.clone().zeros_like()
    };
    // The paper's push term is a reward (subtracted); the hinge variant is a penalty (added).
    let push_term = match w.push_margin {
        Some(_) => push.clone() * f64::from(w.push),
        None => push.clone() * f64::from(-w.push),
    };
    let total = bce.clone() * f64::from(w.stability) + pull.clone() * f64::from(w.pull) + push_term;
    PairLossParts {
        total,
        bce,
        pull,
        push,
    }
}

/// Row-wise Euclidean distance `[n]` (with a tiny epsilon so the gradient at 0 is finite).
pub(crate) fn distance(a: Tensor<2>, b: Tensor<2>) -> Tensor<1> {
    (a - b)
        .square()
        .sum_dim(1)
        .add_scalar(1e-12)
        .sqrt()
        .squeeze_dim::<1>(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_tensors_known_answer() {
        let a = [Label::Unlabelled, Label::Stable, Label::Dynamic];
        let b = [Label::Stable];
        let (t, w) = target_tensors(&[&a, &b], [2, 3]);
        assert_eq!(t, vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(w, vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn loss_weights_check_known_answers() {
        let d = LossWeights::default;
        assert!(d().check().is_ok());
        assert!(
            LossWeights {
                push: f32::NAN,
                ..d()
            }
            .check()
            .is_err()
        );
        assert!(
            LossWeights {
                push_margin: Some(-0.5),
                ..d()
            }
            .check()
            .is_err()
        );
        assert_eq!(*ValidLossWeights::default(), LossWeights::default());
    }
}
