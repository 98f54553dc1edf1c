//! Parity with CPython's difflib on a fixture made by
//! `scripts/difflib_fixture.py` (400 pairs, bytes as latin-1 text).

use banner_parse::Matcher;
use base64::Engine as _;

#[test]
fn matching_blocks_equal_cpython_difflib() {
    let text = include_str!("data/difflib_blocks.jsonl");
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut matcher = Matcher::new();
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).expect("fixture line");
        let a = b64.decode(v["a"].as_str().expect("a")).expect("base64");
        let b = b64.decode(v["b"].as_str().expect("b")).expect("base64");
        let want: Vec<(usize, usize, usize)> =
            serde_json::from_value(v["blocks"].clone()).expect("blocks");
        let got: Vec<(usize, usize, usize)> = matcher
            .matching_blocks(&a, &b)
            .into_iter()
            .map(|m| (m.a_start, m.b_start, m.len))
            .collect();
        assert_eq!(got, want, "fixture line {}", i + 1);
        n += 1;
    }
    assert_eq!(n, 400);
}
