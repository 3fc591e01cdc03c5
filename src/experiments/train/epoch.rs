//! The epoch loop: each epoch's shuffled batches and Adam steps (with alignment probes and progress reports),
//! then evaluation, the metrics line, and a checkpoint or the divergence.

use indicatif::ProgressBar;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::evaluate::Accuracies;
use super::files::{write_json, RunFiles};
use super::jsonl::append_line;
use super::tally::{step_divergence, Tally};
use crate::checks::alignment::alignment;
use crate::error::{Error, Result};
use crate::experiments::checkpoint::{self, Position};
use crate::experiments::data::{Mnist, Split};
use crate::experiments::engine::Engine;
use crate::experiments::metrics::{
    AlignmentRecord, Divergence, EpochMetrics, LoopGainRecord, RunProgress,
};
use crate::experiments::progress::Progress;
use crate::experiments::spec::RunSpec;
use crate::kernels::KernelFloat;
use crate::reference::{Estimator, StepOutcome};

/// The order of the training examples in `epoch` (1-based): a function of (seed, epoch) only.
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    // splitmix64-style mixing keeps the per-epoch seeds of nearby (seed, epoch) pairs unrelated.
    let mut z = seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    let mut rng = rand::rngs::StdRng::seed_from_u64(z ^ (z >> 31));
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    order
}

/// How the epochs ended: both None when every requested epoch ran.
#[derive(Debug, Default)]
pub(super) struct Ending {
    pub divergence: Option<Divergence>,
    /// The global step at which the step cap stopped the run before its last epoch ended.
    pub capped_at_step: Option<usize>,
}

/// Why an epoch's steps stopped before its last batch.
enum Stop {
    Diverged(Divergence),
    Capped(usize),
}

/// Everything the epochs of one run share.
pub(super) struct EpochLoop<'a, T> {
    spec: &'a RunSpec,
    data: &'a Mnist,
    train: &'a Split,
    files: &'a RunFiles,
    progress: &'a Progress,
    bar: ProgressBar,
    steps_per_epoch: usize,
    /// The current batch, row-major.
    x: Vec<T>,
    y: Vec<T>,
}

impl<'a, T: KernelFloat> EpochLoop<'a, T> {
    pub(super) fn new(
        spec: &'a RunSpec,
        data: &'a Mnist,
        train: &'a Split,
        files: &'a RunFiles,
        progress: &'a Progress,
        pos: &Position,
    ) -> Self {
        let steps_per_epoch = train.len().div_ceil(spec.batch);
        let bar = progress.bar((steps_per_epoch * spec.epochs) as u64, "steps", spec.id());
        bar.set_position((steps_per_epoch * pos.epoch) as u64);
        Self {
            spec,
            data,
            train,
            files,
            progress,
            bar,
            steps_per_epoch,
            x: Vec::new(),
            y: Vec::new(),
        }
    }

    /// Trains epoch after epoch from `pos` until the last one, a divergence or the step cap.
    pub(super) fn run(&mut self, engine: &mut dyn Engine<T>, pos: &mut Position) -> Result<Ending> {
        let mut ending = Ending::default();
        while pos.epoch < self.spec.epochs
            && ending.divergence.is_none()
            && ending.capped_at_step.is_none()
        {
            ending = self.epoch(engine, pos)?;
        }
        self.bar.finish_and_clear();
        Ok(ending)
    }

    /// One epoch: its steps, then (unless it diverged) validation and test accuracy, then the metrics line and a
    /// checkpoint. A capped, partial epoch still counts as the run's last epoch.
    fn epoch(&mut self, engine: &mut dyn Engine<T>, pos: &mut Position) -> Result<Ending> {
        let mut tally = Tally::new(pos.epoch + 1);
        let (divergence, capped_at_step) = match self.steps(engine, pos, &mut tally)? {
            None => (None, None),
            Some(Stop::Diverged(d)) => (Some(d), None),
            Some(Stop::Capped(step)) => (None, Some(step)),
        };
        let (accuracies, divergence) = match divergence {
            Some(d) => (Accuracies::default(), Some(d)),
            None => self.evaluate(engine, pos, &tally)?,
        };
        let metrics = tally.into_metrics(pos, accuracies, divergence.clone());
        append_line(&self.files.metrics, &metrics)?;
        pos.metrics.push(metrics.clone());
        match &divergence {
            None => self.save(engine, pos, &metrics)?,
            Some(d) => self.progress.log(&format!(
                "{}: X — diverged at epoch {} step {} ({})",
                self.spec.id(),
                d.epoch,
                d.step,
                d.reason
            )),
        }
        Ok(Ending {
            divergence,
            capped_at_step,
        })
    }

    /// The epoch's steps over its shuffled batches; Some when one diverged or the step cap was reached.
    fn steps(
        &mut self,
        engine: &mut dyn Engine<T>,
        pos: &mut Position,
        tally: &mut Tally,
    ) -> Result<Option<Stop>> {
        let order = epoch_order(self.train.len(), self.spec.seed, tally.epoch);
        for (i, part) in order.chunks(self.spec.batch).enumerate() {
            let stop = self.step(engine, pos, tally, i + 1, part)?;
            if stop.is_some() {
                return Ok(stop);
            }
        }
        Ok(None)
    }

    /// Step `step` (1-based) of the epoch on the examples `part`: the alignment probe and loop gain if due, the
    /// update, the loop gain of a failed step, the divergence checks, the progress report and the step cap.
    fn step(
        &mut self,
        engine: &mut dyn Engine<T>,
        pos: &mut Position,
        tally: &mut Tally,
        step: usize,
        part: &[usize],
    ) -> Result<Option<Stop>> {
        let global_step = pos.global_step + 1;
        self.train.batch::<T>(part, &mut self.x, &mut self.y);
        self.probe_alignment(engine, tally.epoch, global_step, part.len())?;
        let gain = match self.loop_gain_due(global_step) {
            true => self.loop_gain(engine, part.len())?,
            false => None,
        };
        let out = match engine.step(&self.x, &self.y, part.len()) {
            Ok(out) => out,
            // Weights that became non-finite in the previous update: a divergence, not a crash.
            Err(Error::NonFinite { what, index }) => {
                pos.global_step = global_step;
                tally.steps += 1;
                tally.fail(None);
                let reason = format!("non-finite {what} at flat index {index}");
                let d = tally.divergence(step, global_step, f64::NAN, None, reason);
                return Ok(Some(Stop::Diverged(d)));
            }
            Err(e) => return Err(e),
        };
        pos.global_step = global_step;
        tally.steps += 1;
        self.bar.inc(1);
        self.log_loop_gain(engine, tally.epoch, global_step, part.len(), gain, &out)?;
        if let Some(d) = step_divergence(tally, step, global_step, &out) {
            tally.fail(d.verdict.as_ref());
            return Ok(Some(Stop::Diverged(d)));
        }
        self.report_progress(pos, tally, step, &out)?;
        tally.add(&out);
        if self.capped(pos, tally.epoch, step) {
            return Ok(Some(Stop::Capped(pos.global_step)));
        }
        Ok(None)
    }

    /// Validation and test accuracy after the epoch's steps; a non-finite prediction is the run's X.
    fn evaluate(
        &self,
        engine: &mut dyn Engine<T>,
        pos: &Position,
        tally: &Tally,
    ) -> Result<(Accuracies, Option<Divergence>)> {
        let accuracies = Accuracies::of(engine, self.data, self.spec.batch)?;
        let divergence = (!accuracies.finite()).then(|| {
            let reason = "non-finite prediction after the epoch".into();
            tally.divergence(tally.steps, pos.global_step, f64::NAN, None, reason)
        });
        Ok((accuracies, divergence))
    }

    /// Every `alignment_every` steps, before the update of `global_step`: the estimate against back-propagation
    /// on the same weights and batch, appended to alignment.jsonl.
    fn probe_alignment(
        &self,
        engine: &mut dyn Engine<T>,
        epoch: usize,
        global_step: usize,
        batch: usize,
    ) -> Result<()> {
        let every = self.spec.alignment_every;
        if every == 0 || (global_step - 1) % every != 0 {
            return Ok(());
        }
        match engine.gradients(&self.x, &self.y, batch) {
            // Non-finite weights are reported by the step that follows.
            Err(Error::NonFinite { .. }) => Ok(()),
            Err(e) => Err(e),
            Ok(pair) => append_line(
                &self.files.alignment,
                &AlignmentRecord {
                    epoch,
                    global_step,
                    verdict: pair.verdict.as_ref().map(|v| v.label()),
                    layers: alignment(&pair.estimate, &pair.backprop),
                },
            ),
        }
    }

    /// True when the loop gain is logged before the update of `global_step` (every `loop_gain_every` steps).
    fn loop_gain_due(&self, global_step: usize) -> bool {
        let every = self.spec.loop_gain_every;
        every > 0 && (global_step - 1) % every == 0
    }

    /// The loop gain on the engine's current weights and the current batch; None for back-propagation (no
    /// inference) or when the weights are not finite (the step that follows reports them).
    fn loop_gain(
        &self,
        engine: &dyn Engine<T>,
        batch: usize,
    ) -> Result<Option<super::loop_gain::Estimate>> {
        let Estimator::Dual(cfg) = self.spec.estimator()? else {
            return Ok(None);
        };
        let (net, _) = engine.snapshot();
        if net.validate().is_err() {
            return Ok(None);
        }
        super::loop_gain::estimate(&net, &cfg, &self.x, &self.y, batch).map(Some)
    }

    /// Appends the step's loop-gain record to loop_gain.jsonl: the one taken before the update when due, else,
    /// when the step's inference failed (a failed step leaves the weights as they were), one taken now.
    fn log_loop_gain(
        &self,
        engine: &dyn Engine<T>,
        epoch: usize,
        global_step: usize,
        batch: usize,
        before: Option<super::loop_gain::Estimate>,
        out: &StepOutcome,
    ) -> Result<()> {
        let failed = out.verdict.as_ref().is_some_and(|v| v.failed());
        let gain = match before {
            Some(g) => g,
            None if failed && self.spec.loop_gain_every > 0 => {
                match self.loop_gain(engine, batch)? {
                    Some(g) => g,
                    None => return Ok(()),
                }
            }
            None => return Ok(()),
        };
        append_line(
            &self.files.loop_gain,
            &LoopGainRecord {
                epoch,
                global_step,
                trigger: if failed { "failed" } else { "every" }.into(),
                verdict: out.verdict.as_ref().map(|v| v.label()),
                iterations_run: out.iterations_run,
                gain: gain.gain,
                rayleigh: gain.rayleigh,
                examples: gain.examples,
                power_steps: super::loop_gain::LOOP_GAIN_POWER_STEPS,
                state: gain.state.into(),
                sub_batch_verdict: gain.sub_batch_verdict,
            },
        )
    }

    /// Long epochs (100 steps or more) report where they are every tenth of an epoch: progress.json and a log
    /// line.
    fn report_progress(
        &self,
        pos: &Position,
        tally: &Tally,
        step: usize,
        out: &StepOutcome,
    ) -> Result<()> {
        if self.steps_per_epoch < 100 || step % (self.steps_per_epoch / 10) != 0 {
            return Ok(());
        }
        write_json(
            &self.files.progress,
            &RunProgress {
                epoch: tally.epoch,
                step,
                steps_per_epoch: self.steps_per_epoch,
                global_step: pos.global_step,
                loss: out.loss,
                verdict: out.verdict.as_ref().map(|v| v.label()),
                wall_seconds: pos.wall_seconds + tally.started.elapsed().as_secs_f64(),
            },
        )?;
        self.progress.log_without_bars(&format!(
            "{}: epoch {} step {step}/{} loss {:.4} {} ({:.0} s)",
            self.spec.id(),
            tally.epoch,
            self.steps_per_epoch,
            out.loss,
            out.verdict.as_ref().map_or(String::new(), |v| v.label()),
            tally.started.elapsed().as_secs_f64()
        ));
        Ok(())
    }

    /// True when the step cap is reached before the run's last step.
    fn capped(&self, pos: &Position, epoch: usize, step: usize) -> bool {
        let run_not_over = step < self.steps_per_epoch || epoch < self.spec.epochs;
        self.spec
            .max_steps
            .is_some_and(|cap| pos.global_step >= cap)
            && run_not_over
    }

    /// Closes an epoch that did not diverge: the position moves on, the checkpoint is written, the epoch logged.
    fn save(
        &self,
        engine: &dyn Engine<T>,
        pos: &mut Position,
        metrics: &EpochMetrics,
    ) -> Result<()> {
        pos.epoch = metrics.epoch;
        let (net, adam) = engine.snapshot();
        checkpoint::save(&self.files.checkpoint, &net, &adam, pos)?;
        self.progress.log(&format!(
            "{}: epoch {}/{} loss {:.4} val {:.2}% test {:.2}% ({:.1} s)",
            self.spec.id(),
            metrics.epoch,
            self.spec.epochs,
            metrics.train_loss,
            metrics.validation_accuracy.unwrap_or(f64::NAN),
            metrics.test_accuracy.unwrap_or(f64::NAN),
            metrics.epoch_seconds
        ));
        Ok(())
    }
}
