//! Masked-LM pretraining of the banner RoBERTa (the paper's first training stage).
//!
//! ```text
//! cargo run --release --example pretrain -- --out runs/mlm --hosts 50000      # 700 steps of 32 sequences
//! cargo run --release --example pretrain -- --out runs/mlm --resume      # after an interruption
//! cargo run --release --example pretrain -- data/records-*.jsonl.gz --out runs/mlm
//! ```
//!
//! Without input files it simulates `--hosts` services with scan-sim (training hosts only; one
//! in ten is held out for evaluation). It trains a byte-level BPE tokenizer unless
//! `--tokenizer` names one (or the run directory has one), then trains with a progress bar and
//! checkpoints, and writes the model for transformers into `<out>/final`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use banner_parse::{ReadOptions, RecordReader};
use bannerlm::simulated::{Split, snapshot_records};
use bpe_tokenizer::{BannerTokenizer, TrainConfig};
use clap::Parser;
use contrastive_trainer::{MlmCorpus, Pretrainer, RunOptions, TrainParams, final_dir};
use roberta_model::{ModelPreset, RobertaConfig};
use scan_sim::{BannerForm, ScanSimulator, SimConfig};

// Training allocates and frees many large tensors per step; glibc's malloc hands each one back
// to the kernel and faults it in again (a fifth of the CPU time in system calls), mimalloc
// keeps the memory, for good with MIMALLOC_PURGE_DELAY=-1 (`bannerlm::allocator`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Masked-LM pretraining on banners")]
#[allow(clippy::struct_excessive_bools)] // command-line switches
struct Args {
    /// Banner-record files; without them, scan-sim data is generated.
    inputs: Vec<PathBuf>,
    /// Run directory (checkpoints, tokenizer.json, final/).
    #[arg(long, default_value = "runs/mlm")]
    out: PathBuf,
    /// Simulated hosts (without input files).
    #[arg(long, default_value_t = 50_000)]
    hosts: u64,
    /// Simulated snapshots used for pretraining.
    #[arg(long, default_value_t = 2)]
    snapshots: usize,
    /// Write simulated HTTP banners as the server sent them (default: Censys form, Date redacted).
    #[arg(long)]
    raw: bool,
    /// Seed of the simulation and of training.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// An existing tokenizer.json (default: `<out>/tokenizer.json`, trained if absent).
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// Vocabulary size when a tokenizer is trained.
    #[arg(long, default_value_t = 8_000)]
    vocab_size: usize,
    /// Model size: tiny, small, cpu, paper (`roberta_model::ModelPreset`).
    #[arg(long, default_value = "cpu")]
    model: ModelPreset,
    /// Optimiser steps.
    #[arg(long, default_value_t = 700)]
    steps: u64,
    /// Sequences per step.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Dropout probability during this run (0: none, the default for these CPU-sized runs).
    #[arg(long, default_value_t = 0.0)]
    dropout: f64,
    /// Keep the model configuration's dropout (0.1) instead of `--dropout`.
    #[arg(long, conflicts_with = "dropout")]
    config_dropout: bool,
    /// Warm-up steps.
    #[arg(long, default_value_t = 50)]
    warmup: u64,
    /// Checkpoint every N steps.
    #[arg(long, default_value_t = 200)]
    checkpoint_every: u64,
    /// Continue the run in `--out` from its newest checkpoint.
    #[arg(long)]
    resume: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    bannerlm::allocator::keep_freed_memory_or_note();
    bannerlm_base::exit_report(run(&Args::parse()))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let banners: Vec<Vec<u8>> = if args.inputs.is_empty() {
        let form = if args.raw {
            BannerForm::Raw
        } else {
            BannerForm::Censys
        };
        let sim = ScanSimulator::new(
            SimConfig {
                hosts: args.hosts,
                snapshots: args.snapshots,
                seed: args.seed,
                form,
                ..SimConfig::default()
            }
            .check()?,
        )?;
        let mut out = Vec::new();
        for s in 0..args.snapshots {
            out.extend(
                snapshot_records(&sim, s, Split::Train)?
                    .into_iter()
                    .map(|(r, _)| r.banner),
            );
        }
        out
    } else {
        let mut out = Vec::new();
        for path in &args.inputs {
            for rec in RecordReader::open(path, ReadOptions::default())? {
                out.push(rec?.banner);
            }
        }
        out
    };
    let tok_path = args
        .tokenizer
        .clone()
        .unwrap_or_else(|| args.out.join("tokenizer.json"));
    let probe = RobertaConfig::preset(args.model, args.vocab_size);
    let mut tokenizer = if tok_path.is_file() {
        BannerTokenizer::from_file(&tok_path)?
    } else {
        let config = TrainConfig::default()
            .vocab_size(args.vocab_size)
            .show_progress(!args.quiet)
            .check()?;
        let t = BannerTokenizer::train(banners.iter(), &config)?;
        t.save(&tok_path)?;
        t
    };
    tokenizer.set_max_length(Some(probe.max_input_len()))?;
    let config = RobertaConfig::preset(args.model, tokenizer.vocab_size()).check()?;
    let corpus = MlmCorpus::encode(&tokenizer, &banners)?;
    eprintln!(
        "{} banners, {} tokens, vocabulary {}",
        corpus.len(),
        corpus.tokens(),
        tokenizer.vocab_size()
    );
    let params = TrainParams {
        steps: args.steps,
        batch_size: args.batch_size,
        learning_rate: args.lr,
        warmup_steps: args.warmup,
        seed: args.seed,
        dropout: (!args.config_dropout).then_some(args.dropout),
        ..TrainParams::default()
    };
    let trainer = Pretrainer::new(config, params.check()?);
    let options = RunOptions::new(&args.out)
        .resume(args.resume)
        .checkpoint_every(args.checkpoint_every)
        .progress(!args.quiet);
    let out = trainer.run(&corpus, &options, &roberta_model::default_device()?)?;
    let final_path = final_dir(&args.out);
    out.model
        .save_pretrained(&final_path, trainer.model_config())?;
    tokenizer.save(final_path.join("tokenizer.json"))?;
    let last = out.state.history.last();
    writeln!(
        stdout,
        "pretrained {} steps in {:.0} s ({} tokens, last loss {:.4}); model in {}",
        out.state.step,
        out.state.elapsed_s,
        out.state.tokens,
        last.map_or(f64::NAN, |l| l.loss),
        final_path.display()
    )?;
    Ok(())
}
