//! Every tolerance of the crate, each with its reason. All are relative (dimensionless) unless the name says
//! otherwise, and all are multiples of the float type's machine epsilon ([`Scalar::eps`]).
//!
//! - [`rounding`]: an identity evaluated in `T` (the specification tests, the oracle's floor).
//! - [`derivative_agreement`]: a KKT residual against the derivative of its objective at the same states.
//! - [`fixed_point_tolerance`]: "one more pass changes nothing" for the inference verdict.
//! - [`LOOP_GAIN_FLOOR`]: loop-gain estimates indistinguishable from 0.
//! - [`SAFETY`], [`tensor_tolerance`]: how far another implementation may deviate from the oracle (`verify`).
//! - [`kernel_state_agreement`], [`kernel_gradient_agreement`]: how far the kernels may deviate from the
//!   reference (tests/kernels_agreement.rs, the differential fuzz target).

use serde::Serialize;

use crate::reference::method::{Config, OutputRule};
use crate::reference::scalar::{FloatType, Scalar};

/// Machine epsilon of `T` as f64 (2^-52 for f64, 2^-23 for f32, 2^-10 for f16, 2^-7 for bf16).
pub fn eps<T: Scalar>() -> f64 {
    T::eps()
}

/// Relative tolerance for an identity that holds in exact arithmetic and is evaluated in `T` ("holds to rounding").
///
/// Each residual combines a few dot products of length at most `max_width`, whose error is bounded by
/// gamma_n = n eps / (1 - n eps) times the sum of the absolute products (Higham, Thm. 3.1); the states entering them
/// carry the rounding of up to `depth` earlier layers, which adds at first order when the layer gains are O(1).
/// A factor 4 covers the activation and its inverse (each correctly rounded to within a few ulps).
pub fn rounding<T: Scalar>(max_width: usize, depth: usize) -> f64 {
    4.0 * (max_width + 4) as f64 * depth.max(1) as f64 * eps::<T>()
}

/// Relative difference allowed between a KKT residual (`checks::kkt`) and the forward-mode derivative of its
/// objective (`checks::objective` in `reference::dual::Dual`) at the same stored states, relative to the sum of the
/// magnitudes of the terms the two combine (tests/spec_objective.rs): [`rounding`] at depth 1, 4 (n + 4) eps.
///
/// The states are inputs to both routes, so no earlier layer's rounding enters (hence depth 1, where [`rounding`]
/// allows `depth` layers of propagated error). Each route forms the same partial derivative as a sum of at most
/// n + 4 rounded terms (one dot product of length <= n, the pre-activation or the feedback, and the condition's few
/// terms), so each is within gamma_{n+4} ~ (n + 4) eps / 2 of the exact value relative to the sum of the magnitudes
/// of its terms (Higham, Thm. 3.1), and the two within (n + 4) eps; the factor 4 covers f^-1, (f^-1)' and the
/// potential, each within a few ulps of its value (the condition of f^-1 at the state belongs in the magnitude).
pub fn derivative_agreement<T: Scalar>(max_width: usize) -> f64 {
    rounding::<T>(max_width, 1)
}

/// [`rounding`] for a float type given as a value.
pub fn rounding_in(float: FloatType, max_width: usize, depth: usize) -> f64 {
    crate::with_float!(float, T => rounding::<T>(max_width, depth))
}

/// Ulps of [`fixed_point_tolerance`].
pub const FIXED_POINT_ULPS: f64 = 16.0;

/// Relative change below which one more pass counts as "no change" for the verdict: 16 ulps of the float type,
/// a few roundings of the final state (the pass recomputes every state from the same inputs).
pub fn fixed_point_tolerance<T: Scalar>() -> f64 {
    FIXED_POINT_ULPS * eps::<T>()
}

/// Ulps of the opt-in stop of `dualprop perf`'s "original DP K=30, stopped" row (`KernelOptions::stop_within_ulps`):
/// original DP's states settle within a few ulps of the scale but keep moving in their last bits, so an exact
/// fixed point never comes; 64 ulps stops once an iteration moves no state by more than about 4 times the
/// [`FIXED_POINT_ULPS`] of the verdict, where the remaining iterations are rounding-level (a contracting iteration
/// with rate q then leaves the states within 64 ulps x q / (1 - q) of the full run; tests/kernels_early_exit.rs).
pub const STOP_WITHIN_ULPS: u32 = 64;

/// Relative change (of the feed-forward scale) below which an inference with `KernelOptions::stop_within_ulps`
/// = `ulps` stops: `ulps` x epsilon of `T`, the unit of [`fixed_point_tolerance`].
pub fn stop_tolerance<T: Scalar>(ulps: u32) -> f64 {
    ulps as f64 * eps::<T>()
}

/// Estimates below this are indistinguishable from 0 (a one-shot or nilpotent pass). The finite-difference
/// Jacobian carries an error E with ||E|| ~ eps_f64 / 1e-5 ~ 2e-11 (rounding read through a step of 1e-5 of the
/// state scale). For a pass that is one-shot (J = 0) the estimate is ~||E||; but when J is nilpotent of index 2
/// (e.g. a frozen output gradient: z_L^+- move with a_L while delta_L does not) the spectral radius of J + E is
/// ~sqrt(||E|| ||J||), about 5e-6 for ||J|| ~ 1 (observed: 3.9e-6). 1e-4 covers ||J|| up to ~400.
pub const LOOP_GAIN_FLOOR: f64 = 1e-4;

/// Margin for a different but equally good evaluation order (BLAS blocking, fused multiply-add, pairwise sums):
/// each can change the rounding error by a small factor, not by orders of magnitude.
pub const SAFETY: f64 = 16.0;

/// The deviation another evaluation order may cause in `float`, for a computation whose measured condition (its
/// rounding error in units of the epsilon it ran in) is `condition`: [`SAFETY`] x condition x eps.
pub fn evaluation_order_margin(condition: f64, float: FloatType) -> f64 {
    SAFETY * condition * float.epsilon()
}

/// The tolerance of one tensor checked by `verify`, and where it comes from.
///
/// Rounding errors of a well-behaved computation are about (condition) x (unit roundoff of the type). The oracle
/// measures the condition of each output on the case at hand instead of guessing it: it runs the reference in
/// f32 and in f64 and takes the relative spread of the two, divided by f32's epsilon. A candidate in float type
/// T may then deviate by [`evaluation_order_margin`], and never less than [`rounding`] at the case's widest
/// layer and depth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TensorTolerance {
    /// Float type of the candidate's tensor.
    pub float: &'static str,
    /// The tensor's condition in f32 epsilons, clamped to [1, 1/eps_f32] (the upper end: f32 kept no correct
    /// digit, so an f32 candidate cannot be judged). In `verify`: the larger of the reference's f32-vs-f64
    /// relative spread on this tensor and its measured input condition (`oracle::condition`).
    pub measured_condition: f64,
    /// Floor: `rounding::<T>(widest layer, depth)`, the rounding of the products that build every state,
    /// allowed even where the measured spread is zero.
    pub floor: f64,
    /// Allowed normwise relative deviation: max(floor, SAFETY x condition x eps_T).
    pub relative: f64,
}

/// Tolerance for a candidate tensor of type `float` whose reference spread (f32 vs f64, normwise relative, or the
/// relative change a one-eps_f32 perturbation of the inputs causes, whichever is larger) is `spread_f32`, in a
/// network whose widest layer is `max_width` and depth `depth`.
pub fn tensor_tolerance(
    float: FloatType,
    spread_f32: f64,
    max_width: usize,
    depth: usize,
) -> TensorTolerance {
    // A spread of 1 (or a non-finite one: the f32 run failed where f64 did not) means f32 kept no digit; the
    // condition is capped there, which leaves f64 candidates a meaningful tolerance and says so for f32 ones.
    let eps32 = FloatType::F32.epsilon();
    let condition = if spread_f32.is_finite() {
        (spread_f32 / eps32).clamp(1.0, 1.0 / eps32)
    } else {
        1.0 / eps32
    };
    let floor = rounding_in(float, max_width, depth);
    TensorTolerance {
        float: float.name(),
        measured_condition: condition,
        floor,
        relative: floor.max(evaluation_order_margin(condition, float)),
    }
}

/// (largest absolute deviation, normwise relative deviation max|c - o| / max|o| (|o| taken as 1 when the oracle
/// tensor is zero), the first index where the largest occurs). Non-finite values agree only with the same
/// non-finite value; otherwise they count as an infinite deviation.
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

/// Largest absolute difference allowed between the kernels' and the reference's states (derived in
/// tests/kernels_agreement.rs): 2 U (n + 4) u M, for `updates` = U layer updates (L for the feed-forward pass,
/// then K times the schedule's layers), widest layer n, unit roundoff u = eps_T / 2 and state magnitude M.
///
/// The kernel performs the reference's elementwise operations in the same order, so the two differ only in the
/// dense products, whose sums faer blocks, reorders and fuses: each dot product of length n is within
/// gamma_n ~ n u of the exact one relative to sum |w_i x_i| <= n M, so the two differ by at most ~2 n u M per
/// update; a difference made in one update is carried by the later ones through maps that are Lipschitz with O(1)
/// constants on these networks; the +4 covers the few roundings of the elementwise nudge.
pub fn kernel_state_agreement<T: Scalar>(updates: usize, max_width: usize, magnitude: f64) -> f64 {
    2.0 * updates as f64 * (max_width as f64 + 4.0) * (eps::<T>() / 2.0) * magnitude
}

/// The Lipschitz constant of the output update that [`kernel_state_agreement`]'s O(1) assumption leaves out:
/// Eq. 3's exact output z- = (a - abar beta y) / (1 - abar beta) multiplies a difference in a_L by
/// 1 / (1 - abar beta), which grows without bound as abar beta approaches 1 (where the max over z- stops
/// existing); every other output rule is linear in a_L with slope 1 (and z+'s exact slope 1 / (1 + alpha beta) is
/// at most 1). First order: it counts one pass of a difference through the output map, so an iteration that is
/// expansive over many passes is judged by measured amplification instead (the differential fuzz target, the
/// oracle), not by this bound. Found by proptest: original DP, alpha = 0, beta = 0.98, where the kernels and the
/// reference differed by 1.04x the bound without this factor (tests/kernels_agreement.proptest-regressions).
pub fn output_amplification(cfg: &Config) -> f64 {
    if cfg.output_rule() == OutputRule::OriginalExact {
        1.0 / (1.0 - cfg.abar() * cfg.beta)
    } else {
        1.0
    }
}

/// Largest absolute difference allowed between the kernels' and the reference's gradient estimates, given the
/// states' bound `state_tolerance`: an entry is -1/(beta B) sum_b delta zbar, each delta carries up to twice the
/// states' difference, and the sum over B samples adds B roundings of its own: 2 tol M (1 + B u) / beta.
pub fn kernel_gradient_agreement<T: Scalar>(
    state_tolerance: f64,
    magnitude: f64,
    batch: usize,
    beta: f64,
) -> f64 {
    2.0 * state_tolerance * magnitude * (1.0 + batch as f64 * eps::<T>() / 2.0) / beta
}

/// Relative error bound for a result computed in `T` whose measured condition is `condition` (its relative change
/// per unit relative perturbation of every input, estimated in f64): sqrt((n + 4) depth) u condition, u = eps_T / 2.
///
/// The computation's roundings act as relative perturbations of its inputs and intermediates, (n + 4) per layer
/// as in [`rounding`]; under the probabilistic model of rounding errors (independent, mean zero: Higham and Mary,
/// SIAM J. Sci. Comput. 2019) their effect grows like the square root of their number rather than linearly, so
/// the bound stays below 1 in half precision, where the worst-case [`rounding`] exceeds it (bf16: 2.8 on a
/// 4-6-5-3 network) and would accept a zero or sign-flipped result. Measured on DP+ gradients of small identity
/// networks in f16 and bf16: at most 0.38 of it (tests/spec_precision_and_errors.rs).
pub fn probabilistic_rounding<T: Scalar>(max_width: usize, depth: usize, condition: f64) -> f64 {
    ((max_width + 4) as f64 * depth.max(1) as f64).sqrt() * eps::<T>() / 2.0 * condition
}

/// Smallest cosine between a result and its exact value when their relative distance is at most `relative` < 1:
/// the component orthogonal to the exact value is at most `relative` of its norm, so sin <= relative and
/// cos >= sqrt(1 - relative^2). A zero result (cosine undefined) or a sign-flipped one (cosine -1) falls below it.
pub fn cosine_floor(relative: f64) -> f64 {
    (1.0 - relative.min(1.0).powi(2)).sqrt()
}
