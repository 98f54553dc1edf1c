//! Timed single runs at large sizes, for docs/PERFORMANCE.md (not part of CI:
//! the test is ignored). Run in release mode:
//!
//! ```text
//! BANNERLM_CLUSTER_N=300000 cargo test -p density-cluster --release --test scale -- --ignored --nocapture
//! ```
//!
//! Data: `synthetic::blobs` with the bench's settings (64 dimensions, 30 blobs,
//! 5% noise, seed 42), the paper's parameters; prints the fit time (wall and
//! process CPU) and the time of each of the paper's four selections. With
//! `BANNERLM_CLUSTER_PETAL=1` it then times petal-clustering's `HDbscan`
//! (ball tree + Borůvka) on the same points.

use std::time::Instant;

use density_cluster::synthetic::{BlobsConfig, blobs};
use density_cluster::{Hdbscan, Progress, SelectionParams};
use petal_clustering::{Fit, HDbscan};

/// Process CPU time (user + system) in seconds, from /proc/self/stat on Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

#[test]
#[ignore = "timing run: BANNERLM_CLUSTER_N=300000 cargo test -p density-cluster --release --test scale -- --ignored --nocapture"]
fn timed_fit() {
    let n: usize = std::env::var("BANNERLM_CLUSTER_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let x = blobs(&BlobsConfig {
        n,
        dim: 64,
        ..BlobsConfig::default()
    });
    let (wall, cpu) = (Instant::now(), cpu_seconds().unwrap_or(0.0));
    let fit = Hdbscan::params(50)
        .min_samples(5)
        .fit_with_progress(&x, |p| {
            if let Progress::SpanningTree { components } = p {
                eprintln!(
                    "  {:>8.1} s: {components} components",
                    wall.elapsed().as_secs_f64()
                );
            }
        })
        .expect("fit");
    let fit_wall = wall.elapsed().as_secs_f64();
    let fit_cpu = cpu_seconds().unwrap_or(0.0) - cpu;
    println!("n={n} dim=64: fit {fit_wall:.2} s wall, {fit_cpu:.2} s cpu");
    for eps in density_cluster::PAPER_EPSILONS {
        let t = Instant::now();
        let c = fit.select(&SelectionParams::eom(eps)).expect("select");
        println!(
            "  eps {eps}: select {:.2} ms; {} clusters, {:.2}% outliers",
            t.elapsed().as_secs_f64() * 1e3,
            c.n_clusters(),
            100.0 * c.outlier_share()
        );
    }
    if std::env::var_os("BANNERLM_CLUSTER_PETAL").is_some() {
        let x64 = x.mapv(f64::from);
        // petal's min_samples counts the point itself.
        let mut model: HDbscan<f64, _> = HDbscan {
            min_samples: 6,
            min_cluster_size: 50,
            ..HDbscan::default()
        };
        let (wall, cpu) = (Instant::now(), cpu_seconds().unwrap_or(0.0));
        let (clusters, noise, _) = model.fit(&x64, None);
        println!(
            "petal-clustering HDbscan (boruvka): {:.2} s wall, {:.2} s cpu; {} clusters, {:.2}% outliers",
            wall.elapsed().as_secs_f64(),
            cpu_seconds().unwrap_or(0.0) - cpu,
            clusters.len(),
            100.0 * noise.len() as f64 / n as f64
        );
    }
}
