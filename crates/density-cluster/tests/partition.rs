//! Clustering groups apart (`fit_partitioned`) and placing new points among a group's
//! clusters (`PartitionedPrediction`).

use density_cluster::synthetic::{BlobsConfig, blobs};
use density_cluster::{Error, Hdbscan, PAPER_EPSILONS, PartitionedPrediction, ValidHdbscanParams};
use ndarray::{Array2, Axis, concatenate};

fn params() -> ValidHdbscanParams {
    Hdbscan::params(15)
        .min_samples(5)
        .check()
        .expect("valid params")
}

/// Two groups drawn from the same blobs (so they overlap in space), of 600 and 400 rows,
/// interleaved.
fn two_groups() -> (Array2<f32>, Vec<&'static str>) {
    let config = BlobsConfig {
        n: 1_000,
        dim: 4,
        n_blobs: 4,
        noise: 0.02,
        seed: 7,
    };
    let x = blobs(&config);
    let groups = (0..x.nrows())
        .map(|i| if i % 5 < 3 { "http" } else { "ssh" })
        .collect();
    (x, groups)
}

#[test]
fn no_cluster_holds_two_groups() {
    let (x, groups) = two_groups();
    let fit = params()
        .fit_partitioned(&x, &groups, &PAPER_EPSILONS, |_, _| {})
        .expect("fit");
    assert_eq!(fit.clusterings.len(), PAPER_EPSILONS.len());
    for c in &fit.clusterings {
        let mut group_of = vec![None; c.n_clusters()];
        for (l, g) in c.labels.iter().zip(&groups) {
            let Some(l) = *l else { continue };
            match group_of[l] {
                None => group_of[l] = Some(*g),
                Some(h) => assert_eq!(h, *g, "cluster {l} holds two groups"),
            }
        }
        assert!(group_of.iter().all(Option::is_some), "a cluster is empty");
        // Both groups found the blobs.
        assert!(group_of.contains(&Some("http")) && group_of.contains(&Some("ssh")));
        let sizes: usize = c.clusters.iter().map(|s| s.size).sum();
        assert_eq!(sizes, c.labels.iter().flatten().count());
    }
    for (i, c) in fit.clusterings.iter().enumerate() {
        assert_eq!(fit.prediction.fitted_labels(i).as_ref(), Some(&c.labels));
        assert_eq!(fit.prediction.n_clusters(i), Some(c.n_clusters()));
        if let Some(l) = c.labels.iter().position(Option::is_some) {
            let label = c.labels[l].expect("label");
            assert_eq!(fit.prediction.group_of_cluster(i, label), Some(groups[l]));
        }
    }
}

#[test]
fn one_group_is_the_plain_fit() {
    let (x, _) = two_groups();
    let groups = vec!["all"; x.nrows()];
    let fit = params()
        .fit_partitioned(&x, &groups, &PAPER_EPSILONS, |_, _| {})
        .expect("partitioned");
    let plain = params().fit(&x).expect("fit");
    let clusterings = plain.select_epsilons(&PAPER_EPSILONS).expect("select");
    for (a, b) in fit.clusterings.iter().zip(&clusterings) {
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.probabilities, b.probabilities);
    }
    let data = plain.prediction_data(&x, &clusterings).expect("data");
    let new = x
        .slice_axis(Axis(0), ndarray::Slice::from(..100))
        .to_owned();
    let placed = fit
        .prediction
        .place(&new, &vec![Some("all"); 100], 5)
        .expect("place");
    assert_eq!(placed, data.place(&new, 5).expect("plain place"));
}

#[test]
fn new_points_go_to_their_group_or_the_nearest() {
    let (x, groups) = two_groups();
    let fit = params()
        .fit_partitioned(&x, &groups, &PAPER_EPSILONS, |_, _| {})
        .expect("fit");
    let p = &fit.prediction;
    // Training points in their own group predict (nearly always) their fitted labels.
    let given: Vec<Option<&str>> = groups.iter().map(|g| Some(*g)).collect();
    let placed = p.place(&x, &given, 3).expect("place");
    for (c, clustering) in fit.clusterings.iter().enumerate() {
        let same = placed.predictions[c]
            .iter()
            .zip(&clustering.labels)
            .filter(|(p, l)| p.label == **l)
            .count();
        assert!(same as f64 >= 0.97 * x.nrows() as f64, "{c}: {same}");
    }
    for (row, near) in placed.nearest.iter().enumerate() {
        assert_eq!(near.len(), 3);
        assert!(near.iter().all(|&(j, _)| groups[j] == groups[row]));
        assert_eq!(near[0], (row, 0.0), "a fitted point is its own nearest");
    }
    // Without a group: the group of the nearest fitted point.
    let unknown = vec![None; x.nrows()];
    let free = p.place(&x, &unknown, 1).expect("place");
    for (row, near) in free.nearest.iter().enumerate() {
        assert!(near[0].1.abs() < f32::EPSILON);
        assert_eq!(groups[near[0].0], groups[row]);
    }
    // A group that was not fitted: outliers without neighbours.
    let other = p
        .place(
            &x.slice_axis(Axis(0), ndarray::Slice::from(..2)),
            &[Some("ftp"); 2],
            3,
        )
        .expect("place");
    assert!(
        other
            .predictions
            .iter()
            .flatten()
            .all(|p| p.label.is_none())
    );
    assert!(other.nearest.iter().all(Vec::is_empty));
    // Mismatched lengths are an error.
    assert!(matches!(
        p.place(&x, &given[..10], 1),
        Err(Error::FitMismatch { .. })
    ));
}

#[test]
fn a_one_row_group_is_an_outlier_and_round_trips() {
    let (x, mut groups) = two_groups();
    groups[17] = "telnet";
    let fit = params()
        .fit_partitioned(&x, &groups, &[0.0, 0.1], |_, _| {})
        .expect("fit");
    for c in &fit.clusterings {
        assert_eq!(c.labels[17], None);
    }
    let row = x
        .slice_axis(Axis(0), ndarray::Slice::from(17..18))
        .to_owned();
    let near = concatenate(Axis(0), &[row.view(), (&row + 1.0).view()]).expect("rows");
    let placed = fit
        .prediction
        .place(&near, &[Some("telnet"), Some("telnet")], 2)
        .expect("place");
    assert!(
        placed
            .predictions
            .iter()
            .flatten()
            .all(|p| p.label.is_none())
    );
    assert_eq!(placed.nearest[0], vec![(17, 0.0)]);
    assert!((placed.nearest[1][0].1 - 2.0).abs() < 1e-6);
    let json = serde_json::to_string(&fit.prediction).expect("json");
    let back: PartitionedPrediction = serde_json::from_str(&json).expect("read back");
    assert_eq!(back, fit.prediction);
    let given: Vec<Option<&str>> = groups.iter().map(|g| Some(*g)).collect();
    assert_eq!(
        back.place(&x, &given, 2).expect("loaded"),
        fit.prediction.place(&x, &given, 2).expect("original")
    );
}

/// An edit of stored prediction data (as a JSON value).
type Edit = Box<dyn Fn(&mut serde_json::Value)>;

#[test]
fn edited_files_are_refused() {
    let (x, groups) = two_groups();
    let fit = params()
        .fit_partitioned(&x, &groups, &[0.0], |_, _| {})
        .expect("fit");
    let good = serde_json::to_value(&fit.prediction).expect("json");
    let edits: Vec<(&str, Edit)> = vec![
        (
            "format version",
            Box::new(|v| v["format_version"] = 2.into()),
        ),
        (
            "row in two groups",
            Box::new(|v| {
                let r = v["parts"][0]["rows"][0].clone();
                v["parts"][1]["rows"][0] = r;
            }),
        ),
        ("row in no group", Box::new(|v| v["n_points"] = 1001.into())),
        (
            "huge point count",
            Box::new(|v| v["n_points"] = serde_json::json!(u64::MAX / 2)),
        ),
        (
            "label offsets",
            Box::new(|v| v["parts"][1]["label_offsets"][0] = 0.into()),
        ),
        (
            "duplicate group",
            Box::new(|v| v["parts"][1]["group"] = "http".into()),
        ),
        (
            "other selections",
            Box::new(|v| v["selections"][0]["epsilon"] = 0.5.into()),
        ),
    ];
    for (what, edit) in edits {
        let mut v = good.clone();
        edit(&mut v);
        assert!(
            serde_json::from_value::<PartitionedPrediction>(v).is_err(),
            "{what} accepted"
        );
    }
    assert!(serde_json::from_value::<PartitionedPrediction>(good).is_ok());
}

#[test]
fn bad_input_is_an_error() {
    let (x, groups) = two_groups();
    assert!(matches!(
        params().fit_partitioned(&x, &groups[..10], &[0.0], |_, _| {}),
        Err(Error::FitMismatch { .. })
    ));
    let empty = Array2::<f32>::zeros((0, 4));
    let none: Vec<&str> = Vec::new();
    assert!(matches!(
        params().fit_partitioned(&empty, &none, &[0.0], |_, _| {}),
        Err(Error::EmptyInput { .. })
    ));
}
