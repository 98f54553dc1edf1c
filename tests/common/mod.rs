//! Helpers shared by the integration tests: the example programs, and the output files of
//! the pipeline. Not every test uses every helper.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The JSON values of a JSON Lines file (blank lines skipped); panics naming the file and line.
pub fn lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}

/// The JSON value of a file; panics naming the file.
pub fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The built example `name` (`target/<profile>/examples/<name>`, which `cargo test --workspace`
/// builds), or `None` with a message when it is missing. With `BANNERLM_REQUIRE_EXAMPLES=1`
/// (as in CI) a missing example fails the test instead.
pub fn example(name: &str) -> Option<PathBuf> {
    // target/<profile>/deps/<this test> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().ok()?;
    let path = exe
        .parent()?
        .parent()?
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("BANNERLM_REQUIRE_EXAMPLES").as_deref() != Ok("1"),
        "BANNERLM_REQUIRE_EXAMPLES=1 but {} is not built (cargo build --examples)",
        path.display()
    );
    eprintln!(
        "skipped: {} is not built (cargo build --examples)",
        path.display()
    );
    None
}
