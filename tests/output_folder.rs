//! Issue 24, items 1 and 8: the pipeline never deletes or writes into a folder it did not
//! create, and settings it cannot honour (a misspelt configuration key, a missing Recog
//! directory) are errors naming the key or path, before anything is written.
//!
//! Library-level: every run here stops before the first stage does real work.

use std::path::Path;

use bannerlm::pipeline::{
    Error, Input, Pipeline, PipelineConfig, PipelineOptions, RUN_MARKER, STAGE_MARKER,
};

fn tiny() -> bannerlm::pipeline::ValidPipelineConfig {
    PipelineConfig::tiny(50).check().expect("valid config")
}

/// Every file under `dir` with its contents, sorted.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                out.push((p.display().to_string(), Vec::new()));
                stack.push(p);
            } else {
                out.push((
                    p.display().to_string(),
                    std::fs::read(&p).expect("read file"),
                ));
            }
        }
    }
    out.sort();
    out
}

/// A folder holding a user's `input/`, `report/`, `embed/` with files, as `--out .` would see.
fn users_folder(dir: &Path) {
    for (rel, text) in [
        ("input/scans.jsonl", "my scan\n"),
        ("report/notes.html", "<p>mine</p>\n"),
        ("embed/vectors.npy", "not ours"),
        ("thesis.tex", "\\documentclass{article}\n"),
    ] {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
    }
}

#[test]
fn a_users_folder_is_refused_and_left_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    users_folder(dir.path());
    let before = snapshot(dir.path());
    let options = PipelineOptions::new(dir.path())
        .progress(false)
        .no_recog(true);
    let err = Pipeline::new(tiny(), options)
        .run()
        .expect_err("a foreign folder must be refused");
    assert!(matches!(err, Error::ForeignOutput { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("not a bannerlm output folder") && text.contains(RUN_MARKER),
        "{text}"
    );
    assert_eq!(snapshot(dir.path()), before, "nothing may change");
}

#[test]
fn a_foreign_stage_folder_inside_a_bannerlm_folder_is_not_cleared() {
    let dir = tempfile::tempdir().expect("tempdir");
    // An earlier bannerlm folder (marked) in which the user put their own `input/`.
    std::fs::write(dir.path().join(RUN_MARKER), "{}").expect("marker");
    std::fs::create_dir(dir.path().join("input")).expect("mkdir");
    std::fs::write(dir.path().join("input/mine.txt"), "keep me").expect("write");
    let options = PipelineOptions::new(dir.path())
        .progress(false)
        .no_recog(true);
    let err = Pipeline::new(tiny(), options)
        .run()
        .expect_err("an unmarked stage folder must not be cleared");
    assert!(matches!(err, Error::ForeignStageDir { .. }), "{err:?}");
    assert!(err.to_string().contains(STAGE_MARKER), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("input/mine.txt")).expect("kept"),
        "keep me"
    );
}

#[test]
fn a_new_folder_is_marked_before_anything_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    // Input that matches no file: the run stops right after claiming the folder.
    let config = PipelineConfig {
        input: Input::files([dir.path().join("none-*.jsonl").display().to_string()]),
        ..PipelineConfig::tiny(50)
    }
    .check()
    .expect("valid");
    let options = PipelineOptions::new(&out).progress(false).no_recog(true);
    let err = Pipeline::new(config, options).run().expect_err("no input");
    assert!(matches!(err, Error::NoInput(_)), "{err:?}");
    assert!(out.join(RUN_MARKER).is_file());
}

#[test]
fn a_missing_recog_directory_stops_the_run_before_it_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let missing = dir.path().join("no-such-recog");
    let options = PipelineOptions::new(&out)
        .progress(false)
        .recog_dir(Some(missing));
    let err = Pipeline::new(tiny(), options)
        .run()
        .expect_err("--recog /missing must fail");
    assert!(matches!(err, Error::RecogDir { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-recog"), "{err}");
    assert!(!out.exists(), "nothing is written before the check");
    // A file is not a Recog directory either.
    let file = dir.path().join("server.xml");
    std::fs::write(&file, "<fingerprints/>").expect("write");
    let options = PipelineOptions::new(&out)
        .progress(false)
        .recog_dir(Some(file));
    let err = Pipeline::new(tiny(), options).run().expect_err("a file");
    assert!(err.to_string().contains("server.xml"), "{err}");
}

#[test]
fn a_misspelt_config_key_is_an_error_naming_key_and_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sizes.json");
    // `min_cluster_sise`: the run would silently use the default of 50.
    std::fs::write(&path, r#"{"seed": 1, "min_cluster_sise": 5}"#).expect("write");
    let err = PipelineConfig::from_json_file(&path).expect_err("unknown key");
    assert!(matches!(err, Error::ConfigFile { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("sizes.json") && text.contains("`min_cluster_sise`"),
        "{text}"
    );
    // Nested: in the model, the input and the training parameters.
    for (json, key) in [
        (r#"{"model": {"hidden_size": 32, "layers": 1}}"#, "layers"),
        (
            r#"{"input": {"type": "files", "patterns": ["x"], "glob": 1}}"#,
            "glob",
        ),
        (r#"{"finetune": {"learning_rte": 0.1}}"#, "learning_rte"),
    ] {
        std::fs::write(&path, json).expect("write");
        let text = PipelineConfig::from_json_file(&path)
            .expect_err(json)
            .to_string();
        assert!(text.contains(&format!("`{key}`")), "{json}: {text}");
    }
}
