//! The reference mode reproduces the straightforward Python implementation
//! of the authors' fold (benches/python/lcs_baseline.py, CPython difflib)
//! regex for regex on realistic header-value groups.
//!
//! The fixture was written by
//!
//! ```text
//! cargo bench --bench lcs -- --test      # writes the shared groups file
//! python3 benches/python/lcs_baseline.py "$(cat "${TMPDIR:-/tmp}/bannerlm-lcs-bench-groups.path")" \
//!     --emit-parity crates/lcs-fingerprint/tests/data/difflib_parity.jsonl --limit 110
//! ```

use lcs_fingerprint::{FingerprintParams, Method};

#[test]
fn reference_mode_matches_python_difflib_fold() {
    let text = include_str!("data/difflib_parity.jsonl");
    let params = FingerprintParams::default()
        .method(Method::Difflib)
        .check()
        .expect("valid");
    let mut n = 0;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line).expect("fixture line is JSON");
        let values: Vec<&str> = v["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|x| x.as_str().expect("string value"))
            .collect();
        let expected = v["regex"].as_str();
        let ours = params.raw_pattern(&values).map(|p| p.regex());
        assert_eq!(ours.as_deref(), expected, "line {}: {values:?}", i + 1);
        n += 1;
    }
    assert!(n >= 100, "fixture has {n} groups");
}
