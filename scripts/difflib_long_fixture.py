#!/usr/bin/env python3
"""Reference fixture for banner-parse's bounded labelling, near the value cap.

Writes crates/banner-parse/tests/data/difflib_long_blocks.jsonl: a few pairs
of long values (1 KB up to banner-parse's MAX_LABEL_VALUE_BYTES, 4096 bytes:
cookies, CSP-like lists, base64 blobs, repetitive runs) with the blocks that
CPython's difflib returns for
SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks().
The Rust test `difflib_parity::long_values_under_the_cap_equal_cpython`
checks that the bounded matcher returns exactly these blocks, without
reaching its work limit. Run from the repository root:

    python3 scripts/difflib_long_fixture.py
"""
import base64
import difflib
import json
import random

CAP = 4096
rng = random.Random(20240611)
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def csp():
    parts = []
    while sum(map(len, parts)) < rng.randint(1000, CAP - 200):
        parts.append("%s-src 'self' https://%s.example.com; " % (
            rng.choice(["script", "style", "img", "connect", "font"]),
            "".join(rng.choice("abcdefgh") for _ in range(rng.randint(3, 9)))))
    return "".join(parts)[:CAP]


def blob(n):
    return "".join(rng.choice(B64) for _ in range(n))


def mutate(s, edits):
    s = list(s)
    for _ in range(edits):
        pos = rng.randrange(len(s))
        op = rng.random()
        if op < 0.4:
            s[pos] = rng.choice(B64)
        elif op < 0.7:
            s.insert(pos, rng.choice(B64))
        else:
            del s[pos]
    return "".join(s)[:CAP]


pairs = []
for _ in range(2):
    a = csp()
    pairs.append((a, mutate(a, 30)))
a = "session=" + blob(3000) + "; path=/; HttpOnly"
pairs.append((a, mutate(a, 200)))
pairs.append((blob(CAP), blob(CAP)))
pairs.append(("ab" * (CAP // 2), "abc" * (CAP // 3)))
a = "x" * CAP
pairs.append((a, a[:-1] + "y"))

with open("crates/banner-parse/tests/data/difflib_long_blocks.jsonl", "w") as f:
    for a, b in pairs:
        assert len(a) <= CAP and len(b) <= CAP
        blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
        f.write(json.dumps({
            "a": base64.b64encode(a.encode("latin-1")).decode(),
            "b": base64.b64encode(b.encode("latin-1")).decode(),
            "blocks": [list(m) for m in blocks[:-1]],
        }) + "\n")
