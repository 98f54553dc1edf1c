//! roberta-model throughput on the default CPU backend: encoder forward (sequences/s at batch
//! 32 x 128 tokens) and one masked-LM training step (forward, backward, AdamW), for the small
//! and the paper config. Compare with `benches/python/model_baseline.py` (PyTorch +
//! transformers, same thread count); figures in docs/PERFORMANCE.md.
//!
//! `cargo bench --bench model` (set `RAYON_NUM_THREADS` to pin the thread count). The bench
//! uses the system allocator, as a program that embeds the crate gets by default; for the
//! figures with a memory-keeping allocator (what bannerlm's examples run with), set
//! `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296:glibc.malloc.top_pad=67108864`
//! for this run and for the Python script alike. `BANNERLM_DEVICE=wgpu` runs it on a GPU.

use std::hint::black_box;
use std::time::Duration;

use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use roberta_model::{
    ModelPreset, RobertaConfig, RobertaForMaskedLm, RobertaModel, ValidRobertaConfig, burn,
    default_device,
};

const BATCH: usize = 32;
const SEQ: usize = 128;
const VOCAB: usize = 50_000;
/// Share of tokens masked in a training step (the paper's 15%).
const MASK_RATE: f64 = 0.15;

fn configs() -> [(&'static str, ValidRobertaConfig); 2] {
    [ModelPreset::Small, ModelPreset::Paper].map(|p| {
        let config = RobertaConfig::preset(p, VOCAB).check();
        (p.name(), config.expect("valid preset"))
    })
}

/// Deterministic pseudo-random ids `[BATCH * SEQ]` in `[5, VOCAB)`, `<s>` first and `</s>` last.
fn batch_ids() -> Vec<i64> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut ids = Vec::with_capacity(BATCH * SEQ);
    for _ in 0..BATCH {
        for t in 0..SEQ {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ids.push(match t {
                0 => 0,
                t if t == SEQ - 1 => 2,
                _ => 5 + (state % (VOCAB as u64 - 5)) as i64,
            });
        }
    }
    ids
}

fn ids_tensor(ids: Vec<i64>, device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(ids, [BATCH, SEQ]), device)
}

fn forward(c: &mut Criterion) {
    let mut group = c.benchmark_group("model_forward");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(BATCH as u64));
    let device = default_device().expect("BANNERLM_DEVICE names a compiled backend");
    eprintln!("roberta-model bench on {device:?}");
    let ids = ids_tensor(batch_ids(), &device);
    for (name, config) in configs() {
        let model = RobertaModel::new(&config, &device).expect("valid preset");
        let mask_pad = model.padding_mask(ids.clone());
        group.bench_with_input(
            BenchmarkId::new(name, format!("{BATCH}x{SEQ}")),
            &(),
            |b, ()| {
                b.iter(|| {
                    let states = model.forward(ids.clone(), mask_pad.clone());
                    black_box(states.into_data())
                });
            },
        );
    }
    group.finish();
}

fn train_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("model_mlm_train_step");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(BATCH as u64));
    let device = default_device()
        .expect("BANNERLM_DEVICE names a compiled backend")
        .autodiff();
    // 15% of the tokens, evenly spread and away from <s>/</s>, replaced by a mask id (4).
    let mut ids = batch_ids();
    let n_masked = ((BATCH * SEQ) as f64 * MASK_RATE) as usize;
    let stride = BATCH * SEQ / n_masked;
    let positions: Vec<i64> = (0..n_masked).map(|i| (i * stride + 1) as i64).collect();
    let labels: Vec<i64> = positions.iter().map(|&p| ids[p as usize]).collect();
    for &p in &positions {
        ids[p as usize] = 4;
    }
    let masked_ids = ids_tensor(ids, &device);
    let positions = Tensor::<1, Int>::from_data(TensorData::new(positions, [n_masked]), &device);
    let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [n_masked]), &device);
    for (name, config) in configs() {
        let mut model = Some(RobertaForMaskedLm::new(&config, &device).expect("valid preset"));
        let mut optim = AdamWConfig::new().init();
        let mask_pad = model
            .as_ref()
            .expect("model")
            .roberta
            .padding_mask(masked_ids.clone());
        group.bench_with_input(
            BenchmarkId::new(name, format!("{BATCH}x{SEQ}")),
            &(),
            |b, ()| {
                b.iter(|| {
                    let m = model.take().expect("model");
                    let loss = m.mlm_loss(
                        masked_ids.clone(),
                        mask_pad.clone(),
                        positions.clone(),
                        labels.clone(),
                    );
                    let grads = GradientsParams::from_grads(loss.backward(), &m);
                    let m = optim.step(2e-4, m, grads);
                    black_box(loss.into_data());
                    model = Some(m);
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, forward, train_step);
criterion_main!(benches);
