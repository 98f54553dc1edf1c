//! RoBERTa encoder with masked-LM and token-stability heads in [burn], numerically identical to
//! Hugging Face transformers, for bannerlm.
//!
//! # Place in the pipeline
//!
//! bannerlm follows Sarabi, Yin and Liu (IMC 2023): banners are tokenised with a byte-level BPE
//! (`bpe-tokenizer`), a small RoBERTa is pretrained as a masked language model and fine-tuned
//! with a token-stability head (`contrastive-trainer`), and each banner becomes the
//! P(stable)-weighted mean of its last-layer token states, L2-normalised (`embed-index`). This
//! crate is the model: it takes token ids, never text.
//!
//! # API
//!
//! - [`RobertaConfig`]: hyper-parameters, `config.json` compatible with transformers;
//!   [`RobertaConfig::preset`] with a [`ModelPreset`] (`tiny`, `small`, `cpu`, `paper`) for
//!   bannerlm's named sizes; [`RobertaConfig::check`] gives the [`ValidRobertaConfig`] that
//!   the models are built from.
//! - [`RobertaModel`]: embeddings (RoBERTa positions `pad + cumsum(non-pad)`), post-LayerNorm
//!   encoder layers with padding-masked multi-head attention and exact-erf GELU (vectorised
//!   and multi-threaded for inference on burn-flex, within 2.3e-7 x max(1, |x|) of `libm`).
//! - [`RobertaForMaskedLm`] / [`MlmHead`]: the pretraining head with the decoder tied to the
//!   word embeddings, evaluated on masked positions only during training.
//! - [`RobertaForStability`] / [`StabilityHead`]: P(stable) per token and the banner embedding
//!   [`pool_weighted`].
//! - [loader]: `model.safetensors` + `config.json` with Hugging Face names, both
//!   ways, through burn-store.
//!
//! # Example: a banner embedding
//!
//! ```
//! use roberta_model::burn::tensor::{Int, Tensor};
//! use roberta_model::{default_device, ModelPreset, RobertaConfig, RobertaForStability};
//!
//! let device = default_device()?;
//! let config = RobertaConfig::preset(ModelPreset::Small, 512).check()?;
//! let model = RobertaForStability::new(&config, &device)?;
//! // Token ids from the tokenizer, padded with pad_token_id (1).
//! let ids = Tensor::<2, Int>::from_ints([[0, 72, 84, 84, 2], [0, 83, 83, 2, 1]], &device);
//! let mask_pad = model.roberta.padding_mask(ids.clone());
//! let embeddings = model.embed(ids, mask_pad); // [2, 64], unit rows
//! let norms = embeddings.square().sum_dim(1).into_data().try_to_vec::<f32>()?;
//! assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-5));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: a transformers checkpoint, both ways
//!
//! ```no_run
//! use roberta_model::{RobertaForMaskedLm, default_device};
//!
//! let device = default_device()?;
//! // A directory written by `model.save_pretrained(...)` in Python.
//! let (model, config) = RobertaForMaskedLm::from_pretrained("roberta-banner", &device)?;
//! // ... train ..., then write it back for transformers' `from_pretrained`.
//! model.save_pretrained("roberta-banner-trained", &config)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! burn 0.22 has no backend type parameter: the backend is a runtime [`Device`](burn::tensor::Device),
//! and these features decide which devices exist. [`default_device`] returns the CPU backend
//! even when `wgpu` is on (burn's own `Device::default()` would prefer the GPU); a GPU is used
//! only when asked for, with `BANNERLM_DEVICE=wgpu` ([`DEVICE_ENV`]) or
//! [`Backend::Wgpu`]`.device()`.
//!
//! - `flex` (default): burn-flex, burn 0.22's pure-Rust CPU backend (gemm matmul, fused
//!   attention and layer-norm kernels), multi-threaded (rayon) and SIMD. Its speed beside
//!   PyTorch is in docs/PERFORMANCE.md (see also "Speed on the CPU" below).
//! - `ndarray`: the burn-ndarray CPU backend ([`Backend::NdArray`]), deprecated upstream.
//! - `wgpu`: GPUs through wgpu (Vulkan, Metal, DX12), [`Backend::Wgpu`]; tested on Mesa's
//!   software Vulkan driver (lavapipe) in CI and on an NVIDIA H100 over Vulkan.
//!
//! # Speed on the CPU
//!
//! burn-flex allocates a fresh buffer for every operation. glibc's default `malloc` hands
//! buffers of this size back to the kernel when they are freed, and the next operation pays for
//! fresh zeroed pages, a large share of a forward pass on the CPU (docs/PERFORMANCE.md).
//! Programs that run the model for long should use an allocator that keeps freed memory.
//! bannerlm's own examples use mimalloc with `MIMALLOC_PURGE_DELAY=-1` (`bannerlm::allocator`); with glibc,
//! the environment variable
//! `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296:glibc.malloc.top_pad=67108864`
//! has the same effect. Set `RAYON_NUM_THREADS` to the number of physical cores.

mod config;
mod device;
mod error;
mod gelu;
mod heads;
pub mod loader;
mod model;

pub use burn;
pub use config::{
    HiddenAct, MAX_CONFIG_BYTES, MAX_HIDDEN_SIZE, MAX_INTERMEDIATE_SIZE, MAX_LAYERS,
    MAX_PARAMETERS, MAX_POSITIONS, MAX_TYPE_VOCAB_SIZE, MAX_VOCAB_SIZE, ModelPreset, RobertaConfig,
    ValidRobertaConfig,
};
pub use device::{Backend, DEVICE_ENV, choose_backend, default_device};
pub use error::{Error, Result};
pub use heads::{
    MlmHead, POOL_MIN_WEIGHT, RobertaForMaskedLm, RobertaForStability, StabilityHead,
    flat_positions, l2_normalize, pool_weighted,
};
pub use model::{
    RobertaAttention, RobertaEmbeddings, RobertaEncoder, RobertaIntermediate, RobertaLayer,
    RobertaModel, RobertaResidualOutput, RobertaSelfAttention,
};

/// Checks that every token id is inside a vocabulary of `vocab_size` tokens, the one check
/// that every path feeding ids to a model uses (embedding, evaluation, annotation, training):
/// an id beyond the embedding table would otherwise fail deep inside the backend.
///
/// ```
/// assert!(roberta_model::check_token_ids(&[0, 5, 9], 10).is_ok());
/// assert!(matches!(
///     roberta_model::check_token_ids(&[0, 10], 10),
///     Err(roberta_model::Error::TokenOutOfVocab { id: 10, vocab_size: 10 })
/// ));
/// ```
///
/// # Errors
/// [`Error::TokenOutOfVocab`] with the first offending id.
pub fn check_token_ids(ids: &[u32], vocab_size: usize) -> Result<()> {
    match ids.iter().find(|&&id| id as usize >= vocab_size) {
        Some(&id) => Err(Error::TokenOutOfVocab { id, vocab_size }),
        None => Ok(()),
    }
}

impl RobertaModel {
    /// Rows of the word-embedding table: token ids must be below this.
    pub fn vocab_size(&self) -> usize {
        self.embeddings.word_embeddings.weight.val().dims()[0]
    }
}
