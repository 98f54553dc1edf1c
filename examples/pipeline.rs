//! The paper's whole method in one command, with an HTML report.
//!
//! ```text
//! cargo run --release --example pipeline                      # simulated scan, < 15 min on 2 cores
//! cargo run --release --example pipeline -- --resume          # continue an interrupted run
//! cargo run --release --example pipeline -- --input 'scans/*.jsonl.gz' --recog recog/xml
//! cargo run --release --example pipeline -- --preset paper    # the paper's sizes (for a GPU)
//! cargo run --release --example pipeline -- --config my-sizes.json   # a PipelineConfig as JSON
//! # next month: no training; identify every record and report what changed
//! cargo run --release --example pipeline -- --bundle runs/jan/bundle --input 'feb/*.jsonl.gz' --out runs/feb
//! ```
//!
//! Everything goes into `--out` (default `bannerlm-out/`, layout in docs/FORMATS.md); the report
//! is `<out>/report/index.html`. See docs/PIPELINE.md.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use bannerlm::pipeline::{
    EmbedSnapshots, Input, MonthlyRun, Pipeline, PipelineConfig, PipelineOptions,
};
use clap::{Parser, ValueEnum};

// Training allocates and frees many large tensors per step; glibc's malloc hands each one back
// to the kernel and faults it in again, mimalloc keeps the memory, for good with
// MIMALLOC_PURGE_DELAY=-1 (`bannerlm::allocator`; docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Command-line switches, each independent.
#[allow(clippy::struct_excessive_bools)]
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
    /// Also fingerprint every HTTP header carried by at least this share (0-1] of a
    /// cluster's members, not only Server, Set-Cookie and WWW-Authenticate.
    #[arg(long)]
    fingerprint_all_headers: Option<f64>,
    /// Fine-tune (and evaluate) on pairs of these protocols only (default: every protocol).
    #[arg(long, num_args = 1..)]
    finetune_protocols: Vec<String>,
    /// The largest share (0-1] of fine-tuning pairs one protocol may have (default 1: every
    /// protocol in proportion to its records).
    #[arg(long)]
    finetune_max_share: Option<f64>,
    /// Drop Censys rows flagged `truncated` (counted in the input stage's summary).
    #[arg(long)]
    drop_truncated: bool,
    /// Recog XML directory (default: $RECOG_XML_DIR; skipped when neither is set). A
    /// directory that does not exist is an error.
    #[arg(long)]
    recog: Option<PathBuf>,
    /// Skip the Recog comparison even when $RECOG_XML_DIR is set.
    #[arg(long, conflicts_with = "recog")]
    no_recog: bool,
    /// Skip stages whose outputs exist with the same settings; continue interrupted training.
    #[arg(long)]
    resume: bool,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
    /// Monthly run: apply this bundle (`<earlier out>/bundle`) to the snapshot in `--input`
    /// without training; identify every record and report what changed.
    #[arg(long, requires = "input", conflicts_with_all = ["config", "hosts", "snapshots", "all_snapshots"])]
    bundle: Option<PathBuf>,
    /// Monthly run: embedding distance above which a service counts as changed.
    #[arg(long, default_value_t = 0.1, requires = "bundle")]
    threshold: f32,
    /// Monthly run: largest changes shown as banner diffs.
    #[arg(long, default_value_t = 20, requires = "bundle")]
    top: usize,
    /// Monthly run: scan-sim truth files of the new snapshot (default: `truth-<snapshot>.jsonl.gz`
    /// next to the input files, if any).
    #[arg(long, num_args = 1.., requires = "bundle")]
    truth: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Preset {
    Default,
    Paper,
    Tiny,
}

/// `--bundle`: the incremental monthly run.
fn monthly(args: Args, bundle: PathBuf) -> anyhow::Result<()> {
    let options = PipelineOptions::new(&args.out)
        .resume(args.resume)
        .progress(!args.quiet)
        .recog_dir(args.recog)
        .no_recog(args.no_recog);
    let mut run = MonthlyRun::new(bundle, args.input, options)
        .threshold(args.threshold)
        .top(args.top);
    if !args.truth.is_empty() {
        run = run.truth(args.truth);
    }
    let summary = run.run()?;
    let c = &summary.changes;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} records; {} in both snapshots, {} changed ({:.1}%), {} appeared, {} vanished",
        c.counts.after,
        c.counts.both,
        c.counts.changed,
        100.0 * c.changed_share,
        c.counts.appeared,
        c.counts.vanished
    )?;
    if let Some(t) = &c.truth {
        writeln!(
            out,
            "vs truth: embedding > {}: precision {:.1}%, recall {:.1}%, F1 {:.3}; edit distance best F1 {:.3}",
            c.threshold,
            100.0 * t.embedding_at_threshold.precision,
            100.0 * t.embedding_at_threshold.recall,
            t.embedding_at_threshold.f1,
            t.edit_distance_best_f1.f1
        )?;
    }
    writeln!(
        out,
        "{}",
        bannerlm_base::escape_str(&c.drift.recommendation)
    )?;
    for p in [
        &summary.identifications,
        &summary.changes_json,
        &summary.report,
    ] {
        writeln!(
            out,
            "{}",
            bannerlm_base::escape_str(&p.display().to_string())
        )?;
    }
    out.flush()?;
    Ok(())
}

fn run(mut args: Args) -> anyhow::Result<()> {
    if let Some(bundle) = args.bundle.take() {
        return monthly(args, bundle);
    }
    let mut config = match (&args.config, args.preset) {
        // Unknown (misspelt) keys are errors naming the key and the file.
        (Some(path), _) => PipelineConfig::from_json_file(path)?,
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
    if args.fingerprint_all_headers.is_some() {
        config.fingerprint_all_headers = args.fingerprint_all_headers;
    }
    if !args.finetune_protocols.is_empty() {
        config.finetune_mix.protocols = args.finetune_protocols;
    }
    config.finetune_mix.max_share = args
        .finetune_max_share
        .unwrap_or(config.finetune_mix.max_share);
    config.drop_truncated |= args.drop_truncated;
    let options = PipelineOptions::new(&args.out)
        .resume(args.resume)
        .progress(!args.quiet)
        .recog_dir(args.recog)
        .no_recog(args.no_recog);
    let summary = Pipeline::new(config.check()?, options).run()?;
    let e = &summary.evaluation;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "held-out pairs: {}; token accuracy vs labels {:.1}%{}; matching < 0.1: {:.1}% (unchanged {:.1}%); random different-product > 0.1: {:.1}%",
        e.pairs,
        100.0 * e.tokens_vs_labels.accuracy,
        e.tokens_vs_truth
            .map(|t| format!(", vs truth {:.1}%", 100.0 * t.accuracy))
            .unwrap_or_default(),
        100.0 * e.distances.matching_below.share,
        100.0 * e.distances.unchanged_below.share,
        100.0 * e.distances.random_different_product_above.share,
    )?;
    for (protocol, g) in &e.by_protocol {
        writeln!(
            out,
            "  {protocol}: {} pairs; token accuracy vs truth {} (labels vs truth {}); unchanged < 0.1: {:.1}%; random different-product > 0.1: {:.1}%",
            g.pairs,
            g.tokens_vs_truth
                .map_or_else(|| "–".into(), |t| format!("{:.1}%", 100.0 * t.accuracy)),
            g.labels_vs_truth
                .map_or_else(|| "–".into(), |t| format!("{:.1}%", 100.0 * t.accuracy)),
            100.0 * g.distances.unchanged_below.share,
            100.0 * g.distances.random_different_product_above.share,
        )?;
    }
    for c in &summary.clusters {
        writeln!(
            out,
            "epsilon {}: {} clusters, {:.2}% outliers",
            c.epsilon,
            c.clusters,
            100.0 * c.outlier_share
        )?;
    }
    let total: f64 = summary.stages.iter().map(|s| s.seconds).sum();
    writeln!(
        out,
        "{} fingerprints{}; {total:.0} s in all",
        summary.fingerprints,
        if summary.recog_compared {
            ", compared with Recog"
        } else {
            ""
        }
    )?;
    writeln!(
        out,
        "report: {}",
        bannerlm_base::escape_str(&summary.report.display().to_string())
    )?;
    out.flush()?;
    Ok(())
}

fn main() -> ExitCode {
    bannerlm::allocator::keep_freed_memory_or_note();
    bannerlm_base::exit_report(run(Args::parse()))
}
