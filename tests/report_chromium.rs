//! The report opens in a real browser: headless Chromium loads `report/index.html` from disk
//! (no network) and the DOM it builds has the tables and the figure.
//!
//! Needs the Debian package `chromium`. Without it the test prints a note and passes, unless
//! `BANNERLM_REQUIRE_CHROMIUM=1` (CI), when it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use bannerlm::pipeline::{Pipeline, PipelineConfig, PipelineOptions};

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

fn dump_dom(browser: &Path, page: &Path, profile: &Path) -> String {
    let url = format!("file://{}", page.display());
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", browser.display()));
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn report_loads_in_headless_chromium_with_tables_and_figure() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var("BANNERLM_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
            "BANNERLM_REQUIRE_CHROMIUM=1 but no chromium on PATH (Debian: apt-get install chromium)"
        );
        eprintln!("skipped: no chromium on PATH (Debian: apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let config = PipelineConfig::tiny(300).check().expect("config");
    let options = PipelineOptions::new(&out).progress(false).no_recog(true);
    let summary = Pipeline::new(config, options).run().expect("pipeline");

    let dom = dump_dom(&browser, &summary.report, &dir.path().join("profile"));
    // The browser parsed the page into a DOM with every table and the histogram.
    for id in [
        "parameters",
        "timings",
        "tokens",
        "distances",
        "cluster-table",
        "fingerprint-table",
        "product-precision",
    ] {
        assert!(
            dom.contains(&format!("<table id=\"{id}\"")),
            "table {id} missing from the DOM"
        );
    }
    assert!(dom.contains("id=\"figure3\""), "figure missing");
    assert!(
        dom.contains("<img") || dom.contains("<svg"),
        "no image in the figure"
    );
    assert!(dom.contains("class=\"dyn\""), "no annotated banner");
    let rows = dom.matches("<tr>").count();
    assert!(rows > 10, "only {rows} table rows");
}
