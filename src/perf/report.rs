//! The report of one `dualprop perf` run: serde types keyed by name (float type, thread mode, estimator,
//! iteration count), written as JSON beside the Markdown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use super::measurement::Mode;
use super::peer::Peer;
use super::roofline::gflops;
use super::targets::TargetResult;
use super::workload::EstimatorId;
use super::Plan;

/// Everything one run measured, and the targets judged on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// What was run, how often and with how many threads.
    pub plan: Plan,
    /// When it started (UTC, minutes).
    pub date: String,
    /// Wall-clock time of the whole run, in seconds.
    pub elapsed_s: f64,
    /// The machine and its load.
    pub machine: Machine,
    /// The network's widths.
    pub widths: Vec<usize>,
    /// Samples per training step.
    pub batch: usize,
    /// Multiply-adds of one back-propagation step (B (3P - P_1)).
    pub backprop_macs: u64,
    /// The measurements of each float type ("f32", "f64").
    pub floats: BTreeMap<String, FloatReport>,
    /// The JAX peer's back-propagation step.
    pub peer: Peer,
    /// Each target of [`super::targets::TARGETS`], as measured in this run.
    pub targets: Vec<TargetResult>,
}

/// The machine the run met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU's model name (lscpu).
    pub model: String,
    /// Logical CPUs (lscpu).
    pub cpus: String,
    /// The 1-minute load average at the start of the run.
    pub load_start: String,
    /// The 1-minute load average at the end of the run.
    pub load_end: String,
}

/// Everything measured in one float type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloatReport {
    /// Multiply-adds of one roofline run (the products of a back-propagation step).
    pub roofline_macs: u64,
    /// The roofline and the training steps in each thread mode, all timed in the same rounds.
    pub modes: BTreeMap<Mode, ModeReport>,
    /// DP+ inference, kernel against reference, by iteration count K.
    pub inference: BTreeMap<usize, InferenceTimes>,
    /// Peak memory of a training step, by estimator.
    pub memory: BTreeMap<EstimatorId, Memory>,
}

/// The roofline and the training steps of one thread mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeReport {
    /// faer's products alone.
    pub roofline: Timing,
    /// One training step of each estimator timed in this mode.
    pub steps: BTreeMap<EstimatorId, StepResult>,
}

/// The timed rounds of one measurement, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// The median of the rounds, which the tables show.
    pub median_s: f64,
    /// Every timed round, in order (warm-up rounds left out).
    pub rounds_s: Vec<f64>,
}

/// One training step (inference, gradient, Adam).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// Its time.
    pub time: Timing,
    /// Multiply-adds the dense products executed.
    pub macs: u64,
    /// Inference iterations run in the last round (0 for back-propagation).
    pub iterations_run: usize,
    /// The last round's inference verdict ("-" for back-propagation).
    pub verdict: String,
}

/// DP+ inference (feed-forward + sweep) at one K.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InferenceTimes {
    /// `reference::infer` once, at the plan's reference batch.
    pub reference_s: f64,
    /// The kernel's median at the reference batch.
    pub kernel_same_batch_s: f64,
    /// The kernel's median at the paper's batch.
    pub kernel_paper_batch_s: f64,
}

/// Memory of one estimator's training step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// VmHWM of a probe process, in bytes (None when no probe ran or it failed).
    pub peak_bytes: Option<u64>,
    /// Workspace + weights + Adam's two moments, in bytes.
    pub trainer_bytes: usize,
}

impl FloatReport {
    /// One estimator's step in one mode, if it was measured there.
    pub fn step(&self, mode: Mode, id: EstimatorId) -> Option<&StepResult> {
        self.modes.get(&mode)?.steps.get(&id)
    }

    /// The roofline's GFLOP/s in one mode, if it was measured.
    pub fn roofline_gflops(&self, mode: Mode) -> Option<f64> {
        let roof = &self.modes.get(&mode)?.roofline;
        Some(gflops(self.roofline_macs, roof.median_s))
    }
}

impl StepResult {
    /// GFLOP/s of its dense products at its median time.
    pub fn gflops(&self) -> f64 {
        gflops(self.macs, self.time.median_s)
    }
}

impl Report {
    /// Writes the Markdown to `markdown` and the JSON beside it (same name, `.json`); returns the JSON's path.
    pub fn write(&self, markdown: &Path) -> Result<PathBuf> {
        if let Some(dir) = markdown.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        }
        std::fs::write(markdown, self.to_markdown()).map_err(|e| io_err(markdown, e))?;
        let json = markdown.with_extension("json");
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Format(e.to_string()))?;
        std::fs::write(&json, text + "\n").map_err(|e| io_err(&json, e))?;
        Ok(json)
    }
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
