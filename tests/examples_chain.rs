//! The example programs' file formats chain as a user would chain them by hand, with no
//! conversion in between: `embed` (records -> `.npy` + ids) -> `cluster --ids` (clusters keyed
//! by record) -> `fingerprint` (records + clusters -> fingerprints and Recog XML) -> a Recog
//! database that `recog-compat` loads and that matches the banners it came from.
//!
//! The example binaries are the ones `cargo test --workspace` builds
//! (`target/<profile>/examples/`); the test skips with a message when they are missing,
//! unless `BANNERLM_REQUIRE_EXAMPLES=1` (as in CI).

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

mod common;
use common::example;

use bannerlm::model::{RobertaConfig, RobertaForStability, default_device};
use bannerlm::recog::{Database, Matcher};
use bannerlm::tokenizer::{BannerTokenizer, TrainConfig};

fn run(exe: &Path, args: &[&std::ffi::OsStr]) {
    let out = Command::new(exe)
        .args(args)
        .env("MIMALLOC_PURGE_DELAY", "-1")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    assert!(
        out.status.success(),
        "{} {:?} failed: {}",
        exe.display(),
        args,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Three products, 24 hosts each; banners of one product differ only in their dynamic parts.
fn banners() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for host in 0..72u32 {
        let ip = format!("198.51.100.{host}");
        let banner = match host % 3 {
            0 => format!(
                "HTTP/1.1 200 OK\r\nServer: Apache/2.4.41 (Ubuntu)\r\nContent-Length: {}\r\n",
                300 + host
            ),
            1 => format!(
                "HTTP/1.1 404 Not Found\r\nServer: nginx/1.18.0\r\nSet-Cookie: sid={host:08x}; path=/\r\n"
            ),
            _ => format!(
                "HTTP/1.0 401 Unauthorized\r\nServer: GoAhead-Webs/2.5.0\r\nWWW-Authenticate: Basic realm=\"cam{}\"\r\n",
                host % 2
            ),
        };
        out.push((ip, banner.into_bytes()));
    }
    out
}

/// A tiny, randomly initialised model in the Hugging Face layout that `embed` loads.
fn model_dir(dir: &Path, banners: &[(String, Vec<u8>)]) {
    let config = TrainConfig::default()
        .vocab_size(300)
        .show_progress(false)
        .check()
        .expect("tokenizer config");
    let tok = BannerTokenizer::train(banners.iter().map(|(_, b)| b.clone()), &config)
        .expect("train tokenizer");
    let device = default_device().expect("device");
    let mut config = RobertaConfig::preset(bannerlm::model::ModelPreset::Small, tok.vocab_size());
    config.hidden_size = 32;
    config.intermediate_size = 64;
    config.max_position_embeddings = 130;
    let config = config.check().expect("valid model config");
    RobertaForStability::new(&config, &device)
        .expect("model")
        .save_pretrained(dir, &config)
        .expect("save model");
    tok.save(dir.join("tokenizer.json"))
        .expect("save tokenizer");
}

#[test]
fn embed_cluster_fingerprint_recog_chain_without_conversion() {
    let (Some(embed), Some(cluster), Some(fingerprint)) =
        (example("embed"), example("cluster"), example("fingerprint"))
    else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let banners = banners();
    let records = dir.join("records.jsonl");
    {
        let mut f = std::fs::File::create(&records).expect("records");
        for (ip, banner) in &banners {
            let line = serde_json::json!({
                "ip": ip, "port": 80, "snapshot": "2023-07-01", "protocol": "http",
                "banner": String::from_utf8_lossy(banner),
            });
            writeln!(f, "{line}").expect("write");
        }
    }
    let model = dir.join("model");
    model_dir(&model, &banners);
    let (npy, ids, clusters) = (
        dir.join("embeddings.npy"),
        dir.join("ids.jsonl"),
        dir.join("clusters.jsonl"),
    );
    let (fps, recog) = (dir.join("fingerprints.jsonl"), dir.join("recog"));

    run(
        &embed,
        &[
            "--model".as_ref(),
            model.as_os_str(),
            "--npy".as_ref(),
            npy.as_os_str(),
            "--ids".as_ref(),
            ids.as_os_str(),
            "--quiet".as_ref(),
            records.as_os_str(),
        ],
    );
    run(
        &cluster,
        &[
            npy.as_os_str(),
            "--ids".as_ref(),
            ids.as_os_str(),
            "--min-cluster-size".as_ref(),
            "5".as_ref(),
            "--min-samples".as_ref(),
            "2".as_ref(),
            "--output".as_ref(),
            clusters.as_os_str(),
        ],
    );
    // Every line of the clusters file is keyed by a record, not by a row number.
    let text = std::fs::read_to_string(&clusters).expect("clusters");
    assert_eq!(text.lines().count(), banners.len());
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        assert!(v["id"]["ip"].is_string(), "{line}");
    }
    run(
        &fingerprint,
        &[
            records.as_os_str(),
            clusters.as_os_str(),
            "--k".as_ref(),
            "5".as_ref(),
            "--draws".as_ref(),
            "10".as_ref(),
            "--out".as_ref(),
            fps.as_os_str(),
            "--recog-dir".as_ref(),
            recog.as_os_str(),
        ],
    );
    let n_fps = std::fs::read_to_string(&fps)
        .expect("fingerprints")
        .lines()
        .count();
    assert!(n_fps > 0, "no fingerprints from three clean products");
    // The Server database loads in recog-compat and recognises the banners it came from.
    let db = Database::from_path(recog.join("http_header.server.xml")).expect("Recog XML");
    let matcher = Matcher::new(&db).expect("matcher");
    let matched = [
        "Apache/2.4.41 (Ubuntu)",
        "nginx/1.18.0",
        "GoAhead-Webs/2.5.0",
    ]
    .iter()
    .filter(|v| matcher.best_match_str(v).expect("match").is_some())
    .count();
    eprintln!("{n_fps} fingerprints; {matched} of 3 Server values matched");
    assert!(matched >= 2, "only {matched} of 3 Server values matched");
}
