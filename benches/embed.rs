//! embed-index throughput on the default CPU backend:
//!
//! - banner embedding (banners/s) of 512 simulated banners (all protocols, Censys form) at
//!   batch 64, length-sorted, tokenizer included, for a CPU-sized model (hidden 128, 2
//!   layers, as the `cpu` training preset) and the paper's model (hidden 256, 4 layers,
//!   768 tokens), random weights, an 8,000-token tokenizer trained on the same simulation;
//! - exact k-NN: 1,000 queries, k = 10, over 100,000 x 64 (queries/s);
//! - PCA fit 256 -> 64 on 1,000,000 x 256 (sample_size 10; one fit takes seconds).
//!
//! The bench writes the models, the tokenizer and the banners to `$EMBED_BENCH_DIR`
//! (default `target/embed-bench`), where `benches/python/embed_baseline.py` reads them to do
//! the same work with PyTorch + transformers, numpy and scikit-learn.
//!
//! `cargo bench --bench embed` (set `RAYON_NUM_THREADS` to pin the thread count;
//! `EMBED_BENCH_ONLY=embed|knn|pca` runs one group).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use bpe_tokenizer::{BannerTokenizer, TrainConfig};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use embed_index::{BannerEmbedder, ExactIndex, PcaParams};
use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng};
use roberta_model::{ModelPreset, RobertaConfig, RobertaForStability, default_device};
use scan_sim::{BannerForm, ScanSimulator, SimConfig};

const BANNERS: usize = 512;
const BATCH: usize = 64;
const VOCAB: usize = 8000;
const KNN_ROWS: usize = 100_000;
const KNN_DIM: usize = 64;
const KNN_QUERIES: usize = 1000;
const K: usize = 10;
const PCA_ROWS: usize = 1_000_000;
const PCA_DIM: usize = 256;

fn out_dir() -> PathBuf {
    std::env::var_os("EMBED_BENCH_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/embed-bench"),
        PathBuf::from,
    )
}

fn wanted(group: &str) -> bool {
    std::env::var("EMBED_BENCH_ONLY").map_or(true, |g| g == group)
}

/// Simulated banners: a tokenizer corpus and the banners to embed (another snapshot).
fn banners() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let sim = ScanSimulator::new(
        SimConfig {
            hosts: 4000,
            snapshots: 2,
            seed: 7,
            form: BannerForm::Censys,
            ..SimConfig::default()
        }
        .check()
        .expect("sim config"),
    )
    .expect("simulator");
    let take = |i: usize| -> Vec<Vec<u8>> {
        sim.snapshot(i)
            .expect("snapshot")
            .map(|r| r.record.banner)
            .collect()
    };
    let corpus = take(0);
    let mut test = take(1);
    test.truncate(BANNERS);
    (corpus, test)
}

/// Writes model directories (random weights) and the banners for the Python baseline.
fn setup() -> Vec<(&'static str, PathBuf, Vec<Vec<u8>>)> {
    let dir = out_dir();
    std::fs::create_dir_all(&dir).expect("bench dir");
    let (corpus, test) = banners();
    let tok = BannerTokenizer::train(
        &corpus,
        &TrainConfig::default()
            .vocab_size(VOCAB)
            .show_progress(false)
            .check()
            .expect("tokenizer config"),
    )
    .expect("train tokenizer");
    let mut lines = String::new();
    for b in &test {
        lines.push_str(&serde_json::to_string(&bpe_tokenizer::bytes_to_text(b)).expect("json"));
        lines.push('\n');
    }
    std::fs::write(dir.join("banners.jsonl"), lines).expect("banners");
    let device = default_device().expect("device");
    let mut out = Vec::new();
    for preset in [ModelPreset::Cpu, ModelPreset::Paper] {
        let name = preset.name();
        let config = RobertaConfig::preset(preset, tok.vocab_size())
            .check()
            .expect("valid preset");
        let model_dir = dir.join(name);
        RobertaForStability::new(&config, &device)
            .expect("model")
            .save_pretrained(&model_dir, &config)
            .expect("save model");
        tok.save(model_dir.join("tokenizer.json"))
            .expect("save tokenizer");
        out.push((name, model_dir, test.clone()));
    }
    eprintln!("embed bench data in {}", dir.display());
    out
}

fn embedding(c: &mut Criterion) {
    if !wanted("embed") {
        return;
    }
    let device = default_device().expect("BANNERLM_DEVICE names a compiled backend");
    let mut group = c.benchmark_group("embed_banners");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(BANNERS as u64));
    for (name, dir, banners) in setup() {
        let embedder = BannerEmbedder::from_dir(&dir, &device).expect("load");
        group.bench_function(BenchmarkId::new(name, BANNERS), |b| {
            b.iter(|| black_box(embedder.embed(&banners, BATCH).expect("embed")));
        });
    }
    group.finish();
}

fn knn(c: &mut Criterion) {
    if !wanted("knn") {
        return;
    }
    let mut rng = StdRng::seed_from_u64(3);
    let data = Array2::from_shape_fn((KNN_ROWS, KNN_DIM), |_| rng.random::<f32>() - 0.5);
    let queries = Array2::from_shape_fn((KNN_QUERIES, KNN_DIM), |_| rng.random::<f32>() - 0.5);
    let index = ExactIndex::new(data);
    let mut group = c.benchmark_group("exact_knn");
    group.sample_size(10);
    group.throughput(Throughput::Elements(KNN_QUERIES as u64));
    group.bench_function(BenchmarkId::new("100k_x_64_k10", KNN_QUERIES), |b| {
        b.iter(|| black_box(index.search(&queries, K).expect("search")));
    });
    group.finish();
}

fn pca(c: &mut Criterion) {
    if !wanted("pca") {
        return;
    }
    // Low-rank structure plus noise, like embeddings: 32 strong directions.
    let mut rng = StdRng::seed_from_u64(5);
    let basis = Array2::from_shape_fn((32, PCA_DIM), |_| rng.random::<f32>() - 0.5);
    let coef = Array2::from_shape_fn((PCA_ROWS, 32), |_| rng.random::<f32>() - 0.5);
    let noise = Array2::from_shape_fn((PCA_ROWS, PCA_DIM), |_| 0.01 * (rng.random::<f32>() - 0.5));
    let x = coef.dot(&basis) + noise;
    let mut group = c.benchmark_group("pca_fit");
    group
        .sample_size(10)
        .measurement_time(Duration::from_mins(1));
    group.bench_function(BenchmarkId::new("1M_x_256_to_64", PCA_ROWS), |b| {
        b.iter(|| black_box(PcaParams::new(64).fit(&x).expect("fit")));
    });
    group.finish();
}

criterion_group!(benches, embedding, knn, pca);
criterion_main!(benches);
