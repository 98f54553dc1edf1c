//! Parity with CPython's difflib on a fixture made by
//! `scripts/difflib_fixture.py` (400 pairs, bytes as latin-1 text).

use banner_parse::SequenceMatcher;
use base64::Engine as _;

#[test]
fn matching_blocks_equal_cpython_difflib() {
    let text = include_str!("data/difflib_blocks.jsonl");
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut matcher = SequenceMatcher::new();
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

/// Long values up to the labelling cap (`MAX_LABEL_VALUE_BYTES`, 4096 bytes),
/// from `scripts/difflib_long_fixture.py`: CSP-like lists, cookies with
/// base64, random blobs, repetitive runs. The bounded matcher returns
/// exactly CPython's blocks without reaching its default work limit, except
/// on the pathological pair `"ab" * 2048` / `"abc" * 1365` (fixture line 5:
/// every common block is 2 bytes long, 1365 recursive calls; unbounded it
/// takes ~3.0e9 steps, CPython minutes): there it stops at the limit, and
/// every block it returns lies inside one of CPython's.
#[test]
fn long_values_under_the_cap_equal_cpython() {
    let text = include_str!("data/difflib_long_blocks.jsonl");
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut matcher = SequenceMatcher::new();
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).expect("fixture line");
        let a = b64.decode(v["a"].as_str().expect("a")).expect("base64");
        let b = b64.decode(v["b"].as_str().expect("b")).expect("base64");
        assert!(a.len() <= banner_parse::MAX_LABEL_VALUE_BYTES);
        assert!(b.len() <= banner_parse::MAX_LABEL_VALUE_BYTES);
        let want: Vec<(usize, usize, usize)> =
            serde_json::from_value(v["blocks"].clone()).expect("blocks");
        let got: Vec<(usize, usize, usize)> = matcher
            .matching_blocks(&a, &b)
            .into_iter()
            .map(|m| (m.a_start, m.b_start, m.len))
            .collect();
        assert!(matcher.last_work() <= banner_parse::MAX_MATCH_WORK);
        if i + 1 == 5 {
            assert!(
                matcher.last_truncated(),
                "the pathological pair reaches the limit"
            );
            assert!(!got.is_empty());
            for (ga, gb, gl) in &got {
                assert!(
                    want.iter()
                        .any(|(wa, wb, wl)| ga >= wa && ga + gl <= wa + wl && ga - wa == gb - wb),
                    "block {:?} is not inside a CPython block",
                    (ga, gb, gl)
                );
            }
        } else {
            assert!(
                !matcher.last_truncated(),
                "fixture line {}: truncated",
                i + 1
            );
            assert_eq!(got, want, "fixture line {}", i + 1);
        }
        n += 1;
    }
    assert_eq!(n, 6);
}
