//! Banners per second through `Identifier::identify_batch`: the 744 example Server values of
//! Recog's `http_servers.xml` (from `RECOG_XML_DIR`), each wrapped in an HTTP response with
//! the usual other headers and repeated into a stream of 7,440 banners, identified by
//! generated fingerprints and Recog's HTTP header databases (model off), then with the model
//! on (a tiny random model, so its figure is the overhead of identify around the model, not
//! a paper-size model's speed).
//!
//! The bundle is built in the setup: fingerprints generated (lcs-fingerprint) from clusters
//! that group the examples by their Recog fingerprint, a PCA and HDBSCAN fit of the tiny
//! model's embeddings. Without `RECOG_XML_DIR` the bench prints a note and measures nothing.
//!
//! ```text
//! RECOG_XML_DIR=<recog checkout>/xml cargo bench --bench identify
//! ```

use std::hint::black_box;
use std::path::{Path, PathBuf};

use bannerlm::cluster::Hdbscan;
use bannerlm::fingerprint::{Clustering, FingerprintParams};
use bannerlm::identify::{BundleWriter, Identifier, IdentifyOptions, label_clusters};
use bannerlm::index::{BannerEmbedder, PcaParams, StoreWriter};
use bannerlm::model::{ModelPreset, RobertaConfig, RobertaForStability, default_device};
use bannerlm::parse::{BannerRecord, HttpBanner};
use bannerlm::recog::Database;
use bannerlm::tokenizer::{BannerTokenizer, TrainConfig};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Copies of the 744 examples in the stream.
const REPEAT: usize = 10;

fn http(server: &[u8], i: usize) -> Vec<u8> {
    let mut b = format!(
        "HTTP/1.1 200 OK\r\nDate: Tue, {:02} Jul 2023 10:{:02}:{:02} GMT\r\nServer: ",
        1 + i % 28,
        i % 60,
        (i * 7) % 60
    )
    .into_bytes();
    b.extend_from_slice(server);
    b.extend_from_slice(
        format!(
            "\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            100 + i % 900
        )
        .as_bytes(),
    );
    b
}

/// Banners and a cluster id per banner.
type Examples = (Vec<Vec<u8>>, Vec<Option<usize>>);

/// The examples as HTTP banners, and a cluster id per banner (its Recog fingerprint).
fn examples(recog: &Path) -> Result<Examples, String> {
    let path = recog.join("http_servers.xml");
    let db = Database::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut banners = Vec::new();
    let mut labels = Vec::new();
    for (f, fp) in db.fingerprints.iter().enumerate() {
        for e in &fp.examples {
            labels.push(Some(f));
            banners.push(http(&e.content, banners.len()));
        }
    }
    Ok((banners, labels))
}

/// A bundle of the examples with a tiny random model; returns its folder.
fn build_bundle(
    root: &Path,
    banners: &[Vec<u8>],
    labels: &[Option<usize>],
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let device = default_device()?;
    let tok = BannerTokenizer::train(
        banners.iter(),
        &TrainConfig::default()
            .vocab_size(400)
            .show_progress(false)
            .check()?,
    )?;
    let mut mc = RobertaConfig::preset(ModelPreset::Small, tok.vocab_size());
    mc.hidden_size = 32;
    mc.intermediate_size = 64;
    mc.max_position_embeddings = 258;
    let mc = mc.check()?;
    let model = root.join("model");
    RobertaForStability::new(&mc, &device)?.save_pretrained(&model, &mc)?;
    tok.save(model.join("tokenizer.json"))?;
    let embedder = BannerEmbedder::from_dir(&model, &device)?;
    let x = embedder.embed(banners, 64)?;
    let records: Vec<BannerRecord> = banners
        .iter()
        .enumerate()
        .map(|(i, b)| BannerRecord {
            ip: std::net::IpAddr::from(u32::try_from(i).unwrap_or(u32::MAX).to_be_bytes()),
            port: 80,
            snapshot: "bench".into(),
            protocol: "http".into(),
            banner: b.clone(),
        })
        .collect();
    let keys: Vec<_> = records.iter().map(BannerRecord::key).collect();
    let (npy, ids) = (root.join("emb.npy"), root.join("ids.jsonl"));
    let mut w = StoreWriter::create(&npy, &ids, x.ncols())?;
    w.append(&x, &keys)?;
    w.finish()?;
    let pca = PcaParams::new(8).fit(&x)?;
    let reduced = pca.transform(&x)?;
    let epsilons = [0.01, 0.1];
    let groups: Vec<String> = records.iter().map(BannerRecord::protocol_family).collect();
    let fit = Hdbscan::params(5).min_samples(5).check()?.fit_partitioned(
        &reduced,
        &groups,
        &epsilons,
        |_, _| {},
    )?;
    let (clusterings, prediction) = (fit.clusterings, fit.prediction);
    // Fingerprints from the Recog grouping (realistic regexes), named like a clustering.
    let grouping = Clustering {
        name: "recog".into(),
        labels: labels.to_vec(),
    };
    let fps = FingerprintParams::default()
        .headers(["Server"])
        .generate(banners, std::slice::from_ref(&grouping))?;
    let named: Vec<Clustering> = clusterings
        .iter()
        .map(|c| Clustering {
            name: format!("eps={}", c.params.epsilon),
            labels: c.labels.clone(),
        })
        .collect();
    let refs: Vec<&[u8]> = banners.iter().map(Vec::as_slice).collect();
    let cluster_labels = label_clusters(&refs, &[], &named, &fps, None);
    let dir = root.join("bundle");
    BundleWriter::new()
        .snapshot("bench")
        .model_dir(&model)
        .pca(&pca)
        .prediction(&prediction)
        .epsilons(&epsilons)
        .fingerprints(&fps)
        .cluster_labels(cluster_labels)
        .embeddings(&npy, &ids)
        .records(&records)
        .write(&dir)?;
    eprintln!("identify bench: {} fingerprints in the bundle", fps.len());
    Ok(dir)
}

fn bench_identify(c: &mut Criterion) {
    let Some(recog) = std::env::var_os("RECOG_XML_DIR").map(PathBuf::from) else {
        eprintln!(
            "RECOG_XML_DIR is not set: the identify bench needs Recog's XML databases; nothing measured"
        );
        return;
    };
    let (banners, labels) = match examples(&recog) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("temporary folder: {e}");
            return;
        }
    };
    let bundle = match build_bundle(tmp.path(), &banners, &labels) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("building the bench bundle: {e}");
            return;
        }
    };
    let stream: Vec<&[u8]> = (0..REPEAT)
        .flat_map(|_| banners.iter().map(Vec::as_slice))
        .collect();
    let mut group = c.benchmark_group("identify");
    group.throughput(Throughput::Elements(stream.len() as u64));
    for (name, model) in [("regex_recog_model_off", false), ("tiny_model_on", true)] {
        let options = IdentifyOptions::default()
            .model(model)
            .recog_dir(&recog)
            .batch_size(64);
        let id = match Identifier::open(&bundle, options) {
            Ok(id) => id,
            Err(e) => {
                eprintln!("opening the bench bundle: {e}");
                return;
            }
        };
        let input: &[&[u8]] = if model {
            &stream[..banners.len()]
        } else {
            &stream
        };
        group.throughput(Throughput::Elements(input.len() as u64));
        if model {
            // The embedding alone (forward passes + PCA), for the overhead of the rest.
            group.bench_with_input(BenchmarkId::new("embed_only", name), &input, |b, input| {
                b.iter(|| id.embed(black_box(input)).map_or(0, |(x, _)| x.nrows()));
            });
        }
        group.bench_with_input(
            BenchmarkId::new("identify_batch", name),
            &input,
            |b, input| {
                b.iter(|| {
                    id.identify_batch(black_box(input)).map_or(0, |v| {
                        v.iter().filter(|i| !i.fingerprints.is_empty()).count()
                    })
                });
            },
        );
    }
    // Where the time goes (one thread): each matcher alone on the same stream.
    group.throughput(Throughput::Elements(stream.len() as u64));
    let Ok(bundle) = bannerlm::identify::Bundle::open(&bundle) else {
        return;
    };
    if let Ok(fps) = bannerlm::identify::FingerprintMatcher::new(bundle.fingerprints()) {
        group.bench_function("fingerprints_only_one_thread", |b| {
            b.iter(|| {
                stream
                    .iter()
                    .map(|x| fps.match_banner(&HttpBanner::parse(black_box(x))).len())
                    .sum::<usize>()
            });
        });
    }
    if let Ok(recog) = bannerlm::identify::RecogMatchers::load_dir(&recog) {
        group.bench_function("recog_only_one_thread", |b| {
            b.iter(|| {
                stream
                    .iter()
                    .map(|x| recog.match_banner(&HttpBanner::parse(black_box(x))).len())
                    .sum::<usize>()
            });
        });
    }
    group.bench_function("parse_only_one_thread", |b| {
        b.iter(|| {
            stream
                .iter()
                .map(|x| HttpBanner::parse(black_box(x)).headers().len())
                .sum::<usize>()
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_identify
}
criterion_main!(benches);
