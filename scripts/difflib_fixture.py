#!/usr/bin/env python3
"""Reference fixture for banner-parse's matching blocks.

Writes crates/banner-parse/tests/data/difflib_blocks.jsonl: random pairs of
byte strings (latin-1 text, values like the ones in HTTP headers, including
bytes >= 0x80) with the blocks that CPython's difflib returns for
SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks().
The Rust test `difflib_parity` checks that banner-parse returns exactly
these blocks. Run from the repository root:

    python3 scripts/difflib_fixture.py
"""
import base64
import difflib
import json
import random

rng = random.Random(20231024)
PIECES = ["nginx", "Apache", "/1.", "2.4", "(Ubuntu)", "GMT", "Mon, ", " Jul ",
          "2023", "PHPSESSID=", "; path=/", "HttpOnly", "realm=\"", "nonce=\"",
          "\"", " ", "0", "1", "ab", "\xff\xfe", "\r\n ", "=", ";"]
ALPHA = "abcdef0123456789 ./-:;=\"\xe9"


def value():
    out = []
    for _ in range(rng.randint(0, 12)):
        if rng.random() < 0.6:
            out.append(rng.choice(PIECES))
        else:
            out.append("".join(rng.choice(ALPHA) for _ in range(rng.randint(1, 8))))
    return "".join(out)


def mutate(s):
    s = list(s)
    for _ in range(rng.randint(0, 6)):
        op = rng.random()
        pos = rng.randint(0, len(s))
        if op < 0.4 and s:
            s[min(pos, len(s) - 1)] = rng.choice(ALPHA)
        elif op < 0.7:
            s.insert(pos, rng.choice(ALPHA))
        elif s:
            del s[min(pos, len(s) - 1)]
    return "".join(s)


with open("crates/banner-parse/tests/data/difflib_blocks.jsonl", "w") as f:
    for i in range(400):
        a = value()
        b = mutate(a) if rng.random() < 0.8 else value()
        if i % 50 == 0:
            a, b = a * 20, mutate(a * 20)  # a few long values
        blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
        f.write(json.dumps({
            "a": base64.b64encode(a.encode("latin-1")).decode(),
            "b": base64.b64encode(b.encode("latin-1")).decode(),
            "blocks": [list(m) for m in blocks[:-1]],
        }) + "\n")
