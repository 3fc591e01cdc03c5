//! The records a run writes: one JSON line per epoch (metrics.jsonl), one per alignment probe
//! (alignment.jsonl), and result.json when the run ends (completed or diverged).

use serde::{Deserialize, Serialize};

pub use crate::checks::alignment::LayerAlignment;
use crate::experiments::spec::RunSpec;
use crate::json_float;
use crate::reference::Verdict;

/// Where and how a run diverged: the paper's X.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// 1-based epoch during which it happened.
    pub epoch: usize,
    /// 1-based step within that epoch.
    pub step: usize,
    /// 1-based step over the whole run.
    pub global_step: usize,
    /// Loss of the feed-forward prediction on that batch.
    #[serde(with = "json_float")]
    pub loss: f64,
    /// The failed inference verdict (layer, max |z| and bound), if inference failed.
    pub verdict: Option<Verdict>,
    /// Human-readable reason.
    pub reason: String,
}

/// Count of inference verdicts over an epoch's steps (or, in [`RunResult::verdicts`], over a run's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VerdictCounts {
    /// Steps whose inference converged to a fixed point (back-propagation steps are not counted).
    pub converged: usize,
    /// Steps whose inference stayed bounded without converging.
    pub bounded: usize,
    /// Steps that failed: `diverged + non_finite` (files written before the split hold only this count).
    pub failed: usize,
    /// Failed steps whose inference diverged (a state beyond the growth bound).
    #[serde(default)]
    pub diverged: usize,
    /// Failed steps with non-finite states, loss, weights or predictions.
    #[serde(default)]
    pub non_finite: usize,
    /// Largest fixed-point residual among the bounded ones.
    #[serde(with = "json_float")]
    pub max_bounded_residual: f64,
    /// Mean inference iterations actually run per step.
    #[serde(with = "json_float")]
    pub mean_iterations_run: f64,
}

impl VerdictCounts {
    /// Steps counted: converged + bounded + failed.
    pub fn steps(&self) -> usize {
        self.converged + self.bounded + self.failed
    }

    /// Fractions of the steps (converged, bounded, diverged, non-finite); None without steps. Failed steps of
    /// files written before the split count as diverged.
    pub fn fractions(&self) -> Option<[f64; 4]> {
        let n = self.steps();
        let split = self.diverged + self.non_finite == self.failed;
        let diverged = if split { self.diverged } else { self.failed };
        let non_finite = if split { self.non_finite } else { 0 };
        (n > 0).then(|| {
            [self.converged, self.bounded, diverged, non_finite].map(|c| c as f64 / n as f64)
        })
    }

    /// Adds the counts of `other` (the residual is the larger one; the mean iterations are weighted by steps).
    pub fn add(&mut self, other: &VerdictCounts) {
        let (n, m) = (self.steps() as f64, other.steps() as f64);
        if n + m > 0.0 {
            self.mean_iterations_run =
                (self.mean_iterations_run * n + other.mean_iterations_run * m) / (n + m);
        }
        self.converged += other.converged;
        self.bounded += other.bounded;
        self.failed += other.failed;
        self.diverged += other.diverged;
        self.non_finite += other.non_finite;
        self.max_bounded_residual = self.max_bounded_residual.max(other.max_bounded_residual);
    }
}

/// One line of metrics.jsonl.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Steps run in this epoch, including one that diverged.
    pub steps: usize,
    /// Mean over the epoch's steps of the batch loss before each update (unweighted least squares).
    #[serde(with = "json_float")]
    pub train_loss: f64,
    /// Accuracies in percent; None when the run diverged during this epoch.
    pub validation_accuracy: Option<f64>,
    /// Test accuracy in percent; None when the run diverged during this epoch.
    pub test_accuracy: Option<f64>,
    /// Wall time of this epoch in seconds, its accuracy evaluation included.
    #[serde(with = "json_float")]
    pub epoch_seconds: f64,
    /// Cumulative wall time of the run (over resumes).
    #[serde(with = "json_float")]
    pub wall_seconds: f64,
    /// Counts of the epoch's inference verdicts.
    pub verdicts: VerdictCounts,
    /// Where the run diverged, if it did during this epoch.
    pub divergence: Option<Divergence>,
}

/// One line of alignment.jsonl.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlignmentRecord {
    /// 1-based epoch of the probe.
    pub epoch: usize,
    /// The record precedes the update of this 1-based global step.
    pub global_step: usize,
    /// Label of the estimate's inference verdict (None for back-propagation).
    pub verdict: Option<String>,
    /// Layers 1..=L.
    pub layers: Vec<LayerAlignment>,
}

/// One line of loop_gain.jsonl: the loop gain of the inference iteration on the weights and batch of one step
/// (before its update), estimated on a sub-batch in f64 by the reference (`experiments::train::loop_gain`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopGainRecord {
    /// 1-based epoch of the step.
    pub epoch: usize,
    /// 1-based global step whose weights and batch were used.
    pub global_step: usize,
    /// Why the step was logged: "every" (the interval) or "failed" (its inference failed).
    pub trigger: String,
    /// Label of the training step's inference verdict (the run's engine, whole batch).
    pub verdict: Option<String>,
    /// Inference passes the training step ran.
    pub iterations_run: usize,
    /// Spectral radius estimate of one pass's Jacobian (`checks::stability::LoopGain::gain`).
    #[serde(with = "json_float")]
    pub gain: f64,
    /// Signed Rayleigh quotient of the last power iterate (sign: monotone or oscillating growth).
    #[serde(with = "json_float")]
    pub rayleigh: f64,
    /// Examples of the sub-batch (the batch's first ones) the estimate used.
    pub examples: usize,
    /// Power-iteration steps of the estimate.
    pub power_steps: usize,
    /// Where the Jacobian was taken: "inference-end" (the states after the reference's K passes on the
    /// sub-batch) or "feed-forward" (their start, when the end states were not finite).
    pub state: String,
    /// Label of the reference's inference verdict on the sub-batch, in f64.
    pub sub_batch_verdict: String,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every requested epoch ran (or the step cap stopped the run).
    Completed,
    /// The paper's X: see [`RunResult::divergence`].
    Diverged,
}

/// result.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The run's specification, as given.
    pub spec: RunSpec,
    /// Whether the run completed or diverged.
    pub status: Status,
    /// Epochs completed and checkpointed (a capped last epoch counts, a diverged one does not).
    pub epochs_completed: usize,
    /// Where the run diverged (the paper's X), if it did.
    pub divergence: Option<Divergence>,
    /// Metrics of the last completed epoch.
    pub last: Option<EpochMetrics>,
    /// Cumulative wall time in seconds (over resumes).
    #[serde(with = "json_float")]
    pub wall_seconds: f64,
    /// FNV-1a hash of the final weights' bits.
    pub weights_hash: String,
    /// Which engine computed the steps: `kernels` or `reference`.
    pub engine: String,
    /// Set when the run stopped at its step cap ([`RunSpec::max_steps`]) before its last epoch ended.
    #[serde(default)]
    pub capped_at_step: Option<usize>,
    /// Inference verdicts over all the run's steps (None in files written before they were recorded).
    #[serde(default)]
    pub verdicts: Option<VerdictCounts>,
}

/// progress.json: where a run is, rewritten every tenth of an epoch (tells how far an unfinished run got).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunProgress {
    /// 1-based epoch in progress.
    pub epoch: usize,
    /// The step just completed, 1-based within its epoch.
    pub step: usize,
    /// Steps in one epoch (ceil of training examples / batch).
    pub steps_per_epoch: usize,
    /// Steps completed over the whole run.
    pub global_step: usize,
    /// Loss of that step's feed-forward prediction on its batch (unweighted), before the update.
    #[serde(with = "json_float")]
    pub loss: f64,
    /// Label of that step's inference verdict (None for back-propagation).
    pub verdict: Option<String>,
    /// Cumulative wall time in seconds (over resumes).
    #[serde(with = "json_float")]
    pub wall_seconds: f64,
}
