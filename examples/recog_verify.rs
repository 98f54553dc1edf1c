//! Recog's `recog_verify` in Rust: check every example of every fingerprint.
//!
//! ```text
//! cargo run --release --example recog_verify -- "$RECOG_XML_DIR"
//! cargo run --release --example recog_verify -- --details "$RECOG_XML_DIR/http_servers.xml"
//! ```
//!
//! Prints, per database file, the examples, successes, warnings (fingerprints
//! without examples) and failures, then the totals; `--details` also lists
//! every warning and failure with its line. Exits with status 1 on failures.
//! Everything printed that comes from a database (file names, descriptions, param names and
//! values, patterns, example banners) is escaped: no control character reaches the terminal.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use bannerlm_base::escape_str;
use clap::Parser;
use recog_compat::{Database, Status, load_dir, verify};

#[derive(Parser, Debug)]
#[command(about = "Verify Recog XML databases against their own examples")]
struct Args {
    /// Recog XML files or directories (default: $RECOG_XML_DIR).
    paths: Vec<PathBuf>,
    /// List every warning and failure.
    #[arg(long)]
    details: bool,
}

fn main() -> ExitCode {
    bannerlm_base::exit_report(run(&Args::parse()))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut paths = args.paths.clone();
    if paths.is_empty() {
        let dir = std::env::var_os("RECOG_XML_DIR")
            .ok_or_else(|| anyhow::anyhow!("give Recog XML paths or set RECOG_XML_DIR"))?;
        paths.push(PathBuf::from(dir));
    }
    let mut dbs = Vec::new();
    for p in &paths {
        if p.is_dir() {
            dbs.extend(load_dir(p)?);
        } else {
            dbs.push(Database::from_path(p)?);
        }
    }
    writeln!(
        out,
        "{:<28} {:>6} {:>8} {:>8} {:>8} {:>8}",
        "database", "fps", "examples", "passed", "warnings", "failed"
    )?;
    let mut total = [0usize; 5];
    for db in &dbs {
        let r = verify(db)?;
        if args.details {
            for f in &r.findings {
                let tag = if f.status == Status::Warning {
                    "WARN"
                } else {
                    "FAIL"
                };
                // Messages are already escaped by the library.
                writeln!(
                    out,
                    "  {}:{}: {tag}: {}",
                    escape_str(&r.name),
                    f.line,
                    f.message
                )?;
            }
        }
        writeln!(
            out,
            "{:<28} {:>6} {:>8} {:>8} {:>8} {:>8}",
            escape_str(&r.name),
            r.fingerprints,
            r.examples,
            r.successes,
            r.warnings,
            r.failures
        )?;
        for (t, v) in total.iter_mut().zip([
            r.fingerprints,
            r.examples,
            r.successes,
            r.warnings,
            r.failures,
        ]) {
            *t += v;
        }
    }
    writeln!(
        out,
        "{:<28} {:>6} {:>8} {:>8} {:>8} {:>8}",
        format!("TOTAL ({} files)", dbs.len()),
        total[0],
        total[1],
        total[2],
        total[3],
        total[4]
    )?;
    out.flush()?;
    if total[4] > 0 {
        anyhow::bail!("{} examples or fingerprints failed verification", total[4]);
    }
    Ok(())
}
