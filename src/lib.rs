//! # bannerlm
//!
//! Fingerprint Internet-connected devices from scan banners with a language
//! model: the method of Sarabi, Yin and Liu, "An LLM-based Framework for
//! Fingerprinting Internet-connected Devices" (IMC 2023), as reusable crates.
//!
//! This facade re-exports the member crates under short names so that one
//! dependency gives the whole toolkit:
//!
//! | module | crate | stage |
//! |---|---|---|
//! | [`base`] | `bannerlm-base` | atomic writes, escaping of untrusted text, program exit |
//! | [`parse`] | `banner-parse` | banner records, HTTP parsing, pairing, stable/dynamic labels |
//! | [`sim`] | `scan-sim` | simulated scans with ground truth |
//! | [`tokenizer`] | `bpe-tokenizer` | byte-level BPE on banners |
//! | [`model`] | `roberta-model` | RoBERTa encoder and heads |
//! | [`trainer`] | `contrastive-trainer` | MLM pretraining, contrastive fine-tuning |
//! | [`index`] | `embed-index` | embedding store, PCA, nearest neighbours |
//! | [`cluster`] | `density-cluster` | HDBSCAN at several epsilons |
//! | [`fingerprint`] | `lcs-fingerprint` | regex fingerprints from clusters |
//! | [`recog`] | `recog-compat` | Rapid7 Recog databases |
//! | [`identify`] | `banner-identify` | identify banners with a pipeline's bundle |
//!
//! # API
//!
//! - [`pipeline`]: the whole method in one call, [`pipeline::Pipeline`] with a
//!   [`pipeline::PipelineConfig`] (checked into a [`pipeline::ValidPipelineConfig`]) and
//!   [`pipeline::PipelineOptions`], giving a [`pipeline::RunSummary`].
//! - The crates above under their short names, and [`base`]: the shared helpers users need
//!   (atomic writes, escaping untrusted text for terminals, the programs' exit report).
//! - [`simulated`]: training and evaluation data from a simulated scan ([`sim`]) with ground
//!   truth, split into training and held-out hosts.
//! - [`terminal::safe_json`] makes JSON that quotes scan data safe to print;
//!   [`allocator`] keeps freed memory in the training programs.
//!
//! See `docs/ARCHITECTURE.md` for how the crates depend on each other and
//! the README for which stages are implemented today.

pub mod allocator;
pub mod pipeline;
pub mod simulated;
pub mod terminal;

pub use banner_identify as identify;
pub use banner_parse as parse;
pub use bpe_tokenizer as tokenizer;
pub use contrastive_trainer as trainer;
pub use density_cluster as cluster;
pub use embed_index as index;
pub use lcs_fingerprint as fingerprint;
pub use recog_compat as recog;
pub use roberta_model as model;
pub use scan_sim as sim;

/// The shared helpers of every crate (`bannerlm-base`) that programs built on bannerlm use:
/// atomic file writes, escaping of untrusted bytes for a terminal, the exit report of a
/// command-line program. (HTML escaping, temporary-file names and seed mixing stay inside
/// the crates.)
pub mod base {
    pub use bannerlm_base::{
        AtomicFile, Escaped, error_chain, escape_bytes, escape_str, exit_report, write_atomic,
        write_atomic_with,
    };
}
