//! Masked-LM pretraining and the paper's contrastive fine-tuning of banner embeddings, resumable
//! and measured.
//!
//! # Place in the pipeline
//!
//! bannerlm follows Sarabi, Yin and Liu (IMC 2023). Banners are tokenised (`bpe-tokenizer`), a
//! RoBERTa (`roberta-model`) is pretrained as a masked language model on banners of every
//! protocol ([`Pretrainer`]), then fine-tuned on HTTP banners of the same ip/port in two
//! consecutive snapshots ([`Finetuner`]) with the paper's Eq. 1:
//!
//! ```text
//! L = BCE(stability head, difflib token labels)
//!   + mean_i d(e(a_i), e(b_i))            pull matching pairs together
//!   - mean_i d(e(a_i), e(b_{i+1 mod n}))  push a circularly shifted partner away
//! ```
//!
//! where `e` is the P(stable)-weighted mean of last-layer token states, L2-normalised, and `d`
//! the Euclidean distance. (The paper prints the BCE with a sign typo; this is the standard
//! form.) The term weights are [`LossWeights`].
//!
//! # What the crate provides
//!
//! - Data: [`MlmCorpus`] (token sequences), [`PairCorpus`] (labelled pairs, HTTP only, pairs with
//!   fewer than 11 matched tokens dropped as the paper does), [`sim`] (pairs from `scan-sim`
//!   with ground truth and a held-out host split).
//! - [`mask_batch`]: RoBERTa's 15% / 80-10-10 masking with dynamic padding.
//! - Batches: masked-LM batches length-bucketed (a window of batches sorted by length, then cut
//!   and shuffled) so little is spent on padding; pair batches are fully random (bucketing them
//!   hurt the distance metrics on the default run).
//! - Dropout per run ([`TrainParams::dropout`]; none by default for the CPU-sized runs).
//! - Training: AdamW, linear warm-up and decay, gradient clipping ([`TrainParams`]), a progress
//!   bar with loss, tokens/s and ETA, atomic rotating checkpoints ([`Checkpoints`]) and exact
//!   resume ([`RunOptions::resume`]): a run killed at any point and resumed ends with the same
//!   weights as an uninterrupted one (every random choice derives from `(seed, step)`). A NaN
//!   or infinite loss stops the run with [`Error::NonFinite`], keeping the last good
//!   checkpoint.
//! - [`Evaluator`]: the paper's table (token accuracy, precision/recall of both labels; shares
//!   of matching pairs below and random pairs above distance 0.1) and, on simulated data, the
//!   same against ground-truth dynamic spans, with random pairs split by product.
//! - [`Annotation`]: a banner with its predicted dynamic parts dimmed (terminal) or grey (HTML).
//!
//! # Example: a tiny run, start to finish
//!
//! ```
//! use bpe_tokenizer::{BannerTokenizer, TrainConfig};
//! use contrastive_trainer::sim::{simulated_pairs, Split};
//! use contrastive_trainer::{Evaluator, Finetuner, PairCorpus, RunOptions, TrainParams};
//! use roberta_model::RobertaConfig;
//! use scan_sim::{ScanSimulator, SimConfig};
//!
//! let sim = ScanSimulator::new(SimConfig { hosts: 300, snapshots: 2, ..SimConfig::default() }.check()?)?;
//! let pairs = simulated_pairs(&sim, 0, 1, Split::All)?;
//! let banners: Vec<&[u8]> = pairs.iter().map(|(p, _)| p.before.banner.as_slice()).collect();
//! let mut tokenizer = BannerTokenizer::train(banners.iter(), &TrainConfig::builder().vocab_size(400).build()?)?;
//! tokenizer.set_max_length(Some(128))?;
//! let corpus = PairCorpus::from_pairs_with_truth(&tokenizer, &pairs, 11)?;
//!
//! let mut config = RobertaConfig::small(tokenizer.vocab_size());
//! (config.hidden_size, config.intermediate_size, config.num_hidden_layers) = (16, 32, 1);
//! let params = TrainParams { steps: 3, batch_size: 4, warmup_steps: 1, ..TrainParams::default() };
//! let dir = tempfile::tempdir()?;
//! let device = roberta_model::default_device()?;
//! let out = Finetuner::new(config, params)?.run(&corpus, &RunOptions::new(dir.path()).progress(false), &device)?;
//! assert!(out.completed && out.state.step == 3);
//! let eval = Evaluator::default().evaluate(&out.model, &corpus, &device)?;
//! assert!(eval.tokens_vs_truth.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Why not burn-train's `Learner`
//!
//! The loop uses burn's optimizer, schedulers, gradient clipping and burnpack records, but not
//! burn-train's `Learner`, which resumes at epoch boundaries with its own data loader; exact
//! mid-epoch resume needs the batch order, masking and dropout to be functions of the step,
//! which this crate's loop provides (see the `train` module).

mod annotate;
mod checkpoint;
mod data;
mod error;
mod eval;
mod finetune;
mod mask;
mod pretrain;
pub mod sim;
mod train;

pub use annotate::{Annotation, html_page};
pub use checkpoint::{Checkpoints, LogEntry, MODEL_FILE, OPTIMIZER_FILE, STATE_FILE, TrainerState};
pub use data::{
    DYNAMIC, IGNORE, LabelledSeq, MlmCorpus, PairCorpus, PairCorpusStats, PairMeta, PairTruth,
    STABLE, TrainingPair, model_preset, read_pairs,
};
pub use error::{Error, Result};
pub use eval::{
    Confusion, DistanceReport, Evaluation, Evaluator, Predictions, Share, TokenMetrics,
};
pub use finetune::{Finetuner, LossWeights};
pub use mask::{MaskedBatch, MaskingParams, mask_batch};
pub use pretrain::Pretrainer;
pub use train::{RUN_FILE, RunOptions, TrainOutcome, TrainParams, final_dir};
