//! The report of one `dualprop perf` run: serde types keyed by name (float type, thread mode, estimator,
//! iteration count), written as JSON beside the Markdown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use super::measurement::Mode;
use super::peer::Peer;
use super::profile::Profile;
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
    /// What became of the JAX peer (its measurements are in each float type's report).
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
    /// The widest vector instructions it offers (AVX-512, AVX2 + FMA, ...).
    #[serde(default)]
    pub isa: String,
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
    /// faer's square-GEMM peak (`roofline::square_peak`) by thread count, GFLOP/s.
    #[serde(default)]
    pub square_peak: BTreeMap<usize, f64>,
    /// Our step's phases (back-propagation and DP+ K=1, default thread mode).
    #[serde(default)]
    pub profile: BTreeMap<EstimatorId, Profile>,
    /// The JAX peer's measurements in this float type, when it ran.
    #[serde(default)]
    pub peer: Option<PeerFloat>,
}

/// The JAX peer's measurements in one float type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerFloat {
    /// The twin of each of our estimators that has one, timed in the same rounds as ours (default mode):
    /// round i of a twin ran right after round i of our steps.
    pub steps: BTreeMap<EstimatorId, Timing>,
    /// XLA's products of a back-propagation step alone, at the same shapes.
    pub gemm: Option<Gemm>,
    /// The twin's phases (back-propagation and DP+ K=1), charged at XLA's GEMM rate.
    pub profile: BTreeMap<EstimatorId, Profile>,
}

/// A GEMM measurement: multiply-adds in a best time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gemm {
    /// Multiply-adds of the products.
    pub macs: u64,
    /// Best time, seconds.
    pub s: f64,
}

impl Gemm {
    /// Its rate in GFLOP/s.
    pub fn gflops(&self) -> f64 {
        gflops(self.macs, self.s)
    }
}

/// The spread of a per-round ratio (ours over the peer's, each round's two steps taken back to back).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Smallest round's ratio.
    pub min: f64,
    /// Median round's ratio.
    pub median: f64,
    /// Largest round's ratio.
    pub max: f64,
}

impl Spread {
    /// The ratio round by round of two timings of the same rounds (None when they share no round).
    pub fn of(ours: &Timing, peer: &Timing) -> Option<Self> {
        let mut r: Vec<f64> = ours
            .rounds_s
            .iter()
            .zip(&peer.rounds_s)
            .map(|(a, b)| a / b)
            .collect();
        r.sort_by(f64::total_cmp);
        Some(Self {
            min: *r.first()?,
            median: r[r.len() / 2],
            max: *r.last()?,
        })
    }

    /// "median (min-max)", as the tables show it.
    pub fn shown(&self) -> String {
        format!("{:.2}x ({:.2}-{:.2})", self.median, self.min, self.max)
    }
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

    /// Our step of `id` in `mode` over the JAX twin of `over`, round by round, if both were measured.
    pub fn peer_ratio(&self, mode: Mode, id: EstimatorId, over: EstimatorId) -> Option<Spread> {
        let ours = &self.step(mode, id)?.time;
        Spread::of(ours, self.peer.as_ref()?.steps.get(&over)?)
    }

    /// The best GEMM rate measured in this float type at a step's shapes: faer's roofline in its best thread mode
    /// and best round, or XLA's best (both best-of, so neither side is favoured by the statistic).
    pub fn best_gemm_gflops(&self) -> Option<f64> {
        let faer = self.modes.values().filter_map(|m| {
            let best = m.roofline.rounds_s.iter().copied().reduce(f64::min)?;
            Some(gflops(self.roofline_macs, best))
        });
        let xla = self
            .peer
            .as_ref()
            .and_then(|p| p.gemm.as_ref())
            .map(Gemm::gflops);
        faer.chain(xla).max_by(f64::total_cmp)
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
