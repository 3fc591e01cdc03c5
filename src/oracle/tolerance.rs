//! How far another implementation may deviate from the oracle, per tensor, in units of its own float type.
//!
//! Rounding errors of a well-behaved computation are about (condition) x (unit roundoff of the type). The oracle
//! measures the condition of each output on the case at hand instead of guessing it: it runs the reference in
//! f32 and in f64 and takes the relative spread of the two, divided by f32's epsilon. A candidate in float type
//! T may then deviate by `SAFETY x condition x eps_T`, and never less than the crate's bound for an identity
//! evaluated in T ([`crate::checks::tolerance::rounding`] at the case's widest layer and depth).

use serde::Serialize;

use crate::checks::tolerance::rounding;
use crate::oracle::tensors::FloatType;

/// Margin for a different but equally good evaluation order (BLAS blocking, fused multiply-add, pairwise sums):
/// each can change the rounding error by a small factor, not by orders of magnitude.
pub const SAFETY: f64 = 16.0;

/// Machine epsilon (spacing of floats at 1) of a float type.
pub fn epsilon(t: FloatType) -> f64 {
    match t {
        FloatType::F32 => f32::EPSILON as f64,
        FloatType::F64 => f64::EPSILON,
    }
}

/// The tolerance of one tensor and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TensorTolerance {
    /// Float type of the candidate's tensor.
    pub float: &'static str,
    /// Relative spread of the reference between f32 and f64 on this tensor, in f32 epsilons, clamped to
    /// [1, 1/eps_f32] (the upper end: f32 kept no correct digit, so an f32 candidate cannot be judged).
    pub measured_condition: f64,
    /// Floor: `checks::tolerance::rounding::<T>(widest layer, depth)`, the rounding of the products that build
    /// every state, allowed even where the measured spread is zero.
    pub floor: f64,
    /// Allowed normwise relative deviation: max(floor, SAFETY x condition x eps_T).
    pub relative: f64,
}

/// Tolerance for a candidate tensor of type `float` whose reference spread (f32 vs f64, normwise relative) is
/// `spread_f32`, in a network whose widest layer is `max_width` and depth `depth`.
pub fn tensor_tolerance(
    float: FloatType,
    spread_f32: f64,
    max_width: usize,
    depth: usize,
) -> TensorTolerance {
    // A spread of 1 (or a non-finite one: the f32 run failed where f64 did not) means f32 kept no digit; the
    // condition is capped there, which leaves f64 candidates a meaningful tolerance and says so for f32 ones.
    let eps32 = epsilon(FloatType::F32);
    let condition = if spread_f32.is_finite() {
        (spread_f32 / eps32).clamp(1.0, 1.0 / eps32)
    } else {
        1.0 / eps32
    };
    let floor = match float {
        FloatType::F32 => rounding::<f32>(max_width, depth),
        FloatType::F64 => rounding::<f64>(max_width, depth),
    };
    TensorTolerance {
        float: float.name(),
        measured_condition: condition,
        floor,
        relative: floor.max(SAFETY * condition * epsilon(float)),
    }
}

/// Normwise relative deviation max|c - o| / max|o| (|o| taken as 1 when the oracle tensor is zero), and the
/// largest absolute deviation. Non-finite values agree only with the same non-finite value; otherwise they
/// count as an infinite deviation.
pub fn deviation(candidate: &[f64], oracle: &[f64]) -> (f64, f64, usize) {
    let scale = oracle
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let scale = if scale > 0.0 { scale } else { 1.0 };
    let mut worst = (0.0f64, 0usize);
    for (i, (&c, &o)) in candidate.iter().zip(oracle).enumerate() {
        let d = if c.is_finite() && o.is_finite() {
            (c - o).abs()
        } else if c.to_bits() == o.to_bits() || (c.is_nan() && o.is_nan()) {
            0.0
        } else {
            f64::INFINITY
        };
        if d > worst.0 {
            worst = (d, i);
        }
    }
    (worst.0, worst.0 / scale, worst.1)
}
