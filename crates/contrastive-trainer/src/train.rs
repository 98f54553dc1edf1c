//! The training loop shared by pretraining and fine-tuning: AdamW with linear warm-up and
//! decay, gradient clipping, atomic checkpoints, exact resume, NaN/Inf guard, progress.
//!
//! The loop uses burn's optimizer ([`burn::optim::AdamWConfig`]), learning-rate schedulers
//! ([`burn::lr_scheduler`]), gradient clipping and burnpack records. It does not use
//! burn-train's `Learner`: the Learner resumes at epoch boundaries and owns the data loader,
//! while this crate promises that a run killed at any step and resumed from its newest
//! checkpoint ends with the same weights as an uninterrupted run. That needs every random
//! choice (batch order, masking, dropout) to be a function of `(seed, step)`, which the loop
//! below guarantees by reseeding per step.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::grad_clipping::GradientClippingConfig;
use burn::lr_scheduler::{
    LrSchedulerConfig, linear::LinearLrSchedulerConfig, sequential::SequentialLrSchedulerConfig,
};
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::store::ModuleSnapshot;
use burn::tensor::{Device, Tensor};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{
    Checkpoints, LogEntry, MODEL_FILE, OPTIMIZER_FILE, STATE_FILE, TrainerState, load_module,
    read_json, save_module, write_json_atomic,
};
use crate::error::{Error, Result};

/// File in the run directory recording what the run was started with.
pub const RUN_FILE: &str = "run.json";

/// Optimisation settings of one run (pretraining or fine-tuning).
///
/// `Default` is sized for a 2-core CPU; [`TrainParams::paper_mlm`] and
/// [`TrainParams::paper_finetune`] are the paper's settings.
///
/// ```
/// use contrastive_trainer::TrainParams;
///
/// let p = TrainParams::paper_finetune();
/// assert_eq!((p.batch_size, p.learning_rate, p.steps), (512, 5e-5, 20_000));
/// assert!(TrainParams { steps: 0, ..TrainParams::default() }.check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainParams {
    /// Optimiser steps. Default 1,000.
    pub steps: u64,
    /// Sequences per step (pretraining) or pairs per step (fine-tuning). Default 32.
    pub batch_size: usize,
    /// Peak learning rate. Default 5e-4.
    pub learning_rate: f64,
    /// Steps of linear warm-up from ~0 to the peak, then linear decay to 0. Default 100.
    pub warmup_steps: u64,
    /// AdamW decoupled weight decay. Default 0.01.
    pub weight_decay: f32,
    /// Clip each parameter's gradient to this L2 norm (burn's per-parameter clipping); `None`
    /// disables clipping. Default `Some(1.0)`.
    pub grad_clip_norm: Option<f32>,
    /// Seed of every random choice (initialisation, batch order, masking, dropout). Default 0.
    pub seed: u64,
    /// Dropout probability used in this run for every dropout of the model (embeddings,
    /// attention, sub-layer outputs, classifier); `None` keeps the model configuration's
    /// (0.1 for RoBERTa). Default `Some(0.0)`: the CPU-sized defaults see each banner or pair
    /// less than once, where dropout only slows learning, and without it a fine-tuning step
    /// is about a fifth cheaper (no random masks; the fused attention kernel); the paper
    /// presets keep the configuration's dropout. The exported model's `config.json` keeps
    /// the configured values (dropout does not act at inference).
    pub dropout: Option<f64>,
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            steps: 1_000,
            batch_size: 32,
            learning_rate: 5e-4,
            warmup_steps: 100,
            weight_decay: 0.01,
            grad_clip_norm: Some(1.0),
            seed: 0,
            dropout: Some(0.0),
        }
    }
}

impl TrainParams {
    /// The paper's masked-LM pretraining: batch 1024, lr 2e-4, 100k steps (warm-up 6% as in
    /// RoBERTa).
    pub fn paper_mlm() -> Self {
        Self {
            steps: 100_000,
            batch_size: 1024,
            learning_rate: 2e-4,
            warmup_steps: 6_000,
            dropout: None,
            ..Self::default()
        }
    }

    /// The paper's contrastive fine-tuning: 512 pairs, lr 5e-5, 20k steps.
    pub fn paper_finetune() -> Self {
        Self {
            steps: 20_000,
            batch_size: 512,
            learning_rate: 5e-5,
            warmup_steps: 1_000,
            dropout: None,
            ..Self::default()
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] naming the first bad field.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidParam(m));
        if self.steps == 0 {
            return bad("steps must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size must be at least 1".into());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad(format!(
                "learning_rate must be in (0, 1], got {}",
                self.learning_rate
            ));
        }
        if self.warmup_steps >= self.steps {
            return bad(format!(
                "warmup_steps ({}) must be below steps ({})",
                self.warmup_steps, self.steps
            ));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad(format!(
                "weight_decay must be >= 0, got {}",
                self.weight_decay
            ));
        }
        if let Some(c) = self.grad_clip_norm
            && !(c > 0.0 && c.is_finite())
        {
            return bad(format!("grad_clip_norm must be > 0, got {c}"));
        }
        if let Some(p) = self.dropout
            && !(0.0..1.0).contains(&p)
        {
            return bad(format!("dropout must be in [0, 1), got {p}"));
        }
        Ok(())
    }
}

/// Where and how a run keeps its state.
///
/// ```
/// use contrastive_trainer::RunOptions;
///
/// let opts = RunOptions::new("runs/mlm").resume(true).checkpoint_every(500);
/// assert_eq!(opts.checkpoint_every, 500);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// Run directory: `run.json`, `checkpoint-*/`, and the final model in `final/`.
    pub dir: PathBuf,
    /// Write a checkpoint every this many steps (and at the end). Default 200.
    pub checkpoint_every: u64,
    /// Checkpoints kept (the newest). Default 2.
    pub keep_checkpoints: usize,
    /// Continue from the newest checkpoint of `dir` if there is one. Default false: an
    /// existing run in `dir` is an error, never silently overwritten.
    pub resume: bool,
    /// Show a progress bar on stderr (hidden when stderr is not a terminal). Default true.
    pub progress: bool,
    /// Log (history entry) every this many steps. Default 50.
    pub log_every: u64,
    /// Stop after this many steps have been completed in total (an interruption, for tests and
    /// time-boxed runs); the run can be resumed. Default none.
    pub stop_after: Option<u64>,
}

impl RunOptions {
    /// Options with defaults for run directory `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            checkpoint_every: 200,
            keep_checkpoints: 2,
            resume: false,
            progress: true,
            log_every: 50,
            stop_after: None,
        }
    }

    /// Sets [`resume`](Self::resume).
    #[must_use]
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Sets [`checkpoint_every`](Self::checkpoint_every) (at least 1).
    #[must_use]
    pub fn checkpoint_every(mut self, steps: u64) -> Self {
        self.checkpoint_every = steps.max(1);
        self
    }

    /// Sets [`keep_checkpoints`](Self::keep_checkpoints) (at least 1).
    #[must_use]
    pub fn keep_checkpoints(mut self, n: usize) -> Self {
        self.keep_checkpoints = n.max(1);
        self
    }

    /// Sets [`progress`](Self::progress).
    #[must_use]
    pub fn progress(mut self, show: bool) -> Self {
        self.progress = show;
        self
    }

    /// Sets [`log_every`](Self::log_every) (at least 1).
    #[must_use]
    pub fn log_every(mut self, steps: u64) -> Self {
        self.log_every = steps.max(1);
        self
    }

    /// Sets [`stop_after`](Self::stop_after).
    #[must_use]
    pub fn stop_after(mut self, steps: Option<u64>) -> Self {
        self.stop_after = steps;
        self
    }
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct TrainOutcome<M> {
    /// The trained model (on the autodiff device; call `.valid()` for inference).
    pub model: M,
    /// Steps completed, loss history, time.
    pub state: TrainerState,
    /// Whether all steps ran (`false` when [`RunOptions::stop_after`] interrupted the run).
    pub completed: bool,
    /// The newest checkpoint written, if any.
    pub last_checkpoint: Option<PathBuf>,
}

/// The loss of one step.
pub(crate) struct StepLoss {
    pub total: Tensor<1>,
    pub parts: Vec<(&'static str, Tensor<1>)>,
    pub tokens: usize,
}

/// Models whose dropout probabilities a run can override ([`TrainParams::dropout`]).
pub(crate) trait SetDropout: Sized {
    fn set_dropout(self, prob: f64) -> Result<Self>;
}

impl SetDropout for roberta_model::RobertaForMaskedLm {
    fn set_dropout(self, prob: f64) -> Result<Self> {
        Ok(self.with_dropout(prob)?)
    }
}

impl SetDropout for roberta_model::RobertaForStability {
    fn set_dropout(self, prob: f64) -> Result<Self> {
        Ok(self.with_dropout(prob)?)
    }
}

/// A training objective over a model type.
pub(crate) trait Task {
    type Model: Module + ModuleSnapshot + Clone + SetDropout;
    /// Short name for logs and `run.json`.
    const NAME: &'static str;
    /// The loss of step `step` (0-based); every random choice must derive from `(seed, step)`.
    fn loss(&mut self, model: &Self::Model, step: u64, device: &Device) -> Result<StepLoss>;
}

/// What `run.json` holds: enough to refuse resuming with other settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    pub task: String,
    pub params: TrainParams,
    pub settings: serde_json::Value,
}

/// The SplitMix64 finaliser ([`bannerlm_base::mix64`]) of `seed`, `tag` and `step`:
/// independent streams per purpose and step.
pub(crate) fn derive_seed(seed: u64, tag: u64, step: u64) -> u64 {
    bannerlm_base::mix64(
        seed.wrapping_add(tag.wrapping_mul(bannerlm_base::GOLDEN_GAMMA))
            .wrapping_add(step.wrapping_mul(0xD1B5_4A32_D192_ED03)),
    )
}

/// Stream tags for [`derive_seed`].
pub(crate) const TAG_ORDER: u64 = 1;
pub(crate) const TAG_MASK: u64 = 2;
pub(crate) const TAG_DEVICE: u64 = 3;
pub(crate) const TAG_INIT: u64 = 4;

/// Batch order: epochs of a seeded permutation; step `s` takes the `s`-th slice of
/// `batch_size` items (the last partial batch of an epoch is dropped when the corpus is larger
/// than one batch). With a [`Bucketing`], the items of each window of `window` batches are
/// sorted by length before being cut into batches, so a batch pads little, and the batches of a
/// window are shuffled again. Everything derives from `(seed, epoch)`.
#[derive(Debug)]
pub(crate) struct BatchOrder {
    lengths: Vec<usize>,
    batch: usize,
    bucket: Option<Bucketing>,
    seed: u64,
    epoch: Option<u64>,
    perm: Vec<usize>,
}

/// Length bucketing of a [`BatchOrder`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucketing {
    /// Batches per length-sorting window.
    pub window: usize,
    /// Shuffle the items inside each batch after cutting (so that neighbours in a batch are
    /// not neighbours in length).
    pub shuffle_within: bool,
}

/// Masked-LM pretraining: windows of 50 batches (a batch pads to within a few tokens).
pub(crate) const MLM_BUCKETING: Bucketing = Bucketing {
    window: 50,
    shuffle_within: false,
};

/// Fine-tuning: windows of 8 batches, pairs shuffled inside each batch. The push term
/// contrasts each pair with its circular neighbour `i + 1` in the batch (always another
/// host), and banners of one product have similar lengths, so a small window keeps batches
/// mixed: on a scan-sim training set (batch 16) the push partner is of the same product for 10%
/// of pairs (4% with fully random batches, 24% with 50-batch windows) while padded positions
/// fall from 52% to 12%.
/// Not used by default: on the default run it lowered unchanged pairs below distance 0.1 from
/// 98.2% to 94.4% (docs/PERFORMANCE.md).
#[allow(dead_code)]
pub(crate) const PAIR_BUCKETING: Bucketing = Bucketing {
    window: 8,
    shuffle_within: true,
};

impl BatchOrder {
    pub fn new(
        lengths: Vec<usize>,
        batch_size: usize,
        bucket: Option<Bucketing>,
        seed: u64,
    ) -> Self {
        let n = lengths.len();
        Self {
            lengths,
            batch: batch_size.min(n).max(1),
            bucket,
            seed,
            epoch: None,
            perm: Vec::new(),
        }
    }

    pub fn indices(&mut self, step: u64) -> &[usize] {
        let n = self.lengths.len();
        let per_epoch = (n / self.batch).max(1) as u64;
        let epoch = step / per_epoch;
        if self.epoch != Some(epoch) {
            let mut rng = StdRng::seed_from_u64(derive_seed(self.seed, TAG_ORDER, epoch));
            let mut perm: Vec<usize> = (0..n).collect();
            perm.shuffle(&mut rng);
            let Some(bucket) = self.bucket else {
                self.perm = perm;
                self.epoch = Some(epoch);
                let start = (step % per_epoch) as usize * self.batch;
                return &self.perm[start..(start + self.batch).min(n)];
            };
            let window = self.batch * bucket.window.max(1);
            let mut out = Vec::with_capacity(n);
            for chunk in perm.chunks_mut(window) {
                chunk.sort_by_key(|&i| self.lengths[i]);
                let mut batches: Vec<&mut [usize]> = chunk.chunks_mut(self.batch).collect();
                batches.shuffle(&mut rng);
                for b in batches {
                    if bucket.shuffle_within {
                        b.shuffle(&mut rng);
                    }
                    out.extend_from_slice(b);
                }
            }
            self.perm = out;
            self.epoch = Some(epoch);
        }
        let start = (step % per_epoch) as usize * self.batch;
        &self.perm[start..(start + self.batch).min(n)]
    }
}

fn scheduler(
    params: &TrainParams,
) -> Result<burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler> {
    let peak = params.learning_rate;
    let start = (peak / params.warmup_steps.max(1) as f64).max(f64::MIN_POSITIVE);
    let decay_steps = (params.steps - params.warmup_steps) as usize;
    let decay = LrSchedulerConfig::Linear(LinearLrSchedulerConfig::new(peak, 0.0, decay_steps));
    let config = if params.warmup_steps == 0 {
        SequentialLrSchedulerConfig::new(vec![decay], vec![])
    } else {
        let warm = LrSchedulerConfig::Linear(LinearLrSchedulerConfig::new(
            start,
            peak,
            params.warmup_steps as usize,
        ));
        SequentialLrSchedulerConfig::new(vec![warm, decay], vec![params.warmup_steps as usize])
    };
    config
        .init()
        .map_err(|e| Error::InvalidParam(format!("learning-rate schedule: {e}")))
}

fn optimizer(params: &TrainParams) -> ModuleOptimizer {
    AdamWConfig::new()
        .with_weight_decay(params.weight_decay)
        .with_grad_clipping(params.grad_clip_norm.map(GradientClippingConfig::Norm))
        .init()
}

fn progress_bar(show: bool, total: u64, start: u64, name: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>9} [{elapsed_precise}] {bar:30} {pos}/{len} steps, ETA {eta} | {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(name.to_owned());
    bar.set_position(start);
    bar.reset_eta();
    bar
}

/// Runs `task` for `params.steps` steps in `options.dir`, starting from `init()` or from the
/// newest checkpoint when resuming.
pub(crate) fn run<T: Task>(
    task: &mut T,
    params: &TrainParams,
    settings: serde_json::Value,
    options: &RunOptions,
    device: &Device,
    init: impl FnOnce(&Device) -> Result<T::Model>,
) -> Result<TrainOutcome<T::Model>> {
    params.check()?;
    let device = device.clone().autodiff();
    let ckpts = Checkpoints::open(&options.dir, options.keep_checkpoints)?;
    let record = RunRecord {
        task: T::NAME.to_owned(),
        params: params.clone(),
        settings,
    };
    let run_file = options.dir.join(RUN_FILE);
    let latest = ckpts.latest()?;
    if run_file.is_file() {
        if !options.resume {
            return Err(Error::InvalidParam(format!(
                "{} already holds a run; pass resume to continue it or choose another directory",
                options.dir.display()
            )));
        }
        let old: RunRecord = read_json(&run_file)?;
        if let Some(field) = first_difference(&old, &record) {
            return Err(Error::ConfigMismatch {
                dir: options.dir.clone(),
                field,
            });
        }
    } else {
        write_json_atomic(&run_file, &record)?;
    }

    device.seed(derive_seed(params.seed, TAG_INIT, 0));
    let mut model = init(&device)?;
    let mut optim = optimizer(params);
    let mut sched = scheduler(params)?;
    let mut state = TrainerState {
        step: 0,
        seed: params.seed,
        tokens: 0,
        elapsed_s: 0.0,
        history: Vec::new(),
    };
    let mut last_checkpoint = None;
    if options.resume
        && let Some((step, dir)) = latest
    {
        model = load_module(model, &dir.join(MODEL_FILE))?;
        let opt_path = dir.join(OPTIMIZER_FILE);
        optim = optim
            .load(&opt_path)
            .map_err(|e| Error::checkpoint(&opt_path, e))?;
        state = read_json(&dir.join(STATE_FILE))?;
        if state.step != step {
            return Err(Error::checkpoint(
                &dir,
                "state.json disagrees with the directory name",
            ));
        }
        for _ in 0..step {
            sched.step();
        }
        last_checkpoint = Some(dir);
    }
    if let Some(p) = params.dropout {
        model = model.set_dropout(p)?;
    }

    let end = options
        .stop_after
        .map_or(params.steps, |s| s.min(params.steps));
    let bar = progress_bar(options.progress, params.steps, state.step, T::NAME);
    let started = Instant::now();
    let elapsed_before = state.elapsed_s;
    let mut window = Window::default();
    while state.step < end {
        let step = state.step;
        device.seed(derive_seed(params.seed, TAG_DEVICE, step));
        let out = task.loss(&model, step, &device)?;
        let loss_value: f64 = scalar(&out.total)?;
        if !loss_value.is_finite() {
            bar.abandon();
            return Err(Error::NonFinite {
                step,
                value: format!("{loss_value}"),
                last_checkpoint: last_checkpoint
                    .as_ref()
                    .map_or_else(|| "none".to_owned(), |p: &PathBuf| p.display().to_string()),
            });
        }
        let mut parts = Vec::with_capacity(out.parts.len());
        for (name, t) in &out.parts {
            parts.push((*name, scalar(t)?));
        }
        let grads = GradientsParams::from_grads(out.total.backward(), &model);
        let lr = sched.step();
        let lr_value = lr.base();
        model = optim.step(lr, model, grads);
        state.step += 1;
        state.tokens += out.tokens as u64;
        window.add(loss_value, &parts, out.tokens);
        bar.set_position(state.step);
        if state.step.is_multiple_of(options.log_every) || state.step == end {
            let entry = window.flush(state.step, lr_value);
            bar.set_message(format!(
                "loss {:.4} ({}) lr {:.2e} {:.0} tok/s",
                entry.loss,
                entry
                    .parts
                    .iter()
                    .map(|(n, v)| format!("{n} {v:.4}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                entry.lr,
                entry.tokens_per_s
            ));
            state.history.push(entry);
        }
        if state.step.is_multiple_of(options.checkpoint_every) || state.step == end {
            state.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
            last_checkpoint = Some(save_checkpoint(&ckpts, &model, &optim, &state)?);
        }
    }
    state.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
    bar.finish();
    Ok(TrainOutcome {
        model,
        completed: state.step >= params.steps,
        state,
        last_checkpoint,
    })
}

fn save_checkpoint<M: Module + ModuleSnapshot>(
    ckpts: &Checkpoints,
    model: &M,
    optim: &ModuleOptimizer,
    state: &TrainerState,
) -> Result<PathBuf> {
    ckpts.save(state.step, |dir| {
        save_module(model, &dir.join(MODEL_FILE))?;
        let opt_path = dir.join(OPTIMIZER_FILE);
        optim
            .save(&opt_path)
            .map_err(|e| Error::checkpoint(&opt_path, e))?;
        write_json_atomic(&dir.join(STATE_FILE), state)
    })
}

fn first_difference(old: &RunRecord, new: &RunRecord) -> Option<String> {
    if old.task != new.task {
        return Some("task".into());
    }
    let (a, b) = (
        serde_json::to_value(&old.params).ok()?,
        serde_json::to_value(&new.params).ok()?,
    );
    if let (Some(a), Some(b)) = (a.as_object(), b.as_object()) {
        for (k, v) in a {
            if b.get(k) != Some(v) {
                return Some(k.clone());
            }
        }
    }
    if old.settings != new.settings {
        return Some("model or loss settings".into());
    }
    None
}

/// Reads a one-element tensor.
pub(crate) fn scalar(t: &Tensor<1>) -> Result<f64> {
    let v = t
        .clone()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(Error::tensor)?;
    Ok(v.first().copied().map_or(f64::NAN, f64::from))
}

/// Loss, parts and throughput since the last log entry.
#[derive(Default)]
struct Window {
    steps: u64,
    loss: f64,
    parts: Vec<(&'static str, f64)>,
    tokens: usize,
    since: Option<Instant>,
}

impl Window {
    fn add(&mut self, loss: f64, parts: &[(&'static str, f64)], tokens: usize) {
        if self.since.is_none() {
            self.since = Some(Instant::now());
        }
        self.steps += 1;
        self.loss += loss;
        self.tokens += tokens;
        if self.parts.is_empty() {
            self.parts = parts.iter().map(|&(n, _)| (n, 0.0)).collect();
        }
        for (acc, &(_, v)) in self.parts.iter_mut().zip(parts) {
            acc.1 += v;
        }
    }

    fn flush(&mut self, step: u64, lr: f64) -> LogEntry {
        let n = self.steps.max(1) as f64;
        let secs = self
            .since
            .map_or(0.0, |s| s.elapsed().as_secs_f64())
            .max(1e-9);
        let entry = LogEntry {
            step,
            loss: self.loss / n,
            parts: self
                .parts
                .iter()
                .map(|&(name, v)| (name.to_owned(), v / n))
                .collect(),
            lr,
            tokens_per_s: self.tokens as f64 / secs,
        };
        *self = Window::default();
        entry
    }
}

/// The directory a finished run exports its model to (transformers format).
pub fn final_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("final")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn padded_share(order: &mut BatchOrder, lengths: &[usize], steps: u64) -> f64 {
        let (mut real, mut padded) = (0usize, 0usize);
        for step in 0..steps {
            let b = order.indices(step);
            let longest = b.iter().map(|&i| lengths[i]).max().unwrap_or(0);
            real += b.iter().map(|&i| lengths[i]).sum::<usize>();
            padded += longest * b.len();
        }
        1.0 - real as f64 / padded as f64
    }

    #[test]
    fn pair_buckets_cover_each_item_once_per_epoch_and_pad_less() {
        // Lengths 10..=250, one item per length and host.
        let lengths: Vec<usize> = (0..960).map(|i| 10 + (i * 7919) % 241).collect();
        let batch = 16;
        let per_epoch = (lengths.len() / batch) as u64;
        let mut order = BatchOrder::new(lengths.clone(), batch, Some(PAIR_BUCKETING), 3);
        let mut seen = vec![0u32; lengths.len()];
        for step in 0..per_epoch {
            let b = order.indices(step).to_vec();
            assert_eq!(b.len(), batch);
            for i in b {
                seen[i] += 1;
            }
        }
        assert!(
            seen.iter().all(|&c| c == 1),
            "every item exactly once per epoch"
        );
        // Deterministic in (seed, step), also when jumping to a step (resume).
        let mut again = BatchOrder::new(lengths.clone(), batch, Some(PAIR_BUCKETING), 3);
        assert_eq!(again.indices(per_epoch + 5), order.indices(per_epoch + 5));
        let mut random = BatchOrder::new(lengths.clone(), batch, None, 3);
        let bucketed = padded_share(&mut order, &lengths, per_epoch);
        let unbucketed = padded_share(&mut random, &lengths, per_epoch);
        assert!(
            bucketed < 0.2 && unbucketed > 0.4,
            "padded share {bucketed:.2} bucketed vs {unbucketed:.2} random"
        );
    }

    #[test]
    fn pairs_inside_a_bucketed_batch_are_not_in_length_order() {
        let lengths: Vec<usize> = (0..640).collect();
        let mut order = BatchOrder::new(lengths, 16, Some(PAIR_BUCKETING), 0);
        let sorted_batches = (0..40)
            .filter(|&s| order.indices(s).windows(2).all(|w| w[0] < w[1]))
            .count();
        assert_eq!(sorted_batches, 0);
    }

    #[test]
    fn dropout_must_be_a_probability_below_one() {
        for (p, ok) in [
            (Some(0.0), true),
            (Some(0.1), true),
            (None, true),
            (Some(1.0), false),
        ] {
            let params = TrainParams {
                dropout: p,
                ..TrainParams::default()
            };
            assert_eq!(params.check().is_ok(), ok, "{p:?}");
        }
        assert_eq!(TrainParams::paper_finetune().dropout, None);
    }
}
