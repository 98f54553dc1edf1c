//! Settings of a run: what it optimises with ([`TrainParams`]) and where and how it keeps its
//! state ([`RunOptions`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Optimisation settings of one run (pretraining or fine-tuning), unchecked;
/// [`check`](Self::check) gives the [`ValidTrainParams`] the trainers take.
///
/// `Default` is sized for a 2-core CPU; [`TrainParams::paper_mlm`] and
/// [`TrainParams::paper_finetune`] are the paper's settings.
///
/// ```
/// use contrastive_trainer::TrainParams;
///
/// let p = TrainParams::paper_finetune();
/// assert_eq!((p.batch_size, p.learning_rate, p.steps), (512, 5e-5, 20_000));
/// assert_eq!(p.check()?.steps, 20_000);
/// assert!(TrainParams { steps: 0, ..TrainParams::default() }.check().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
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

    /// Validates the settings.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] naming the first bad field.
    pub fn check(self) -> Result<ValidTrainParams> {
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
        Ok(ValidTrainParams(self))
    }
}

/// [`TrainParams`] that passed [`TrainParams::check`] (dereferences to them).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidTrainParams(TrainParams);

impl std::ops::Deref for ValidTrainParams {
    type Target = TrainParams;
    fn deref(&self) -> &TrainParams {
        &self.0
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn check_known_answers() {
        let d = TrainParams::default;
        assert!(d().check().is_ok());
        for bad in [
            TrainParams { steps: 0, ..d() },
            TrainParams {
                batch_size: 0,
                ..d()
            },
            TrainParams {
                learning_rate: 0.0,
                ..d()
            },
            TrainParams {
                warmup_steps: 1_000,
                ..d()
            },
            TrainParams {
                weight_decay: -1.0,
                ..d()
            },
            TrainParams {
                grad_clip_norm: Some(0.0),
                ..d()
            },
        ] {
            assert!(
                matches!(bad.clone().check(), Err(Error::InvalidParam(_))),
                "{bad:?}"
            );
        }
        let valid = TrainParams { steps: 700, ..d() }.check().map(|v| v.steps);
        assert_eq!(valid.ok(), Some(700));
    }
}
