//! Regex fingerprints from clusters of HTTP banners.
//!
//! ```text
//! cargo run --release --example fingerprint -- records.jsonl.gz clusters.jsonl --out fingerprints.jsonl
//! ```
//!
//! Reads banner records (banner-record JSONL, zgrab2 or Censys JSON; .gz ok)
//! and cluster labels (JSONL, see `--help`), keeps the HTTP records, and
//! writes one JSON line per fingerprint: header, regex, cluster, support,
//! precision, examples; with `--recog-dir`, also Recog XML databases.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use bannerlm_base::escape_str;

use banner_parse::{ReadOptions, RecordReader};
use clap::{Parser, ValueEnum};
use lcs_fingerprint::{ClusterLabels, FingerprintParams, Method, to_recog, write_jsonl};

#[derive(Parser, Debug)]
#[command(
    about = "Generate regex fingerprints from clusters of HTTP banners",
    after_help = "CLUSTER LABELS (one JSON object per line, empty lines skipped):\n  \
        the record key ip, port, snapshot, protocol, at the top level or in an object under\n  \
        \"key\", \"record\" or \"id\"; and either \"labels\": {\"<clustering>\": <label>, ...}\n  \
        (one clustering per name, e.g. HDBSCAN epsilons) or \"cluster\": <label> / \"label\": <label>\n  \
        (one clustering named \"cluster\"), or density-cluster's \"clusters\": [{\"epsilon\", \"label\", ...}]\n  \
        (the `cluster --ids` output; one clustering per epsilon, named eps=<epsilon>).\n  \
        A label is a non-negative integer; null or a negative\n  \
        integer is noise. Records without a line are noise. Example:\n  \
        {\"ip\":\"198.51.100.7\",\"port\":80,\"snapshot\":\"2023-07\",\"protocol\":\"http\",\"labels\":{\"0.05\":3,\"0.1\":-1}}"
)]
struct Args {
    /// Banner records (.gz ok).
    records: PathBuf,
    /// Cluster labels JSONL.
    labels: PathBuf,
    /// Output file (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Headers to fingerprint, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "Server,Set-Cookie,WWW-Authenticate"
    )]
    headers: Vec<String>,
    /// Values per draw.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Draws per cluster, header and occurrence.
    #[arg(long, default_value_t = 100)]
    draws: usize,
    /// Shortest literal piece.
    #[arg(long, default_value_t = 5)]
    min_piece_len: usize,
    /// Seed of the draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Common-piece method.
    #[arg(long, value_enum, default_value_t = MethodArg::Lcs)]
    method: MethodArg,
    /// Drop fingerprints below this precision (share of their matches inside their cluster).
    #[arg(long, default_value_t = lcs_fingerprint::DEFAULT_MIN_PRECISION)]
    min_precision: f64,
    /// Keep literal version numbers (no `(?P<version>...)`).
    #[arg(long)]
    no_versions: bool,
    /// Keep cookie attribute residue.
    #[arg(long)]
    no_cookie_tail: bool,
    /// Keep near-duplicates that differ only in digits.
    #[arg(long)]
    no_collapse: bool,
    /// Also write one Recog XML database per header into this directory
    /// (`http_header.server.xml`, ...).
    #[arg(long)]
    recog_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum MethodArg {
    /// k-string longest common substrings (suffix automaton).
    Lcs,
    /// The authors' pairwise difflib fold.
    Difflib,
}

fn run(args: &Args) -> anyhow::Result<()> {
    let labels = ClusterLabels::read(&args.labels)?;
    let mut records = Vec::new();
    for rec in RecordReader::open(&args.records, ReadOptions::default())? {
        let rec = rec?;
        if rec.is_http() {
            records.push(rec);
        }
    }
    let keys: Vec<_> = records
        .iter()
        .map(banner_parse::BannerRecord::key)
        .collect();
    let clusterings = labels.align(&keys);
    let banners: Vec<&[u8]> = records.iter().map(|r| r.banner.as_slice()).collect();
    let params = FingerprintParams::default()
        .headers(args.headers.clone())
        .k(args.k)
        .n_draws(args.draws)
        .min_piece_len(args.min_piece_len)
        .seed(args.seed)
        .method(match args.method {
            MethodArg::Lcs => Method::Lcs,
            MethodArg::Difflib => Method::Difflib,
        })
        .min_precision(args.min_precision)
        .versions(!args.no_versions)
        .cookie_tail(!args.no_cookie_tail)
        .collapse(!args.no_collapse);
    let fps = params.generate(&banners, &clusterings)?;
    eprintln!(
        "{} HTTP records, {} labelled, clusterings [{}]: {} fingerprints",
        records.len(),
        labels.len(),
        escape_str(&labels.clusterings().join(", ")),
        fps.len()
    );
    if let Some(dir) = &args.recog_dir {
        std::fs::create_dir_all(dir)?;
        for header in &args.headers {
            let db = to_recog(&fps, header)?;
            if db.fingerprints.is_empty() {
                continue;
            }
            // The header name comes from the command line: one safe file name, never a path.
            let path = dir.join(format!(
                "{}.xml",
                bannerlm_base::safe_file_stem(&db.matches)
            ));
            db.write(&path)?;
            eprintln!(
                "{} Recog fingerprints in {}",
                db.fingerprints.len(),
                escape_str(&path.display().to_string())
            );
        }
    }
    if let Some(path) = &args.out {
        // Atomic: a failed or interrupted run leaves the previous file, never half a file.
        bannerlm_base::write_atomic_with(path, |w| -> anyhow::Result<()> {
            write_jsonl(&fps, w)?;
            Ok(())
        })?;
    } else {
        // Cluster names and regexes quote the input: terminal-safe JSON on standard output.
        let mut text = Vec::new();
        write_jsonl(&fps, &mut text)?;
        let mut out = std::io::stdout().lock();
        out.write_all(bannerlm::terminal::safe_json(&String::from_utf8_lossy(&text)).as_bytes())?;
        out.flush()?;
    }
    Ok(())
}

fn main() -> ExitCode {
    bannerlm_base::exit_report(run(&Args::parse()))
}
