//! One training run: seeded initialisation and shuffling, Adam steps on an [`Engine`], validation and test
//! accuracy after every epoch, optional alignment probes, a checkpoint per epoch, divergence recorded as data.
//!
//! Outputs in the run's directory: spec.json, metrics.jsonl, alignment.jsonl, checkpoint.safetensors (removed
//! when the run ends unless kept), result.json (written last: its presence marks a finished run).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::checks::alignment::alignment;
use crate::error::{Error, Result};
use crate::experiments::checkpoint::{self, Position};
use crate::experiments::data::{Mnist, Split, CLASSES};
use crate::experiments::engine_select::EngineFloat;
use crate::experiments::metrics::{
    AlignmentRecord, Divergence, EpochMetrics, RunProgress, RunResult, Status, VerdictCounts,
};
use crate::experiments::progress::Progress;
use crate::experiments::spec::RunSpec;
use crate::reference::{Activation, AdamState, Loss, Network};

/// Options that do not change a run's result.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Keep checkpoint.safetensors after the run ends (to extend it to more epochs later).
    pub keep_checkpoint: bool,
}

/// File names inside a run directory.
pub struct RunFiles {
    pub dir: PathBuf,
}

impl RunFiles {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }
    pub fn spec(&self) -> PathBuf {
        self.dir.join("spec.json")
    }
    pub fn metrics(&self) -> PathBuf {
        self.dir.join("metrics.jsonl")
    }
    pub fn alignment(&self) -> PathBuf {
        self.dir.join("alignment.jsonl")
    }
    pub fn checkpoint(&self) -> PathBuf {
        self.dir.join("checkpoint.safetensors")
    }
    pub fn result(&self) -> PathBuf {
        self.dir.join("result.json")
    }
    pub fn progress(&self) -> PathBuf {
        self.dir.join("progress.json")
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn write_json<S: serde::Serialize>(path: &Path, value: &S) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Format(e.to_string()))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text + "\n").map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
}

/// Reads result.json if present.
pub fn read_result(dir: &Path) -> Result<Option<RunResult>> {
    let path = RunFiles::new(dir).result();
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::Format(format!("{}: {e}", path.display())))
}

/// Reads the lines of a JSON-lines file.
pub fn read_jsonl<R: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<R>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::Format(format!("{}:{}: {e}", path.display(), i + 1)))
        })
        .collect()
}

fn append_line<S: serde::Serialize>(path: &Path, value: &S) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    let line = serde_json::to_string(value).map_err(|e| Error::Format(e.to_string()))?;
    writeln!(f, "{line}").map_err(|e| io_err(path, e))
}

fn rewrite_lines<S: serde::Serialize>(path: &Path, values: &[S]) -> Result<()> {
    let mut text = String::new();
    for v in values {
        text += &serde_json::to_string(v).map_err(|e| Error::Format(e.to_string()))?;
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| io_err(path, e))
}

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

/// Accuracy in percent of the engine's predictions on a split, in chunks of `chunk` examples.
/// Returns None when a prediction is not finite.
pub fn accuracy<T: EngineFloat>(
    engine: &mut dyn crate::experiments::engine::Engine<T>,
    split: &Split,
    chunk: usize,
) -> Result<Option<f64>> {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut out = Vec::new();
    let mut correct = 0usize;
    let indices: Vec<usize> = (0..split.len()).collect();
    for part in indices.chunks(chunk) {
        split.batch::<T>(part, &mut x, &mut y);
        out.resize(part.len() * CLASSES, T::zero());
        engine.predict(&x, part.len(), &mut out)?;
        if out.iter().any(|v| !v.is_finite()) {
            return Ok(None);
        }
        for (row, &i) in out.chunks(CLASSES).zip(part) {
            let mut best = 0;
            for c in 1..CLASSES {
                if row[c] > row[best] {
                    best = c;
                }
            }
            correct += usize::from(best == split.labels[i] as usize);
        }
    }
    Ok(Some(100.0 * correct as f64 / split.len() as f64))
}

/// Trains (or resumes, or skips) the run `spec` in `dir`.
pub fn run<T: EngineFloat>(
    spec: &RunSpec,
    data: &Mnist,
    dir: &Path,
    opts: &RunOptions,
    progress: &Progress,
) -> Result<RunResult> {
    spec.validate()?;
    let files = RunFiles::new(dir);
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    if files.spec().exists() {
        let text = std::fs::read_to_string(files.spec()).map_err(|e| io_err(&files.spec(), e))?;
        let old: RunSpec = serde_json::from_str(&text)
            .map_err(|e| Error::Format(format!("{}: {e}", files.spec().display())))?;
        if !spec.same_run(&old) {
            return Err(Error::Unsupported(format!(
                "{} holds a different run (compare its spec.json); choose another output directory",
                dir.display()
            )));
        }
    }
    if let Some(done) = read_result(dir)? {
        let finished = match done.status {
            Status::Diverged => done
                .divergence
                .as_ref()
                .is_some_and(|d| d.epoch <= spec.epochs),
            Status::Completed => {
                done.epochs_completed == spec.epochs || done.capped_at_step.is_some()
            }
        };
        if finished {
            return Ok(done);
        }
        std::fs::remove_file(files.result()).map_err(|e| io_err(&files.result(), e))?;
    }
    write_json(&files.spec(), spec)?;

    let dim = spec.widths[0];
    if data.train.dim != dim || spec.widths[spec.widths.len() - 1] != CLASSES {
        return Err(Error::Shape {
            what: "network widths vs MNIST".into(),
            expected: (data.train.dim, CLASSES),
            got: (dim, spec.widths[spec.widths.len() - 1]),
        });
    }
    let train = match spec.train_limit {
        Some(n) => data.train.truncated(n),
        None => data.train.clone(),
    };

    // Fresh start or resume from the last checkpoint.
    let (net, adam, mut pos) = match files.checkpoint().exists() {
        true => {
            let (net, adam, pos) = checkpoint::load::<T>(&files.checkpoint(), &spec.widths)?;
            if pos.epoch > spec.epochs {
                return Err(Error::Unsupported(format!(
                    "{} has a checkpoint at epoch {} beyond the requested {} epochs",
                    dir.display(),
                    pos.epoch,
                    spec.epochs
                )));
            }
            (net, adam, pos)
        }
        false => {
            let net = Network::<T>::init(
                &spec.widths,
                Activation::Relu,
                Loss::LeastSquares,
                spec.init,
                spec.seed,
            )?;
            let adam = AdamState::new(&net);
            let pos = Position {
                epoch: 0,
                global_step: 0,
                wall_seconds: 0.0,
                metrics: Vec::new(),
            };
            (net, adam, pos)
        }
    };
    // Outputs beyond the checkpoint belong to an interrupted epoch: drop them.
    rewrite_lines(&files.metrics(), &pos.metrics)?;
    let kept: Vec<AlignmentRecord> = read_jsonl::<AlignmentRecord>(&files.alignment())?
        .into_iter()
        .filter(|r| r.global_step <= pos.global_step)
        .collect();
    rewrite_lines(&files.alignment(), &kept)?;

    let estimator = spec.estimator()?;
    let mut engine = T::make_engine(spec.engine, net, estimator, spec.adam, adam, spec.batch)?;
    let steps_per_epoch = train.len().div_ceil(spec.batch);
    let bar = progress.bar((steps_per_epoch * spec.epochs) as u64, "steps", spec.id());
    bar.set_position((steps_per_epoch * pos.epoch) as u64);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut divergence = None;
    let mut capped_at_step = None;

    while pos.epoch < spec.epochs && divergence.is_none() && capped_at_step.is_none() {
        let epoch = pos.epoch + 1;
        let started = Instant::now();
        let order = epoch_order(train.len(), spec.seed, epoch);
        let mut counts = VerdictCounts::default();
        let (mut loss_sum, mut iterations_sum, mut steps) = (0.0, 0usize, 0usize);
        for (i, part) in order.chunks(spec.batch).enumerate() {
            let global_step = pos.global_step + 1;
            train.batch::<T>(part, &mut x, &mut y);
            if spec.alignment_every > 0 && (global_step - 1) % spec.alignment_every == 0 {
                // Non-finite weights are reported by the step that follows.
                match engine.gradients(&x, &y, part.len()) {
                    Err(Error::NonFinite { .. }) => {}
                    Err(e) => return Err(e),
                    Ok(pair) => append_line(
                        &files.alignment(),
                        &AlignmentRecord {
                            epoch,
                            global_step,
                            verdict: pair.verdict.as_ref().map(|v| v.label()),
                            layers: alignment(&pair.estimate, &pair.backprop),
                        },
                    )?,
                }
            }
            let out = match engine.step(&x, &y, part.len()) {
                Ok(out) => out,
                // Weights that became non-finite in the previous update: a divergence, not a crash.
                Err(Error::NonFinite { what, index }) => {
                    pos.global_step = global_step;
                    steps += 1;
                    counts.failed += 1;
                    divergence = Some(Divergence {
                        epoch,
                        step: i + 1,
                        global_step,
                        loss: f64::NAN,
                        verdict: None,
                        reason: format!("non-finite {what} at flat index {index}"),
                    });
                    break;
                }
                Err(e) => return Err(e),
            };
            pos.global_step = global_step;
            steps += 1;
            bar.inc(1);
            let failed = out.verdict.as_ref().filter(|v| v.failed());
            if failed.is_some() || !out.loss.is_finite() {
                counts.failed += 1;
                divergence = Some(Divergence {
                    epoch,
                    step: i + 1,
                    global_step,
                    loss: out.loss,
                    verdict: failed.cloned(),
                    reason: match failed {
                        Some(v) => format!("inference {}", v.label()),
                        None => format!("non-finite loss {}", out.loss),
                    },
                });
                break;
            }
            // Long epochs report where they are (log and progress.json) every tenth of an epoch.
            if steps_per_epoch >= 100 && (i + 1) % (steps_per_epoch / 10) == 0 {
                write_json(
                    &files.progress(),
                    &RunProgress {
                        epoch,
                        step: i + 1,
                        steps_per_epoch,
                        global_step,
                        loss: out.loss,
                        verdict: out.verdict.as_ref().map(|v| v.label()),
                        wall_seconds: pos.wall_seconds + started.elapsed().as_secs_f64(),
                    },
                )?;
                progress.log_without_bars(&format!(
                    "{}: epoch {epoch} step {}/{steps_per_epoch} loss {:.4} {} ({:.0} s)",
                    spec.id(),
                    i + 1,
                    out.loss,
                    out.verdict.as_ref().map_or(String::new(), |v| v.label()),
                    started.elapsed().as_secs_f64()
                ));
            }
            loss_sum += out.loss;
            iterations_sum += out.iterations_run;
            match out.verdict {
                Some(crate::reference::Verdict::Bounded { residual }) => {
                    counts.bounded += 1;
                    counts.max_bounded_residual = counts.max_bounded_residual.max(residual);
                }
                Some(_) => counts.converged += 1,
                None => {}
            }
            let run_not_over = i + 1 < steps_per_epoch || epoch < spec.epochs;
            if spec.max_steps.is_some_and(|cap| pos.global_step >= cap) && run_not_over {
                capped_at_step = Some(pos.global_step);
                break;
            }
        }
        counts.mean_iterations_run = iterations_sum as f64 / steps.max(1) as f64;
        let (validation_accuracy, test_accuracy) = if divergence.is_none() {
            let val = accuracy::<T>(engine.as_mut(), &data.validation, spec.batch)?;
            let test = accuracy::<T>(engine.as_mut(), &data.test, spec.batch)?;
            if val.is_none() || test.is_none() {
                divergence = Some(Divergence {
                    epoch,
                    step: steps,
                    global_step: pos.global_step,
                    loss: f64::NAN,
                    verdict: None,
                    reason: "non-finite prediction after the epoch".into(),
                });
            }
            (val, test)
        } else {
            (None, None)
        };
        let epoch_seconds = started.elapsed().as_secs_f64();
        pos.wall_seconds += epoch_seconds;
        let metrics = EpochMetrics {
            epoch,
            steps,
            train_loss: loss_sum / steps.max(1) as f64,
            validation_accuracy,
            test_accuracy,
            epoch_seconds,
            wall_seconds: pos.wall_seconds,
            verdicts: counts,
            divergence: divergence.clone(),
        };
        append_line(&files.metrics(), &metrics)?;
        pos.metrics.push(metrics.clone());
        if divergence.is_none() {
            // A capped, partial epoch still counts as the run's last epoch.
            pos.epoch = epoch;
            checkpoint::save(
                &files.checkpoint(),
                &engine.network(),
                &engine.adam_state(),
                &pos,
            )?;
            progress.log(&format!(
                "{}: epoch {epoch}/{} loss {:.4} val {:.2}% test {:.2}% ({:.1} s)",
                spec.id(),
                spec.epochs,
                metrics.train_loss,
                validation_accuracy.unwrap_or(f64::NAN),
                test_accuracy.unwrap_or(f64::NAN),
                epoch_seconds
            ));
        } else if let Some(d) = &divergence {
            progress.log(&format!(
                "{}: X — diverged at epoch {} step {} ({})",
                spec.id(),
                d.epoch,
                d.step,
                d.reason
            ));
        }
    }
    bar.finish_and_clear();
    let net = engine.network();
    let result = RunResult {
        spec: spec.clone(),
        status: if divergence.is_some() {
            Status::Diverged
        } else {
            Status::Completed
        },
        epochs_completed: pos.epoch,
        last: pos
            .metrics
            .iter()
            .rev()
            .find(|m| m.divergence.is_none())
            .cloned(),
        divergence,
        wall_seconds: pos.wall_seconds,
        weights_hash: checkpoint::weights_hash(&net),
        engine: engine.name().to_string(),
        capped_at_step,
    };
    write_json(&files.result(), &result)?;
    if !opts.keep_checkpoint && files.checkpoint().exists() {
        std::fs::remove_file(files.checkpoint()).map_err(|e| io_err(&files.checkpoint(), e))?;
    }
    Ok(result)
}
