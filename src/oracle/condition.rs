//! The measured input condition of the oracle's tensors: how far each tensor moves when every weight, bias,
//! input and target is perturbed by a tiny relative amount in random signs.
//!
//! The reference's own f32-vs-f64 spread, the other measure `verify` scales its tolerance by, can underestimate
//! how much an iteration amplifies rounding: on the fuzz finding differential-2 (docs/oracle.md) the f32 spread was 6 eps_f32
//! while one-eps relative perturbations of the weights moved the f64 reference by 376 to 14264 eps_f64, and a
//! correct implementation (the faer kernels) differed by 2369 eps_f64. Taking the larger of the two measures
//! covers both: rounding inside the iteration (the spread) and sensitivity to the inputs (this module).

use std::collections::BTreeMap;

use crate::checks::tolerance::{deviation, SAFETY};
use crate::error::Result;
use crate::oracle::case::Case;
use crate::oracle::compute::{run_in, OracleRun};
use crate::oracle::config::OracleConfig;
use crate::oracle::half::is_half;
use crate::reference::scalar::FloatType;
use crate::store::TensorSet;

/// Relative size of each perturbation: small enough that the tensors respond linearly (on differential-2,
/// perturbations of 1 eps_f32 and 1 eps_f64 give the same condition within the spread of the sign patterns), far
/// enough above f64's rounding (1e-8 / 1.1e-16 = 9e7) that the change measures the perturbation, not rounding.
pub const PERTURBATION: f64 = 1e-8;

/// Sign patterns tried: the largest response estimates the worst direction from below (on differential-2 single
/// patterns ranged over a factor 38), so more patterns rather than a smaller safety factor.
pub const PATTERNS: usize = 8;

/// A reproducible stream of random signs (xorshift64, fixed seed) that perturbs values relatively: each v becomes
/// v (1 + h) or v (1 - h). Zeros stay zero, so a one-hot target stays one-hot.
#[derive(Debug, Clone)]
pub struct SignPerturbation {
    state: u64,
    relative: f64,
}

impl SignPerturbation {
    /// Signs from a fixed seed, each perturbation of relative size `relative`.
    pub fn new(relative: f64) -> Self {
        Self {
            state: 0x9e37_79b9_7f4a_7c15,
            relative,
        }
    }

    /// The next sign, +1 or -1.
    pub fn sign(&mut self) -> f64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        if self.state & 1 == 0 {
            1.0
        } else {
            -1.0
        }
    }

    /// Multiplies every value by 1 + h or 1 - h, the sign drawn per value.
    pub fn apply(&mut self, values: &mut [f64]) {
        for v in values {
            *v *= 1.0 + self.relative * self.sign();
        }
    }
}

/// What the perturbed runs measured: each tensor's condition, or why none was measured.
#[derive(Debug, Clone, PartialEq)]
pub enum InputCondition {
    /// Per tensor name: the largest normwise relative change (`checks::tolerance::deviation`) over [`PATTERNS`]
    /// perturbed runs, divided by [`PERTURBATION`]; the relative change a one-eps perturbation of every input
    /// causes, in eps.
    Measured(BTreeMap<String, f64>),
    /// A perturbed run failed, ended diverged where the case did not (or the reverse), or left a tensor
    /// non-finite: the case is at the edge of divergence or overflow.
    NotMeasured(String),
}

impl InputCondition {
    /// The condition of tensor `name` in eps, 0 when none was measured.
    pub fn of(&self, name: &str) -> f64 {
        match self {
            InputCondition::Measured(map) => map.get(name).copied().unwrap_or(0.0),
            InputCondition::NotMeasured(_) => 0.0,
        }
    }
}

/// The two measures behind an f32 or f64 tensor's tolerance: the reference's f32-vs-f64 spread and the input
/// condition (half-precision tensors have [`HalfRuns`](crate::oracle::half::HalfRuns) instead).
pub struct FullPrecisionCondition {
    /// The reference run in f32 (`None`: it could not run, noted, and the spread is taken as 0).
    f32_run: Option<OracleRun>,
    inputs: InputCondition,
}

impl FullPrecisionCondition {
    /// Runs the reference in f32 and on the perturbed copies, only if some candidate tensor is f32 or f64 (no
    /// half-precision tolerance reads them); a failure is noted and leaves that measure out.
    pub fn for_candidate(
        case: &Case,
        cfg: &OracleConfig,
        oracle: &OracleRun,
        candidate: &TensorSet,
        notes: &mut Vec<String>,
    ) -> Self {
        if candidate.tensors.values().all(|t| is_half(t.dtype)) {
            return Self {
                f32_run: None,
                inputs: InputCondition::Measured(BTreeMap::new()),
            };
        }
        let f32_run = match run_in::<f32>(case, cfg) {
            Ok(run) => Some(run),
            Err(e) => {
                notes.push(format!(
                    "the reference could not run in f32 ({e}); every tensor's condition is taken as 1"
                ));
                None
            }
        };
        let inputs = input_condition(case, cfg, oracle);
        if let InputCondition::NotMeasured(why) = &inputs {
            notes.push(format!(
                "the input condition was not measured ({why}): f32 and f64 tolerances use the f32 spread alone"
            ));
        }
        Self { f32_run, inputs }
    }

    /// The condition of tensor `name` in f32 epsilons: the larger of the f32 spread and the input condition
    /// (a non-finite spread is kept: the f32 run overflowed), and whether the input condition exceeded SAFETY
    /// times the spread, which alone would then have left less than 1/SAFETY of the tolerance.
    pub fn of(&self, name: &str, truth: &[f64]) -> (f64, bool) {
        let spread = match &self.f32_run {
            Some(run) => deviation(&run.tensors.tensors[name].data, truth).1,
            None => 0.0,
        };
        // Both in the units of the spread: the relative change one eps_f32 of relative perturbation of every
        // input causes.
        let from_inputs = self.inputs.of(name) * FloatType::F32.epsilon();
        let raised = from_inputs > SAFETY * spread.max(FloatType::F32.epsilon());
        let condition = if spread.is_finite() {
            spread.max(from_inputs)
        } else {
            spread
        };
        (condition, raised)
    }
}

/// Runs the reference in f64 on [`PATTERNS`] perturbed copies of `case` and compares every tensor of `oracle`.
pub fn input_condition(case: &Case, cfg: &OracleConfig, oracle: &OracleRun) -> InputCondition {
    let mut signs = SignPerturbation::new(PERTURBATION);
    let mut worst: BTreeMap<String, f64> = BTreeMap::new();
    for pattern in 1..=PATTERNS {
        let run = match perturbed_run(case, cfg, &mut signs) {
            Ok(run) => run,
            Err(e) => {
                return InputCondition::NotMeasured(format!(
                    "the reference failed on perturbed copy {pattern} of the case ({e})"
                ))
            }
        };
        if run.summary.verdict.failed() != oracle.summary.verdict.failed() {
            return InputCondition::NotMeasured(format!(
                "perturbed copy {pattern} of the case ended {:?} where the case itself ended {:?}",
                run.summary.verdict, oracle.summary.verdict
            ));
        }
        for (name, truth) in &oracle.tensors.tensors {
            let Some(moved) = run.tensors.tensors.get(name) else {
                continue;
            };
            let (_, relative, _) = deviation(&moved.data, &truth.data);
            if !relative.is_finite() {
                return InputCondition::NotMeasured(format!(
                    "tensor {name} was not finite on perturbed copy {pattern} of the case"
                ));
            }
            let slot = worst.entry(name.clone()).or_insert(0.0);
            *slot = slot.max(relative / PERTURBATION);
        }
    }
    InputCondition::Measured(worst)
}

/// The oracle's f64 run on `case` with every weight, bias, input and target perturbed by the next signs.
fn perturbed_run(
    case: &Case,
    cfg: &OracleConfig,
    signs: &mut SignPerturbation,
) -> Result<OracleRun> {
    let mut copy = case.clone();
    for (w, b) in &mut copy.layers {
        signs.apply(&mut w.data);
        signs.apply(&mut b.data);
    }
    signs.apply(&mut copy.x.data);
    signs.apply(&mut copy.y.data);
    run_in::<f64>(&copy, cfg)
}
