//! Pair statistics of the paper's section 4.3 for two snapshots in an embedding store:
//! matching pairs (the same service on the same ip/port) against random pairs, the share
//! below/above distance 0.1, exact zeros, mean and deviation of log10 distance; and the
//! histogram of Figure 3 as PNG + SVG. With scan-sim truth files, random pairs are also
//! split into same-product pairs (legitimately close) and different-product pairs.
//!
//! ```text
//! cargo run --release --example drift -- --npy data/emb.npy --ids data/ids.jsonl \
//!     --before 2023-01-04 --after 2023-02-04 --plot data/figure3 \
//!     --truth data/sim/truth-2023-01-04.jsonl.gz data/sim/truth-2023-02-04.jsonl.gz
//! ```

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use banner_parse::RecordKey;
use clap::Parser;
use embed_index::{
    EmbeddingStore, HistogramPlot, distance_stats, host_changes, pair_histogram, random_host_pairs,
};

#[derive(Parser, Debug)]
#[command(about = "Distance statistics of matching and random banner pairs")]
struct Args {
    /// Embedding matrix.
    #[arg(long)]
    npy: PathBuf,
    /// Row ids (with a `snapshot` field, as the embed example writes them).
    #[arg(long)]
    ids: PathBuf,
    /// Earlier snapshot name.
    #[arg(long)]
    before: String,
    /// Later snapshot name.
    #[arg(long)]
    after: String,
    /// Distance threshold of the shares (the paper: 0.1).
    #[arg(long, default_value_t = 0.1)]
    threshold: f32,
    /// Seed of the random pairing.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the histogram to <PLOT>.png and <PLOT>.svg.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// scan-sim truth files of both snapshots (products of the hosts).
    #[arg(long, num_args = 1..)]
    truth: Vec<PathBuf>,
}

fn main() -> ExitCode {
    bannerlm_base::exit_report(run(&Args::parse()))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let store = EmbeddingStore::open(&args.npy, &args.ids)?;
    let hosts = host_changes(&store, &args.before, &args.after, args.threshold)?;
    let matching: Vec<f32> = hosts.iter().map(|h| h.distance).collect();
    let pairs = random_host_pairs(&store, &hosts, args.seed)?;
    let random: Vec<f32> = pairs.iter().map(|p| p.distance).collect();
    let mut report = serde_json::json!({
        "before": args.before,
        "after": args.after,
        "matching": distance_stats(&matching, args.threshold),
        "random": distance_stats(&random, args.threshold),
    });
    if !args.truth.is_empty() {
        let mut product: HashMap<RecordKey, String> = HashMap::new();
        for path in &args.truth {
            for t in scan_sim::read_truth(path)? {
                let t = t?;
                let key = RecordKey {
                    ip: t.ip,
                    port: t.port,
                    snapshot: t.snapshot,
                    protocol: t.protocol,
                };
                product.insert(key, t.product);
            }
        }
        let product_of = |row: usize| {
            let key: RecordKey = serde_json::from_str(store.id(row)?).ok()?;
            product.get(&key)
        };
        let (mut same, mut different) = (Vec::new(), Vec::new());
        for p in &pairs {
            match (product_of(p.before), product_of(p.after)) {
                (Some(a), Some(b)) if a == b => same.push(p.distance),
                (Some(_), Some(_)) => different.push(p.distance),
                _ => {}
            }
        }
        report["random_same_product"] =
            serde_json::to_value(distance_stats(&same, args.threshold))?;
        report["random_different_product"] =
            serde_json::to_value(distance_stats(&different, args.threshold))?;
    }
    let text = serde_json::to_string_pretty(&report)?;
    writeln!(out, "{}", bannerlm::terminal::safe_json(&text))?;
    if let Some(stem) = &args.plot {
        let title = format!(
            "Banner pairs {} vs {}",
            args.before.escape_debug(),
            args.after.escape_debug()
        );
        let (png, svg) = pair_histogram(
            &matching,
            &random,
            stem,
            &HistogramPlot::default().title(title),
        )?;
        eprintln!(
            "wrote {} and {}",
            bannerlm_base::escape_str(&png.display().to_string()),
            bannerlm_base::escape_str(&svg.display().to_string())
        );
    }
    Ok(())
}
