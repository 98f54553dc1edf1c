//! Identify banner records with a pipeline's bundle: one JSON line per record on standard
//! output (`{"key": ..., "identification": ...}`), a summary on standard error.
//!
//! ```text
//! cargo run --release --example identify -- --bundle runs/pipeline/bundle \
//!     --recog "$RECOG_XML_DIR" new-month/*.jsonl.gz > identified.jsonl
//! ```
//!
//! Reads banner records (bannerlm JSONL, zgrab2 or Censys JSON; `.gz` ok). `--no-model`
//! matches the fingerprints (and Recog) only, without loading the model. The JSON is made
//! safe for terminals (`bannerlm::terminal::safe_json`), the summary escaped.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use bannerlm::identify::{Identifier, IdentifyOptions};
use bannerlm::parse::{ReadOptions, RecordReader};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

// The model allocates and frees large tensors per forward pass; glibc's malloc hands them back
// to the kernel and faults them in again, mimalloc keeps the memory, for good with
// MIMALLOC_PURGE_DELAY=-1 (`bannerlm::allocator`; docs/PERFORMANCE.md), as in `pipeline`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Identify banner records with a bannerlm bundle (one JSON line per record)")]
struct Args {
    /// The bundle folder the pipeline wrote (`<out>/bundle`).
    #[arg(long)]
    bundle: PathBuf,
    /// Recog's `xml/` folder: match its HTTP header and text protocol databases too.
    #[arg(long)]
    recog: Option<PathBuf>,
    /// Fingerprints and Recog only: the model is not loaded (no clusters, no neighbours).
    #[arg(long)]
    no_model: bool,
    /// Nearest known banners per record.
    #[arg(long, default_value_t = 5)]
    neighbours: usize,
    /// Banner records (JSONL, zgrab2 or Censys JSON; .gz ok).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn main() -> ExitCode {
    bannerlm::allocator::keep_freed_memory_or_note();
    bannerlm_base::exit_report(run(&Args::parse()))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut options = IdentifyOptions::default()
        .model(!args.no_model)
        .neighbours(args.neighbours);
    if let Some(dir) = &args.recog {
        options = options.recog_dir(dir);
    }
    let id = Identifier::open(&args.bundle, options)?;
    let epsilons = id.bundle().manifest().epsilons.clone();
    let bar = ProgressBar::new_spinner();
    if std::io::stderr().is_terminal() {
        bar.set_style(ProgressStyle::with_template(
            "{spinner} {pos} records {per_sec} {elapsed} {msg}",
        )?);
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut records, mut by_fingerprint, mut by_recog) = (0u64, 0u64, 0u64);
    let mut outliers = vec![0u64; epsilons.len()];
    for file in &args.files {
        bar.set_message(bannerlm_base::escape_str(&file.display().to_string()));
        let reader = RecordReader::open(file, ReadOptions::default())?;
        // Reading errors stop the run (with file and line); they are rare and data-dependent.
        let mut read_error = None;
        let recs = reader.map_while(|r| r.map_err(|e| read_error = Some(e)).ok());
        for item in id.identify_records(recs) {
            let (key, ident) = item?;
            records += 1;
            by_fingerprint += u64::from(!ident.fingerprints.is_empty());
            by_recog += u64::from(!ident.recog.is_empty());
            for (n, c) in outliers.iter_mut().zip(&ident.clusters) {
                *n += u64::from(c.outlier);
            }
            let line = serde_json::json!({"key": key, "identification": ident}).to_string();
            writeln!(out, "{}", bannerlm::terminal::safe_json(&line))?;
            bar.inc(1);
        }
        if let Some(e) = read_error {
            return Err(e.into());
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    let pct = |k: u64| 100.0 * k as f64 / records.max(1) as f64;
    let mut summary = format!(
        "{records} records: {by_fingerprint} ({:.1}%) matched by a fingerprint",
        pct(by_fingerprint)
    );
    if args.recog.is_some() {
        write!(summary, ", {by_recog} ({:.1}%) by Recog", pct(by_recog))?;
    }
    eprintln!("{summary}");
    if !args.no_model {
        for (e, n) in epsilons.iter().zip(&outliers) {
            eprintln!("  epsilon {e}: {n} outliers ({:.1}%)", pct(*n));
        }
    }
    Ok(())
}
