//! docs/ARCHITECTURE.md stays true: its dependency table and the dependency claims of its
//! prose are checked against the Cargo.toml files, as `cargo metadata` reads them.
//!
//! Only normal dependencies count (optional ones included, dev-dependencies not). The
//! metadata is taken with `--no-deps` (the workspace's own manifests; no network, no
//! registry), so the "no ML dependency" claim is checked on what a crate can reach through
//! bannerlm crates and their direct dependencies: none of them may name an ML crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Crates that make a crate an "ML dependency" user (burn and its backends, Hugging Face
/// tokenizers). Matched as a name or a name prefix followed by `-`.
const ML_CRATES: &[&str] = &[
    "burn",
    "cubecl",
    "wgpu",
    "tokenizers",
    "candle",
    "tch",
    "ort",
];

/// The workspace as `cargo metadata` sees it.
struct Workspace {
    /// The facade package's name.
    root: String,
    /// Every workspace package: name -> (normal dependencies, features).
    packages: BTreeMap<String, Package>,
}

struct Package {
    /// Names of normal (non-dev, non-build) dependencies, optional ones included.
    deps: BTreeSet<String>,
    /// Feature name -> what it enables.
    features: BTreeMap<String, Vec<String>>,
}

impl Workspace {
    fn load() -> Self {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let out = Command::new(env!("CARGO"))
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--manifest-path",
            ])
            .arg(&manifest)
            .output()
            .expect("running cargo metadata");
        assert!(
            out.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON");
        let root_manifest = manifest.to_string_lossy().into_owned();
        let mut root = None;
        let mut packages = BTreeMap::new();
        for p in meta["packages"].as_array().expect("packages") {
            let name = p["name"].as_str().expect("package name").to_owned();
            if p["manifest_path"].as_str() == Some(root_manifest.as_str()) {
                root = Some(name.clone());
            }
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().expect("dependency name").to_owned())
                .collect();
            let features = p["features"]
                .as_object()
                .expect("features")
                .iter()
                .map(|(k, v)| {
                    let on = v
                        .as_array()
                        .expect("feature list")
                        .iter()
                        .map(|s| s.as_str().expect("feature entry").to_owned())
                        .collect();
                    (k.clone(), on)
                })
                .collect();
            packages.insert(name, Package { deps, features });
        }
        Self {
            root: root.expect("the root package in cargo metadata"),
            packages,
        }
    }

    /// The member crates (every workspace package but the facade).
    fn members(&self) -> BTreeSet<String> {
        self.packages
            .keys()
            .filter(|n| **n != self.root)
            .cloned()
            .collect()
    }

    /// `name`'s normal dependencies that are member crates.
    fn member_deps(&self, name: &str) -> BTreeSet<String> {
        let members = self.members();
        self.packages[name]
            .deps
            .iter()
            .filter(|d| members.contains(*d))
            .cloned()
            .collect()
    }

    /// Member crates reachable from `name` through normal dependencies, `name` included.
    fn member_closure(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::from([name.to_owned()]);
        let mut todo = vec![name.to_owned()];
        while let Some(n) = todo.pop() {
            for d in self.member_deps(&n) {
                if seen.insert(d.clone()) {
                    todo.push(d);
                }
            }
        }
        seen
    }
}

fn architecture_md() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ARCHITECTURE.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The words of `text` written in backticks.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// Backticked names in `text` that are member crates.
fn crate_names(text: &str, members: &BTreeSet<String>) -> BTreeSet<String> {
    backticked(text)
        .into_iter()
        .filter(|w| members.contains(*w))
        .map(str::to_owned)
        .collect()
}

/// The sentence of `doc` (whitespace folded) that contains `needle`.
fn sentence_with<'a>(doc: &'a str, needle: &str) -> &'a str {
    let at = doc.find(needle).unwrap_or_else(|| {
        panic!("docs/ARCHITECTURE.md no longer says {needle:?}; update tests/architecture.rs")
    });
    let start = doc[..at].rfind(". ").map_or(0, |i| i + 2);
    let end = doc[at..].find(". ").map_or(doc.len(), |i| at + i);
    &doc[start..end]
}

/// The dependency table: crate -> the bannerlm crates of its "depends on" column.
fn dependency_table(doc: &str, members: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut lines = doc
        .lines()
        .skip_while(|l| !(l.starts_with('|') && l.contains("depends on")));
    let header = lines
        .next()
        .expect("a table whose header says \"depends on\"");
    let column = header
        .split('|')
        .position(|c| c.contains("depends on"))
        .expect("the \"depends on\" column");
    let mut table = BTreeMap::new();
    for row in lines.skip(1).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split('|').collect();
        let name = backticked(cells[1])
            .first()
            .copied()
            .unwrap_or_else(|| panic!("table row without a crate name in backticks: {row}"));
        let deps = cells
            .get(column)
            .unwrap_or_else(|| panic!("table row without a \"depends on\" cell: {row}"));
        let prev = table.insert(name.to_owned(), crate_names(deps, members));
        assert!(prev.is_none(), "crate {name} has two rows in the table");
    }
    table
}

fn show(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "none".to_owned()
    } else {
        set.iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[test]
fn dependency_table_matches_the_manifests() {
    let ws = Workspace::load();
    let members = ws.members();
    let table = dependency_table(&architecture_md(), &members);
    let mut diff = Vec::new();
    for name in members.iter().filter(|m| !table.contains_key(*m)) {
        diff.push(format!(
            "missing row: | `{name}` | ... | {} |",
            show(&ws.member_deps(name))
        ));
    }
    for (name, listed) in &table {
        if !members.contains(name) {
            diff.push(format!("row for `{name}`, which is not a workspace crate"));
            continue;
        }
        let actual = ws.member_deps(name);
        if *listed != actual {
            let extra: BTreeSet<_> = listed.difference(&actual).cloned().collect();
            let missing: BTreeSet<_> = actual.difference(listed).cloned().collect();
            diff.push(format!(
                "`{name}`: the table says {}, Cargo.toml says {} (not a dependency: {}; \
                 missing from the table: {})",
                show(listed),
                show(&actual),
                show(&extra),
                show(&missing)
            ));
        }
    }
    assert!(
        diff.is_empty(),
        "docs/ARCHITECTURE.md's dependency table is out of date:\n  {}",
        diff.join("\n  ")
    );
}

#[test]
fn facade_reexports_every_crate_and_nothing_depends_on_it() {
    let ws = Workspace::load();
    let members = ws.members();
    let facade = ws.member_deps(&ws.root);
    let missing: BTreeSet<_> = members.difference(&facade).cloned().collect();
    assert!(
        missing.is_empty(),
        "the facade does not depend on {}",
        show(&missing)
    );
    for m in &members {
        assert!(
            !ws.packages[m].deps.contains(&ws.root),
            "`{m}` depends on the facade `{}`",
            ws.root
        );
    }
}

#[test]
fn prose_dependency_claims_hold() {
    let doc = architecture_md();
    let doc = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    let ws = Workspace::load();
    let members = ws.members();
    let base = "bannerlm-base";

    // "`bannerlm-base` depends on no other bannerlm crate, and every other crate depends on it"
    let s = sentence_with(&doc, "every other crate depends on it");
    assert!(crate_names(s, &members).contains(base), "{s}");
    assert!(
        ws.member_deps(base).is_empty(),
        "`{base}` depends on {}",
        show(&ws.member_deps(base))
    );
    for m in members.iter().filter(|m| *m != base) {
        assert!(
            ws.member_deps(m).contains(base),
            "`{m}` does not depend on `{base}`"
        );
    }

    // "Apart from it, `a`, `b` ... depend on no other bannerlm crate."
    let s = sentence_with(&doc, "depend on no other bannerlm crate");
    let leaves = crate_names(s, &members);
    assert!(!leaves.is_empty(), "no crate named in: {s}");
    for leaf in &leaves {
        let other: BTreeSet<_> = ws
            .member_deps(leaf)
            .into_iter()
            .filter(|d| d != base)
            .collect();
        assert!(
            other.is_empty(),
            "`{leaf}` is said to depend on no other bannerlm crate but depends on {}",
            show(&other)
        );
    }

    // "`a`, `b` ... build without any ML dependency"
    let s = sentence_with(&doc, "build without any ML dependency");
    let ml_free = crate_names(s, &members);
    assert!(!ml_free.is_empty(), "no crate named in: {s}");
    let is_ml = |dep: &str| {
        ML_CRATES
            .iter()
            .any(|m| dep == *m || dep.strip_prefix(m).is_some_and(|r| r.starts_with('-')))
    };
    for name in &ml_free {
        for reached in ws.member_closure(name) {
            let ml: Vec<_> = ws.packages[&reached]
                .deps
                .iter()
                .filter(|d| is_ml(d))
                .collect();
            assert!(
                ml.is_empty(),
                "`{name}` is said to build without any ML dependency, but reaches `{reached}`, \
                 which depends on {ml:?}"
            );
        }
    }

    // "`roberta-model` takes token ids, never text": it knows no tokenizer or parser.
    let model_deps = ws.member_deps("roberta-model");
    for text_crate in ["banner-parse", "bpe-tokenizer"] {
        assert!(
            !model_deps.contains(text_crate),
            "`roberta-model` depends on `{text_crate}`"
        );
    }

    // "`bannerlm`'s `wgpu` and `ndarray` features forward to the same features of `x`, `y`..."
    let s = sentence_with(&doc, "features forward to");
    let named = crate_names(s, &members);
    for backend in ["wgpu", "ndarray"] {
        let with: BTreeSet<_> = members
            .iter()
            .filter(|m| ws.packages[*m].features.contains_key(backend))
            .cloned()
            .collect();
        assert_eq!(
            named, with,
            "crates with a `{backend}` feature vs those the doc names: {s}"
        );
        let forwarded = ws.packages[&ws.root]
            .features
            .get(backend)
            .cloned()
            .unwrap_or_default();
        for m in &with {
            let entry = format!("{m}/{backend}");
            assert!(
                forwarded.contains(&entry),
                "the facade's `{backend}` feature does not forward `{entry}` (it has {forwarded:?})"
            );
        }
    }
}
