//! A tiny hand-built bundle (random tiny model, 48 HTTP and 16 SSH records, each protocol
//! clustered on its own): it round-trips through
//! `BundleWriter` and `Bundle::open`, identifies with and without the model (fitted points
//! keep their fitted labels; the nearest known banner of a record is itself), matches Recog,
//! and refuses truncated, edited, newer or foreign bundles with an error naming the file.

use std::path::{Path, PathBuf};

use banner_identify::{
    Bundle, BundleWriter, Error, Identifier, IdentifyOptions, LabelSource, label_clusters,
};
use banner_parse::BannerRecord;
use bpe_tokenizer::{BannerTokenizer, TrainConfig};
use density_cluster::Hdbscan;
use embed_index::{BannerEmbedder, PcaParams, StoreWriter};
use lcs_fingerprint::{Clustering, Fingerprint};
use roberta_model::{RobertaConfig, RobertaForStability, default_device};

const EPSILONS: [f64; 2] = [0.0, 0.5];

/// Records of the bundle: 48 HTTP (three kinds by `i % 3`) and 16 SSH records.
fn records() -> Vec<BannerRecord> {
    let ssh = (0..16u8).map(|i| BannerRecord {
        ip: std::net::IpAddr::from([10, 0, 1, i]),
        port: 22,
        snapshot: "2023-07".into(),
        protocol: "ssh".into(),
        banner: format!("SSH-2.0-OpenSSH_9.{}p1 Debian-{i}\r\n", i % 4).into_bytes(),
    });
    (0..48u8)
        .map(|i| {
            let banner = match i % 3 {
                0 => format!("HTTP/1.1 200 OK\r\nServer: nginx/1.{}.{}\r\n\r\n", i % 7, i),
                1 => format!(
                    "HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"router {i}\"\r\n\r\n"
                ),
                _ => format!("HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.{i}\r\nX-Id: {i}\r\n\r\n"),
            };
            BannerRecord {
                ip: std::net::IpAddr::from([10, 0, 0, i]),
                port: 80,
                snapshot: "2023-07".into(),
                protocol: "http".into(),
                banner: banner.into_bytes(),
            }
        })
        .chain(ssh)
        .collect()
}

fn is_ssh(r: &BannerRecord) -> bool {
    r.protocol == "ssh"
}

fn fingerprints() -> Vec<Fingerprint> {
    let fp = |header: &str, regex: &str| -> Fingerprint {
        serde_json::from_value(serde_json::json!({
            "header": header, "regex": regex, "clustering": "eps=0", "cluster": 0,
            "support": 16, "cluster_size": 16, "matched": 16, "precision": 1.0,
            "draws": 1, "sources": [], "examples": []
        }))
        .expect("fingerprint")
    };
    vec![
        fp("Server", r"^nginx/(?P<version>[0-9]+(?:\.[0-9]+)*)$"),
        fp("Server", r"^lighttpd/1\.4\.[0-9]+$"),
        fp("WWW-Authenticate", r"^Basic realm=.*$"),
        fp("Server", r"^never$"),
        fp(
            "ssh.banner",
            r"^OpenSSH_(?P<version>[0-9]+(?:\.[0-9]+)*)p1 Debian",
        ),
    ]
}

fn model_dir(dir: &Path, banners: &[Vec<u8>]) -> PathBuf {
    let device = default_device().expect("device");
    let config = TrainConfig::default()
        .vocab_size(300)
        .show_progress(false)
        .check()
        .expect("tokenizer config");
    let tok = BannerTokenizer::train(banners.iter(), &config).expect("train tokenizer");
    let mut mc = RobertaConfig::preset(roberta_model::ModelPreset::Small, tok.vocab_size());
    mc.hidden_size = 32;
    mc.intermediate_size = 64;
    mc.max_position_embeddings = 130;
    let mc = mc.check().expect("model config");
    RobertaForStability::new(&mc, &device)
        .expect("model")
        .save_pretrained(dir, &mc)
        .expect("save model");
    tok.save(dir.join("tokenizer.json"))
        .expect("save tokenizer");
    dir.to_path_buf()
}

/// Builds the run's parts and writes the bundle; returns it with the fitted labels.
fn build(root: &Path) -> (PathBuf, Vec<BannerRecord>, Vec<Vec<Option<usize>>>) {
    let records = records();
    let banners: Vec<Vec<u8>> = records.iter().map(|r| r.banner.clone()).collect();
    let model = model_dir(&root.join("model"), &banners);
    let embedder =
        BannerEmbedder::from_dir(&model, &default_device().expect("device")).expect("embedder");
    let x = embedder.embed(&banners, 16).expect("embed");
    let (npy, ids) = (root.join("emb.npy"), root.join("ids.jsonl"));
    let keys: Vec<_> = records.iter().map(BannerRecord::key).collect();
    let mut w = StoreWriter::create(&npy, &ids, x.ncols()).expect("store");
    w.append(&x, &keys).expect("append");
    w.finish().expect("finish");
    let pca = PcaParams::new(4).fit(&x).expect("pca");
    let reduced = pca.transform(&x).expect("transform");
    // Each protocol clustered on its own, as the pipeline does.
    let groups: Vec<String> = records.iter().map(BannerRecord::protocol_family).collect();
    let fit = Hdbscan::params(4)
        .min_samples(3)
        .check()
        .expect("params")
        .fit_partitioned(&reduced, &groups, &EPSILONS, |_, _| {})
        .expect("hdbscan");
    let (clusterings, prediction) = (fit.clusterings, fit.prediction);
    let named: Vec<Clustering> = clusterings
        .iter()
        .map(|c| Clustering {
            name: format!("eps={}", c.params.epsilon),
            labels: c.labels.clone(),
        })
        .collect();
    let refs: Vec<&[u8]> = banners.iter().map(Vec::as_slice).collect();
    let fps = fingerprints();
    let protocols: Vec<Option<&str>> = groups.iter().map(|g| Some(g.as_str())).collect();
    let labels = label_clusters(&refs, &protocols, &named, &fps, None);
    let out = root.join("bundle");
    let manifest = BundleWriter::new()
        .snapshot("2023-07")
        .model_dir(&model)
        .pca(&pca)
        .prediction(&prediction)
        .epsilons(&EPSILONS)
        .fingerprints(&fps)
        .cluster_labels(labels)
        .embeddings(&npy, &ids)
        .records(&records)
        .write(&out)
        .expect("write bundle");
    assert_eq!(manifest.records, 64);
    assert_eq!(
        manifest.headers,
        vec!["Server", "WWW-Authenticate", "ssh.banner"]
    );
    let fitted = clusterings.into_iter().map(|c| c.labels).collect();
    (out, records, fitted)
}

#[test]
fn model_off_matches_fingerprints_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (bundle, records, _) = build(dir.path());
    let id = Identifier::open(&bundle, IdentifyOptions::default().model(false)).expect("open");
    let found = id
        .identify(b"HTTP/1.1 200 OK\r\nServer: nginx/1.25.3\r\n\r\n")
        .expect("identify");
    assert_eq!(found.fingerprints.len(), 1);
    assert_eq!(found.fingerprints[0].fingerprint, 0);
    assert_eq!(found.fingerprints[0].version.as_deref(), Some("1.25.3"));
    assert!(found.clusters.is_empty() && found.neighbours.is_empty() && found.recog.is_empty());
    assert!(matches!(id.embed(&[b"x"]), Err(Error::ModelOff)));
    // identify_records: keys in input order, the same matches as identify
    let out: Vec<_> = id
        .identify_records(records.clone())
        .collect::<Result<_, _>>()
        .expect("records");
    assert_eq!(out.len(), records.len());
    for ((key, ident), r) in out.iter().zip(&records) {
        assert_eq!(*key, r.key());
        assert_eq!(ident, &id.identify(&r.banner).expect("one"));
        if is_ssh(r) {
            // The text protocol's fingerprint, on the greeting without `SSH-2.0-`.
            assert_eq!(ident.fingerprints.len(), 1, "{ident:?}");
            assert_eq!(ident.fingerprints[0].fingerprint, 4);
            assert_eq!(ident.fingerprints[0].header, "ssh.banner");
            assert!(
                ident.fingerprints[0]
                    .version
                    .as_deref()
                    .is_some_and(|v| v.starts_with("9."))
            );
            continue;
        }
        let expect = match r
            .ip
            .to_string()
            .rsplit('.')
            .next()
            .and_then(|s| s.parse::<u8>().ok())
        {
            Some(i) if i % 3 == 0 => 0,
            Some(i) if i % 3 == 1 => 2,
            _ => 1,
        };
        assert_eq!(ident.fingerprints.len(), 1, "{ident:?}");
        assert_eq!(ident.fingerprints[0].fingerprint, expect);
    }
}

#[test]
fn model_on_fitted_points_keep_their_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (bundle, records, fitted) = build(dir.path());
    let id = Identifier::open(&bundle, IdentifyOptions::default().neighbours(3)).expect("open");
    let banners: Vec<&[u8]> = records.iter().map(|r| r.banner.as_slice()).collect();
    let out = id.identify_batch(&banners).expect("identify");
    let b = Bundle::open(&bundle).expect("bundle");
    for (c, labels) in fitted.iter().enumerate() {
        let same = out
            .iter()
            .zip(labels)
            .filter(|(o, l)| o.clusters[c].cluster == **l)
            .count();
        assert!(
            same * 100 >= 99 * labels.len(),
            "epsilon {}: {same}",
            EPSILONS[c]
        );
        for o in &out {
            let a = &o.clusters[c];
            assert!((a.epsilon - EPSILONS[c]).abs() < 1e-12);
            assert_eq!(a.outlier, a.cluster.is_none());
            let expect = a
                .cluster
                .and_then(|l| b.cluster_labels()[c].labels.get(&l))
                .map(|l| l.label.clone());
            assert_eq!(a.label, expect);
        }
    }
    // Each protocol clustered on its own: SSH records only in SSH clusters, near SSH records.
    let prediction = b.prediction();
    for (o, r) in out.iter().zip(&records) {
        for (c, a) in o.clusters.iter().enumerate() {
            if let Some(l) = a.cluster {
                let want = if is_ssh(r) { "ssh" } else { "http" };
                assert_eq!(prediction.group_of_cluster(c, l), Some(want));
            }
        }
        let keys: Vec<&banner_parse::RecordKey> = o.neighbours.iter().map(|n| &n.key).collect();
        assert!(keys.iter().all(|k| k.protocol == r.protocol), "{keys:?}");
    }
    for (o, r) in out.iter().zip(&records) {
        assert_eq!(o.neighbours.len(), 3);
        assert!(o.neighbours[0].distance < 1e-3, "{:?}", o.neighbours[0]);
        assert!(
            o.neighbours
                .windows(2)
                .all(|w| w[0].distance <= w[1].distance)
        );
        // itself, or an exact duplicate in the PCA space
        if o.neighbours[0].key != r.key() {
            assert!(o.neighbours[1].distance < 1e-3);
        }
    }
    let (full, reduced) = id.embed(&banners[..2]).expect("embed");
    assert_eq!(full.dim(), (2, 32));
    assert_eq!(reduced.dim(), (2, 4));
}

/// The bundle's files, relative, for the corruption tests.
fn corrupt(bundle: &Path, rel: &str, edit: impl FnOnce(&mut Vec<u8>)) -> Error {
    let path = bundle.join(rel);
    let mut bytes = std::fs::read(&path).expect("read");
    edit(&mut bytes);
    std::fs::write(&path, bytes).expect("write");
    Bundle::open(bundle).expect_err("corrupt bundle must not open")
}

#[test]
fn truncated_or_edited_files_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (bundle, _, _) = build(dir.path());
    for rel in [
        "prediction.json",
        "model/model.safetensors",
        "records.jsonl.gz",
        "keys.jsonl",
    ] {
        let copy = dir.path().join(format!("copy-{}", rel.replace('/', "-")));
        copy_dir(&bundle, &copy);
        let e = corrupt(&copy, rel, |b| b.truncate(b.len() / 2));
        assert!(matches!(e, Error::FileSize { .. }), "{rel}: {e}");
        assert!(e.to_string().contains(rel), "{e}");
        copy_dir(&bundle, &copy);
        let e = corrupt(&copy, rel, |b| {
            let i = b.len() / 3;
            b[i] ^= 0x20;
        });
        assert!(matches!(e, Error::Digest { .. }), "{rel}: {e}");
        assert!(e.to_string().contains(rel), "{e}");
        assert!(e.to_string().contains("sha256"), "{e}");
    }
    // a newer format version, a foreign format, a file outside the bundle, a missing file
    let manifest = bundle.join("manifest.json");
    let original = std::fs::read_to_string(&manifest).expect("manifest");
    let mut v: serde_json::Value = serde_json::from_str(&original).expect("json");
    v["format_version"] = 2.into();
    std::fs::write(&manifest, v.to_string()).expect("write");
    let e = Bundle::open(&bundle).expect_err("newer");
    assert!(
        e.to_string()
            .contains("bundle format version 2 is newer than this bannerlm reads (1)"),
        "{e}"
    );
    assert!(e.to_string().contains("manifest.json"), "{e}");
    for (key, value) in [
        ("format", serde_json::json!("something-else")),
        (
            "files",
            serde_json::json!({"../etc/passwd": {"bytes": 1, "sha256": "00"}}),
        ),
        ("files", serde_json::json!({})),
    ] {
        let mut v: serde_json::Value = serde_json::from_str(&original).expect("json");
        v[key] = value;
        std::fs::write(&manifest, v.to_string()).expect("write");
        let e = Bundle::open(&bundle).expect_err("refused");
        assert!(matches!(e, Error::Format { .. }), "{e}");
        assert!(e.to_string().contains("manifest.json"), "{e}");
    }
    std::fs::write(&manifest, "{\"format\": ").expect("write");
    let e = Bundle::open(&bundle).expect_err("not JSON");
    assert!(e.to_string().contains("manifest.json"), "{e}");
    std::fs::write(&manifest, &original).expect("restore");
    Bundle::open(&bundle).expect("restored bundle opens");
}

#[test]
fn recog_and_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (bundle, records, _) = build(dir.path());
    let recog = dir.path().join("recog");
    std::fs::create_dir_all(&recog).expect("mkdir");
    std::fs::write(
        recog.join("http_servers.xml"),
        r#"<fingerprints matches="http_header.server" protocol="http">
  <fingerprint pattern="^nginx/(\d[\d.]*)$">
    <description>nginx</description>
    <param pos="0" name="service.vendor" value="F5"/>
    <param pos="0" name="service.product" value="nginx"/>
    <param pos="1" name="service.version"/>
  </fingerprint>
</fingerprints>"#,
    )
    .expect("write xml");
    let open_with_recog = || {
        Identifier::open(
            &bundle,
            IdentifyOptions::default().model(false).recog_dir(&recog),
        )
        .expect("open")
    };
    let id = open_with_recog();
    let found = id
        .identify(b"HTTP/1.1 200 OK\r\nServer: nginx/1.25.3\r\n\r\n")
        .expect("identify");
    assert_eq!(found.recog.len(), 1);
    assert_eq!(found.recog[0].header, "Server");
    assert_eq!(found.recog[0].description, "nginx");
    assert_eq!(found.recog[0].params["service.version"], "1.25.3");
    assert_eq!(found.recog[0].params["service.vendor"], "F5");
    // label_clusters with Recog: the nginx records' cluster is labelled by Recog
    let matchers = banner_identify::RecogMatchers::load_dir(&recog).expect("recog");
    let banners: Vec<&[u8]> = records.iter().map(|r| r.banner.as_slice()).collect();
    let c = Clustering {
        name: "eps=0.1".into(),
        labels: records
            .iter()
            .enumerate()
            .map(|(i, r)| (!is_ssh(r)).then_some(i % 3))
            .collect(),
    };
    let labels = label_clusters(&banners, &[], &[c], &[], Some(&matchers));
    assert_eq!(labels[0].labels[&0].source, LabelSource::Recog);
    assert_eq!(labels[0].labels[&0].label, "nginx");
    assert!((labels[0].labels[&0].share - 1.0).abs() < 1e-12);
    // WWW-Authenticate only: no Recog match, no Server value, so no label
    assert!(!labels[0].labels.contains_key(&1));
    assert_eq!(labels[0].labels[&2].source, LabelSource::Server);
    // A text protocol's database: SSH banners matched on their greeting, with or without
    // the record's protocol; the SSH cluster labelled by it.
    std::fs::write(
        recog.join("ssh_banners.xml"),
        r#"<fingerprints matches="ssh.banner" protocol="ssh">
  <fingerprint pattern="^OpenSSH_([\w.]+) Debian">
    <description>OpenSSH on Debian</description>
    <param pos="0" name="service.product" value="OpenSSH"/>
    <param pos="1" name="service.version"/>
  </fingerprint>
</fingerprints>"#,
    )
    .expect("write xml");
    let id = open_with_recog();
    let ssh = b"SSH-2.0-OpenSSH_9.6p1 Debian-3\r\n";
    let found = id.identify(ssh).expect("identify");
    assert_eq!(found.recog.len(), 1, "{found:?}");
    assert_eq!(found.recog[0].header, "ssh.banner");
    assert_eq!(found.recog[0].params["service.version"], "9.6p1");
    assert_eq!(found.fingerprints[0].header, "ssh.banner");
    let given = id
        .identify_batch_in(&[(&ssh[..], Some("ssh")), (&ssh[..], Some("ftp"))])
        .expect("identify");
    assert_eq!(given[0], found);
    assert!(given[1].recog.is_empty() && given[1].fingerprints.is_empty());
    let matchers = banner_identify::RecogMatchers::load_dir(&recog).expect("recog");
    assert_eq!(matchers.text_protocols().collect::<Vec<_>>(), vec!["ssh"]);
    let protocols: Vec<Option<&str>> = records.iter().map(|r| Some(r.protocol.as_str())).collect();
    let c = Clustering {
        name: "eps=0.1".into(),
        labels: records
            .iter()
            .map(|r| Some(usize::from(is_ssh(r))))
            .collect(),
    };
    let labels = label_clusters(&banners, &protocols, &[c], &[], Some(&matchers));
    assert_eq!(labels[0].labels[&1].label, "OpenSSH on Debian");
    assert_eq!(labels[0].labels[&1].source, LabelSource::Recog);
    // no database in the folder: a clear error
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let e = Identifier::open(
        &bundle,
        IdentifyOptions::default().model(false).recog_dir(&empty),
    )
    .expect_err("no database");
    assert!(e.to_string().contains("http_servers.xml"), "{e}");
}

fn copy_dir(from: &Path, to: &Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).expect("rm");
    }
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).expect("copy");
        }
    }
}
