//! The paper's whole method in one command, with an HTML report.
//!
//! ```text
//! cargo run --release --example pipeline                      # simulated scan, < 15 min on 2 cores
//! cargo run --release --example pipeline -- --resume          # continue an interrupted run
//! cargo run --release --example pipeline -- --input 'scans/*.jsonl.gz' --recog recog/xml
//! cargo run --release --example pipeline -- --preset paper    # the paper's sizes (for a GPU)
//! cargo run --release --example pipeline -- --config my-sizes.json   # a PipelineConfig as JSON
//! ```
//!
//! Everything goes into `--out` (default `bannerlm-out/`, layout in docs/FORMATS.md); the report
//! is `<out>/report/index.html`. See docs/PIPELINE.md.

use std::path::PathBuf;

use anyhow::Context as _;
use bannerlm::pipeline::{EmbedSnapshots, Input, Pipeline, PipelineConfig, PipelineOptions};
use clap::{Parser, ValueEnum};

// Training allocates and frees many large tensors per step; glibc's malloc hands each one back
// to the kernel and faults it in again, mimalloc keeps the memory, for good with
// MIMALLOC_PURGE_DELAY=-1 (`bannerlm::allocator`; docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Run the whole bannerlm pipeline and write an HTML report")]
struct Args {
    /// Output folder.
    #[arg(long, default_value = "bannerlm-out")]
    out: PathBuf,
    /// Banner-record files as glob patterns (bannerlm JSONL, zgrab2, Censys JSON; .gz ok);
    /// without it a scan is simulated.
    #[arg(long, num_args = 1..)]
    input: Vec<String>,
    /// Simulated hosts (default: the preset's).
    #[arg(long)]
    hosts: Option<u64>,
    /// Simulated snapshots (default: the preset's).
    #[arg(long)]
    snapshots: Option<usize>,
    /// Sizes: the quick default run, the paper's, or a tiny smoke run.
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    preset: Preset,
    /// A whole configuration as JSON (e.g. an earlier run's `<out>/config.json`), instead of
    /// the preset; the other flags still apply.
    #[arg(long, conflicts_with = "preset")]
    config: Option<PathBuf>,
    /// Embed and cluster every snapshot instead of the last.
    #[arg(long)]
    all_snapshots: bool,
    /// Seed of every random choice.
    #[arg(long)]
    seed: Option<u64>,
    /// Recog XML directory (default: $RECOG_XML_DIR; skipped when neither is set).
    #[arg(long)]
    recog: Option<PathBuf>,
    /// Skip stages whose outputs exist with the same settings; continue interrupted training.
    #[arg(long)]
    resume: bool,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Preset {
    Default,
    Paper,
    Tiny,
}

fn run(args: Args) -> anyhow::Result<()> {
    let mut config = match (&args.config, args.preset) {
        (Some(path), _) => serde_json::from_str(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("parsing {}", path.display()))?,
        (None, Preset::Default) => PipelineConfig::default(),
        (None, Preset::Paper) => PipelineConfig::paper(),
        (None, Preset::Tiny) => PipelineConfig::tiny(400),
    };
    if !args.input.is_empty() {
        config.input = Input::files(args.input);
    } else if let Input::Simulated {
        hosts, snapshots, ..
    } = &mut config.input
    {
        *hosts = args.hosts.unwrap_or(*hosts);
        *snapshots = args.snapshots.unwrap_or(*snapshots);
    }
    if args.all_snapshots {
        config.embed_snapshots = EmbedSnapshots::All;
    }
    config.seed = args.seed.unwrap_or(config.seed);
    let options = PipelineOptions::new(&args.out)
        .resume(args.resume)
        .progress(!args.quiet)
        .recog_dir(args.recog);
    let summary = Pipeline::new(config.check()?, options).run()?;
    let e = &summary.evaluation;
    println!(
        "held-out pairs: {}; token accuracy vs labels {:.1}%{}; matching < 0.1: {:.1}% (unchanged {:.1}%); random different-product > 0.1: {:.1}%",
        e.pairs,
        100.0 * e.tokens_vs_labels.accuracy,
        e.tokens_vs_truth
            .map(|t| format!(", vs truth {:.1}%", 100.0 * t.accuracy))
            .unwrap_or_default(),
        100.0 * e.distances.matching_below.share,
        100.0 * e.distances.unchanged_below.share,
        100.0 * e.distances.random_different_product_above.share,
    );
    for (eps, n, outliers) in &summary.clusters {
        println!(
            "epsilon {eps}: {n} clusters, {:.2}% outliers",
            100.0 * outliers
        );
    }
    let total: f64 = summary.stages.iter().map(|s| s.seconds).sum();
    println!(
        "{} fingerprints{}; {total:.0} s in all",
        summary.fingerprints,
        if summary.recog_compared {
            ", compared with Recog"
        } else {
            ""
        }
    );
    println!("report: {}", summary.report.display());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    if let Err(e) = bannerlm::allocator::keep_freed_memory() {
        eprintln!("note: running without MIMALLOC_PURGE_DELAY=-1 ({e})");
    }
    run(Args::parse())
}
