#!/usr/bin/env python3
"""Reference fixture for density-cluster's approximate prediction of new points.

Fits Python `hdbscan` (prediction_data=True) on a small seeded data set
(hierarchical blobs near the unit sphere in 32 dimensions, the regime where the
paper's cluster_selection_epsilon values 0.01 .. 0.1 matter, plus 4% noise)
for several selections, calls `hdbscan.approximate_predict` on held-out points
(drawn from the same blobs and noise, plus points between blobs and far away),
and writes

    crates/density-cluster/tests/data/predict32_train.npy      float32 (n, 32)
    crates/density-cluster/tests/data/predict32_test.npy       float32 (m, 32)
    crates/density-cluster/tests/data/predict32_train_labels.npy  int32 (n, c): labels_ per column
    crates/density-cluster/tests/data/predict32_labels.npy     int32 (m, c): approximate_predict labels
    crates/density-cluster/tests/data/predict32_probs.npy      float64 (m, c): approximate_predict probabilities
    crates/density-cluster/tests/data/predict32_meta.json      parameters, versions, and per
        column whether approximate_predict's cluster map covers every selected
        cluster, the map from its label numbering to that of labels_, and
        for each label a training point that is a direct child of the mapped node

The Rust test `crates/density-cluster/tests/predict.rs` reads these files;
Python is not needed to run it. Run from the repository root:

    python3 -m venv /tmp/hdbvenv && /tmp/hdbvenv/bin/pip install hdbscan scikit-learn numpy
    /tmp/hdbvenv/bin/python scripts/hdbscan_predict_fixture.py
"""
import importlib.metadata
import json
import os
import platform

import hdbscan
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "density-cluster", "tests", "data")
DIM = 32
MIN_CLUSTER_SIZE = 15
MIN_SAMPLES = 5
HELD_OUT_SHARE = 0.2
COLUMNS = [("eom", 0.0), ("eom", 0.01), ("eom", 0.02), ("eom", 0.05), ("eom", 0.1),
           ("leaf", 0.0), ("leaf", 0.05)]


def make_data(seed=20240519, dim=DIM):
    """Blobs inside blobs near the unit sphere plus noise; returns (train, test)."""
    rng = np.random.default_rng(seed)
    train, test, tops = [], [], []
    for _ in range(6):
        top = rng.normal(size=dim)
        top /= np.linalg.norm(top)
        tops.append(top)
        for _ in range(rng.integers(2, 6)):
            # sub-centres 0.004 .. 0.15 (log-uniform) from their top centre
            off = rng.normal(size=dim)
            off *= np.exp(rng.uniform(np.log(0.004), np.log(0.15))) / np.linalg.norm(off)
            centre = top + off
            size = int(rng.integers(40, 130))
            spread = rng.uniform(0.0001, 0.0006)
            blob = centre + rng.normal(scale=spread, size=(size, dim))
            cut = int(round(size * (1 - HELD_OUT_SHARE)))
            train.append(blob[:cut])
            test.append(blob[cut:])
    n_blobs = sum(len(b) for b in train) + sum(len(b) for b in test)
    noise = rng.normal(size=(int(0.04 * n_blobs), dim))
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    cut = int(round(len(noise) * (1 - HELD_OUT_SHARE)))
    train.append(noise[:cut])
    test.append(noise[cut:])
    # Held out only: points half way between two top centres, and far away.
    between = [(tops[i] + tops[(i + 1) % len(tops)]) / 2 for i in range(len(tops))]
    far = rng.normal(size=(10, dim))
    far *= rng.uniform(3.0, 6.0, size=(10, 1)) / np.linalg.norm(far, axis=1, keepdims=True)
    test.append(np.array(between))
    test.append(far)
    train = np.vstack(train).astype(np.float32)
    test = np.vstack(test).astype(np.float32)
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


def cluster_map_complete(model):
    """Whether approximate_predict's cluster map covers every selected cluster.

    hdbscan 0.8.x derives the selected clusters from labels_ (so it honours
    cluster_selection_epsilon and leaf selection) as the smallest condensed-tree
    parent among each label's points. When a selected cluster has no points of
    its own (it splits at once into sub-clusters, common after an epsilon
    merge), that is one of its sub-clusters, and new points landing in the
    others are predicted as noise. Density-cluster maps the selected cluster
    itself; the Rust test compares the two only where they coincide.
    """
    pd = model.prediction_data_
    raw = model.condensed_tree_._raw_tree
    points = raw[raw["child_size"] == 1]
    parent_of = dict(zip(points["child"].tolist(), points["parent"].tolist()))
    for label in range(int(model.labels_.max()) + 1):
        members = np.flatnonzero(model.labels_ == label)
        mapped = {c for c, v in pd.cluster_map.items() if v == label}
        if any(parent_of[int(p)] not in mapped for p in members):
            return False
    return True


def main():
    train, test = make_data()
    x = train.astype(np.float64)
    q = test.astype(np.float64)
    train_labels, labels, probs, columns = [], [], [], []
    for method, eps in COLUMNS:
        model = hdbscan.HDBSCAN(
            min_cluster_size=MIN_CLUSTER_SIZE,
            min_samples=MIN_SAMPLES,
            cluster_selection_epsilon=eps,
            cluster_selection_method=method,
            metric="euclidean",
            algorithm="best",
            prediction_data=True,
        ).fit(x)
        pred, prob = hdbscan.approximate_predict(model, q)
        # Does approximate_predict honour this selection? Its cluster map is
        # derived from labels_ (0.8.x), so every training label must be reachable.
        n_clusters = int(model.labels_.max()) + 1
        complete = cluster_map_complete(model)
        # approximate_predict numbers clusters by the sorted ids of the nodes in
        # its cluster map; labels_ by the selected clusters. Where the map takes
        # a sub-cluster (see cluster_map_complete) the two orders can differ.
        nodes = model.condensed_tree_._select_clusters()
        to_fit_label = [nodes.index(c) for c in sorted(nodes)]
        # For each label, a training point whose condensed-tree parent is the node
        # approximate_predict maps (node ids depend on left/right merge order, so
        # the Rust test finds the same node through this point).
        raw = model.condensed_tree_._raw_tree
        points = raw[raw["child_size"] == 1]
        node_points = [int(points["child"][points["parent"] == c][0]) for c in nodes]
        self_pred, _ = hdbscan.approximate_predict(model, x)
        self_agreement = float(np.mean(self_pred == model.labels_))
        print(f"{method:4} eps={eps:<5} clusters={n_clusters:3} "
              f"train outliers={np.mean(model.labels_ < 0) * 100:5.2f}% "
              f"held-out outliers={np.mean(pred < 0) * 100:5.2f}% "
              f"held-out labels used={len(set(pred.tolist()) - {-1})}")
        train_labels.append(model.labels_.astype(np.int32))
        labels.append(pred.astype(np.int32))
        probs.append(prob.astype(np.float64))
        print(f"    cluster map complete: {complete}, training points predicted as fitted: {self_agreement:.4f}")
        columns.append({"method": method, "epsilon": eps, "n_clusters": n_clusters,
                        "python_cluster_map_complete": complete,
                        "python_self_prediction_agreement": self_agreement,
                        "prediction_label_to_fit_label": to_fit_label,
                        "prediction_node_points": node_points})
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "predict32_train.npy"), train)
    np.save(os.path.join(OUT, "predict32_test.npy"), test)
    np.save(os.path.join(OUT, "predict32_train_labels.npy"), np.stack(train_labels, axis=1))
    np.save(os.path.join(OUT, "predict32_labels.npy"), np.stack(labels, axis=1))
    np.save(os.path.join(OUT, "predict32_probs.npy"), np.stack(probs, axis=1))
    meta = {
        "generator": "scripts/hdbscan_predict_fixture.py",
        "python_version": platform.python_version(),
        "hdbscan_version": importlib.metadata.version("hdbscan"),
        "scikit_learn_version": importlib.metadata.version("scikit-learn"),
        "numpy_version": np.__version__,
        "n_train": int(train.shape[0]),
        "n_test": int(test.shape[0]),
        "dim": int(train.shape[1]),
        "min_cluster_size": MIN_CLUSTER_SIZE,
        "min_samples": MIN_SAMPLES,
        "columns": columns,
    }
    with open(os.path.join(OUT, "predict32_meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
