//! The incremental monthly run end to end: a tiny pipeline run writes a bundle, scan-sim
//! writes the next month, `MonthlyRun` applies the bundle to it; then a resumed run skips
//! every stage.

use bannerlm::pipeline::{Input, MonthlyRun, Pipeline, PipelineConfig, PipelineOptions, Stage};
use bannerlm::sim::{ScanSimulator, SimConfig};

mod common;
use common::{json, lines};

fn count(v: &serde_json::Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} missing in {v}"))
}

#[test]
fn monthly_run_on_the_next_simulated_month_then_resume() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = dir.path().join("jan");
    let config = PipelineConfig::tiny(300);
    let Input::Simulated {
        hosts,
        snapshots,
        form,
    } = config.input.clone()
    else {
        panic!("the tiny config is simulated");
    };
    let config = config.check().expect("valid config");
    Pipeline::new(
        config.clone(),
        PipelineOptions::new(&first).progress(false).no_recog(true),
    )
    .run()
    .expect("pipeline run");
    let bundle = first.join("bundle");
    assert!(
        bundle.join("manifest.json").is_file(),
        "the run writes a bundle"
    );
    let bundle_records = json(&bundle.join("manifest.json"))["records"]
        .as_u64()
        .expect("records in the manifest");

    // The next month: the same simulation with one more snapshot; its last is new.
    let sim = ScanSimulator::new(
        SimConfig {
            hosts,
            snapshots: snapshots + 1,
            seed: config.seed,
            form,
            ..SimConfig::default()
        }
        .check()
        .expect("sim config"),
    )
    .expect("simulator");
    let month = dir.path().join("sim");
    let manifest = sim.write_snapshots(&month).expect("simulated snapshots");
    let last = manifest.snapshots.last().expect("a snapshot");
    // Only the last month's records (its truth file sits next to it).
    let input = month.join(&last.records);

    let out = dir.path().join("feb");
    let options = PipelineOptions::new(&out).progress(false).no_recog(true);
    let run = MonthlyRun::new(&bundle, [input.display().to_string()], options.clone());
    let summary = run.run().expect("monthly run");
    let stages: Vec<Stage> = summary.stages.iter().map(|s| s.stage).collect();
    assert_eq!(stages, Stage::MONTHLY);

    // One identification per record, with the key and a cluster per epsilon.
    let ids = lines(&out.join("identify/identifications.jsonl"));
    assert_eq!(ids.len() as u64, last.count);
    assert!(
        ids.iter()
            .all(|l| l["key"]["snapshot"] == last.name.as_str())
    );
    assert_eq!(
        ids[0]["identification"]["clusters"]
            .as_array()
            .map(Vec::len),
        Some(config.epsilons.len())
    );

    // The counts add up.
    let changes = json(&out.join("monthly/changes.json"));
    let c = &changes["counts"];
    assert_eq!(
        count(c, "both") + count(c, "appeared") + count(c, "duplicates_after"),
        last.count
    );
    assert_eq!(
        count(c, "both") + count(c, "vanished") + count(c, "duplicates_before"),
        bundle_records
    );
    assert!(count(c, "both") > 0, "most simulated services persist: {c}");
    assert!(count(c, "changed") <= count(c, "both"));
    assert_eq!(
        changes["distances"].as_array().map(Vec::len),
        Some(usize::try_from(count(c, "both")).expect("small"))
    );
    assert_eq!(
        changes["clusters"].as_array().map(Vec::len),
        Some(config.epsilons.len())
    );
    let drift = changes["drift"]["drift_share"].as_f64().expect("drift");
    assert!((0.0..=1.0).contains(&drift));
    assert!(changes["drift"]["recommendation"].as_str().is_some());
    // scan-sim's truth file was found next to the input and scored.
    let truth = &changes["truth"];
    assert!(count(truth, "services_scored") > 0, "{truth}");
    assert!(truth["edit_distance_best_f1"]["f1"].as_f64().is_some());

    // The report: a complete page, no raw banner markup.
    let html = std::fs::read_to_string(out.join("report/index.html")).expect("report");
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains("id=\"change-table\"") && html.contains("<svg"));
    assert!(!html.contains("<script"), "banners are escaped");
    assert_eq!(html.matches("<pre").count(), html.matches("</pre>").count());

    // Resume: every stage is up to date; the outputs are unchanged.
    let before = std::fs::read(out.join("monthly/changes.json")).expect("changes");
    let again = MonthlyRun::new(&bundle, [input.display().to_string()], options.resume(true))
        .run()
        .expect("resumed run");
    assert!(again.stages.iter().all(|s| s.skipped), "{:?}", again.stages);
    assert_eq!(
        std::fs::read(out.join("monthly/changes.json")).expect("changes"),
        before
    );
}
