#!/usr/bin/env python3
"""Write the density-cluster agreement fixture and Python `hdbscan` reference labels.

Generates a small hierarchical data set of unit-norm-like 64-dimensional points
(the regime of the paper's embeddings: cluster_selection_epsilon 0.01 .. 0.1
matters there), clusters it with Python `hdbscan` for every epsilon the paper
uses, with both `eom` and `leaf` selection, and writes

    crates/density-cluster/tests/data/hier64.npy          float32 (n, 64)
    crates/density-cluster/tests/data/hier64_labels.npy   int32 (n, 8): columns
        eom@0, eom@0.01, eom@0.02, eom@0.05, eom@0.1, leaf@0, leaf@0.02, leaf@0.05
    crates/density-cluster/tests/data/hier64_probs.npy    float32 (n, 8): probabilities_, same columns
    crates/density-cluster/tests/data/hier64_meta.json    parameters, versions, cluster_persistence_

The Rust test `tests/agreement.rs` reads these files; Python is not needed to run it.

    pip install hdbscan scikit-learn numpy
    python3 benches/python/hdbscan_reference.py
"""
import importlib.metadata
import json
import os

import hdbscan
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "density-cluster", "tests", "data")
MIN_CLUSTER_SIZE = 20
MIN_SAMPLES = 5
COLUMNS = [("eom", 0.0), ("eom", 0.01), ("eom", 0.02), ("eom", 0.05), ("eom", 0.1),
           ("leaf", 0.0), ("leaf", 0.02), ("leaf", 0.05)]


def make_data(seed=20231024, dim=64):
    """Blobs inside blobs on the unit sphere, plus 4% uniform noise near the sphere."""
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(7):
        top = rng.normal(size=dim)
        top /= np.linalg.norm(top)
        n_sub = rng.integers(2, 6)
        for _ in range(n_sub):
            # sub-centres 0.004 .. 0.15 (log-uniform) from their top centre
            off = rng.normal(size=dim)
            off *= np.exp(rng.uniform(np.log(0.004), np.log(0.15))) / np.linalg.norm(off)
            centre = top + off
            size = int(rng.integers(40, 220))
            spread = rng.uniform(0.0001, 0.0005)
            points.append(centre + rng.normal(scale=spread, size=(size, dim)))
    blobs = np.vstack(points)
    n_noise = int(0.04 * len(blobs))
    noise = rng.normal(size=(n_noise, dim))
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    data = np.vstack([blobs, noise]).astype(np.float32)
    rng.shuffle(data)
    return data


def main():
    data = make_data()
    x = data.astype(np.float64)
    columns = []
    probs = []
    persistence = []
    for method, eps in COLUMNS:
        model = hdbscan.HDBSCAN(
            min_cluster_size=MIN_CLUSTER_SIZE,
            min_samples=MIN_SAMPLES,
            cluster_selection_epsilon=eps,
            cluster_selection_method=method,
            metric="euclidean",
            algorithm="best",
        ).fit(x)
        labels = model.labels_
        n_clusters = int(labels.max()) + 1
        print(f"{method:4} eps={eps:<5} clusters={n_clusters:3} outliers={np.mean(labels < 0) * 100:5.2f}%")
        columns.append(labels.astype(np.int32))
        probs.append(model.probabilities_.astype(np.float32))
        persistence.append([float(v) for v in model.cluster_persistence_])
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "hier64.npy"), data)
    np.save(os.path.join(OUT, "hier64_labels.npy"), np.stack(columns, axis=1))
    np.save(os.path.join(OUT, "hier64_probs.npy"), np.stack(probs, axis=1))
    meta = {
        "generator": "benches/python/hdbscan_reference.py",
        "hdbscan_version": importlib.metadata.version("hdbscan"),
        "numpy_version": np.__version__,
        "n": int(data.shape[0]),
        "dim": int(data.shape[1]),
        "min_cluster_size": MIN_CLUSTER_SIZE,
        "min_samples": MIN_SAMPLES,
        "columns": [{"method": m, "epsilon": e, "cluster_persistence": p}
                    for (m, e), p in zip(COLUMNS, persistence)],
    }
    with open(os.path.join(OUT, "hier64_meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
