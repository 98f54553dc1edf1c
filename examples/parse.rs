//! Pair two snapshots of banner records and show what is stable.
//!
//! ```text
//! cargo run --release --example parse -- tests/data/snapshot-2023-06.jsonl.gz tests/data/snapshot-2023-07.jsonl.gz
//! ```
//!
//! Prints how every record was accounted for, label statistics of the pairs,
//! and a few pairs with their dynamic bytes dimmed (bracketed when the output
//! is not a terminal). Banners are escaped before printing.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use banner_parse::{
    BannerKind, Format, Label, LabelStyle, Labeler, OnBadLine, PairJoin, ReadOptions, RecordReader,
    render_labels,
};
use bannerlm_base::escape_bytes;
use clap::{Parser, ValueEnum};

#[derive(Parser, Debug)]
#[command(about = "Pair two scan snapshots and label stable/dynamic banner bytes")]
struct Args {
    /// The earlier snapshot (banner-record JSONL, zgrab2 or Censys JSON; .gz ok).
    before: PathBuf,
    /// The later snapshot.
    after: PathBuf,
    /// Input format.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    format: InputFormat,
    /// Skip (and report) bad lines instead of stopping at the first one.
    #[arg(long)]
    skip_bad: bool,
    /// How many pairs to show.
    #[arg(long, default_value_t = 3)]
    show: usize,
    /// Partitions of the bounded-memory join (more partitions, less memory).
    #[arg(long, default_value_t = 64)]
    partitions: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum InputFormat {
    Auto,
    Jsonl,
    Zgrab2,
    Censys,
}

fn open(path: &PathBuf, args: &Args) -> anyhow::Result<RecordReader> {
    let format = match args.format {
        InputFormat::Auto => Format::Auto,
        InputFormat::Jsonl => Format::Jsonl,
        InputFormat::Zgrab2 => Format::Zgrab2Http,
        InputFormat::Censys => Format::Censys,
    };
    let on_bad = if args.skip_bad {
        OnBadLine::Skip
    } else {
        OnBadLine::Fail
    };
    Ok(RecordReader::open(
        path,
        ReadOptions::default().format(format).on_bad_line(on_bad),
    )?)
}

fn main() -> ExitCode {
    bannerlm_base::exit_report(run(&Args::parse()))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut before = open(&args.before, args)?;
    let mut after = open(&args.after, args)?;
    let mut stream = PairJoin::new()
        .partitions(args.partitions)?
        .join_readers(&mut before, &mut after)?;

    let style = if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        LabelStyle::Ansi
    } else {
        LabelStyle::Brackets
    };
    let mut labeler = Labeler::default();
    let (mut stable, mut dynamic, mut under_11) = (0u64, 0u64, 0u64);
    let mut shown = Vec::new();
    for pair in stream.by_ref() {
        let pair = pair?;
        let kind = BannerKind::for_protocol(&pair.before.protocol);
        let labels = labeler.label(&pair.before.banner, &pair.after.banner, kind);
        stable += labels.matched as u64;
        dynamic += labels.a.iter().filter(|l| **l == Label::Dynamic).count() as u64;
        if labels.matched < 11 {
            under_11 += 1;
        }
        if shown.len() < args.show && labels.a.contains(&Label::Dynamic) {
            shown.push((pair, labels));
        }
    }
    let s = stream.stats();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "records   before {:>8}  after {:>8}",
        s.before, s.after
    )?;
    writeln!(out, "pairs     {:>8}", s.pairs)?;
    writeln!(
        out,
        "unpaired  before {:>8}  after {:>8}",
        s.only_before, s.only_after
    )?;
    writeln!(
        out,
        "duplicate before {:>8}  after {:>8}",
        s.duplicate_before, s.duplicate_after
    )?;
    writeln!(
        out,
        "bad lines before {:>8}  after {:>8}",
        before.bad_line_count(),
        after.bad_line_count()
    )?;
    let total = (stable + dynamic).max(1);
    writeln!(
        out,
        "labels    {stable} stable / {dynamic} dynamic value bytes in the earlier banners ({:.1}% stable); \
         {under_11} pairs match fewer than 11 bytes",
        100.0 * stable as f64 / total as f64
    )?;
    for bad in before.bad_lines().iter().chain(after.bad_lines()) {
        eprintln!("skipped {}", escape_bytes(bad.to_string().as_bytes()));
    }
    for (pair, labels) in shown {
        writeln!(
            out,
            "\n== {} -> {}",
            escape_bytes(pair.before.key().to_string().as_bytes()),
            escape_bytes(pair.after.snapshot.as_bytes())
        )?;
        writeln!(out, "-- before")?;
        write!(
            out,
            "{}",
            render_labels(&pair.before.banner, &labels.a, style)
        )?;
        writeln!(out, "\n-- after")?;
        write!(
            out,
            "{}",
            render_labels(&pair.after.banner, &labels.b, style)
        )?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}
