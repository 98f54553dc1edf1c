//! Runs Recog's own test suite (every example of every fingerprint) over the
//! real databases in `RECOG_XML_DIR` and compares the per-file counts with
//! those Recog's Ruby `recog_verify` prints (tests/fixtures/ruby_verify_counts.tsv).
//!
//! Without `RECOG_XML_DIR` the tests print that they are skipped and pass;
//! with it set to a directory that is missing or broken they fail.
//! Run: `RECOG_XML_DIR=<recog checkout>/xml cargo test -p recog-compat`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use recog_compat::{Database, MatcherBuilder, Status, load_dir, verify};

/// Known, documented differences from Ruby's results: (file, fingerprint line, reason).
/// Each entry must correspond to exactly one failing example here; see docs/RECOG.md.
const EXCEPTIONS: &[(&str, usize, &str)] = &[];

fn recog_dir() -> Option<PathBuf> {
    match std::env::var_os("RECOG_XML_DIR") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => {
            eprintln!("RECOG_XML_DIR is not set: skipping the Recog database tests");
            None
        }
    }
}

fn expected_counts() -> BTreeMap<String, (usize, usize, usize)> {
    include_str!("fixtures/ruby_verify_counts.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let n = |i: usize| f[i].parse::<usize>().expect("fixture count");
            (f[0].to_owned(), (n(1), n(2), n(3)))
        })
        .collect()
}

fn load() -> Option<Vec<Database>> {
    let dir = recog_dir()?;
    Some(
        load_dir(&dir)
            .unwrap_or_else(|e| panic!("RECOG_XML_DIR={} is set but unusable: {e}", dir.display())),
    )
}

fn file_name(db: &Database) -> String {
    db.path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn every_example_passes_like_ruby_recog_verify() {
    let Some(dbs) = load() else { return };
    let expected = expected_counts();
    let found: Vec<String> = dbs.iter().map(file_name).collect();
    assert_eq!(
        found,
        expected.keys().cloned().collect::<Vec<_>>(),
        "set of database files differs"
    );
    let mut total = (0, 0, 0);
    let mut problems = Vec::new();
    for db in &dbs {
        let name = file_name(db);
        let report = verify(db).expect("verify");
        let allowed: Vec<_> = EXCEPTIONS.iter().filter(|(f, _, _)| *f == name).collect();
        for f in report
            .findings
            .iter()
            .filter(|f| f.status == Status::Failure)
        {
            if !allowed.iter().any(|(_, line, _)| *line == f.line) {
                problems.push(format!("{name}:{}: {}", f.line, f.message));
            }
        }
        let (s, w, fl) = expected[&name];
        let got = (
            report.successes + allowed.len(),
            report.warnings,
            report.failures - allowed.len().min(report.failures),
        );
        if got != (s, w, fl) {
            problems.push(format!(
                "{name}: got {got:?}, Ruby recog_verify gives {:?}",
                (s, w, fl)
            ));
        }
        total.0 += report.successes;
        total.1 += report.warnings;
        total.2 += report.failures;
    }
    assert!(
        problems.is_empty(),
        "{} regressions:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(total, (7525 - EXCEPTIONS.len(), 175, EXCEPTIONS.len()));
}

#[test]
fn prefilter_gives_the_same_answers() {
    let Some(dbs) = load() else { return };
    for db in &dbs {
        let with = MatcherBuilder::new()
            .prefilter(true)
            .build(db)
            .expect("compiles");
        let without = MatcherBuilder::new()
            .prefilter(false)
            .build(db)
            .expect("compiles");
        assert_eq!(with.engine_counts(), without.engine_counts());
        for fp in &db.fingerprints {
            for ex in &fp.examples {
                let a = with.best_match(&ex.content).map_err(|e| e.to_string());
                let b = without.best_match(&ex.content).map_err(|e| e.to_string());
                assert_eq!(a, b, "{}:{}", file_name(db), ex.line);
                // Some fingerprint (this one or an earlier one, as in Recog) matches.
                assert!(
                    matches!(a, Ok(Some(_))) || a.is_err(),
                    "{}:{}: no match",
                    file_name(db),
                    ex.line
                );
            }
        }
    }
}

#[test]
fn broken_directory_fails() {
    if recog_dir().is_none() {
        return;
    }
    let empty = std::env::temp_dir().join(format!("recog-compat-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("temp dir");
    assert!(load_dir(&empty).is_err());
    assert!(load_dir(empty.join("missing")).is_err());
    let _ = std::fs::remove_dir_all(&empty);
}
