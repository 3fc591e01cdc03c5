//! Where a run starts: claiming its directory (refusing another run's, skipping a finished one), then a fresh
//! network or the last checkpoint, with the logs cut back to the checkpoint's position.

use super::files::{self, read_result, RunFiles};
use super::jsonl::{read_jsonl, rewrite_lines};
use crate::error::{Error, Result};
use crate::experiments::checkpoint::{self, Position};
use crate::experiments::metrics::{AlignmentRecord, LoopGainRecord, RunResult, Status};
use crate::experiments::spec::RunSpec;
use crate::kernels::KernelFloat;
use crate::reference::{Activation, AdamState, Loss, Network};

/// Makes `files.dir` the directory of `spec`: refuses one holding a different run, returns the result of a run
/// that already finished, clears the result of one being extended, and writes spec.json.
pub(super) fn claim(spec: &RunSpec, files: &RunFiles) -> Result<Option<RunResult>> {
    files::create_dir(&files.dir)?;
    refuse_other_run(spec, files)?;
    if let Some(done) = read_result(&files.dir)? {
        if answers(&done, spec) {
            return Ok(Some(done));
        }
        files::remove_file(&files.result)?;
    }
    files::write_json(&files.spec, spec)?;
    Ok(None)
}

fn refuse_other_run(spec: &RunSpec, files: &RunFiles) -> Result<()> {
    if !files.spec.exists() || spec.same_run(&files::read_json(&files.spec)?) {
        return Ok(());
    }
    Err(Error::Unsupported(format!(
        "{} holds a different run (compare its spec.json); choose another output directory",
        files.dir.display()
    )))
}

/// True when a finished run's result is the one `spec` asks for: it diverged within the requested epochs, or
/// completed exactly them or stopped at its step cap.
fn answers(done: &RunResult, spec: &RunSpec) -> bool {
    match done.status {
        Status::Diverged => done
            .divergence
            .as_ref()
            .is_some_and(|d| d.epoch <= spec.epochs),
        Status::Completed => done.epochs_completed == spec.epochs || done.capped_at_step.is_some(),
    }
}

/// The network, Adam state and position to train from: the checkpoint's if there is one, else a fresh start.
pub(super) fn start_or_resume<T: KernelFloat>(
    spec: &RunSpec,
    files: &RunFiles,
) -> Result<(Network<T>, AdamState<T>, Position)> {
    if !files.checkpoint.exists() {
        return fresh_start(spec);
    }
    let (net, adam, pos) = checkpoint::load::<T>(&files.checkpoint, &spec.widths)?;
    if pos.epoch > spec.epochs {
        return Err(Error::Unsupported(format!(
            "{} has a checkpoint at epoch {} beyond the requested {} epochs",
            files.dir.display(),
            pos.epoch,
            spec.epochs
        )));
    }
    Ok((net, adam, pos))
}

/// The seeded initialisation (or the weights of `spec.init_from`), zero Adam moments, epoch 0.
fn fresh_start<T: KernelFloat>(spec: &RunSpec) -> Result<(Network<T>, AdamState<T>, Position)> {
    let net = match &spec.init_from {
        Some(path) => {
            checkpoint::load_weights_named::<T>(path, &spec.widths, spec.init_names.as_deref())?
        }
        None => Network::<T>::init(
            &spec.widths,
            Activation::Relu,
            Loss::LeastSquares,
            spec.init,
            spec.seed,
        )?,
    };
    let adam = AdamState::new(&net);
    let pos = Position {
        epoch: 0,
        global_step: 0,
        wall_seconds: 0.0,
        metrics: Vec::new(),
    };
    Ok((net, adam, pos))
}

/// Drops the log lines beyond the position: they belong to an interrupted epoch, which is run again.
pub(super) fn drop_unsaved_records(files: &RunFiles, pos: &Position) -> Result<()> {
    rewrite_lines(&files.metrics, &pos.metrics)?;
    let kept: Vec<AlignmentRecord> = read_jsonl::<AlignmentRecord>(&files.alignment)?
        .into_iter()
        .filter(|r| r.global_step <= pos.global_step)
        .collect();
    rewrite_lines(&files.alignment, &kept)?;
    if !files.loop_gain.exists() {
        return Ok(());
    }
    let kept: Vec<LoopGainRecord> = read_jsonl::<LoopGainRecord>(&files.loop_gain)?
        .into_iter()
        .filter(|r| r.global_step <= pos.global_step)
        .collect();
    rewrite_lines(&files.loop_gain, &kept)
}
