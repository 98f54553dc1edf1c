//! Cluster embeddings with HDBSCAN at several `cluster_selection_epsilon` values.
//!
//! ```text
//! # embeddings (.npy, float32 or float64, shape (n, d)) in, clusters JSONL out
//! cargo run --release --example cluster -- embeddings.npy --output clusters.jsonl
//! # keyed by record (the ids `embed` wrote), ready for the `fingerprint` example
//! cargo run --release --example cluster -- embeddings.npy --ids ids.jsonl --output clusters.jsonl
//! # the paper's settings are the defaults: min_cluster_size 50, min_samples 5,
//! # epsilons 0.01 0.02 0.05 0.1, excess of mass
//! cargo run --release --example cluster -- embeddings.npy --epsilons 0.05,0.1 --method leaf
//! # seeded synthetic blobs instead of a file, saved for the Python comparison
//! cargo run --release --example cluster -- --synthetic 20000 --save-input runs/blobs-20k.npy
//! # how well prediction for new points agrees with a refit: hold out every 10th row,
//! # fit on the rest, predict the held-out rows, refit on all, adjusted Rand index per epsilon
//! cargo run --release --example cluster -- reduced.npy --holdout-every 10
//! ```
//!
//! Shows progress while fitting, then the paper's summary table (clusters and
//! outliers per epsilon) and the time of the fit and of each selection. The
//! JSONL record id is the row number.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::{Parser, ValueEnum};
use density_cluster::synthetic::{BlobsConfig, blobs};
use density_cluster::{Hdbscan, Progress, SelectionMethod, SelectionParams, write_jsonl_file};
use embed_index::{read_npy, write_npy};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array2;

#[derive(Parser, Debug)]
#[command(about = "HDBSCAN at several cluster_selection_epsilon values from one fit")]
struct Args {
    /// Embeddings, a 2-D .npy array of float32 or float64 (one row per record).
    input: Option<PathBuf>,
    /// Cluster N seeded synthetic points (Gaussian blobs + 5% noise) instead of INPUT.
    #[arg(long, value_name = "N", conflicts_with = "input")]
    synthetic: Option<usize>,
    /// Dimensions of the synthetic points.
    #[arg(long, default_value_t = 64)]
    dim: usize,
    /// Seed of the synthetic points.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Write the (synthetic) input as float32 .npy, e.g. for benches/python/cluster_bench.py.
    #[arg(long)]
    save_input: Option<PathBuf>,
    /// min_cluster_size.
    #[arg(long, default_value_t = 50)]
    min_cluster_size: usize,
    /// min_samples (neighbours, the point itself not counted, as Python hdbscan).
    #[arg(long, default_value_t = 5)]
    min_samples: usize,
    /// cluster_selection_epsilon values, comma separated (default: the paper's).
    #[arg(long, value_delimiter = ',', default_values_t = density_cluster::PAPER_EPSILONS.to_vec())]
    epsilons: Vec<f64>,
    /// cluster_selection_method.
    #[arg(long, value_enum, default_value_t = Method::Eom)]
    method: Method,
    /// allow_single_cluster.
    #[arg(long)]
    allow_single_cluster: bool,
    /// Clusters JSONL to write: one line per row, `{"id", "clusters": [...]}`; the id is the
    /// row's record key when `--ids` is given (what `fingerprint` reads), else its row number.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Ids JSONL row-aligned with the input (`embed --ids`): written as each row's id.
    #[arg(long, requires = "output")]
    ids: Option<PathBuf>,
    /// Instead of clustering: hold out every N-th row, fit on the rest, predict the held-out
    /// rows, refit on all rows, and print the adjusted Rand index of the two labelings of the
    /// held-out rows per epsilon (over rows neither calls an outlier).
    #[arg(long, value_name = "N", conflicts_with = "output")]
    holdout_every: Option<usize>,
}

/// Reads a row-aligned ids JSONL file (one JSON value per line, as `embed --ids` writes).
fn read_ids(path: &std::path::Path, rows: usize) -> anyhow::Result<Vec<serde_json::Value>> {
    use std::io::BufRead as _;
    let shown = || bannerlm_base::escape_str(&path.display().to_string());
    let file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", shown()))?;
    let mut ids = Vec::with_capacity(rows);
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| anyhow::anyhow!("{}:{}: {e}", shown(), n + 1))?;
        let id = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("{}:{}: not a JSON id: {e}", shown(), n + 1))?;
        ids.push(id);
    }
    anyhow::ensure!(
        ids.len() == rows,
        "{}: {} ids for {rows} rows (the ids file must be row-aligned with the input)",
        shown(),
        ids.len()
    );
    Ok(ids)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Method {
    Eom,
    Leaf,
}

fn load(args: &Args) -> anyhow::Result<Array2<f32>> {
    if let Some(n) = args.synthetic {
        return Ok(blobs(&BlobsConfig {
            n,
            dim: args.dim,
            seed: args.seed,
            ..BlobsConfig::default()
        }));
    }
    let Some(path) = &args.input else {
        bail!("give an INPUT .npy file or --synthetic N")
    };
    // float32 or float64 (narrowed); the shape is checked against the file's length before
    // anything is allocated.
    Ok(read_npy(path)?)
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let x = load(args)?;
    if let Some(path) = &args.save_input {
        write_npy(path, &x)?;
    }
    eprintln!("{} points in {} dimensions", x.nrows(), x.ncols());
    let method = match args.method {
        Method::Eom => SelectionMethod::Eom,
        Method::Leaf => SelectionMethod::Leaf,
    };
    let params = Hdbscan::params(args.min_cluster_size)
        .min_samples(args.min_samples)
        .cluster_selection_method(method)
        .allow_single_cluster(args.allow_single_cluster)
        .check()?;

    if let Some(every) = args.holdout_every {
        let selections: Vec<SelectionParams> = args
            .epsilons
            .iter()
            .map(|&epsilon| SelectionParams {
                epsilon,
                ..params.selection()
            })
            .collect();
        eprintln!("fitting twice (without and with the held-out rows)...");
        let start = Instant::now();
        let agreement = density_cluster::holdout_agreement(&x, &params, &selections, every)?;
        writeln!(
            out,
            "{:>8}  {:>9}  {:>12}  {:>12}  {:>9}  {:>7}",
            "epsilon", "held out", "predicted out", "refit out", "compared", "ARI"
        )?;
        for a in &agreement {
            writeln!(
                out,
                "{:>8}  {:>9}  {:>12}  {:>12}  {:>9}  {:>7.4}",
                a.selection.epsilon,
                a.held_out,
                a.predicted_outliers,
                a.refit_outliers,
                a.compared,
                a.ari
            )?;
        }
        eprintln!("{:.1} s", start.elapsed().as_secs_f64());
        return Ok(());
    }

    let bar = ProgressBar::new(x.nrows() as u64);
    bar.set_style(ProgressStyle::with_template(
        "{spinner} {msg:24} [{bar:40}] {pos}/{len} {elapsed}",
    )?);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar.set_message("nearest neighbours");
    let start = Instant::now();
    let fit = params.fit_with_progress(&x, |p| match p {
        Progress::Neighbours { done, .. } => bar.set_position(done as u64),
        Progress::SpanningTree { components } => {
            bar.set_message(format!("spanning tree: {components} trees"));
        }
        Progress::Hierarchy => bar.set_message("condensed tree"),
        _ => {}
    })?;
    let fit_time = start.elapsed();
    bar.finish_and_clear();

    let mut clusterings = Vec::with_capacity(args.epsilons.len());
    let mut times = Vec::with_capacity(args.epsilons.len());
    for &epsilon in &args.epsilons {
        let t = Instant::now();
        clusterings.push(fit.select(&SelectionParams {
            epsilon,
            ..params.selection()
        })?);
        times.push(t.elapsed());
    }

    writeln!(
        out,
        "fit (spanning tree + condensed tree): {:.2} s",
        fit_time.as_secs_f64()
    )?;
    writeln!(
        out,
        "{:>8}  {:>9}  {:>9}  {:>10}",
        "epsilon", "clusters", "outliers", "select ms"
    )?;
    for (c, t) in clusterings.iter().zip(&times) {
        writeln!(
            out,
            "{:>8}  {:>9}  {:>8.2}%  {:>10.2}",
            c.params.epsilon,
            c.n_clusters(),
            100.0 * c.outlier_share(),
            t.as_secs_f64() * 1e3
        )?;
    }
    if let Some(path) = &args.output {
        if let Some(ids_path) = &args.ids {
            let ids = read_ids(ids_path, x.nrows())?;
            write_jsonl_file(path, &ids, &clusterings)?;
        } else {
            let ids: Vec<usize> = (0..x.nrows()).collect();
            write_jsonl_file(path, &ids, &clusterings)?;
        }
        eprintln!(
            "wrote {}",
            bannerlm_base::escape_str(&path.display().to_string())
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    bannerlm_base::exit_report(run(&Args::parse()))
}
