//! Tolerances for candidate tensors stored in f16 or bf16: the oracle still computes in f64 (the judge), and
//! measures each tensor's condition with the generic reference run in the candidate's own half type.
//!
//! Why not the f32 rule: the f32-vs-f64 spread measures how the computation amplifies f32's rounding, but a half
//! type also rounds the weights, inputs and every intermediate 2^13 (f16) or 2^16 (bf16) times more coarsely, and
//! near ReLU kinks or an expansive iteration that is not linear in the unit roundoff. Running the same reference
//! in the half type measures that directly. Why not the worst-case floor [`rounding`](crate::checks::tolerance::rounding):
//! in bf16 it is 0.94 on a 6-wide, 3-layer network and would accept a result wrong by 90 %; the floor here is
//! [`probabilistic_rounding`] (condition 1), the crate's bound for half-precision results.

use std::collections::BTreeMap;

use crate::checks::tolerance::{
    deviation, evaluation_order_margin, probabilistic_rounding, TensorTolerance,
};
use crate::oracle::case::Case;
use crate::oracle::compute::{run_in, OracleRun};
use crate::oracle::config::OracleConfig;
use crate::oracle::verify::TensorCheck;
use crate::reference::scalar::FloatType;
use crate::store::TensorSet;

/// Whether `float` is one of the half types judged here.
pub fn is_half(float: FloatType) -> bool {
    matches!(float, FloatType::F16 | FloatType::Bf16)
}

/// The reference's runs in each half type the candidate uses (`None`: it could not run in that type).
pub struct HalfRuns {
    runs: BTreeMap<&'static str, Option<OracleRun>>,
}

impl HalfRuns {
    /// Runs the reference in every half type among the candidate's tensors; a failed run is noted and its
    /// tensors' condition taken as 1 (as `verify` does when the f32 run fails).
    pub fn for_candidate(
        case: &Case,
        cfg: &OracleConfig,
        candidate: &TensorSet,
        notes: &mut Vec<String>,
    ) -> Self {
        let mut runs = BTreeMap::new();
        for float in [FloatType::F16, FloatType::Bf16] {
            if !candidate.tensors.values().any(|t| t.dtype == float) {
                continue;
            }
            let run = crate::with_float!(float, T => run_in::<T>(case, cfg));
            let run = match run {
                Ok(run) => Some(run),
                Err(e) => {
                    notes.push(format!(
                        "the reference could not run in {float} ({e}); the condition of every {float} \
                         tensor is taken as 1"
                    ));
                    None
                }
            };
            runs.insert(float.name(), run);
        }
        Self { runs }
    }

    /// The tolerance of candidate tensor `name` stored in the half type `float`: max(floor, SAFETY x condition x
    /// eps_T), the condition being the reference's own relative spread between `float` and f64 on this tensor, in
    /// epsilons of `float`, clamped to [1, 1/eps_T] (non-finite: the half run overflowed, capped).
    pub fn tolerance(
        &self,
        float: FloatType,
        name: &str,
        truth: &[f64],
        max_width: usize,
        depth: usize,
    ) -> TensorTolerance {
        let eps = float.epsilon();
        let spread = match self.runs.get(float.name()) {
            Some(Some(run)) => run
                .tensors
                .tensors
                .get(name)
                .map_or(f64::INFINITY, |t| deviation(&t.data, truth).1),
            _ => 0.0,
        };
        let condition = if spread.is_finite() {
            (spread / eps).clamp(1.0, 1.0 / eps)
        } else {
            1.0 / eps
        };
        let floor =
            crate::with_float!(float, T => probabilistic_rounding::<T>(max_width, depth, 1.0));
        TensorTolerance {
            float: float.name(),
            measured_condition: condition,
            floor,
            relative: floor.max(evaluation_order_margin(condition, float)),
        }
    }

    /// Notes the half-type tensors whose tolerance is vacuous: at least 1, so that a zero result would pass (the
    /// reference in that type kept at most a digit or so of them; e.g. original DP's gradients in bf16).
    pub fn note_unjudgeable(&self, tensors: &[TensorCheck], notes: &mut Vec<String>) {
        for float in [FloatType::F16, FloatType::Bf16] {
            let names: Vec<&str> = tensors
                .iter()
                .filter(|t| t.tolerance.float == float.name() && t.tolerance.relative >= 1.0)
                .map(|t| t.name.as_str())
                .collect();
            if !names.is_empty() {
                notes.push(format!(
                    "the reference in {float} deviates from f64 by so much on {names:?} that their tolerance \
                     for a {float} candidate is at least 1 (vacuous: a zero result would pass)"
                ));
            }
        }
    }
}
