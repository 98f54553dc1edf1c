//! roberta-model throughput on the default CPU backend: encoder forward (sequences/s at batch
//! 32 x 128 tokens) and one masked-LM training step (forward, backward, AdamW), for the small
//! and the paper config; and contrastive-trainer's fine-tuning step (16 pairs, both sides in one
//! forward pass, stability BCE + pull/push, AdamW with clipping) for the default run's `cpu`
//! model. Compare with `benches/python/model_baseline.py` (PyTorch + transformers, same thread
//! count; `--finetune` for the fine-tuning step); figures in docs/PERFORMANCE.md, all rows at
//! once with `scripts/compare.sh`.
//!
//! `cargo bench --bench model` (set `RAYON_NUM_THREADS` to pin the thread count). The bench
//! uses the system allocator, as a program that embeds the crate gets by default; for the
//! figures with a memory-keeping allocator (what bannerlm's examples run with), set
//! `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296:glibc.malloc.top_pad=67108864`
//! for this run and for the Python script alike. `BANNERLM_DEVICE=wgpu` runs it on a GPU.

use std::hint::black_box;
use std::time::Duration;

use banner_parse::Label;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use contrastive_trainer::{
    Finetuner, LabelledSeq, PairCorpus, RunOptions, TrainParams, TrainingPair,
};
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

/// Pairs per fine-tuning step (the default run's batch).
const FT_PAIRS: usize = 16;
/// Tokens per side of a fine-tuning pair.
const FT_SEQ: usize = 128;
/// The default run's vocabulary (`PipelineConfig::default().vocab_size`).
const FT_VOCAB: usize = 8_000;

/// `FT_PAIRS` synthetic pairs of `FT_SEQ` tokens a side: the same ids as `batch_ids` folded
/// into the vocabulary, side b differing from side a in every 10th token (labelled dynamic);
/// `<s>`/`</s>` unlabelled, every other token stable.
fn finetune_corpus() -> PairCorpus {
    let ids = batch_ids();
    let fold = |t: i64| {
        if t < 5 {
            t as u32
        } else {
            5 + (t as u32 - 5) % (FT_VOCAB as u32 - 5)
        }
    };
    let side = |ids: Vec<u32>| {
        let targets = (0..ids.len())
            .map(|t| match t {
                0 => Label::Unlabelled,
                t if t == ids.len() - 1 => Label::Unlabelled,
                t if t % 10 == 5 => Label::Dynamic,
                _ => Label::Stable,
            })
            .collect();
        LabelledSeq {
            offsets: vec![(0, 0); ids.len()],
            ids,
            targets,
            truth: None,
        }
    };
    let pairs = (0..FT_PAIRS)
        .map(|p| {
            let a: Vec<u32> = ids[p * SEQ..p * SEQ + FT_SEQ]
                .iter()
                .map(|&t| fold(t))
                .collect();
            let b: Vec<u32> = a
                .iter()
                .enumerate()
                .map(|(t, &id)| {
                    if t % 10 == 5 {
                        5 + (id + 1) % (FT_VOCAB as u32 - 5)
                    } else {
                        id
                    }
                })
                .collect();
            TrainingPair {
                a: side(a),
                b: side(b),
                protocol: "http".into(),
                ..TrainingPair::default()
            }
        })
        .collect();
    PairCorpus::from_labelled(pairs).expect("well-formed synthetic pairs")
}

/// The fine-tuning step as the trainer runs it (`Finetuner::run`: batch assembly, one forward
/// over both sides, BCE + pull/push, backward, AdamW with gradient clipping, learning-rate
/// schedule). Each criterion sample is one training run of `iters` steps from a fresh model
/// (model initialisation and the final checkpoint are amortised over the steps, well under
/// 1% of a sample), so the reported time is per step.
fn finetune_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("model_finetune_step");
    group
        .sample_size(10)
        .sampling_mode(criterion::SamplingMode::Flat)
        .measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements((2 * FT_PAIRS * FT_SEQ) as u64));
    let device = default_device()
        .expect("BANNERLM_DEVICE names a compiled backend")
        .autodiff();
    let corpus = finetune_corpus();
    let config = RobertaConfig::preset(ModelPreset::Cpu, FT_VOCAB)
        .check()
        .expect("valid preset");
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let mut run = 0_u32;
    group.bench_with_input(
        BenchmarkId::new(ModelPreset::Cpu.name(), format!("{FT_PAIRS}x2x{FT_SEQ}")),
        &(),
        |b, ()| {
            b.iter_custom(|iters| {
                run += 1;
                let params = TrainParams {
                    steps: iters.max(1),
                    batch_size: FT_PAIRS,
                    warmup_steps: 0,
                    ..TrainParams::default()
                }
                .check()
                .expect("valid params");
                let mut options = RunOptions::new(scratch.path().join(format!("run-{run}")));
                options.progress = false;
                options.checkpoint_every = u64::MAX;
                let started = std::time::Instant::now();
                let out = Finetuner::new(config.clone(), params)
                    .run(&corpus, &options, &device)
                    .expect("fine-tuning runs");
                let took = started.elapsed();
                black_box(out.state.step);
                let _ = std::fs::remove_dir_all(&options.dir);
                took
            });
        },
    );
    group.finish();
}

criterion_group!(benches, forward, train_step, finetune_step);
criterion_main!(benches);
