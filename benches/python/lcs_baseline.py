#!/usr/bin/env python3
"""Straightforward Python baseline for benches/lcs.rs (not part of CI).

The authors' fingerprint folding, written the way one would in Python:
fold the k values of a group pairwise with difflib's
SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks(), keep
blocks of at least 5 characters, gaps as `.*` (gaps of the running pattern
are sentinel objects that match nothing), then render the regex with the
same escaping as lcs_fingerprint::Pattern::regex.

Usage:
    cargo bench --bench lcs            # writes the shared input file
    python3 benches/python/lcs_baseline.py GROUPS.jsonl [--repeat N]
    python3 benches/python/lcs_baseline.py GROUPS.jsonl --emit-parity OUT.jsonl --limit 60

GROUPS.jsonl has one group per line: {"template": ..., "values": [...]}.
--emit-parity writes {"values": [...], "regex": ...} lines: the fixture of
the crate's parity test (reference mode == this implementation).
"""

import argparse
import json
import statistics
import time
from difflib import SequenceMatcher

MIN_PIECE = 5
PLAIN = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/=,:;@%'\"!<>`")


class Gap:
    """A gap of the running pattern: equal to nothing."""

    __slots__ = ()


def fold(values, min_piece=MIN_PIECE):
    """Token list: str literals and Gap instances."""
    tokens = [values[0]] if values[0] else []
    for b in values[1:]:
        a = []
        for t in tokens:
            if isinstance(t, Gap):
                a.append(t)
            else:
                a.extend(t)
        blocks = SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
        nxt, pa, pb = [], 0, 0
        for blk in blocks:
            if blk.size < min_piece:
                continue
            if blk.a > pa or blk.b > pb:
                nxt.append(Gap())
            nxt.append(b[blk.b:blk.b + blk.size])
            pa, pb = blk.a + blk.size, blk.b + blk.size
        if pa < len(a) or pb < len(b):
            nxt.append(Gap())
        tokens = nxt
    return tokens


def escape(lit):
    out = []
    for ch in lit.encode("latin-1"):
        if ch in PLAIN:
            out.append(chr(ch))
        elif 0x21 <= ch <= 0x7E:
            out.append("\\" + chr(ch))
        else:
            out.append("\\x%02X" % ch)
    return "".join(out)


def render(tokens):
    """None for a bare pattern (no literal), else the regex text."""
    if not any(isinstance(t, str) for t in tokens):
        return None
    parts = [] if isinstance(tokens[0], Gap) else ["^"]
    for i, t in enumerate(tokens):
        if isinstance(t, Gap):
            if 0 < i < len(tokens) - 1:
                parts.append(".*")
        else:
            parts.append(escape(t))
    if not isinstance(tokens[-1], Gap):
        parts.append("$")
    return "".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("groups")
    ap.add_argument("--repeat", type=int, default=7, help="timed passes over all groups (median reported)")
    ap.add_argument("--emit-parity", help="write values + regex per group to this JSONL file")
    ap.add_argument("--limit", type=int, default=0, help="groups in the parity file (0: all)")
    ap.add_argument("--json", help="also write the timing as JSON to this file")
    args = ap.parse_args()
    with open(args.groups, encoding="utf-8") as f:
        groups = [json.loads(line)["values"] for line in f if line.strip()]
    if args.emit_parity:
        chosen = groups[: args.limit] if args.limit else groups
        with open(args.emit_parity, "w", encoding="utf-8") as out:
            for values in chosen:
                out.write(json.dumps({"values": values, "regex": render(fold(values))}) + "\n")
        print(f"wrote {len(chosen)} groups to {args.emit_parity}")
        return
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        n = 0
        for values in groups:
            r = render(fold(values))
            n += len(r) if r else 0
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"groups: {len(groups)}, passes: {args.repeat}, median pass: {med * 1e3:.2f} ms, "
          f"{len(groups) / med:.1f} groups/s ({med / len(groups) * 1e6:.1f} us/group)")
    if args.json:
        import platform

        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"script": "lcs_baseline.py", "python": platform.python_version(),
                       "results": {"groups_of_10": {"median_s": med, "items": len(groups),
                                                    "runs": args.repeat}}}, f)


if __name__ == "__main__":
    main()
