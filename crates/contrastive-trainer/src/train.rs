//! The training loop shared by pretraining and fine-tuning: AdamW with linear warm-up and
//! decay, gradient clipping, atomic checkpoints, exact resume, NaN/Inf guard, progress. The
//! settings are in `params`, the batch order and per-step seeds in `order`.
//!
//! The loop uses burn's optimizer ([`burn::optim::AdamWConfig`]), learning-rate schedulers
//! ([`burn::lr_scheduler`]), gradient clipping and burnpack records. It does not use
//! burn-train's `Learner`: the Learner resumes at epoch boundaries and owns the data loader,
//! while this crate promises that a run killed at any step and resumed from its newest
//! checkpoint ends with the same weights as an uninterrupted run. That needs every random
//! choice (batch order, masking, dropout) to be a function of `(seed, step)`, which the loop
//! below guarantees by reseeding per step (`order::derive_seed`).

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
use serde::{Deserialize, Serialize};

use crate::checkpoint::{
    Checkpoints, LogEntry, MODEL_FILE, OPTIMIZER_FILE, STATE_FILE, TrainerState, load_module,
    read_json, save_module, write_json_atomic,
};
use crate::error::{Error, Result};
use crate::order::{TAG_DEVICE, TAG_INIT, derive_seed};
use crate::params::{RunOptions, TrainParams, ValidTrainParams};

/// File in the run directory recording what the run was started with.
const RUN_FILE: &str = "run.json";

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

fn scheduler(
    params: &ValidTrainParams,
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

fn optimizer(params: &ValidTrainParams) -> ModuleOptimizer {
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
    params: &ValidTrainParams,
    settings: serde_json::Value,
    options: &RunOptions,
    device: &Device,
    init: impl FnOnce(&Device) -> Result<T::Model>,
) -> Result<TrainOutcome<T::Model>> {
    let device = device.clone().autodiff();
    let ckpts = Checkpoints::open(&options.dir, options.keep_checkpoints)?;
    let record = RunRecord {
        task: T::NAME.to_owned(),
        params: TrainParams::clone(params),
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
        optim = optim.load(&opt_path).map_err(|source| Error::Optimizer {
            path: opt_path.clone(),
            source,
        })?;
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
        optim.save(&opt_path).map_err(|source| Error::Optimizer {
            path: opt_path.clone(),
            source,
        })?;
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
    let v = t.clone().into_data().convert::<f32>().try_to_vec::<f32>()?;
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
