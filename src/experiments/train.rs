//! One training run: seeded initialisation and shuffling, Adam steps on an [`Engine`], validation and test
//! accuracy after every epoch, optional alignment probes, a checkpoint per epoch, divergence recorded as data.
//!
//! Outputs in the run's directory ([`RunFiles`]): spec.json, metrics.jsonl, alignment.jsonl, loop_gain.jsonl,
//! progress.json,
//! checkpoint.safetensors (removed when the run ends unless kept), result.json (written last: its presence marks
//! a finished run).
//!
//! The pieces: `files` (the directory's layout and JSON documents), `jsonl` (the logs), `resume` (claiming the
//! directory, fresh start or checkpoint), `epoch` (the epoch loop), `tally` (an epoch's totals and records),
//! `evaluate` (accuracy), `loop_gain` (the loop-gain log); [`run`] strings them together and writes the result.

mod epoch;
mod evaluate;
mod files;
mod jsonl;
mod loop_gain;
mod resume;
mod tally;

pub use epoch::epoch_order;
pub use evaluate::accuracy;
pub use files::{read_result, RunFiles};
pub use jsonl::read_jsonl;
pub use loop_gain::{LOOP_GAIN_EXAMPLES, LOOP_GAIN_POWER_STEPS};

use std::path::Path;

use crate::error::{Error, Result};
use crate::experiments::checkpoint::{self, Position};
use crate::experiments::data::{Mnist, Split, CLASSES};
use crate::experiments::engine::Engine;
use crate::experiments::metrics::{RunResult, Status, VerdictCounts};
use crate::experiments::progress::Progress;
use crate::experiments::spec::RunSpec;
use crate::kernels::KernelFloat;
use epoch::{Ending, EpochLoop};

/// Options that do not change a run's result.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Keep checkpoint.safetensors after the run ends (to extend it to more epochs later).
    pub keep_checkpoint: bool,
}

/// Trains (or resumes, or skips) the run `spec` in `dir`.
pub fn run<T: KernelFloat>(
    spec: &RunSpec,
    data: &Mnist,
    dir: &Path,
    opts: &RunOptions,
    progress: &Progress,
) -> Result<RunResult> {
    spec.validate()?;
    let files = RunFiles::new(dir);
    if let Some(done) = resume::claim(spec, &files)? {
        return Ok(done);
    }
    let train = training_split(spec, data)?;
    let (net, adam, mut pos) = resume::start_or_resume::<T>(spec, &files)?;
    resume::drop_unsaved_records(&files, &pos)?;
    let estimator = spec.estimator()?;
    let mut engine = crate::experiments::engine_select::make_engine::<T>(
        spec.engine,
        net,
        estimator,
        spec.adam,
        adam,
        spec.batch,
    )?;
    let ending = EpochLoop::new(spec, data, &train, &files, progress, &pos)
        .run(engine.as_mut(), &mut pos)?;
    finish(spec, &files, opts, engine.as_ref(), &pos, ending)
}

/// The training examples the run uses (its subset, if any), once the network's ends fit MNIST.
fn training_split(spec: &RunSpec, data: &Mnist) -> Result<Split> {
    let (input, output) = (spec.widths[0], spec.widths[spec.widths.len() - 1]);
    if data.train.dim != input || output != CLASSES {
        return Err(Error::Shape {
            what: "network widths vs MNIST".into(),
            expected: (data.train.dim, CLASSES),
            got: (input, output),
        });
    }
    Ok(match spec.train_limit {
        Some(n) => data.train.truncated(n),
        None => data.train.clone(),
    })
}

/// Writes result.json (last, so that it marks a finished run) and removes the checkpoint unless it is kept.
fn finish<T: KernelFloat>(
    spec: &RunSpec,
    files: &RunFiles,
    opts: &RunOptions,
    engine: &dyn Engine<T>,
    pos: &Position,
    ending: Ending,
) -> Result<RunResult> {
    let (net, _) = engine.snapshot();
    let result = RunResult {
        spec: spec.clone(),
        status: match ending.divergence {
            Some(_) => Status::Diverged,
            None => Status::Completed,
        },
        epochs_completed: pos.epoch,
        last: pos
            .metrics
            .iter()
            .rev()
            .find(|m| m.divergence.is_none())
            .cloned(),
        divergence: ending.divergence,
        wall_seconds: pos.wall_seconds,
        weights_hash: checkpoint::weights_hash(&net),
        engine: engine.name().to_string(),
        capped_at_step: ending.capped_at_step,
        verdicts: Some(
            pos.metrics
                .iter()
                .fold(VerdictCounts::default(), |mut all, m| {
                    all.add(&m.verdicts);
                    all
                }),
        ),
    };
    files::write_json(&files.result, &result)?;
    if !opts.keep_checkpoint && files.checkpoint.exists() {
        files::remove_file(&files.checkpoint)?;
    }
    Ok(result)
}
