//! Embed banner-record files with a model directory into a row-aligned `.npy` + ids JSONL
//! store (the record key of each row: ip, port, snapshot, protocol). Resumable: after a
//! kill, run the same command with `--resume`.
//!
//! ```text
//! cargo run --release --example embed -- --model runs/ft/final \
//!     --npy data/emb.npy --ids data/ids.jsonl data/sim/records-2023-01-04.jsonl.gz
//! cargo run --release --example embed -- --model runs/ft/final --resume \
//!     --npy data/emb.npy --ids data/ids.jsonl data/sim/records-2023-01-04.jsonl.gz
//! ```

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use embed_index::{BannerEmbedder, EmbedParams};

#[derive(Parser, Debug)]
#[command(about = "Embed banner records into an .npy + ids store")]
struct Args {
    /// Model directory: config.json, model.safetensors, tokenizer.json.
    #[arg(long)]
    model: PathBuf,
    /// Output matrix (float32 [N, D]).
    #[arg(long)]
    npy: PathBuf,
    /// Output ids (JSON Lines, row-aligned).
    #[arg(long)]
    ids: PathBuf,
    /// Continue an interrupted run (without it, existing outputs are an error).
    #[arg(long)]
    resume: bool,
    /// Banners per forward pass.
    #[arg(long, default_value_t = EmbedParams::default().batch_size)]
    batch_size: usize,
    /// Rows per checkpoint.
    #[arg(long, default_value_t = EmbedParams::default().chunk_rows)]
    chunk_rows: usize,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Banner-record files (JSONL, zgrab2, Censys; .gz ok).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

fn main() -> ExitCode {
    bannerlm_base::exit_report(run(&Args::parse()))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if !args.resume && (args.npy.exists() || args.ids.exists()) {
        anyhow::bail!(
            "{} or {} exists: pass --resume to continue that run, or remove them",
            args.npy.display(),
            args.ids.display()
        );
    }
    let device = roberta_model::default_device()?;
    let embedder = BannerEmbedder::from_dir(&args.model, &device)?;
    eprintln!(
        "model {}: {} dimensions, {:?} pooling, inputs of up to {} tokens",
        bannerlm_base::escape_str(&args.model.display().to_string()),
        embedder.dim(),
        embedder.pooling(),
        embedder.max_input_len()
    );
    let params = EmbedParams {
        batch_size: args.batch_size,
        chunk_rows: args.chunk_rows,
        progress: !args.quiet,
    };
    let summary = embedder.embed_files(&args.inputs, &args.npy, &args.ids, &params)?;
    eprintln!(
        "{} rows ({} resumed, {} embedded, {} truncated, {} bad lines) at {:.0} banners/s",
        summary.rows,
        summary.resumed_from,
        summary.embedded,
        summary.truncated,
        summary.bad_lines,
        summary.banners_per_second()
    );
    let text = serde_json::to_string(&summary)?;
    writeln!(out, "{}", bannerlm::terminal::safe_json(&text))?;
    Ok(())
}
