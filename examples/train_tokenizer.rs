//! Train the byte-level BPE tokenizer on banner records and save `tokenizer.json`.
//!
//! ```text
//! cargo run --release --example train_tokenizer -- data/sim/records-*.jsonl.gz --vocab-size 50000 --out tokenizer.json
//! ```
//!
//! Reads banner-record JSON Lines (or zgrab2 / Censys exports, gzip or not;
//! see banner-parse), trains with a progress bar and writes the tokenizer
//! atomically. Python loads the file with `tokenizers.Tokenizer.from_file`
//! (see docs/FORMATS.md, "Tokenizer").

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use banner_parse::{OnBadLine, ReadOptions, RecordReader};
use bannerlm_base::escape_str;
use bpe_tokenizer::{BannerTokenizer, TrainConfig};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Train a byte-level BPE tokenizer on banners")]
struct Args {
    /// Banner-record files (JSONL, zgrab2 or Censys; .gz allowed; `-` for stdin).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write tokenizer.json.
    #[arg(long, default_value = "tokenizer.json")]
    out: PathBuf,
    /// Vocabulary size, special tokens and the 256 bytes included.
    #[arg(long, default_value_t = bpe_tokenizer::PAPER_VOCAB_SIZE)]
    vocab_size: usize,
    /// Minimum frequency of a merged pair.
    #[arg(long, default_value_t = 2)]
    min_frequency: u64,
    /// Read at most this many banners.
    #[arg(long)]
    max_samples: Option<u64>,
    /// Truncation length saved in the tokenizer, <s> and </s> included.
    #[arg(long, default_value_t = bpe_tokenizer::PAPER_MAX_LENGTH)]
    max_length: usize,
    /// Only banners of this protocol (e.g. `http`); default all.
    #[arg(long)]
    protocol: Option<String>,
    /// Skip (and report) lines that are not records instead of stopping.
    #[arg(long)]
    skip_bad_lines: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    bannerlm_base::exit_report(run(&Args::parse()))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut config = TrainConfig::default()
        .vocab_size(args.vocab_size)
        .min_frequency(args.min_frequency)
        .max_length(Some(args.max_length))
        .show_progress(!args.quiet);
    if let Some(n) = args.max_samples {
        config = config.max_samples(n);
    }
    let config = config.check()?;
    let opts = ReadOptions::default().on_bad_line(if args.skip_bad_lines {
        OnBadLine::Skip
    } else {
        OnBadLine::Fail
    });
    let mut readers = args
        .inputs
        .iter()
        .map(|p| RecordReader::open(p, opts.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let protocol = args.protocol.as_deref();
    let banners = readers
        .iter_mut()
        .flat_map(Iterator::by_ref)
        .filter_map(|r| match r {
            Ok(rec) if protocol.is_some_and(|p| !rec.protocol.eq_ignore_ascii_case(p)) => None,
            Ok(rec) => Some(Ok(rec.banner)),
            Err(e) => Some(Err(e)),
        });

    let start = Instant::now();
    let tok = BannerTokenizer::try_train(banners, &config)?;
    for reader in &readers {
        if let Some(first) = reader.bad_lines().first() {
            eprintln!(
                "skipped {} bad lines, first: {}",
                reader.bad_line_count(),
                escape_str(&first.to_string())
            );
        }
    }
    tok.save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} tokens in {:.1} s -> {}",
        tok.vocab_size(),
        start.elapsed().as_secs_f64(),
        escape_str(&args.out.display().to_string())
    )?;
    out.flush()?;
    Ok(())
}
