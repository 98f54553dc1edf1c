//! Agreement with Python `hdbscan` (fixture written by
//! `benches/python/hdbscan_reference.py`) and with petal-clustering.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use common::adjusted_rand_index;
use density_cluster::synthetic::{BlobsConfig, blobs};
use density_cluster::{Hdbscan, SelectionMethod, SelectionParams};
use ndarray::{Array2, ArrayView2};
use ndarray_npy::read_npy;
use petal_clustering::{Fit, HDbscan};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
}

/// The columns of `hier64_labels.npy`, as written by the Python script.
const COLUMNS: [(SelectionMethod, f64); 8] = [
    (SelectionMethod::Eom, 0.0),
    (SelectionMethod::Eom, 0.01),
    (SelectionMethod::Eom, 0.02),
    (SelectionMethod::Eom, 0.05),
    (SelectionMethod::Eom, 0.1),
    (SelectionMethod::Leaf, 0.0),
    (SelectionMethod::Leaf, 0.02),
    (SelectionMethod::Leaf, 0.05),
];

fn fixture() -> (Array2<f32>, Array2<i32>) {
    let x: Array2<f32> = read_npy(data_dir().join("hier64.npy")).expect("fixture data");
    let labels: Array2<i32> =
        read_npy(data_dir().join("hier64_labels.npy")).expect("fixture labels");
    assert_eq!(labels.dim(), (x.nrows(), COLUMNS.len()));
    (x, labels)
}

#[test]
fn matches_python_hdbscan_for_every_epsilon() {
    let (x, reference) = fixture();
    // min_cluster_size / min_samples as in hier64_meta.json
    let fit = Hdbscan::params(20).min_samples(5).fit(&x).expect("fit");
    for (col, &(method, epsilon)) in COLUMNS.iter().enumerate() {
        let ours = fit
            .select(&SelectionParams {
                epsilon,
                method,
                allow_single_cluster: false,
            })
            .expect("select");
        let theirs: Vec<i64> = reference
            .column(col)
            .iter()
            .map(|&l| i64::from(l))
            .collect();
        let ari = adjusted_rand_index(&ours.labels_i64(), &theirs);
        let n_theirs = theirs.iter().copied().max().unwrap_or(-1) + 1;
        eprintln!(
            "{method:?} eps={epsilon}: ARI {ari:.5}, clusters {} vs {n_theirs}, outliers {} vs {}",
            ours.n_clusters(),
            ours.n_outliers(),
            theirs.iter().filter(|&&l| l < 0).count()
        );
        assert!(ari >= 0.99, "{method:?} eps={epsilon}: ARI {ari}");
    }
}

/// The label renaming that turns `a` into `b`, if the partitions are equal.
fn bijection(a: &[i64], b: &[i64]) -> Option<HashMap<i64, i64>> {
    let mut forward = HashMap::new();
    let mut backward = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        if *forward.entry(x).or_insert(y) != y || *backward.entry(y).or_insert(x) != x {
            return None;
        }
    }
    (forward.get(&-1).is_none_or(|&v| v == -1)).then_some(forward)
}

#[test]
fn probabilities_and_persistence_match_python_hdbscan() {
    let (x, reference) = fixture();
    let probs: Array2<f32> =
        read_npy(data_dir().join("hier64_probs.npy")).expect("fixture probabilities");
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("hier64_meta.json")).expect("meta"),
    )
    .expect("meta json");
    let fit = Hdbscan::params(20).min_samples(5).fit(&x).expect("fit");
    let mut compared = 0;
    for (col, &(method, epsilon)) in COLUMNS.iter().enumerate() {
        let ours = fit
            .select(&SelectionParams {
                epsilon,
                method,
                allow_single_cluster: false,
            })
            .expect("select");
        let theirs: Vec<i64> = reference
            .column(col)
            .iter()
            .map(|&l| i64::from(l))
            .collect();
        // Same partition up to the numbering of clusters (node numbering
        // depends on the left/right order of single-linkage merges).
        let Some(map) = bijection(&ours.labels_i64(), &theirs) else {
            continue;
        };
        compared += 1;
        for (p, (&a, &b)) in ours.probabilities.iter().zip(probs.column(col)).enumerate() {
            assert!(
                (a - f64::from(b)).abs() < 1e-5,
                "{method:?} eps={epsilon} point {p}: {a} vs {b}"
            );
        }
        let persistence = meta["columns"][col]["cluster_persistence"]
            .as_array()
            .expect("persistence list");
        assert_eq!(persistence.len(), ours.n_clusters());
        for (ours_label, c) in ours.clusters.iter().enumerate() {
            let v = persistence[map[&(ours_label as i64)] as usize]
                .as_f64()
                .expect("number");
            assert!(
                (c.persistence - v).abs() < 1e-6 * v.abs().max(1.0),
                "{method:?} eps={epsilon}: {} vs {v}",
                c.persistence
            );
        }
    }
    // At least most of the columns must have been compared value by value.
    assert!(compared >= 6, "only {compared} identical labelings");
}

#[test]
fn epsilons_change_the_clustering_on_the_fixture() {
    // Guards the fixture itself: the test above must compare different clusterings.
    let (_, reference) = fixture();
    let counts: Vec<i32> = (0..5)
        .map(|c| reference.column(c).iter().copied().max().unwrap_or(-1) + 1)
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert!(counts[0] > counts[4], "{counts:?}");
}

fn petal_labels(x: &ArrayView2<'_, f64>, min_cluster_size: usize, min_samples: usize) -> Vec<i64> {
    // petal's min_samples counts the point itself.
    let mut model: HDbscan<f64, _> = HDbscan {
        min_samples: min_samples + 1,
        min_cluster_size,
        ..HDbscan::default()
    };
    let (clusters, _, _) = model.fit(x, None);
    let mut labels = vec![-1i64; x.nrows()];
    let mut ids: Vec<_> = clusters.keys().copied().collect();
    ids.sort_unstable();
    let relabel: HashMap<usize, i64> = ids
        .iter()
        .enumerate()
        .map(|(i, &c)| (c, i as i64))
        .collect();
    for (c, points) in &clusters {
        for &p in points {
            labels[p] = relabel[c];
        }
    }
    labels
}

#[test]
fn eom_matches_petal_clustering() {
    // petal's ball tree is slow in 64 dimensions, so this cross-check uses
    // 8-dimensional blobs (petal has no epsilon or leaf selection to compare).
    for seed in [1, 2] {
        let x = blobs(&BlobsConfig {
            n: 1500,
            dim: 8,
            n_blobs: 8,
            noise: 0.05,
            seed,
        });
        let fit = Hdbscan::params(15).min_samples(5).fit(&x).expect("fit");
        let ours = fit.select(&SelectionParams::eom(0.0)).expect("select");
        let theirs = petal_labels(&x.mapv(f64::from).view(), 15, 5);
        let ari = adjusted_rand_index(&ours.labels_i64(), &theirs);
        eprintln!(
            "seed {seed}: {} clusters, ARI vs petal-clustering {ari}",
            ours.n_clusters()
        );
        assert!(ours.n_clusters() >= 4);
        assert!(ari >= 0.99, "seed {seed}: ARI vs petal-clustering {ari}");
    }
}
