#!/usr/bin/env python3
"""PyTorch + transformers, numpy and scikit-learn baselines for benches/embed.rs (not part of CI).

Same work as the Rust bench, on the files it writes (run `cargo bench --bench embed` first):

- embed: the 512 banners of $EMBED_BENCH_DIR/banners.jsonl through the same tokenizer.json and
  the same random-weight models (cpu: hidden 128 x 2 layers; paper: hidden 256 x 4 layers), in
  length-sorted batches of 64, P(stable)-weighted mean pooling, L2 normalisation; tokenizing
  included (the `tokenizers` Rust library through its Python binding), model in eval mode
  under torch.inference_mode().
- knn: 1,000 queries, k = 10, over 100,000 x 64 float32, numpy brute force (one matrix
  product per block of queries + argpartition), the way a user would write it.
- pca: scikit-learn PCA(64) fitted on 1,000,000 x 256 float32.

Usage: python3 benches/python/embed_baseline.py [--threads 2] [--repeats 10] [--only embed|knn|pca] [--json OUT]
Prints medians in seconds and items/s (--json also writes the medians to OUT).
"""
import argparse
import json
import os
import statistics
import time


# Medians in seconds per job, for --json.
RESULTS = {}


def timeit(fn, repeats, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_embed(bench_dir, repeats):
    import torch
    from tokenizers import Tokenizer
    from transformers import RobertaForTokenClassification

    with open(os.path.join(bench_dir, "banners.jsonl"), encoding="utf-8") as f:
        # Banner bytes mapped one-to-one to characters (latin-1), as bannerlm feeds them.
        texts = [json.loads(line) for line in f]
    for name in ["cpu", "paper"]:
        d = os.path.join(bench_dir, name)
        model = RobertaForTokenClassification.from_pretrained(d, num_labels=1).eval()
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        tok.no_padding()
        max_len = model.config.max_position_embeddings - model.config.pad_token_id - 1
        tok.enable_truncation(max_len)
        pad = model.config.pad_token_id

        def run():
            encs = tok.encode_batch(texts)
            ids = [e.ids for e in encs]
            order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
            out = torch.empty(len(ids), model.config.hidden_size)
            with torch.inference_mode():
                for s in range(0, len(order), 64):
                    batch = order[s:s + 64]
                    width = max(len(ids[i]) for i in batch)
                    x = torch.full((len(batch), width), pad, dtype=torch.long)
                    for r, i in enumerate(batch):
                        x[r, :len(ids[i])] = torch.tensor(ids[i])
                    mask = (x != pad).float()
                    h = model.roberta(input_ids=x, attention_mask=mask).last_hidden_state
                    p = torch.sigmoid(model.classifier(h)).squeeze(-1) * mask
                    e = (h * p.unsqueeze(-1)).sum(1)
                    out[batch] = torch.nn.functional.normalize(e, dim=1)
            return out

        t = timeit(run, repeats)
        print(f"embed {name}: {len(texts)} banners, median {t:.3f} s, {len(texts) / t:.0f} banners/s")
        RESULTS[f"embed/{name}"] = {"median_s": t, "runs": repeats}


def bench_knn(repeats):
    import numpy as np

    rng = np.random.default_rng(3)
    data = (rng.random((100_000, 64), dtype=np.float32) - 0.5)
    queries = (rng.random((1000, 64), dtype=np.float32) - 0.5)
    norms = (data * data).sum(1)

    def run():
        out = []
        for s in range(0, len(queries), 64):
            q = queries[s:s + 64]
            d2 = (q * q).sum(1)[:, None] + norms[None, :] - 2.0 * (q @ data.T)
            idx = np.argpartition(d2, 10, axis=1)[:, :10]
            part = np.take_along_axis(d2, idx, 1)
            out.append(np.take_along_axis(idx, np.argsort(part, axis=1), 1))
        return out

    t = timeit(run, repeats)
    print(f"knn numpy: 1000 queries over 100000 x 64, k=10: median {t:.3f} s, {1000 / t:.0f} queries/s")
    RESULTS["knn"] = {"median_s": t, "runs": repeats}


def bench_pca(repeats):
    import numpy as np
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(5)
    basis = (rng.random((32, 256), dtype=np.float32) - 0.5)
    coef = (rng.random((1_000_000, 32), dtype=np.float32) - 0.5)
    x = coef @ basis + 0.01 * (rng.random((1_000_000, 256), dtype=np.float32) - 0.5)
    t = timeit(lambda: PCA(64).fit(x), repeats)
    print(f"pca scikit-learn: fit 1000000 x 256 -> 64: median {t:.2f} s")
    RESULTS["pca/sklearn"] = {"median_s": t, "runs": repeats}
    t = timeit(lambda: PCA(64, svd_solver="covariance_eigh").fit(x), repeats)
    print(f"pca scikit-learn covariance_eigh: fit 1000000 x 256 -> 64: median {t:.2f} s")
    RESULTS["pca/sklearn_covariance_eigh"] = {"median_s": t, "runs": repeats}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--only", choices=["embed", "knn", "pca"])
    ap.add_argument("--dir", default=os.environ.get("EMBED_BENCH_DIR", "target/embed-bench"))
    ap.add_argument("--json", help="also write the medians (seconds) as JSON to this file")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}, load {os.getloadavg()}")
    if args.only in (None, "embed"):
        bench_embed(args.dir, args.repeats)
    if args.only in (None, "knn"):
        bench_knn(args.repeats)
    if args.only in (None, "pca"):
        bench_pca(max(1, args.repeats // 3))
    if args.json:
        import platform

        import transformers

        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"script": "embed_baseline.py", "python": platform.python_version(),
                       "torch": torch.__version__, "transformers": transformers.__version__,
                       "threads": torch.get_num_threads(), "results": RESULTS}, f)


if __name__ == "__main__":
    main()
