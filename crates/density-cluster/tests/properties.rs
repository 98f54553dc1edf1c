//! Property tests: valid partitions, monotone cluster counts in epsilon,
//! identical points together.

use density_cluster::{Hdbscan, SelectionMethod, SelectionParams};
use ndarray::Array2;
use proptest::prelude::*;

/// Points in a few loose groups on a 3-d grid, some duplicated exactly.
fn points() -> impl Strategy<Value = Array2<f32>> {
    (20usize..120, 1usize..5, any::<u64>()).prop_flat_map(|(n, groups, seed)| {
        proptest::collection::vec(
            (0..groups, -1.0f32..1.0, -1.0f32..1.0, -1.0f32..1.0, 0u8..10),
            n,
        )
        .prop_map(move |rows| {
            let _ = seed;
            let mut x = Array2::zeros((rows.len(), 3));
            for (i, &(g, a, b, c, dup)) in rows.iter().enumerate() {
                // every tenth-ish row repeats the previous row exactly
                if dup == 0 && i > 0 {
                    let prev = x.row(i - 1).to_owned();
                    x.row_mut(i).assign(&prev);
                } else {
                    let centre = g as f32 * 3.0;
                    x[[i, 0]] = centre + a * 0.5;
                    x[[i, 1]] = centre + b * 0.5;
                    x[[i, 2]] = c * 0.5;
                }
            }
            x
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn labels_are_a_valid_partition(x in points(), mcs in 2usize..12, ms in 1usize..8, leaf in any::<bool>(), eps in 0.0f64..2.0) {
        let fit = Hdbscan::params(mcs).min_samples(ms).fit(&x).expect("fit");
        let method = if leaf { SelectionMethod::Leaf } else { SelectionMethod::Eom };
        let c = fit.select(&SelectionParams { epsilon: eps, method, allow_single_cluster: false }).expect("valid input");
        prop_assert_eq!(c.labels.len(), x.nrows());
        prop_assert_eq!(c.probabilities.len(), x.nrows());
        let mut sizes = vec![0usize; c.n_clusters()];
        for (l, p) in c.labels.iter().zip(&c.probabilities) {
            if let Some(l) = l {
                prop_assert!(*l < c.n_clusters());
                sizes[*l] += 1;
                prop_assert!((0.0..=1.0).contains(p));
            } else {
                prop_assert!(*p == 0.0, "outlier with probability {}", p);
            }
        }
        // Every cluster is non-empty, sizes add up, summaries agree.
        for (s, summary) in sizes.iter().zip(&c.clusters) {
            prop_assert!(*s > 0);
            prop_assert_eq!(*s, summary.size);
        }
        prop_assert_eq!(sizes.iter().sum::<usize>() + c.n_outliers(), x.nrows());
        // The spanning tree spans.
        prop_assert_eq!(fit.minimum_spanning_tree().len(), x.nrows() - 1);
    }

    #[test]
    fn raising_epsilon_never_adds_clusters(x in points(), mcs in 2usize..12, ms in 1usize..8, leaf in any::<bool>()) {
        let fit = Hdbscan::params(mcs).min_samples(ms).fit(&x).expect("fit");
        let method = if leaf { SelectionMethod::Leaf } else { SelectionMethod::Eom };
        let mut last = usize::MAX;
        for eps in [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0] {
            let c = fit.select(&SelectionParams { epsilon: eps, method, allow_single_cluster: false }).expect("valid input");
            prop_assert!(c.n_clusters() <= last, "eps {} gave {} clusters after {}", eps, c.n_clusters(), last);
            last = c.n_clusters();
        }
    }

    /// From `min_cluster_size` 3 up. At 2, ties among mutual-reachability distances (an exact
    /// duplicate has the same distance to everything as its twin) can make a two-point cluster
    /// of one twin and a neighbour while the other twin falls out as noise: 1 case in a few
    /// thousand here with excess of mass, more often with leaf selection, and Python `hdbscan`
    /// builds the same binary hierarchy (see the crate docs, "Exact duplicates"). From 3 up,
    /// 90,000 cases (3 runs of 30,000, both methods) found no split.
    #[test]
    fn identical_points_share_a_cluster(x in points(), mcs in 3usize..12, ms in 1usize..8, leaf in any::<bool>(), eps in 0.0f64..2.0) {
        let fit = Hdbscan::params(mcs).min_samples(ms).fit(&x).expect("fit");
        let method = if leaf { SelectionMethod::Leaf } else { SelectionMethod::Eom };
        let c = fit.select(&SelectionParams { epsilon: eps, method, allow_single_cluster: false }).expect("valid input");
        for i in 1..x.nrows() {
            if x.row(i) == x.row(i - 1) {
                prop_assert_eq!(c.labels[i], c.labels[i - 1], "rows {} and {}", i - 1, i);
            }
        }
    }
}

#[test]
fn single_cluster_only_when_allowed() {
    // One Gaussian blob, no noise: only allow_single_cluster can return it whole.
    let x = density_cluster::synthetic::blobs(&density_cluster::synthetic::BlobsConfig {
        n: 300,
        dim: 2,
        n_blobs: 1,
        noise: 0.0,
        seed: 7,
    });
    let fit = Hdbscan::params(10).min_samples(3).fit(&x).expect("fit");
    let single = fit
        .select(&SelectionParams {
            allow_single_cluster: true,
            ..SelectionParams::eom(0.0)
        })
        .expect("valid");
    let plain = fit.select(&SelectionParams::eom(0.0)).expect("valid");
    eprintln!(
        "single: {} clusters, plain: {} clusters",
        single.n_clusters(),
        plain.n_clusters()
    );
    assert_eq!(single.n_clusters(), 1);
    assert_eq!(
        single.clusters[0].node,
        fit.condensed_tree().n_points(),
        "the root is the cluster"
    );
    assert!(
        plain
            .clusters
            .iter()
            .all(|c| c.node != fit.condensed_tree().n_points())
    );
}

#[test]
fn invalid_inputs_are_errors() {
    use density_cluster::Error;
    let params = Hdbscan::params(5);
    assert!(matches!(
        params.fit(&Array2::<f32>::zeros((1, 3))),
        Err(Error::EmptyInput { rows: 1, cols: 3 })
    ));
    assert!(matches!(
        params.fit(&Array2::<f32>::zeros((10, 0))),
        Err(Error::EmptyInput { .. })
    ));
    let mut x = Array2::<f64>::zeros((10, 2));
    x[[4, 1]] = f64::NAN;
    assert!(matches!(
        params.fit(&x),
        Err(Error::NonFinite { row: 4, col: 1 })
    ));
    let fit = params
        .fit(&Array2::<f32>::zeros((10, 2)))
        .expect("valid input");
    assert!(matches!(
        fit.select(&SelectionParams::eom(-0.5)),
        Err(Error::Epsilon(_))
    ));
    // All points identical: no panic, a valid (if degenerate) result.
    let c = fit.cluster().expect("valid input");
    assert_eq!(c.labels.len(), 10);
}
