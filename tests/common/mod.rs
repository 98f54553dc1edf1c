//! Helpers shared by the tests that run the example programs.

use std::path::PathBuf;

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
