//! Contrastive fine-tuning (the paper's Eq. 1) of a pretrained banner RoBERTa.
//!
//! ```text
//! cargo run --release --example finetune -- --pretrained runs/mlm/final --out runs/ft      # 1,500 steps of 16 pairs
//! cargo run --release --example finetune -- --pretrained runs/mlm/final --before a.jsonl.gz --after b.jsonl.gz
//! ```
//!
//! Pairs are the same ip/port in two consecutive snapshots: from `--before`/`--after` record
//! files, or simulated (training hosts of the same simulation as `pretrain`, snapshots 0 and 1).
//! Pairs with fewer than 11 matched tokens are dropped (the paper's filter). The fine-tuned model
//! goes to `<out>/final` with the tokenizer.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use bannerlm::simulated::{Split, simulated_pairs};
use bpe_tokenizer::{BannerTokenizer, MIN_MATCHED_TOKENS};
use clap::Parser;
use contrastive_trainer::{
    Finetuner, LossWeights, PairCorpus, RunOptions, TrainParams, final_dir, read_pairs,
};
use roberta_model::{ModelPreset, RobertaConfig, RobertaForMaskedLm};
use scan_sim::{BannerForm, ScanSimulator, SimConfig};

// Training allocates and frees many large tensors per step; glibc's malloc hands each one back
// to the kernel and faults it in again (a fifth of the CPU time in system calls), mimalloc
// keeps the memory, for good with MIMALLOC_PURGE_DELAY=-1 (`bannerlm::allocator`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Contrastive fine-tuning on banner pairs")]
#[allow(clippy::struct_excessive_bools)] // command-line switches
struct Args {
    /// Pretrained model directory (config.json, model.safetensors, tokenizer.json); without it
    /// a fresh `--model` is fine-tuned (an ablation).
    #[arg(long)]
    pretrained: Option<PathBuf>,
    /// Tokenizer (default: the pretrained directory's tokenizer.json).
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// Model size when there is no pretrained model: tiny, small, cpu, paper
    /// (`roberta_model::ModelPreset`).
    #[arg(long, default_value = "cpu")]
    model: ModelPreset,
    /// Run directory.
    #[arg(long, default_value = "runs/ft")]
    out: PathBuf,
    /// Earlier snapshot (banner-record file); with `--after`, replaces simulation.
    #[arg(long, requires = "after")]
    before: Option<PathBuf>,
    /// Later snapshot.
    #[arg(long, requires = "before")]
    after: Option<PathBuf>,
    /// Simulated hosts.
    #[arg(long, default_value_t = 50_000)]
    hosts: u64,
    /// Simulated HTTP banners as sent (default: Censys form).
    #[arg(long)]
    raw: bool,
    /// Seed of the simulation and of training.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Optimiser steps.
    #[arg(long, default_value_t = 1_500)]
    steps: u64,
    /// Pairs per step.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 5e-4)]
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
    /// Weight of the stability BCE.
    #[arg(long, default_value_t = 1.0)]
    w_stability: f32,
    /// Weight of the pull term.
    #[arg(long, default_value_t = 1.0)]
    w_pull: f32,
    /// Weight of the push term.
    #[arg(long, default_value_t = 1.0)]
    w_push: f32,
    /// Hinge margin for the push term (default: the paper's plain distance).
    #[arg(long)]
    push_margin: Option<f32>,
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
    let tok_path = args
        .tokenizer
        .clone()
        .or_else(|| args.pretrained.as_ref().map(|p| p.join("tokenizer.json")))
        .ok_or_else(|| anyhow::anyhow!("--tokenizer is needed without --pretrained"))?;
    let mut tokenizer = BannerTokenizer::from_file(&tok_path)?;
    let device = roberta_model::default_device()?;
    let (pretrained, config) = match &args.pretrained {
        Some(dir) => {
            let (m, c) = RobertaForMaskedLm::from_pretrained(dir, &device)?;
            (Some(m), c)
        }
        None => (
            None,
            RobertaConfig::preset(args.model, tokenizer.vocab_size()).check()?,
        ),
    };
    tokenizer.set_max_length(Some(config.max_input_len()))?;
    let corpus = if let (Some(b), Some(a)) = (&args.before, &args.after) {
        let (pairs, stats) = read_pairs(b, a)?;
        eprintln!("joined snapshots: {stats:?}");
        PairCorpus::from_pairs(&tokenizer, &pairs, MIN_MATCHED_TOKENS)?
    } else {
        let form = if args.raw {
            BannerForm::Raw
        } else {
            BannerForm::Censys
        };
        let sim = ScanSimulator::new(
            SimConfig {
                hosts: args.hosts,
                snapshots: 2,
                seed: args.seed,
                form,
                ..SimConfig::default()
            }
            .check()?,
        )?;
        let pairs = simulated_pairs(&sim, 0, 1, Split::Train)?;
        PairCorpus::from_pairs_with_truth(&tokenizer, &pairs, MIN_MATCHED_TOKENS)?
    };
    eprintln!("pairs: {:?}, {} tokens", corpus.stats(), corpus.tokens());
    let params = TrainParams {
        steps: args.steps,
        batch_size: args.batch_size,
        learning_rate: args.lr,
        warmup_steps: args.warmup,
        seed: args.seed,
        dropout: (!args.config_dropout).then_some(args.dropout),
        ..TrainParams::default()
    };
    let weights = LossWeights {
        stability: args.w_stability,
        pull: args.w_pull,
        push: args.w_push,
        push_margin: args.push_margin,
    };
    let tuner = Finetuner::new(config, params.check()?).with_weights(weights.check()?);
    let options = RunOptions::new(&args.out)
        .resume(args.resume)
        .checkpoint_every(args.checkpoint_every)
        .progress(!args.quiet);
    let out = match pretrained {
        Some(m) => tuner.run_from(m, &corpus, &options, &device)?,
        None => tuner.run(&corpus, &options, &device)?,
    };
    let final_path = final_dir(&args.out);
    out.model
        .save_pretrained(&final_path, tuner.model_config())?;
    tokenizer.save(final_path.join("tokenizer.json"))?;
    let last = out.state.history.last();
    writeln!(
        stdout,
        "fine-tuned {} steps in {:.0} s ({} tokens, last loss {:.4}); model in {}",
        out.state.step,
        out.state.elapsed_s,
        out.state.tokens,
        last.map_or(f64::NAN, |l| l.loss),
        final_path.display()
    )?;
    Ok(())
}
