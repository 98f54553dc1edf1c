#!/usr/bin/env python3
"""Time Python `hdbscan` and scikit-learn `HDBSCAN` on the benchmark data of density-cluster.

The data are written by the Rust side so that both read identical points:

    cargo run --release --example cluster -- --synthetic 20000 --save-input runs/blobs-20000.npy
    python3 benches/python/cluster_bench.py runs/blobs-20000.npy [--tools hdbscan,sklearn] [--epsilons 0.01,0.02,0.05,0.1]

Parameters are the paper's: min_cluster_size 50, min_samples 5 (scikit-learn's
min_samples counts the point itself, so it gets 6). For each tool it prints the
wall time and CPU time of one fit at the first epsilon and of each further
epsilon (Python `hdbscan` re-selects from its fitted tree through the private
`_tree_to_labels`, the cheapest route it has; scikit-learn has no public
re-selection, so every epsilon is a new fit and only the first is timed), the
number of clusters and the outlier share. `algorithm` is the tools' default
('best' / 'auto'): for 64 dimensions that is a k-d tree for core distances and
Prim's algorithm for the spanning tree in both.
"""
import argparse
import importlib.metadata
import time

import numpy as np

# Filled by run_*: one fit per tool, for --json.
RESULTS = {}


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def summary(labels):
    return int(labels.max()) + 1, float(np.mean(labels < 0) * 100)


def run_hdbscan(x, epsilons, mcs, ms):
    import hdbscan
    from hdbscan.hdbscan_ import _tree_to_labels

    model, wall, cpu = timed(lambda: hdbscan.HDBSCAN(
        min_cluster_size=mcs, min_samples=ms, cluster_selection_epsilon=epsilons[0]).fit(x))
    k, out = summary(model.labels_)
    print(f"hdbscan {importlib.metadata.version('hdbscan')}: fit eps={epsilons[0]}: wall {wall:.2f} s cpu {cpu:.2f} s; "
          f"{k} clusters, {out:.2f}% outliers", flush=True)
    RESULTS["hdbscan"] = {"median_s": wall, "cpu_s": cpu, "runs": 1, "clusters": k, "outlier_pct": out,
                          "version": importlib.metadata.version("hdbscan")}
    for eps in epsilons[1:]:
        res, wall, cpu = timed(lambda: _tree_to_labels(
            x, model._single_linkage_tree, mcs, "eom", False, False, eps))
        k, out = summary(res[0])
        print(f"hdbscan: re-select eps={eps}: wall {wall * 1e3:.1f} ms cpu {cpu * 1e3:.1f} ms; "
              f"{k} clusters, {out:.2f}% outliers", flush=True)


def run_sklearn(x, epsilons, mcs, ms):
    from sklearn.cluster import HDBSCAN

    model, wall, cpu = timed(lambda: HDBSCAN(
        min_cluster_size=mcs, min_samples=ms + 1, cluster_selection_epsilon=epsilons[0], copy=True).fit(x))
    k, out = summary(model.labels_)
    print(f"scikit-learn {importlib.metadata.version('scikit-learn')}: fit eps={epsilons[0]}: wall {wall:.2f} s "
          f"cpu {cpu:.2f} s; {k} clusters, {out:.2f}% outliers (each further epsilon is another fit)", flush=True)
    RESULTS["sklearn"] = {"median_s": wall, "cpu_s": cpu, "runs": 1, "clusters": k, "outlier_pct": out,
                          "version": importlib.metadata.version("scikit-learn")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--tools", default="hdbscan,sklearn")
    ap.add_argument("--epsilons", default="0.01,0.02,0.05,0.1")
    ap.add_argument("--min-cluster-size", type=int, default=50)
    ap.add_argument("--min-samples", type=int, default=5)
    ap.add_argument("--json", help="also write the fit times as JSON to this file")
    args = ap.parse_args()
    x = np.load(args.data).astype(np.float64)
    epsilons = [float(e) for e in args.epsilons.split(",")]
    print(f"{args.data}: {x.shape[0]} points in {x.shape[1]} dimensions", flush=True)
    for tool in args.tools.split(","):
        {"hdbscan": run_hdbscan, "sklearn": run_sklearn}[tool](x, epsilons, args.min_cluster_size, args.min_samples)
    if args.json:
        import json
        import platform

        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"script": "cluster_bench.py", "python": platform.python_version(),
                       "numpy": np.__version__, "points": int(x.shape[0]), "results": RESULTS}, f)


if __name__ == "__main__":
    main()
