//! Task heads on top of the encoder: masked-LM, token stability, weighted pooling.

use burn::module::{Module, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, Linear};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::config::ValidRobertaConfig;
use crate::error::{Error, Result};
use crate::model::{RobertaModel, layer_norm, linear, per_token};

/// The masked-LM head (HF `lm_head`): dense + GELU + LayerNorm, then a decoder whose weight is
/// the word-embedding matrix (tied, not owned here) plus an owned bias.
#[derive(Module, Debug)]
pub struct MlmHead {
    /// `hidden -> hidden` transform.
    pub dense: Linear,
    /// LayerNorm (HF `lm_head.layer_norm`).
    pub layer_norm: LayerNorm,
    /// Decoder bias `[vocab_size]` (HF `lm_head.bias`, shared with `lm_head.decoder.bias`).
    pub bias: Param<Tensor<1>>,
}

impl MlmHead {
    /// A fresh head (transformers' initialisation).
    ///
    /// # Errors
    /// None with a checked config ([`RobertaConfig::check`](crate::RobertaConfig::check)); the `Result` is kept for
    /// backends whose allocation can fail.
    pub fn new(config: &ValidRobertaConfig, device: &Device) -> Result<Self> {
        Ok(Self {
            dense: linear(config, config.hidden_size, config.hidden_size, device),
            layer_norm: layer_norm(config, device),
            bias: Param::from_tensor(Tensor::zeros([config.vocab_size], device)),
        })
    }

    /// Vocabulary logits `[..., vocab]` for states `[..., hidden]`; `word_embeddings` is the
    /// tied decoder weight `[vocab, hidden]`.
    pub fn forward<const D: usize>(
        &self,
        states: Tensor<D>,
        word_embeddings: Tensor<2>,
    ) -> Tensor<D> {
        let x = self
            .layer_norm
            .forward(crate::gelu::gelu_exact(self.dense.forward(states)));
        burn::tensor::module::linear(x, word_embeddings.transpose(), Some(self.bias.val()))
    }
}

/// RoBERTa with the masked-LM head (HF `RobertaForMaskedLM`).
///
/// During training, [`forward_positions`](Self::forward_positions) and
/// [`mlm_loss`](Self::mlm_loss) run the head on the masked positions only, so a 50k vocabulary
/// costs `masked tokens x vocab` rather than `all tokens x vocab`.
///
/// ```
/// use roberta_model::burn::tensor::{Int, Tensor};
/// use roberta_model::{default_device, RobertaConfig, RobertaForMaskedLm};
///
/// let device = default_device()?;
/// let model = RobertaForMaskedLm::new(&RobertaConfig::preset(roberta_model::ModelPreset::Small, 100).check()?, &device)?;
/// let ids = Tensor::<2, Int>::from_ints([[0, 10, 4, 12, 2]], &device);
/// let mask_pad = model.roberta.padding_mask(ids.clone());
/// // Position 2 of sequence 0 (flat index 2) was masked; its true token is 11.
/// let positions = Tensor::<1, Int>::from_ints([2], &device);
/// let labels = Tensor::<1, Int>::from_ints([11], &device);
/// let loss = model.mlm_loss(ids, mask_pad, positions, labels);
/// assert!(loss.into_scalar::<f32>() > 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Module, Debug)]
pub struct RobertaForMaskedLm {
    /// The encoder (HF `roberta.*`).
    pub roberta: RobertaModel,
    /// The masked-LM head (HF `lm_head.*`).
    pub lm_head: MlmHead,
}

impl RobertaForMaskedLm {
    /// A freshly initialised model.
    ///
    /// # Errors
    /// None with a checked config ([`RobertaConfig::check`](crate::RobertaConfig::check)); the `Result` is kept for
    /// backends whose allocation can fail.
    pub fn new(config: &ValidRobertaConfig, device: &Device) -> Result<Self> {
        Ok(Self {
            roberta: RobertaModel::new(config, device)?,
            lm_head: MlmHead::new(config, device)?,
        })
    }

    /// Logits `[batch, seq, vocab]` at every position (inference, parity checks).
    pub fn forward(&self, input_ids: Tensor<2, Int>, mask_pad: Tensor<2, Bool>) -> Tensor<3> {
        let states = self.roberta.forward(input_ids, mask_pad);
        self.lm_head.forward(states, self.tied_decoder())
    }

    /// Logits `[positions, vocab]` at the given flat positions (`batch_index * seq + token`).
    pub fn forward_positions(
        &self,
        input_ids: Tensor<2, Int>,
        mask_pad: Tensor<2, Bool>,
        positions: Tensor<1, Int>,
    ) -> Tensor<2> {
        let states = self.roberta.forward(input_ids, mask_pad);
        let [batch, seq, hidden] = states.dims();
        let picked = states.reshape([batch * seq, hidden]).select(0, positions);
        self.lm_head.forward(picked, self.tied_decoder())
    }

    /// Mean cross-entropy of the true tokens `labels` at the masked flat `positions`.
    pub fn mlm_loss(
        &self,
        input_ids: Tensor<2, Int>,
        mask_pad: Tensor<2, Bool>,
        positions: Tensor<1, Int>,
        labels: Tensor<1, Int>,
    ) -> Tensor<1> {
        let logits = self.forward_positions(input_ids, mask_pad, positions);
        CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits, labels)
    }

    /// Sets every dropout probability of the encoder to `prob` (see
    /// [`RobertaModel::with_dropout`]); the masked-LM head has none.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `0 <= prob < 1`.
    pub fn with_dropout(mut self, prob: f64) -> Result<Self> {
        self.roberta = self.roberta.with_dropout(prob)?;
        Ok(self)
    }

    /// Keeps the pretrained encoder and puts a fresh stability head on it (the step from
    /// masked-LM pretraining to contrastive fine-tuning).
    ///
    /// # Errors
    /// None with a checked config ([`RobertaConfig::check`](crate::RobertaConfig::check)); the `Result` is kept for
    /// backends whose allocation can fail.
    pub fn into_stability(self, config: &ValidRobertaConfig) -> Result<RobertaForStability> {
        let device = self.lm_head.bias.val().device();
        Ok(RobertaForStability {
            roberta: self.roberta,
            classifier: StabilityHead::new(config, &device)?,
        })
    }

    fn tied_decoder(&self) -> Tensor<2> {
        self.roberta.embeddings.word_embeddings.weight.val()
    }
}

/// Token classification into stable/dynamic (HF `RobertaForTokenClassification` with one
/// label): dropout + linear to one logit per token; `sigmoid(logit)` is P(stable).
#[derive(Module, Debug)]
pub struct StabilityHead {
    /// Dropout before the classifier (training only).
    pub dropout: Dropout,
    /// `hidden -> 1` (HF `classifier`).
    pub dense: Linear,
}

impl StabilityHead {
    /// A fresh head (transformers' initialisation).
    ///
    /// # Errors
    /// None with a checked config ([`RobertaConfig::check`](crate::RobertaConfig::check)); the `Result` is kept for
    /// backends whose allocation can fail.
    pub fn new(config: &ValidRobertaConfig, device: &Device) -> Result<Self> {
        let p = config
            .classifier_dropout
            .unwrap_or(config.hidden_dropout_prob);
        Ok(Self {
            dropout: DropoutConfig::new(p).init(),
            dense: linear(config, config.hidden_size, 1, device),
        })
    }

    /// Logits `[batch, seq]` (before the sigmoid) for states `[batch, seq, hidden]`.
    pub fn logits(&self, states: Tensor<3>) -> Tensor<2> {
        let [batch, seq, _] = states.dims();
        per_token(&self.dense, self.dropout.forward(states)).reshape([batch, seq])
    }

    /// P(stable) `[batch, seq]` for states `[batch, seq, hidden]`.
    pub fn forward(&self, states: Tensor<3>) -> Tensor<2> {
        sigmoid(self.logits(states))
    }
}

/// RoBERTa with the stability head: token probabilities and banner embeddings.
///
/// ```
/// use roberta_model::burn::tensor::{Int, Tensor};
/// use roberta_model::{default_device, RobertaConfig, RobertaForStability};
///
/// let device = default_device()?;
/// let model = RobertaForStability::new(&RobertaConfig::preset(roberta_model::ModelPreset::Small, 100).check()?, &device)?;
/// let ids = Tensor::<2, Int>::from_ints([[0, 10, 11, 2], [0, 12, 2, 1]], &device);
/// let mask_pad = model.roberta.padding_mask(ids.clone());
/// let embedding = model.embed(ids, mask_pad);
/// assert_eq!(embedding.dims(), [2, 64]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Module, Debug)]
pub struct RobertaForStability {
    /// The encoder (HF `roberta.*`).
    pub roberta: RobertaModel,
    /// The token classifier (HF `classifier.*`).
    pub classifier: StabilityHead,
}

impl RobertaForStability {
    /// A freshly initialised model.
    ///
    /// # Errors
    /// None with a checked config ([`RobertaConfig::check`](crate::RobertaConfig::check)); the `Result` is kept for
    /// backends whose allocation can fail.
    pub fn new(config: &ValidRobertaConfig, device: &Device) -> Result<Self> {
        Ok(Self {
            roberta: RobertaModel::new(config, device)?,
            classifier: StabilityHead::new(config, device)?,
        })
    }

    /// Sets every dropout probability, the encoder's (see [`RobertaModel::with_dropout`])
    /// and the classifier's, to `prob`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `0 <= prob < 1`.
    pub fn with_dropout(mut self, prob: f64) -> Result<Self> {
        self.roberta = self.roberta.with_dropout(prob)?;
        self.classifier.dropout.prob = prob;
        Ok(self)
    }

    /// Last-layer states `[batch, seq, hidden]` and P(stable) `[batch, seq]`.
    pub fn forward(
        &self,
        input_ids: Tensor<2, Int>,
        mask_pad: Tensor<2, Bool>,
    ) -> (Tensor<3>, Tensor<2>) {
        let states = self.roberta.forward(input_ids, mask_pad);
        let probs = self.classifier.forward(states.clone());
        (states, probs)
    }

    /// Banner embeddings `[batch, hidden]`: [`pool_weighted`] of the last-layer states with
    /// P(stable) as weights.
    pub fn embed(&self, input_ids: Tensor<2, Int>, mask_pad: Tensor<2, Bool>) -> Tensor<2> {
        let (states, probs) = self.forward(input_ids, mask_pad.clone());
        pool_weighted(states, probs, mask_pad)
    }
}

/// Below this total weight a sequence falls back to the plain mean of its tokens.
pub const POOL_MIN_WEIGHT: f32 = 1e-6;

/// The paper's banner embedding: `sum_i w_i h_i / sum_i w_i` over non-padded tokens, then
/// L2-normalised.
///
/// `states` `[batch, seq, hidden]`, `weights` `[batch, seq]` (P(stable), in `[0, 1]`),
/// `mask_pad` `[batch, seq]` (`true` on padding). A sequence whose weights sum to less than
/// [`POOL_MIN_WEIGHT`] falls back to the unweighted mean of its tokens; a sequence with no
/// token at all gives the zero vector. The result never contains NaN for finite inputs.
///
/// ```
/// use roberta_model::burn::tensor::{Bool, Tensor, TensorData};
/// use roberta_model::{default_device, pool_weighted};
///
/// let device = default_device()?;
/// let states = Tensor::<3>::from_floats([[[3.0, 0.0], [0.0, 4.0]]], &device);
/// let mask_pad = Tensor::<2, Bool>::from_bool(TensorData::from([[false, false]]), &device);
/// // All weight on the first token: the embedding is its direction.
/// let weights = Tensor::<2>::from_floats([[1.0, 0.0]], &device);
/// let e = pool_weighted(states.clone(), weights, mask_pad.clone()).into_data();
/// assert_eq!(e.try_to_vec::<f32>()?, vec![1.0, 0.0]);
/// // No weight anywhere: the plain mean, normalised, never NaN.
/// let zero = Tensor::<2>::zeros([1, 2], &device);
/// let e = pool_weighted(states, zero, mask_pad).into_data().try_to_vec::<f32>()?;
/// assert!((e[0] - 0.6).abs() < 1e-6 && (e[1] - 0.8).abs() < 1e-6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn pool_weighted(
    states: Tensor<3>,
    weights: Tensor<2>,
    mask_pad: Tensor<2, Bool>,
) -> Tensor<2> {
    let real = mask_pad.bool_not().float();
    let weights = weights.clamp_min(0.0) * real.clone();
    let total = weights.clone().sum_dim(1);
    let fallback = total.clone().lower_elem(POOL_MIN_WEIGHT);
    let [batch, seq] = weights.dims();
    let weights = weights.mask_where(fallback.expand([batch, seq]), real);
    let pooled = (states * weights.unsqueeze_dim::<3>(2))
        .sum_dim(1)
        .squeeze_dim::<2>(1);
    // The weighted mean and the weighted sum have the same direction: normalise the sum.
    l2_normalize(pooled)
}

/// Rows divided by their L2 norm; zero rows stay zero.
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

/// Flat indices (`batch_index * seq + token`) of the `true` entries of a `[batch, seq]` mask, in
/// row-major order; the `positions` argument of [`RobertaForMaskedLm::forward_positions`].
///
/// # Errors
/// [`Error::InvalidInput`] if the mask cannot be read back from the device.
pub fn flat_positions(mask: Tensor<2, Bool>) -> Result<Tensor<1, Int>> {
    let device = mask.device();
    let values = mask
        .into_data()
        .try_to_vec::<bool>()
        .map_err(|e| Error::InvalidInput(format!("cannot read mask: {e:?}")))?;
    let idx: Vec<i64> = values
        .iter()
        .enumerate()
        .filter(|(_, m)| **m)
        .map(|(i, _)| i as i64)
        .collect();
    let n = idx.len();
    Ok(Tensor::from_data(TensorData::new(idx, [n]), &device))
}
