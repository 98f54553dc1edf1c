//! Masked-LM pretraining and the paper's contrastive fine-tuning of banner embeddings, resumable
//! and measured.
//!
//! # Place in the pipeline
//!
//! bannerlm follows Sarabi, Yin and Liu (IMC 2023). Banners are tokenised (`bpe-tokenizer`), a
//! RoBERTa (`roberta-model`) is pretrained as a masked language model on banners of every
//! protocol ([`Pretrainer`]), then fine-tuned on banners (every protocol) of the same ip/port in
//! two consecutive snapshots ([`Finetuner`]) with the paper's Eq. 1:
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
//! # API
//!
//! - Data: [`MlmCorpus`] (token sequences), [`PairCorpus`] of [`TrainingPair`]s (labelled
//!   pairs of every protocol, each tagged with its protocol and its gap ([`gap_name`]); pairs
//!   with fewer than 11 matched tokens dropped as the paper does; counts in
//!   [`PairCorpusStats`] and [`ProtocolPairStats`]; [`PairTruth`] adds ground truth from
//!   simulated data), [`read_pairs`].
//! - [`mask_batch`] with [`MaskingParams`]: RoBERTa's 15% / 80-10-10 masking with dynamic
//!   padding.
//! - [`Pretrainer`] and [`Finetuner`] (loss weights [`LossWeights`]) run with [`TrainParams`]
//!   and [`RunOptions`], giving a [`TrainOutcome`]: AdamW, linear warm-up and decay, gradient
//!   clipping, a progress bar with loss, tokens/s and ETA, atomic rotating checkpoints
//!   ([`Checkpoints`]) and exact resume ([`RunOptions::resume`]): a run killed at any point and
//!   resumed ends with the same weights as an uninterrupted one (every random choice derives
//!   from `(seed, step)`). Masked-LM batches are length-bucketed; pair batches are fully
//!   random. A NaN or infinite loss stops the run with [`Error::NonFinite`], keeping the last
//!   good checkpoint. [`final_dir`] is where a run exports its model.
//! - Parameters follow the validated-params pattern: [`TrainParams::check`],
//!   [`MaskingParams::check`] and [`LossWeights::check`] give the `Valid*` forms the trainers
//!   take.
//! - [`Evaluator`]: the paper's table (token accuracy, precision/recall of both labels; shares
//!   of matching pairs below and random pairs above distance 0.1) and, on simulated data, the
//!   same against ground-truth dynamic spans, with random pairs split by product.
//! - [`Annotation`]: a banner with its predicted dynamic parts dimmed (terminal) or grey (HTML).
//!
//! Token targets are [`banner_parse::Label`]s (`Stable`, `Dynamic`, `Unlabelled` for tokens
//! outside the loss). Pairs with ground truth from a simulated scan come from the facade's
//! `bannerlm::simulated`.
//!
//! # Example: a tiny run, start to finish
//!
//! ```
//! use banner_parse::{BannerPair, BannerRecord};
//! use bpe_tokenizer::{BannerTokenizer, TrainConfig};
//! use contrastive_trainer::{Evaluator, Finetuner, PairCorpus, RunOptions, TrainParams};
//! use roberta_model::{ModelPreset, RobertaConfig};
//!
//! let rec = |snap: &str, banner: String| BannerRecord {
//!     ip: "192.0.2.1".parse().unwrap(), port: 80, snapshot: snap.into(),
//!     protocol: "http".into(), banner: banner.into_bytes(),
//! };
//! let banner = |i: usize, etag: usize| format!(
//!     "HTTP/1.1 200 OK\r\nServer: Apache/2.4.{i} (Ubuntu)\r\nETag: \"{etag:x}-91bc\"\r\n\r\n");
//! let pairs: Vec<BannerPair> = (0..8)
//!     .map(|i| BannerPair { before: rec("2023-06", banner(i, 1000 + i)), after: rec("2023-07", banner(i, 5000 + i)) })
//!     .collect();
//! let banners: Vec<&[u8]> = pairs.iter().map(|p| p.before.banner.as_slice()).collect();
//! let mut tokenizer = BannerTokenizer::train(banners.iter(), &TrainConfig::default().vocab_size(300).check()?)?;
//! tokenizer.set_max_length(Some(96))?;
//! let corpus = PairCorpus::from_pairs(&tokenizer, &pairs, 3)?;
//!
//! let mut config = RobertaConfig::preset(ModelPreset::Tiny, tokenizer.vocab_size());
//! config.hidden_size = 16;
//! let params = TrainParams { steps: 3, batch_size: 4, warmup_steps: 1, ..TrainParams::default() };
//! let dir = tempfile::tempdir()?;
//! let device = roberta_model::default_device()?;
//! let tuner = Finetuner::new(config.check()?, params.check()?);
//! let out = tuner.run(&corpus, &RunOptions::new(dir.path()).progress(false), &device)?;
//! assert!(out.completed && out.state.step == 3);
//! let eval = Evaluator::default().evaluate(&out.model, &corpus, &device)?;
//! assert_eq!(eval.pairs, 8);
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
mod order;
mod params;
mod pretrain;
mod train;

pub use annotate::{Annotation, html_page};
pub use checkpoint::{Checkpoints, LogEntry, TrainerState};
pub use data::{
    LabelledSeq, MlmCorpus, PairCorpus, PairCorpusStats, PairMeta, PairTruth, ProtocolPairStats,
    TrainingPair, gap_name, read_pairs,
};
pub use error::{Error, Result};
pub use eval::{
    Confusion, DistanceReport, Evaluation, Evaluator, GroupEvaluation, PairDistances, Predictions,
    RANDOM_PAIRS_PER_PAIR, Share, TokenMetrics,
};
pub use finetune::{Finetuner, LossWeights, ValidLossWeights};
pub use mask::{MaskedBatch, MaskingParams, ValidMaskingParams, mask_batch};
pub use params::{RunOptions, TrainParams, ValidTrainParams};
pub use pretrain::Pretrainer;
pub use train::{TrainOutcome, final_dir};
