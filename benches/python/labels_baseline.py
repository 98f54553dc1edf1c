#!/usr/bin/env python3
"""Python baseline for benches/labels.rs: the paper's labelling rule written
the way the authors' code does it (difflib matching blocks per header,
autojunk off, blocks >= 3 chars), on the same fixture pairs.

    python3 benches/python/labels_baseline.py [--json OUT.json]

Prints the median pairs/s over several runs (--json also writes the median
seconds per pass over all pairs to OUT.json). Not part of CI.
"""
import argparse
import base64
import difflib
import gzip
import json
import re
import statistics
import time

SPLIT = re.compile(rb"\r?\n(?![ \t])")


def load(path):
    out = {}
    with gzip.open(path, "rb") as f:
        for line in f:
            r = json.loads(line)
            b = r["banner"].encode("utf-8")
            if r.get("banner_encoding") == "base64":
                b = base64.b64decode(r["banner"])
            out[(r["ip"], r["port"], r["protocol"])] = (r["protocol"], b)
    return out


def fields(raw, http):
    if not http:
        return {("block", 0): raw}
    lines = SPLIT.split(raw)
    out, seen = {}, {}
    start = 0
    if lines and lines[0].startswith(b"HTTP/"):
        out[("status", 0)] = lines[0][5:]
        start = 1
    for line in lines[start:]:
        if not line:
            break
        name, sep, value = line.partition(b":")
        if not sep:
            name, value = b"", line
        name = name.lower()
        k = seen.get(name, 0)
        seen[name] = k + 1
        out[(name, k)] = value.lstrip(b" \t")
    return out


def label(a, b, http):
    fa, fb = fields(a, http), fields(b, http)
    matched = 0
    for key, va in fa.items():
        vb = fb.get(key)
        if vb is None:
            continue
        sa, sb = va.decode("latin-1"), vb.decode("latin-1")
        for m in difflib.SequenceMatcher(None, sa, sb, autojunk=False).get_matching_blocks():
            if m.size >= 3:
                matched += m.size
    return matched


ap = argparse.ArgumentParser()
ap.add_argument("--json", help="also write the result as JSON to this file")
args = ap.parse_args()
before = load("tests/data/snapshot-2023-06.jsonl.gz")
after = load("tests/data/snapshot-2023-07.jsonl.gz")
pairs = [(before[k][1], after[k][1], before[k][0] in ("http", "https")) for k in after if k in before]
rates = []
for _ in range(7):
    t = time.perf_counter()
    n = 0
    while time.perf_counter() - t < 1.0:
        for a, b, http in pairs:
            label(a, b, http)
        n += len(pairs)
    rates.append(n / (time.perf_counter() - t))
print(f"{len(pairs)} pairs; python difflib labelling: median {statistics.median(rates):,.0f} pairs/s")
if args.json:
    import platform

    with open(args.json, "w", encoding="utf-8") as f:
        json.dump({"script": "labels_baseline.py", "python": platform.python_version(),
                   "results": {"all_fixture_pairs": {"median_s": len(pairs) / statistics.median(rates),
                                                     "items": len(pairs), "runs": len(rates)}}}, f)
