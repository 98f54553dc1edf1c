//! End to end: a tiny simulated scan through every stage of `bannerlm::pipeline`, then a
//! resumed run that skips every stage.

use std::path::Path;

use bannerlm::pipeline::{Pipeline, PipelineConfig, PipelineOptions, Stage};

mod common;
use common::{json, lines};

fn assert_key(v: &serde_json::Value, what: &str) {
    for field in ["ip", "port", "snapshot", "protocol"] {
        assert!(
            v.get(field).is_some(),
            "{what} lacks the record key field {field}: {v}"
        );
    }
}

#[test]
fn tiny_simulated_scan_through_every_stage_then_resume() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let config = PipelineConfig::tiny(400).check().expect("valid config");
    // Recog switched off (even when RECOG_XML_DIR is set): the stage is skipped with a note.
    let options = PipelineOptions::new(&out).progress(false).no_recog(true);
    let summary = Pipeline::new(config.clone(), options.clone())
        .run()
        .expect("pipeline run");

    // Every stage ran, in order, and recorded time and memory.
    let stages: Vec<Stage> = summary.stages.iter().map(|s| s.stage).collect();
    assert_eq!(stages, Stage::ALL);
    assert!(
        summary
            .stages
            .iter()
            .all(|s| !s.skipped && s.seconds >= 0.0)
    );
    assert!(summary.stages.iter().all(|s| s.peak_rss_kib.is_some()));
    for s in &summary.stages {
        assert!(
            out.join("stages")
                .join(format!("{}.json", s.stage))
                .is_file()
        );
        for o in &s.outputs {
            assert!(out.join(o).exists(), "{} lists missing output {o}", s.stage);
        }
    }
    assert_eq!(
        json(&out.join("manifest.json")).as_array().map(Vec::len),
        Some(Stage::ALL.len())
    );

    // Input: simulated snapshots with truth.
    let sim = json(&out.join("input/simulation.json"));
    assert_eq!(sim["snapshots"].as_array().map(Vec::len), Some(2));
    // Tokenizer and models in transformers layout.
    assert!(out.join("tokenizer/tokenizer.json").is_file());
    for m in ["pretrain/final", "finetune/final"] {
        for f in ["config.json", "model.safetensors", "tokenizer.json"] {
            assert!(out.join(m).join(f).is_file(), "{m}/{f}");
        }
    }
    // Evaluation: held-out pairs, with ground truth.
    let e = &summary.evaluation;
    assert!(e.pairs > 0);
    assert!(e.tokens_vs_truth.is_some() && e.labels_vs_truth.is_some());
    assert!((0.0..=1.0).contains(&e.tokens_vs_labels.accuracy));
    // Every protocol is fine-tuned on and evaluated (issue 25), each with its own figures;
    // two snapshots make one gap.
    let protocols: Vec<&str> = e.by_protocol.keys().map(String::as_str).collect();
    assert!(
        protocols.contains(&"http") && protocols.len() >= 3,
        "{protocols:?}"
    );
    assert_eq!(
        e.by_protocol.values().map(|g| g.pairs).sum::<u64>(),
        e.pairs
    );
    assert!(
        e.by_protocol
            .values()
            .all(|g| g.labels_vs_truth.is_some() && g.tokens_vs_truth.is_some())
    );
    assert_eq!(e.by_gap.len(), 1);
    let finetune = json(&out.join("stages/finetune.json"));
    let trained = finetune["summary"]["pairs"]["by_protocol"]
        .as_object()
        .map(serde_json::Map::len);
    assert!(trained.is_some_and(|n| n >= 3), "{finetune}");
    let d = json(&out.join("evaluate/distances.json"));
    assert_eq!(
        d["matching"].as_array().map(Vec::len),
        Some(usize::try_from(e.pairs).expect("small"))
    );
    assert!(d["random"].as_array().is_some_and(|r| !r.is_empty()));

    // Embeddings: one row per record of the last snapshot, keyed by the record key.
    let ids = lines(&out.join("embed/ids.jsonl"));
    let last = &sim["snapshots"][1];
    assert_eq!(ids.len() as u64, last["count"].as_u64().expect("count"));
    assert!(ids.iter().all(|id| id["snapshot"] == last["name"]));
    assert_key(&ids[0], "embedding id");
    let npy = std::fs::read(out.join("embed/embeddings.npy")).expect("npy");
    assert!(npy.starts_with(b"\x93NUMPY"));
    let pca = bannerlm::index::read_npy(out.join("pca/reduced.npy")).expect("reduced");
    assert_eq!(pca.dim(), (ids.len(), config.pca_components));

    // Clusters: one line per record with the key and a label per epsilon.
    let clusters = lines(&out.join("cluster/clusters.jsonl"));
    assert_eq!(clusters.len(), ids.len());
    assert_key(&clusters[0]["id"], "cluster line");
    assert_eq!(
        clusters[0]["clusters"].as_array().map(Vec::len),
        Some(config.epsilons.len())
    );
    assert_eq!(summary.clusters.len(), 4);
    assert!(
        summary
            .clusters
            .iter()
            .all(|c| c.clusters > 0 && (0.0..=1.0).contains(&c.outlier_share))
    );
    let figures = json(&out.join("cluster/summary.json"));
    let purity = figures[0]["purity"]
        .as_f64()
        .expect("purity on simulated data");
    assert!((0.0..=1.0).contains(&purity));

    // Fingerprints: JSONL, Recog XML, ground-truth scores.
    assert!(summary.fingerprints > 0);
    let fps = lines(&out.join("fingerprint/fingerprints.jsonl"));
    assert_eq!(fps.len(), summary.fingerprints);
    assert!(
        fps.iter()
            .all(|f| f["regex"].as_str().is_some_and(|r| !r.is_empty()))
    );
    assert!(
        std::fs::read_dir(out.join("fingerprint/recog"))
            .expect("xml dir")
            .count()
            > 0
    );
    let scores = json(&out.join("fingerprint/scores.json"));
    assert_eq!(scores.as_array().map(Vec::len), Some(fps.len()));

    // Recog skipped with a note.
    assert!(!summary.recog_compared);
    assert!(json(&out.join("recog/comparison.json"))["skipped"].is_string());

    // The bundle gives, in a new Identifier, the run's own fingerprint matches and clusters.
    check_bundle(&out, config.epsilons.len());

    // Report: self-contained, every section, nothing raw.
    let html = std::fs::read_to_string(&summary.report).expect("report");
    for id in [
        "id=\"parameters\"",
        "id=\"timings\"",
        "id=\"tokens\"",
        "id=\"distances\"",
        "id=\"by-protocol\"",
        "id=\"figure3\"",
        "class=\"dyn\"",
        "id=\"cluster-table\"",
        "id=\"fingerprint-table\"",
        "id=\"recog-skipped\"",
        "id=\"product-precision\"",
    ] {
        assert!(html.contains(id), "report lacks {id}");
    }
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no remote resources"
    );
    assert!(!html.contains("<script"), "no scripts");
    assert!(
        !html.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters in the report"
    );
    assert!(out.join("report/histogram.svg").is_file());

    // Resume: every stage is up to date and skipped, the figures are the same.
    let again = Pipeline::new(config, options.resume(true))
        .run()
        .expect("resumed run");
    assert!(again.stages.iter().all(|s| s.skipped), "{:?}", again.stages);
    assert_eq!(again.fingerprints, summary.fingerprints);
    // (Compared field by field: undefined shares are NaN.)
    assert_eq!(again.evaluation.pairs, summary.evaluation.pairs);
    assert_eq!(
        again.evaluation.tokens_vs_labels.accuracy.to_bits(),
        summary.evaluation.tokens_vs_labels.accuracy.to_bits()
    );
    assert_eq!(again.clusters.len(), summary.clusters.len());
    for (a, b) in again.clusters.iter().zip(&summary.clusters) {
        assert_eq!(
            (a.epsilon.to_bits(), a.clusters, a.outlier_share.to_bits()),
            (b.epsilon.to_bits(), b.clusters, b.outlier_share.to_bits())
        );
    }
}

/// Opens `<out>/bundle` in a new [`Identifier`](bannerlm::identify::Identifier) and identifies
/// the run's own records: the fingerprints that match (against each fingerprint of
/// fingerprint/fingerprints.jsonl applied on its own) and the cluster at every epsilon
/// (against cluster/clusters.jsonl) agree for at least 99% of records.
fn check_bundle(out: &Path, n_epsilons: usize) {
    use bannerlm::identify::{Identifier, IdentifyOptions};
    use bannerlm::parse::{ReadOptions, RecordReader};

    let bundle = out.join("bundle");
    assert!(bundle.join("manifest.json").is_file());
    let id =
        Identifier::open(&bundle, IdentifyOptions::default().neighbours(2)).expect("open bundle");
    assert_eq!(id.bundle().manifest().epsilons.len(), n_epsilons);
    let records: Vec<_> = RecordReader::open(id.bundle().records_path(), ReadOptions::default())
        .expect("bundle records")
        .collect::<Result<_, _>>()
        .expect("read bundle records");
    let keys: Vec<_> = records
        .iter()
        .map(bannerlm::parse::BannerRecord::key)
        .collect();
    assert_eq!(keys, id.bundle().keys());
    let fitted = bannerlm::fingerprint::ClusterLabels::read(out.join("cluster/clusters.jsonl"))
        .expect("clusters")
        .align(&keys);
    assert_eq!(fitted.len(), n_epsilons);
    // Each protocol clustered on its own: no cluster holds records of two protocols.
    for clustering in &fitted {
        let mut protocol_of = std::collections::HashMap::new();
        for (label, r) in clustering.labels.iter().zip(&records) {
            if let Some(l) = label {
                let p = protocol_of.entry(*l).or_insert_with(|| r.protocol_family());
                assert_eq!(
                    *p,
                    r.protocol_family(),
                    "cluster {l} of {}",
                    clustering.name
                );
            }
        }
    }
    let fps = bannerlm::fingerprint::read_jsonl(out.join("fingerprint/fingerprints.jsonl"))
        .expect("fingerprints");
    let compiled: Vec<_> = fps
        .iter()
        .map(|f| bannerlm::fingerprint::compile_regex(&f.regex).expect("regex"))
        .collect();
    let found: Vec<_> = id
        .identify_records(records.clone())
        .collect::<Result<_, _>>()
        .expect("identify");
    let (mut same_fp, mut same_cluster, mut labelled) = (0usize, vec![0usize; n_epsilons], 0usize);
    for (((key, ident), r), row) in found.iter().zip(&records).zip(0..) {
        assert_eq!(*key, r.key());
        // A text protocol's record against its field's fingerprints, any other as HTTP.
        let field = bannerlm::fingerprint::text_field(&r.protocol);
        let expect: Vec<usize> = (0..fps.len())
            .filter(|&i| {
                let header = &fps[i].header;
                let applies = match field {
                    Some(f) => header.eq_ignore_ascii_case(f),
                    None => !bannerlm::fingerprint::is_text_field(header),
                };
                applies
                    && bannerlm::fingerprint::field_values(header, &r.banner)
                        .iter()
                        .any(|v| compiled[i].is_match(v))
            })
            .collect();
        let got: Vec<usize> = ident.fingerprints.iter().map(|m| m.fingerprint).collect();
        same_fp += usize::from(got == expect);
        for (c, clustering) in fitted.iter().enumerate() {
            same_cluster[c] += usize::from(ident.clusters[c].cluster == clustering.labels[row]);
        }
        labelled += usize::from(ident.clusters.iter().any(|c| c.label.is_some()));
        assert!(ident.neighbours.len() == 2 && ident.neighbours[0].distance < 1e-2);
    }
    let n = records.len();
    let share = |k: usize| k as f64 / n as f64;
    eprintln!(
        "bundle: {n} records, same fingerprints {:.2}%, same clusters {}",
        100.0 * share(same_fp),
        same_cluster
            .iter()
            .map(|&k| format!("{:.2}%", 100.0 * share(k)))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    assert!(share(same_fp) >= 0.99);
    assert!(
        same_cluster.iter().all(|&k| share(k) >= 0.99),
        "{same_cluster:?} of {n}"
    );
    assert!(labelled > 0, "no record's cluster has a label");
}
