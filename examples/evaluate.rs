//! The paper's evaluation table for a fine-tuned model on held-out simulated hosts: token
//! accuracy and precision/recall against the paper's labels and against ground truth, and the
//! shares of pair distances below/above 0.1, for 1-month and 5-month gaps, over the pairs of
//! every protocol and per protocol; beside the mean-pooled MLM-only model when `--mlm` is given.
//!
//! ```text
//! cargo run --release --example evaluate -- --model runs/ft/final --mlm runs/mlm/final --hosts 50000
//! ```
//!
//! Use the same `--hosts`, `--seed` and form as for training: the held-out hosts (one in ten)
//! of that simulation are evaluated. `--json` writes every figure.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use bannerlm::simulated::{Split, simulated_pairs};
use bpe_tokenizer::{BannerTokenizer, MIN_MATCHED_TOKENS};
use clap::Parser;
use contrastive_trainer::{Evaluation, Evaluator, PairCorpus, TokenMetrics};
use roberta_model::{RobertaForMaskedLm, RobertaForStability};
use scan_sim::{BannerForm, ScanSimulator, SimConfig};

#[derive(Parser, Debug)]
#[command(about = "Evaluate a fine-tuned banner model on held-out simulated hosts")]
struct Args {
    /// Fine-tuned model directory (with tokenizer.json).
    #[arg(long, default_value = "runs/ft/final")]
    model: PathBuf,
    /// Pretrained (MLM-only) model directory for the baseline rows.
    #[arg(long)]
    mlm: Option<PathBuf>,
    /// Simulated hosts (as in training).
    #[arg(long, default_value_t = 50_000)]
    hosts: u64,
    /// Simulation seed (as in training).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Gaps in months between the two snapshots of a pair.
    #[arg(long, value_delimiter = ',', default_value = "1,5")]
    gaps: Vec<usize>,
    /// Also evaluate on raw banners (Date headers present); default Censys form only.
    #[arg(long)]
    raw_too: bool,
    /// Write all figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn pct(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * x)
    }
}

fn token_row(out: &mut impl std::io::Write, name: &str, m: &TokenMetrics) -> std::io::Result<()> {
    writeln!(
        out,
        "  {name:<28} acc {:>6}  stable P/R {:>6}/{:>6}  dynamic P/R {:>6}/{:>6}  ({} tokens)",
        pct(m.accuracy),
        pct(m.stable_precision),
        pct(m.stable_recall),
        pct(m.dynamic_precision),
        pct(m.dynamic_recall),
        m.tokens
    )
}

fn main() -> ExitCode {
    bannerlm_base::exit_report(run(&Args::parse()))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let device = roberta_model::default_device()?;
    let (model, config) = RobertaForStability::from_pretrained(&args.model, &device)?;
    let mut tokenizer = BannerTokenizer::from_file(args.model.join("tokenizer.json"))?;
    tokenizer.set_max_length(Some(config.max_input_len()))?;
    let mlm = match &args.mlm {
        Some(dir) => Some(RobertaForMaskedLm::from_pretrained(dir, &device)?.0),
        None => None,
    };
    let eval = Evaluator::default();
    let max_gap = args.gaps.iter().copied().max().unwrap_or(1);
    let mut forms = vec![BannerForm::Censys];
    if args.raw_too {
        forms.push(BannerForm::Raw);
    }
    let mut all: Vec<serde_json::Value> = Vec::new();
    for form in forms {
        let sim = ScanSimulator::new(
            SimConfig {
                hosts: args.hosts,
                snapshots: max_gap + 1,
                seed: args.seed,
                form,
                ..SimConfig::default()
            }
            .check()?,
        )?;
        for &gap in &args.gaps {
            let pairs = simulated_pairs(&sim, 0, gap, Split::HeldOut)?;
            let corpus = PairCorpus::from_pairs_with_truth(&tokenizer, &pairs, MIN_MATCHED_TOKENS)?;
            let e: Evaluation = eval.evaluate(&model, &corpus, &device)?;
            writeln!(
                out,
                "{form:?} form, {gap}-month gap: {} held-out pairs ({:?})",
                e.pairs,
                corpus.stats()
            )?;
            token_row(&mut out, "model vs paper labels", &e.tokens_vs_labels)?;
            if let Some(t) = &e.tokens_vs_truth {
                token_row(&mut out, "model vs ground truth", t)?;
            }
            if let Some(t) = &e.labels_vs_truth {
                token_row(&mut out, "paper labels vs ground truth", t)?;
            }
            let d = &e.distances;
            writeln!(
                out,
                "  fine-tuned: matching < 0.1 {} (unchanged services {}), random > 0.1 {} (different products {}, same product {}); medians {:.3} / {:.3}",
                pct(d.matching_below.share),
                pct(d.unchanged_below.share),
                pct(d.random_above.share),
                pct(d.random_different_product_above.share),
                pct(d.random_same_product_above.share),
                d.matching_median,
                d.random_median
            )?;
            for (protocol, g) in &e.by_protocol {
                writeln!(
                    out,
                    "  {protocol}: {} pairs; unchanged < 0.1 {}; different products > 0.1 {}",
                    g.pairs,
                    pct(g.distances.unchanged_below.share),
                    pct(g.distances.random_different_product_above.share)
                )?;
                if let Some(t) = &g.tokens_vs_truth {
                    token_row(&mut out, "    model vs ground truth", t)?;
                }
                if let Some(t) = &g.labels_vs_truth {
                    token_row(&mut out, "    paper labels vs ground truth", t)?;
                }
            }
            let mut row =
                serde_json::json!({ "form": format!("{form:?}"), "gap": gap, "fine_tuned": e });
            if let Some(m) = &mlm {
                let b = eval.evaluate_mean_pooled(&m.roberta, &corpus, &device)?;
                writeln!(
                    out,
                    "  MLM only (mean-pooled): matching < 0.1 {} (unchanged {}), random > 0.1 {} (different products {})",
                    pct(b.matching_below.share),
                    pct(b.unchanged_below.share),
                    pct(b.random_above.share),
                    pct(b.random_different_product_above.share)
                )?;
                row["mlm_only"] = serde_json::to_value(b)?;
            }
            all.push(row);
        }
    }
    if let Some(path) = &args.json {
        bannerlm_base::write_atomic(path, serde_json::to_string_pretty(&all)?.as_bytes())?;
        writeln!(out, "figures written to {}", path.display())?;
    }
    Ok(())
}
