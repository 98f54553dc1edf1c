//! Approximate prediction of new points against Python `hdbscan.approximate_predict`
//! (fixture written by `scripts/hdbscan_predict_fixture.py`), and the stored
//! form of [`PredictionData`].

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use common::adjusted_rand_index;
use density_cluster::{
    Clustering, Error, Hdbscan, HdbscanFit, PredictionData, SelectionMethod, SelectionParams,
};
use ndarray::Array2;
use ndarray_npy::read_npy;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
}

struct Fixture {
    train: Array2<f32>,
    test: Array2<f32>,
    train_labels: Array2<i32>,
    labels: Array2<i32>,
    probs: Array2<f64>,
    columns: Vec<(SelectionMethod, f64, bool)>,
    /// Per column, `approximate_predict`'s label numbering -> that of `labels_`.
    to_fit_label: Vec<Vec<i32>>,
    /// Per column and `labels_` label, a training point directly under the node
    /// that `approximate_predict` maps.
    node_points: Vec<Vec<usize>>,
}

fn fixture() -> Fixture {
    let dir = data_dir();
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("predict32_meta.json")).expect("meta"),
    )
    .expect("meta json");
    let columns: Vec<_> = meta["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| {
            let method = match c["method"].as_str() {
                Some("leaf") => SelectionMethod::Leaf,
                _ => SelectionMethod::Eom,
            };
            (
                method,
                c["epsilon"].as_f64().expect("epsilon"),
                c["python_cluster_map_complete"].as_bool().expect("flag"),
            )
        })
        .collect();
    let to_fit_label = meta["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| {
            c["prediction_label_to_fit_label"]
                .as_array()
                .expect("label map")
                .iter()
                .map(|l| i32::try_from(l.as_i64().expect("label")).expect("small"))
                .collect()
        })
        .collect();
    let node_points = meta["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| {
            c["prediction_node_points"]
                .as_array()
                .expect("node points")
                .iter()
                .map(|p| usize::try_from(p.as_u64().expect("point")).expect("small"))
                .collect()
        })
        .collect();
    assert_eq!(meta["min_cluster_size"], 15);
    assert_eq!(meta["min_samples"], 5);
    let f = Fixture {
        train: read_npy(dir.join("predict32_train.npy")).expect("train"),
        test: read_npy(dir.join("predict32_test.npy")).expect("test"),
        train_labels: read_npy(dir.join("predict32_train_labels.npy")).expect("train labels"),
        labels: read_npy(dir.join("predict32_labels.npy")).expect("labels"),
        probs: read_npy(dir.join("predict32_probs.npy")).expect("probs"),
        columns,
        to_fit_label,
        node_points,
    };
    assert_eq!(f.train_labels.dim(), (f.train.nrows(), f.columns.len()));
    assert_eq!(f.labels.dim(), (f.test.nrows(), f.columns.len()));
    assert_eq!(f.probs.dim(), f.labels.dim());
    f
}

fn fit_and_select(f: &Fixture) -> (HdbscanFit, Vec<Clustering>) {
    let fit = Hdbscan::params(15)
        .min_samples(5)
        .fit(&f.train)
        .expect("fit");
    let clusterings = f
        .columns
        .iter()
        .map(|&(method, epsilon, _)| {
            fit.select(&SelectionParams {
                epsilon,
                method,
                allow_single_cluster: false,
            })
            .expect("select")
        })
        .collect();
    (fit, clusterings)
}

/// Our label -> Python's, from the training points: the most common Python
/// label among each of our clusters (the partitions are equal or nearly so).
fn relabelling(ours: &[i64], theirs: &[i64]) -> HashMap<i64, i64> {
    let mut counts: HashMap<(i64, i64), usize> = HashMap::new();
    for (&a, &b) in ours.iter().zip(theirs) {
        *counts.entry((a, b)).or_default() += 1;
    }
    let mut best: HashMap<i64, (usize, i64)> = HashMap::new();
    for (&(a, b), &n) in &counts {
        let e = best.entry(a).or_insert((0, b));
        if n > e.0 || (n == e.0 && b < e.1) {
            *e = (n, b);
        }
    }
    let mut map: HashMap<i64, i64> = best.into_iter().map(|(a, (_, b))| (a, b)).collect();
    map.insert(-1, -1);
    map
}

/// Share of identical labels (after `map`) over `rows`, and the largest
/// probability difference where they agree.
fn compare(
    ours: &[density_cluster::Prediction],
    labels: &[i32],
    probs: &[f64],
    map: &HashMap<i64, i64>,
    rows: &[usize],
) -> (f64, f64, usize) {
    let mut same = 0usize;
    let mut max_diff = 0.0f64;
    for &i in rows {
        let mapped = map.get(&ours[i].label_i64()).copied().unwrap_or(-2);
        if mapped == i64::from(labels[i]) {
            same += 1;
            max_diff = max_diff.max((ours[i].probability - probs[i]).abs());
        }
    }
    (same as f64 / rows.len().max(1) as f64, max_diff, rows.len())
}

/// A clustering whose cluster nodes are those Python's `approximate_predict`
/// maps (`_select_clusters`: the smallest condensed-tree parent among each
/// label's points), found through a training point directly under each.
fn with_python_nodes(
    fit: &HdbscanFit,
    c: &Clustering,
    map: &HashMap<i64, i64>,
    node_points: &[usize],
) -> Clustering {
    let tree = fit.condensed_tree();
    let mut out = c.clone();
    for (l, s) in out.clusters.iter_mut().enumerate() {
        let theirs = usize::try_from(map[&(l as i64)]).expect("a cluster");
        s.node = tree.point_parent(node_points[theirs]);
    }
    out
}

#[test]
fn agrees_with_python_approximate_predict() {
    let f = fixture();
    let (fit, clusterings) = fit_and_select(&f);
    let data = fit
        .prediction_data(&f.train, &clusterings)
        .expect("prediction data");
    let predicted = data.predict(&f.test).expect("predict");
    let all: Vec<usize> = (0..f.test.nrows()).collect();
    let mut emulated_columns = 0;
    for (col, &(method, epsilon, complete)) in f.columns.iter().enumerate() {
        let ours_train = clusterings[col].labels_i64();
        let theirs_train: Vec<i64> = f
            .train_labels
            .column(col)
            .iter()
            .map(|&l| i64::from(l))
            .collect();
        let ari = adjusted_rand_index(&ours_train, &theirs_train);
        assert!(ari >= 0.99, "{method:?} eps={epsilon}: training ARI {ari}");
        let map = relabelling(&ours_train, &theirs_train);
        let train_same = ours_train
            .iter()
            .zip(&theirs_train)
            .filter(|&(a, b)| map[a] == *b)
            .count();
        // Python's predictions in the numbering of its labels_ (see the script).
        let to_fit = &f.to_fit_label[col];
        let labels: Vec<i32> = f
            .labels
            .column(col)
            .iter()
            .map(|&l| usize::try_from(l).map_or(-1, |l| to_fit[l]))
            .collect();
        let probs = f.probs.column(col).to_vec();
        // The method itself, with Python's cluster map (through training points,
        // so only where the training partitions are identical).
        let emulated = (train_same == ours_train.len()).then(|| {
            fit.prediction_data(
                &f.train,
                &[with_python_nodes(
                    &fit,
                    &clusterings[col],
                    &map,
                    &f.node_points[col],
                )],
            )
            .expect("prediction data with Python's nodes")
            .predict(&f.test)
            .expect("predict")
            .remove(0)
        });
        let (share_e, diff_e, _) = emulated.as_ref().map_or((f64::NAN, f64::NAN, 0), |e| {
            compare(e, &labels, &probs, &map, &all)
        });
        // Our cluster map: everywhere when Python's is complete, else where
        // Python found a cluster (its noise there is partly its map's gap).
        let labelled: Vec<usize> = all.iter().copied().filter(|&i| labels[i] >= 0).collect();
        let rows = if complete { &all } else { &labelled };
        let (share, diff, count) = compare(&predicted[col], &labels, &probs, &map, rows);
        let rescued = all
            .iter()
            .filter(|&&i| labels[i] < 0 && predicted[col][i].label.is_some())
            .count();
        eprintln!(
            "{method:?} eps={epsilon}: training labels {train_same}/{} as Python's; \
             Python's map complete: {complete}; with Python's nodes \
             {:.2}% identical (max prob diff {diff_e:.2e}); ours {:.2}% of {count} \
             (max prob diff {diff:.2e}); Python noise that we label: {rescued}",
            ours_train.len(),
            100.0 * share_e,
            100.0 * share
        );
        if emulated.is_some() {
            emulated_columns += 1;
            assert!(
                share_e >= 0.99,
                "{method:?} eps={epsilon}: {share_e} with Python's nodes"
            );
            assert!(
                diff_e < 1e-6,
                "{method:?} eps={epsilon}: prob diff {diff_e}"
            );
        }
        assert!(share >= 0.99, "{method:?} eps={epsilon}: {share}");
        // Python's lambda_max is that of its node, a sub-cluster, where its map
        // is incomplete; ours is the selected cluster's, as the fit's probabilities.
        if complete {
            assert!(diff < 1e-6, "{method:?} eps={epsilon}: prob diff {diff}");
        }
    }
    assert!(f.columns[0].2, "eps 0 / eom must compare everywhere");
    assert!(
        emulated_columns >= 4,
        "only {emulated_columns} columns with Python's nodes"
    );
}

#[test]
fn training_points_predict_their_fitted_labels() {
    let f = fixture();
    let (fit, clusterings) = fit_and_select(&f);
    let data = fit.prediction_data(&f.train, &clusterings).expect("data");
    let predicted = data.predict(&f.train).expect("predict");
    for (c, p) in clusterings.iter().zip(&predicted) {
        let same = p
            .iter()
            .zip(&c.labels)
            .filter(|(p, l)| p.label == **l)
            .count();
        let share = same as f64 / c.labels.len() as f64;
        eprintln!(
            "{:?} eps={}: {:.2}% of training points predicted as fitted",
            c.params.method,
            c.params.epsilon,
            100.0 * share
        );
        assert!(share >= 0.98, "{:?}: {share}", c.params);
    }
}

fn small_data() -> (Array2<f32>, PredictionData) {
    let f = fixture();
    let train = f
        .train
        .slice_axis(ndarray::Axis(0), ndarray::Slice::from(..400))
        .to_owned();
    let fit = Hdbscan::params(15).min_samples(5).fit(&train).expect("fit");
    let clusterings = fit
        .select_epsilons(&density_cluster::PAPER_EPSILONS)
        .expect("select");
    let data = fit.prediction_data(&train, &clusterings).expect("data");
    (f.test, data)
}

#[test]
fn serde_round_trip_predicts_the_same() {
    let (test, data) = small_data();
    let json = serde_json::to_string(&data).expect("serialise");
    let loaded: PredictionData = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(loaded, data);
    assert_eq!(loaded.selections(), data.selections());
    assert_eq!(
        loaded.predict(&test).expect("loaded"),
        data.predict(&test).expect("original")
    );
}

/// An edit of stored prediction data (as a JSON value).
type Edit = Box<dyn Fn(&mut serde_json::Value)>;

#[test]
fn truncated_or_edited_data_is_an_error() {
    let (_, data) = small_data();
    let json = serde_json::to_string(&data).expect("serialise");
    for cut in [0, 1, json.len() / 3, json.len() / 2, json.len() - 1] {
        assert!(
            serde_json::from_str::<PredictionData>(&json[..cut]).is_err(),
            "cut {cut}"
        );
    }
    let value: serde_json::Value = serde_json::from_str(&json).expect("value");
    let edits: Vec<(&str, Edit)> = vec![
        (
            "format version 2",
            Box::new(|v| v["format_version"] = 2.into()),
        ),
        (
            "format version 0",
            Box::new(|v| {
                v.as_object_mut().expect("object").remove("format_version");
            }),
        ),
        (
            "core distance",
            Box::new(|v| v["core_distances"][3] = (-1.0).into()),
        ),
        (
            "point_parent has",
            Box::new(|v| {
                v["point_parent"].as_array_mut().expect("array").pop();
            }),
        ),
        (
            "point values",
            Box::new(|v| {
                v["points"].as_array_mut().expect("array").pop();
            }),
        ),
        (
            "not in the tree",
            Box::new(|v| v["clusterings"][0]["nodes"][0] = 99_999.into()),
        ),
        (
            "not an earlier cluster",
            Box::new(|v| {
                let n = v["n_points"].as_u64().expect("n");
                v["cluster_parent"][0] = (n + 1).into();
            }),
        ),
        ("min_samples", Box::new(|v| v["min_samples"] = 0.into())),
        (
            "max lambdas",
            Box::new(|v| {
                v["clusterings"][1]["max_lambdas"]
                    .as_array_mut()
                    .expect("array")
                    .pop();
            }),
        ),
        (
            "cluster_selection_epsilon",
            Box::new(|v| v["clusterings"][0]["params"]["epsilon"] = (-0.5).into()),
        ),
        (
            "selected twice",
            Box::new(|v| {
                let first = v["clusterings"][0]["nodes"][0].clone();
                v["clusterings"][0]["nodes"][1] = first;
            }),
        ),
    ];
    for (expected, edit) in edits {
        let mut v = value.clone();
        edit(&mut v);
        let err = serde_json::from_value::<PredictionData>(v).expect_err(expected);
        assert!(err.to_string().contains(expected), "{expected}: {err}");
    }
    // a null (NaN) in the points is a type error, not a panic
    let mut v = value.clone();
    v["points"][0] = serde_json::Value::Null;
    assert!(serde_json::from_value::<PredictionData>(v).is_err());
    // the typed errors behind the messages
    let version = Error::PredictionFormat {
        found: 2,
        supported: density_cluster::PREDICTION_FORMAT_VERSION,
    };
    assert!(version.to_string().contains("format version 2"));
}
