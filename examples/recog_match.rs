//! Label banner records with Recog, like Recog's `recog_match` over a scan.
//!
//! ```text
//! cargo run --release --example recog_match -- tests/data/snapshot-2023-07.jsonl.gz --recog-dir "$RECOG_XML_DIR"
//! ```
//!
//! Reads banner records (bannerlm JSONL, zgrab2 or Censys JSON; `.gz` ok).
//! HTTP banners are matched header by header (Server, Set-Cookie,
//! WWW-Authenticate, X-Powered-By against the matching Recog databases);
//! other protocols match their greeting against the protocol's database.
//! Prints how many records each product labels, per database. Everything
//! printed is escaped.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use banner_parse::{HttpBanner, OnBadLine, ReadOptions, RecordReader};
use bannerlm_base::escape_str;
use clap::Parser;
use recog_compat::{HttpHeader, MatcherBuilder, RecogSet, banner_input};

#[derive(Parser, Debug)]
#[command(about = "Label banner records with Recog fingerprints and count products")]
struct Args {
    /// Banner records (JSONL, zgrab2 or Censys JSON; .gz ok).
    input: PathBuf,
    /// Recog XML directory (default: $RECOG_XML_DIR).
    #[arg(long)]
    recog_dir: Option<PathBuf>,
    /// Products to show per database.
    #[arg(long, default_value_t = 15)]
    top: usize,
    /// Skip (and count) unreadable lines instead of stopping.
    #[arg(long)]
    skip_bad: bool,
}

fn main() -> ExitCode {
    bannerlm_base::exit_report(run(&Args::parse()))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let dir = match &args.recog_dir {
        Some(d) => d.clone(),
        None => PathBuf::from(
            std::env::var_os("RECOG_XML_DIR")
                .ok_or_else(|| anyhow::anyhow!("pass --recog-dir or set RECOG_XML_DIR"))?,
        ),
    };
    let set = RecogSet::load_dir(&dir, &MatcherBuilder::new())?;
    let on_bad = if args.skip_bad {
        OnBadLine::Skip
    } else {
        OnBadLine::Fail
    };
    let reader = RecordReader::open(&args.input, ReadOptions::default().on_bad_line(on_bad))?;
    // database file -> product -> records
    let mut counts: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    let (mut records, mut labelled, mut errors) = (0usize, 0usize, 0usize);
    let http_dbs: Vec<(&str, &str)> = HttpHeader::ALL
        .iter()
        .map(|h| (h.name(), h.database_file()))
        .chain([("X-Powered-By", "http_xpoweredby.xml")])
        .collect();
    for rec in reader {
        let rec = rec?;
        records += 1;
        let mut inputs: Vec<(&str, &[u8])> = Vec::new();
        if rec.is_http() {
            let http = HttpBanner::parse(&rec.banner);
            for &(header, db) in &http_dbs {
                inputs.extend(http.get_all(header).map(|v| (db, v)));
            }
            let mut any = false;
            for (db, value) in inputs {
                any |= tally(&set, db, value, &mut counts, &mut errors);
            }
            labelled += usize::from(any);
        } else if let Some((db, text)) = banner_input(&rec.protocol, &rec.banner) {
            labelled += usize::from(tally(&set, db, text, &mut counts, &mut errors));
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{records} records, {labelled} labelled by Recog, {errors} match errors"
    )?;
    for (db, products) in &counts {
        let mut v: Vec<(&String, &usize)> = products.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        writeln!(
            out,
            "\n{}: {} products, {} labels",
            escape_str(db),
            v.len(),
            v.iter().map(|(_, n)| **n).sum::<usize>()
        )?;
        for (product, n) in v.into_iter().take(args.top) {
            writeln!(out, "{n:>9}  {}", escape_str(product))?;
        }
    }
    Ok(())
}

/// Matches one value against one database and counts the product; true if labelled.
fn tally<'a>(
    set: &RecogSet,
    db: &'a str,
    value: &[u8],
    counts: &mut BTreeMap<&'a str, BTreeMap<String, usize>>,
    errors: &mut usize,
) -> bool {
    let Some((_, matcher)) = set.get(db) else {
        return false;
    };
    match matcher.best_match(value) {
        Ok(Some(m)) => {
            *counts
                .entry(db)
                .or_default()
                .entry(m.product())
                .or_default() += 1;
            true
        }
        Ok(None) => false,
        Err(_) => {
            *errors += 1;
            false
        }
    }
}
