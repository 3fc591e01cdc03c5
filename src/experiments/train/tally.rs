//! One epoch's running totals, and the records made from them: the divergence (the paper's X) and the
//! metrics line.

use std::time::Instant;

use super::evaluate::Accuracies;
use crate::experiments::checkpoint::Position;
use crate::experiments::metrics::{Divergence, EpochMetrics, VerdictCounts};
use crate::reference::{StepOutcome, Verdict};

/// What an epoch has done so far.
pub(super) struct Tally {
    /// 1-based.
    pub epoch: usize,
    pub started: Instant,
    /// Steps run, including one that diverged.
    pub steps: usize,
    counts: VerdictCounts,
    loss_sum: f64,
    iterations_sum: usize,
}

impl Tally {
    pub fn new(epoch: usize) -> Self {
        Self {
            epoch,
            started: Instant::now(),
            steps: 0,
            counts: VerdictCounts::default(),
            loss_sum: 0.0,
            iterations_sum: 0,
        }
    }

    /// A step that ran and did not diverge: its loss, inference iterations and verdict.
    pub fn add(&mut self, out: &StepOutcome) {
        self.loss_sum += out.loss;
        self.iterations_sum += out.iterations_run;
        match out.verdict {
            Some(Verdict::Bounded { residual }) => {
                self.counts.bounded += 1;
                self.counts.max_bounded_residual = self.counts.max_bounded_residual.max(residual);
            }
            Some(_) => self.counts.converged += 1,
            None => {}
        }
    }

    /// A step whose update failed: its inference diverged (`Some(Diverged)`), or its states, loss or weights
    /// went non-finite (any other verdict or none).
    pub fn fail(&mut self, verdict: Option<&Verdict>) {
        self.counts.failed += 1;
        match verdict {
            Some(Verdict::Diverged { .. }) => self.counts.diverged += 1,
            _ => self.counts.non_finite += 1,
        }
    }

    /// The run's X at `step` of this epoch.
    pub fn divergence(
        &self,
        step: usize,
        global_step: usize,
        loss: f64,
        verdict: Option<Verdict>,
        reason: String,
    ) -> Divergence {
        Divergence {
            epoch: self.epoch,
            step,
            global_step,
            loss,
            verdict,
            reason,
        }
    }

    /// The epoch's line of metrics.jsonl; adds its wall time to the position's.
    pub fn into_metrics(
        self,
        pos: &mut Position,
        accuracies: Accuracies,
        divergence: Option<Divergence>,
    ) -> EpochMetrics {
        let epoch_seconds = self.started.elapsed().as_secs_f64();
        pos.wall_seconds += epoch_seconds;
        let steps = self.steps.max(1) as f64;
        EpochMetrics {
            epoch: self.epoch,
            steps: self.steps,
            train_loss: self.loss_sum / steps,
            validation_accuracy: accuracies.validation,
            test_accuracy: accuracies.test,
            epoch_seconds,
            wall_seconds: pos.wall_seconds,
            verdicts: VerdictCounts {
                mean_iterations_run: self.iterations_sum as f64 / steps,
                ..self.counts
            },
            divergence,
        }
    }
}

/// A step that ran but failed: its inference diverged or its loss is not finite.
pub(super) fn step_divergence(
    tally: &Tally,
    step: usize,
    global_step: usize,
    out: &StepOutcome,
) -> Option<Divergence> {
    let failed = out.verdict.as_ref().filter(|v| v.failed());
    let reason = match failed {
        Some(v) => format!("inference {}", v.label()),
        None if !out.loss.is_finite() => format!("non-finite loss {}", out.loss),
        None => return None,
    };
    Some(tally.divergence(step, global_step, out.loss, failed.cloned(), reason))
}
