//! HDBSCAN fit and re-selection times (density-cluster), with petal-clustering
//! on the same data for the spanning-tree comparison.
//!
//! ```text
//! cargo bench --bench cluster                                   # 20k points, selections, petal at 5k
//! BANNERLM_CLUSTER_SIZES=20000,100000,300000 cargo bench --bench cluster -- cluster/fit
//! ```
//!
//! Data: `density_cluster::synthetic::blobs` (64 dimensions, 30 Gaussian blobs
//! of uneven size, 5% uniform noise, seed 42), the same points that
//! `cargo run --release --example cluster -- --synthetic N --save-input F.npy`
//! writes for `benches/python/cluster_bench.py`. Parameters are the paper's
//! (`min_cluster_size` 50, `min_samples` 5). Large sizes take minutes per fit,
//! so criterion runs the minimum of 10 samples; docs/PERFORMANCE.md also gives
//! single timed runs of the example for them.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use density_cluster::synthetic::{BlobsConfig, blobs};
use density_cluster::{Hdbscan, PAPER_EPSILONS as EPSILONS, SelectionParams};
use petal_clustering::{Fit, HDbscan};

fn data(n: usize) -> ndarray::Array2<f32> {
    blobs(&BlobsConfig {
        n,
        dim: 64,
        ..BlobsConfig::default()
    })
}

fn sizes() -> Vec<usize> {
    std::env::var("BANNERLM_CLUSTER_SIZES").ok().map_or_else(
        || vec![20_000],
        |s| s.split(',').filter_map(|v| v.trim().parse().ok()).collect(),
    )
}

fn fit(c: &mut Criterion) {
    let mut group = c.benchmark_group("cluster/fit");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(5));
    let params = Hdbscan::params(50).min_samples(5);
    for n in sizes() {
        let x = data(n);
        group.bench_with_input(BenchmarkId::new("density-cluster", n), &x, |b, x| {
            b.iter(|| params.fit(x).expect("fit"));
        });
    }
    group.finish();
}

fn select(c: &mut Criterion) {
    let x = data(20_000);
    let fit = Hdbscan::params(50).min_samples(5).fit(&x).expect("fit");
    let mut group = c.benchmark_group("cluster/select-20000");
    for eps in EPSILONS {
        group.bench_with_input(BenchmarkId::new("eom", eps), &eps, |b, &eps| {
            b.iter(|| fit.select(&SelectionParams::eom(eps)).expect("select"));
        });
    }
    group.bench_function("eom-all-four", |b| {
        b.iter(|| fit.select_epsilons(&EPSILONS).expect("select"));
    });
    group.finish();
}

fn versus_petal(c: &mut Criterion) {
    let n = 5_000;
    let x = data(n);
    let x64 = x.mapv(f64::from);
    let mut group = c.benchmark_group("cluster/fit-vs-petal");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_with_input(BenchmarkId::new("density-cluster", n), &x, |b, x| {
        b.iter(|| Hdbscan::params(50).min_samples(5).fit(x).expect("fit"));
    });
    group.bench_with_input(
        BenchmarkId::new("petal-clustering-boruvka", n),
        &x64,
        |b, x| {
            b.iter(|| {
                // petal's min_samples counts the point itself.
                let mut model: HDbscan<f64, _> = HDbscan {
                    min_samples: 6,
                    min_cluster_size: 50,
                    ..HDbscan::default()
                };
                model.fit(x, None)
            });
        },
    );
    group.finish();
}

criterion_group!(benches, fit, select, versus_petal);
criterion_main!(benches);
