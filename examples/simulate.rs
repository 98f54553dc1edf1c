//! Generate simulated scan snapshots with ground truth.
//!
//! ```text
//! cargo run --release --example simulate -- --hosts 100000 --snapshots 6 --out data/sim
//! ```
//!
//! Writes `records-<date>.jsonl.gz` (banner records), `truth-<date>.jsonl.gz`
//! (row-aligned ground truth) per snapshot and `simulation.json` (the
//! manifest) into `--out`, with a progress bar. `--censys` writes HTTP
//! banners in Censys form (`Date: <REDACTED>`). `--show N` prints the first
//! N banners of the first snapshot, escaped, instead of writing files.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use scan_sim::{BannerForm, ChangeRates, ScanSimulator, SimConfig, SimDate};

#[derive(Parser, Debug)]
#[command(about = "Simulate monthly Internet-wide scans with ground truth")]
struct Args {
    /// Number of hosts (services), each on its own address.
    #[arg(long, default_value_t = 100_000)]
    hosts: u64,
    /// Number of monthly snapshots.
    #[arg(long, default_value_t = 6)]
    snapshots: usize,
    /// Output directory.
    #[arg(long, default_value = "data/sim")]
    out: PathBuf,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Date of the first snapshot (YYYY-MM-DD).
    #[arg(long, default_value = "2023-01-04")]
    first: SimDate,
    /// How HTTP banners are written.
    #[arg(long, value_enum, default_value_t = Form::Raw)]
    form: Form,
    /// Probability per snapshot that another device takes over an ip/port.
    #[arg(long, default_value_t = ChangeRates::default().churn)]
    churn: f64,
    /// Probability per snapshot of a minor version update.
    #[arg(long, default_value_t = ChangeRates::default().version_update)]
    version_update: f64,
    /// Probability per snapshot of a configuration change.
    #[arg(long, default_value_t = ChangeRates::default().config_change)]
    config_change: f64,
    /// Probability per snapshot that a host does not answer.
    #[arg(long, default_value_t = ChangeRates::default().offline)]
    offline: f64,
    /// Print the first N banners of the first snapshot instead of writing files.
    #[arg(long)]
    show: Option<usize>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Form {
    Raw,
    Censys,
}

fn main() -> ExitCode {
    bannerlm_base::exit_report(run(&Args::parse()))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let config = SimConfig {
        seed: args.seed,
        hosts: args.hosts,
        snapshots: args.snapshots,
        first_snapshot: args.first,
        form: match args.form {
            Form::Raw => BannerForm::Raw,
            Form::Censys => BannerForm::Censys,
        },
        rates: ChangeRates {
            churn: args.churn,
            version_update: args.version_update,
            config_change: args.config_change,
            offline: args.offline,
            ..ChangeRates::default()
        },
        ..SimConfig::default()
    }
    .check()?;
    let sim = ScanSimulator::new(config)?;

    if let Some(n) = args.show {
        for rec in sim.snapshot(0)?.take(n) {
            let t = &rec.truth;
            writeln!(
                out,
                "# {}:{} {} {} ({}) {} dynamic bytes",
                rec.record.ip,
                rec.record.port,
                rec.record.protocol,
                t.product,
                t.family,
                t.dynamic_bytes()
            )?;
            writeln!(out, "{}\n", bannerlm_base::escape_bytes(&rec.record.banner))?;
        }
        out.flush()?;
        return Ok(());
    }

    let total = args.hosts * args.snapshots as u64;
    let bar = ProgressBar::new(total).with_style(ProgressStyle::with_template(
        "{spinner} snapshot {msg} [{bar:40}] {human_pos}/{human_len} host-snapshots ({per_sec}, eta {eta})",
    )?);
    let names = sim.config().snapshot_names();
    let start = Instant::now();
    let manifest = sim.write_snapshots_with_progress(&args.out, |p| {
        bar.set_message(names.get(p.snapshot).cloned().unwrap_or_default());
        bar.set_position(p.done);
    })?;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let records: u64 = manifest.snapshots.iter().map(|s| s.count).sum();
    let shown = |p: PathBuf| bannerlm_base::escape_bytes(p.display().to_string().as_bytes());
    for s in &manifest.snapshots {
        writeln!(
            out,
            "{}  {:>9} records  {}",
            s.name,
            s.count,
            shown(args.out.join(&s.records))
        )?;
    }
    writeln!(
        out,
        "{total} host-snapshots ({records} records online) in {secs:.1} s ({:.0} host-snapshots/s); manifest {}",
        total as f64 / secs,
        shown(args.out.join(scan_sim::MANIFEST_NAME))
    )?;
    out.flush()?;
    Ok(())
}
