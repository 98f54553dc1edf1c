//! The RoBERTa encoder: embeddings, post-LayerNorm self-attention layers, feed-forward blocks.
//!
//! Field names follow the Hugging Face parameter names (`embeddings.word_embeddings`,
//! `encoder.layer.{i}.attention.self.query`, ...); the two exceptions, `LayerNorm` and
//! `self`, are renamed by the [loader](crate::loader) key table.

use burn::module::{Module, Param};
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig,
    Linear, LinearConfig,
};
use burn::tensor::activation::{gelu_approximate, relu, softmax};
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Int, Tensor};

use crate::config::{HiddenAct, RobertaConfig, ValidRobertaConfig};
use crate::error::{Error, Result};

/// A linear layer initialised like transformers does: normal(0, `initializer_range`), zero bias.
pub(crate) fn linear(config: &RobertaConfig, d_in: usize, d_out: usize, device: &Device) -> Linear {
    LinearConfig::new(d_in, d_out)
        .with_initializer(Initializer::Normal {
            mean: 0.0,
            std: config.initializer_range,
        })
        .init(device)
        .zero_bias()
}

trait ZeroBias {
    fn zero_bias(self) -> Self;
}

impl ZeroBias for Linear {
    fn zero_bias(mut self) -> Self {
        if let Some(bias) = self.bias.take() {
            let zeros = bias.val().zeros_like();
            self.bias = Some(Param::from_tensor(zeros));
        }
        self
    }
}

pub(crate) fn layer_norm(config: &RobertaConfig, device: &Device) -> LayerNorm {
    LayerNormConfig::new(config.hidden_size)
        .with_epsilon(config.layer_norm_eps)
        .init(device)
}

fn embedding(config: &RobertaConfig, rows: usize, device: &Device) -> Embedding {
    EmbeddingConfig::new(rows, config.hidden_size)
        .with_initializer(Initializer::Normal {
            mean: 0.0,
            std: config.initializer_range,
        })
        .init(device)
}

/// Word, position and token-type embeddings, summed, then LayerNorm and dropout.
#[derive(Module, Debug)]
pub struct RobertaEmbeddings {
    /// Token embeddings `[vocab_size, hidden_size]`; also the MLM decoder (tied).
    pub word_embeddings: Embedding,
    /// Position embeddings `[max_position_embeddings, hidden_size]`.
    pub position_embeddings: Embedding,
    /// Token-type embeddings `[type_vocab_size, hidden_size]`; RoBERTa uses row 0 only.
    pub token_type_embeddings: Embedding,
    /// LayerNorm (HF name `LayerNorm`).
    pub layer_norm: LayerNorm,
    /// Dropout (training only).
    pub dropout: Dropout,
    /// Padding token id, which is also the position offset.
    pub padding_idx: usize,
}

impl RobertaEmbeddings {
    fn new(config: &RobertaConfig, device: &Device) -> Self {
        let word_embeddings = embedding(config, config.vocab_size, device);
        let position_embeddings = embedding(config, config.max_position_embeddings, device);
        // transformers zeroes the padding rows of both tables at initialisation.
        let word_embeddings = zero_row(word_embeddings, config.pad_token_id);
        let position_embeddings = zero_row(position_embeddings, config.pad_token_id);
        Self {
            word_embeddings,
            position_embeddings,
            token_type_embeddings: embedding(config, config.type_vocab_size, device),
            layer_norm: layer_norm(config, device),
            dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
            padding_idx: config.pad_token_id,
        }
    }

    /// RoBERTa position ids: `padding_idx + cumsum(non-pad)` on real tokens, `padding_idx` on
    /// padding, whatever side the padding is on.
    pub fn position_ids(&self, input_ids: Tensor<2, Int>) -> Tensor<2, Int> {
        let real = input_ids.not_equal_elem(self.padding_idx as i64).int();
        (real.clone().cumsum(1) * real).add_scalar(self.padding_idx as i64)
    }

    /// `[batch, seq]` token ids to `[batch, seq, hidden]` embeddings.
    pub fn forward(&self, input_ids: Tensor<2, Int>) -> Tensor<3> {
        let positions = self.position_ids(input_ids.clone());
        let token_types = input_ids.zeros_like();
        let x = self.word_embeddings.forward(input_ids)
            + self.token_type_embeddings.forward(token_types)
            + self.position_embeddings.forward(positions);
        self.dropout.forward(self.layer_norm.forward(x))
    }
}

fn zero_row(mut table: Embedding, row: usize) -> Embedding {
    let w = table.weight.val();
    let [rows, cols] = w.dims();
    if row < rows {
        let device = w.device();
        // A fresh leaf (detached), so that gradients reach the parameter itself.
        let zeroed = w
            .slice_assign([row..row + 1, 0..cols], Tensor::zeros([1, cols], &device))
            .detach();
        table.weight = Param::from_tensor(zeroed);
    }
    table
}

/// `layer` applied to every token of `x` (`[batch, seq, d_in]`) as one
/// `[batch * seq, d_in] x [d_in, d_out]` product.
///
/// burn's `Linear` keeps a 3-D input batched when `seq` is a multiple of 32, which burn-flex runs
/// as `batch` separate single-threaded products that each pack the weight again; one product
/// over all tokens lets the GEMM split its own work across the threads. On the paper config at
/// 32 x 128 tokens this made the forward pass faster (docs/performance-history.md, "roberta-model").
pub(crate) fn per_token(layer: &Linear, x: Tensor<3>) -> Tensor<3> {
    let [batch, seq, d_in] = x.dims();
    let y = layer.forward(x.reshape([batch * seq, d_in]));
    let d_out = y.dims()[1];
    y.reshape([batch, seq, d_out])
}

/// Query, key and value projections of multi-head self-attention (HF `attention.self`).
#[derive(Module, Debug)]
pub struct RobertaSelfAttention {
    /// Query projection.
    pub query: Linear,
    /// Key projection.
    pub key: Linear,
    /// Value projection.
    pub value: Linear,
    /// Dropout on attention probabilities (training only).
    pub dropout: Dropout,
    /// Number of heads.
    pub num_heads: usize,
}

impl RobertaSelfAttention {
    fn split_heads(&self, x: Tensor<3>) -> Tensor<4> {
        let [batch, seq, hidden] = x.dims();
        x.reshape([batch, seq, self.num_heads, hidden / self.num_heads])
            .swap_dims(1, 2)
    }

    /// `x`: `[batch, seq, hidden]`; `mask_pad`: `[batch, seq]`, `true` on padding.
    pub fn forward(&self, x: Tensor<3>, mask_pad: Tensor<2, Bool>) -> Tensor<3> {
        let [batch, seq, hidden] = x.dims();
        let q = self.split_heads(per_token(&self.query, x.clone()));
        let k = self.split_heads(per_token(&self.key, x.clone()));
        let v = self.split_heads(per_token(&self.value, x));
        let mask = mask_pad.reshape([batch, 1, 1, seq]);
        let dropout_active = self.dropout.training.is_enabled()
            && self.dropout.prob > 0.0
            && q.device().is_autodiff();
        let context = if dropout_active {
            // Explicit path: dropout on the probabilities, as transformers does in training.
            let scale = 1.0 / ((hidden / self.num_heads) as f64).sqrt();
            let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(scale);
            let scores = scores.mask_fill(mask, f32::MIN);
            let probs = self.dropout.forward(softmax(scores, 3));
            probs.matmul(v)
        } else {
            // Fused scaled-dot-product attention (backend kernel where there is one).
            let heads = self.num_heads;
            let mask = mask.expand([batch, heads, seq, seq]);
            attention(q, k, v, Some(mask), None, AttentionModuleOptions::default())
        };
        context.swap_dims(1, 2).reshape([batch, seq, hidden])
    }
}

/// Dense + dropout + residual + LayerNorm, after attention (HF `attention.output`) and after the
/// feed-forward block (HF `output`).
#[derive(Module, Debug)]
pub struct RobertaResidualOutput {
    /// Output projection.
    pub dense: Linear,
    /// LayerNorm (HF name `LayerNorm`).
    pub layer_norm: LayerNorm,
    /// Dropout (training only).
    pub dropout: Dropout,
}

impl RobertaResidualOutput {
    fn new(config: &RobertaConfig, d_in: usize, device: &Device) -> Self {
        Self {
            dense: linear(config, d_in, config.hidden_size, device),
            layer_norm: layer_norm(config, device),
            dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
        }
    }

    /// `LayerNorm(dropout(dense(x)) + residual)`.
    pub fn forward(&self, x: Tensor<3>, residual: Tensor<3>) -> Tensor<3> {
        let x = self.dropout.forward(per_token(&self.dense, x));
        self.layer_norm.forward(x + residual)
    }
}

/// Self-attention and its output block (HF `attention`).
#[derive(Module, Debug)]
pub struct RobertaAttention {
    /// Projections (HF name `self`).
    pub self_attn: RobertaSelfAttention,
    /// Output block.
    pub output: RobertaResidualOutput,
}

/// The feed-forward expansion (HF `intermediate`).
#[derive(Module, Debug)]
pub struct RobertaIntermediate {
    /// `hidden_size -> intermediate_size`.
    pub dense: Linear,
    /// Activation, stored as its `hidden_act` name index (see [`HiddenAct`]).
    pub act: usize,
}

const ACTS: [HiddenAct; 3] = [HiddenAct::Gelu, HiddenAct::GeluApprox, HiddenAct::Relu];

fn act_index(act: HiddenAct) -> usize {
    ACTS.iter().position(|a| *a == act).unwrap_or(0)
}

pub(crate) fn activate<const D: usize>(x: Tensor<D>, act: HiddenAct) -> Tensor<D> {
    match act {
        HiddenAct::Gelu => crate::gelu::gelu_exact(x),
        HiddenAct::GeluApprox => gelu_approximate(x),
        HiddenAct::Relu => relu(x),
    }
}

/// One post-LayerNorm encoder layer (HF `encoder.layer.{i}`).
#[derive(Module, Debug)]
pub struct RobertaLayer {
    /// Self-attention block.
    pub attention: RobertaAttention,
    /// Feed-forward expansion.
    pub intermediate: RobertaIntermediate,
    /// Feed-forward output block.
    pub output: RobertaResidualOutput,
}

impl RobertaLayer {
    fn new(config: &RobertaConfig, device: &Device) -> Self {
        let h = config.hidden_size;
        Self {
            attention: RobertaAttention {
                self_attn: RobertaSelfAttention {
                    query: linear(config, h, h, device),
                    key: linear(config, h, h, device),
                    value: linear(config, h, h, device),
                    dropout: DropoutConfig::new(config.attention_probs_dropout_prob).init(),
                    num_heads: config.num_attention_heads,
                },
                output: RobertaResidualOutput::new(config, h, device),
            },
            intermediate: RobertaIntermediate {
                dense: linear(config, h, config.intermediate_size, device),
                act: act_index(config.hidden_act),
            },
            output: RobertaResidualOutput::new(config, config.intermediate_size, device),
        }
    }

    /// `[batch, seq, hidden]` to `[batch, seq, hidden]`.
    pub fn forward(&self, x: Tensor<3>, mask_pad: Tensor<2, Bool>) -> Tensor<3> {
        let attended = self.attention.self_attn.forward(x.clone(), mask_pad);
        let x = self.attention.output.forward(attended, x);
        let act = ACTS.get(self.intermediate.act).copied().unwrap_or_default();
        let inner = activate(per_token(&self.intermediate.dense, x.clone()), act);
        self.output.forward(inner, x)
    }
}

/// The stack of encoder layers (HF `encoder`).
#[derive(Module, Debug)]
pub struct RobertaEncoder {
    /// The layers (HF `encoder.layer.{i}`).
    pub layer: Vec<RobertaLayer>,
}

/// The RoBERTa encoder without heads (HF `RobertaModel` without pooler; `roberta.*` inside the
/// task models).
///
/// ```
/// use roberta_model::burn::tensor::{Int, Tensor};
/// use roberta_model::{default_device, RobertaConfig, RobertaModel};
///
/// let device = default_device()?;
/// let config = RobertaConfig::preset(roberta_model::ModelPreset::Small, 100).check()?;
/// let model = RobertaModel::new(&config, &device)?;
/// // Two sequences, the second padded with the pad id 1.
/// let ids = Tensor::<2, Int>::from_ints([[0, 10, 11, 12, 2], [0, 20, 2, 1, 1]], &device);
/// let mask_pad = model.padding_mask(ids.clone());
/// let states = model.forward(ids, mask_pad);
/// assert_eq!(states.dims(), [2, 5, 64]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Module, Debug)]
pub struct RobertaModel {
    /// Embedding block.
    pub embeddings: RobertaEmbeddings,
    /// Encoder layers.
    pub encoder: RobertaEncoder,
    /// Longest accepted input.
    pub max_input_len: usize,
}

impl RobertaModel {
    /// A freshly initialised encoder (transformers' initialisation: normal(0,
    /// `initializer_range`), zero biases, unit LayerNorms, zero padding rows).
    ///
    /// # Errors
    /// None with a checked config ([`RobertaConfig::check`]); the `Result` is kept for
    /// backends whose allocation can fail.
    pub fn new(config: &ValidRobertaConfig, device: &Device) -> Result<Self> {
        Ok(Self {
            embeddings: RobertaEmbeddings::new(config, device),
            encoder: RobertaEncoder {
                layer: (0..config.num_hidden_layers)
                    .map(|_| RobertaLayer::new(config, device))
                    .collect(),
            },
            max_input_len: config.max_input_len(),
        })
    }

    /// Sets every dropout probability of the encoder (embeddings, attention probabilities,
    /// sub-layer outputs) to `prob`, e.g. `0.0` to train without dropout; the weights are
    /// unchanged. Dropout only acts in training (on an autodiff device).
    ///
    /// ```
    /// use roberta_model::{default_device, RobertaConfig, RobertaModel};
    ///
    /// let model = RobertaModel::new(&RobertaConfig::preset(roberta_model::ModelPreset::Small, 100).check()?, &default_device()?)?;
    /// let model = model.with_dropout(0.0)?;
    /// assert_eq!(model.embeddings.dropout.prob, 0.0);
    /// assert!(model.with_dropout(1.5).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `0 <= prob < 1`.
    pub fn with_dropout(mut self, prob: f64) -> Result<Self> {
        check_dropout(prob)?;
        self.embeddings.dropout.prob = prob;
        for layer in &mut self.encoder.layer {
            layer.attention.self_attn.dropout.prob = prob;
            layer.attention.output.dropout.prob = prob;
            layer.output.dropout.prob = prob;
        }
        Ok(self)
    }

    /// `true` where `input_ids` is the padding token: the mask transformers derives from
    /// `attention_mask == 0` when padding is done with the pad id.
    pub fn padding_mask(&self, input_ids: Tensor<2, Int>) -> Tensor<2, Bool> {
        input_ids.equal_elem(self.embeddings.padding_idx as i64)
    }

    /// Checks that a `[batch, seq]` input fits the position table.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the sequence is longer than the model accepts.
    pub fn check_input(&self, input_ids: &Tensor<2, Int>) -> Result<()> {
        let [_, seq] = input_ids.dims();
        if seq > self.max_input_len {
            return Err(Error::InvalidInput(format!(
                "sequence of {seq} tokens is longer than the model's {} positions",
                self.max_input_len
            )));
        }
        Ok(())
    }

    /// Last-layer token states `[batch, seq, hidden]` for token ids `[batch, seq]`;
    /// `mask_pad` (`true` on padding) keeps padded positions out of every attention.
    ///
    /// Sequences must not exceed [`RobertaConfig::max_input_len`] tokens (see
    /// [`check_input`](Self::check_input)); ids must be below `vocab_size`.
    // Tensors are reference-counted handles, taken by value as in burn's own APIs.
    #[allow(clippy::needless_pass_by_value)]
    pub fn forward(&self, input_ids: Tensor<2, Int>, mask_pad: Tensor<2, Bool>) -> Tensor<3> {
        let mut x = self.embeddings.forward(input_ids);
        for layer in &self.encoder.layer {
            x = layer.forward(x, mask_pad.clone());
        }
        x
    }
}

/// `Ok` for a dropout probability in `[0, 1)`.
pub(crate) fn check_dropout(prob: f64) -> Result<()> {
    if (0.0..1.0).contains(&prob) {
        Ok(())
    } else {
        Err(Error::InvalidConfig(format!(
            "dropout probability must be in [0, 1), got {prob}"
        )))
    }
}
