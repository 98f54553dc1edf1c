//! Print banners with the parts the model predicts to be dynamic dimmed (control characters
//! escaped), and write the same as HTML with grey spans, like the paper's Figure 2.
//!
//! ```text
//! cargo run --release --example annotate -- --model runs/ft/final --count 5 --html annotated.html
//! cargo run --release --example annotate -- --model runs/ft/final --records scan.jsonl.gz
//! ```

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use banner_parse::{ReadOptions, RecordReader};
use bannerlm::simulated::{Split, snapshot_records};
use bpe_tokenizer::BannerTokenizer;
use clap::Parser;
use contrastive_trainer::{Annotation, html_page};
use roberta_model::RobertaForStability;
use scan_sim::{BannerForm, ScanSimulator, SimConfig};

#[derive(Parser, Debug)]
#[command(about = "Show predicted dynamic parts of banners")]
struct Args {
    /// Fine-tuned model directory (with tokenizer.json).
    #[arg(long, default_value = "runs/ft/final")]
    model: PathBuf,
    /// Banner-record file (default: held-out simulated HTTP banners).
    #[arg(long)]
    records: Option<PathBuf>,
    /// Number of banners.
    #[arg(long, default_value_t = 5)]
    count: usize,
    /// Simulated hosts / seed (as in training) when no file is given.
    #[arg(long, default_value_t = 50_000)]
    hosts: u64,
    /// Simulation seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Simulated HTTP banners as sent (default: Censys form, as in training).
    #[arg(long)]
    raw: bool,
    /// P(stable) below this is shown as dynamic.
    #[arg(long, default_value_t = 0.5)]
    threshold: f32,
    /// Also write an HTML page here.
    #[arg(long)]
    html: Option<PathBuf>,
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
    let banners: Vec<Vec<u8>> = if let Some(path) = &args.records {
        RecordReader::open(path, ReadOptions::default())?
            .take(args.count)
            .map(|r| r.map(|r| r.banner))
            .collect::<Result<_, _>>()?
    } else {
        let sim = ScanSimulator::new(
            SimConfig {
                hosts: args.hosts,
                snapshots: 1,
                seed: args.seed,
                form: if args.raw {
                    BannerForm::Raw
                } else {
                    BannerForm::Censys
                },
                ..SimConfig::default()
            }
            .check()?,
        )?;
        snapshot_records(&sim, 0, Split::HeldOut)?
            .into_iter()
            .filter(|(r, _)| r.protocol == "http")
            .take(args.count)
            .map(|(r, _)| r.banner)
            .collect()
    };
    let mut fragments = Vec::new();
    for banner in &banners {
        let a = Annotation::predict(&model, &tokenizer, banner, &device)?;
        // Dim (ANSI) on a terminal; «brackets» in a pipe or file, where escape codes do not belong.
        let shown = if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            a.to_terminal(args.threshold)
        } else {
            banner_parse::render_labels(
                &a.banner,
                &a.byte_labels(args.threshold),
                banner_parse::LabelStyle::Brackets,
            )
        };
        writeln!(out, "{shown}\n")?;
        fragments.push(a.to_html(args.threshold));
    }
    if let Some(path) = &args.html {
        bannerlm_base::write_atomic(
            path,
            html_page("bannerlm: predicted dynamic parts", &fragments).as_bytes(),
        )?;
        writeln!(
            out,
            "HTML written to {}",
            bannerlm_base::escape_str(&path.display().to_string())
        )?;
    }
    Ok(())
}
