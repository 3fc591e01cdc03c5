//! Every per-unit rule of the paper, written once. The reference's loops, the kernels' fused loops and the checks
//! call these functions; the activation enters as a function so that the kernels can pass their compile-time unit
//! (`with_unit!`) and the reference its [`Activation`](crate::reference::Activation).
//!
//! The loss of one row lives with [`Loss`](crate::reference::Loss) ([`Loss::value_rows`],
//! [`Loss::gradient_rows`]), one Adam step with [`AdamStep`](crate::reference::adam::AdamStep), the mean and
//! difference of Eq. 6 with [`DualState`](crate::reference::DualState) below.
//!
//! [`Loss::value_rows`]: crate::reference::Loss::value_rows
//! [`Loss::gradient_rows`]: crate::reference::Loss::gradient_rows

use crate::reference::method::Placement;
use crate::reference::scalar::Scalar;

/// The two nudged pre-activations of a hidden unit, a + plus b and a - minus b (the arguments of f in Eqs. 3, 8).
#[inline(always)]
pub fn nudged<T: Scalar>(plus: T, minus: T, a: T, b: T) -> (T, T) {
    (a + plus * b, a - minus * b)
}

/// Eqs. 8 and 3 (feedback inside the activation): z+ = f(a + plus b), z- = f(a - minus b).
///
/// Proved (proofs/): `HiddenLayer.v` `affine_eq8_solves_eq10`, `affine_eq10_unique`, `affine_eq12`; `Relu.v`
/// `relu_active`; `OrigVsPlus.v` `half_hidden_updates_coincide`, `dp_mean_feedforward_extreme`,
/// `orig_mean_extreme`; `Objectives.v` `eq3_hidden_layer_plus_is_partial`, `eq3_hidden_layer_minus_is_partial`.
#[inline(always)]
pub fn hidden_inside<T: Scalar>(f: impl Fn(T) -> T, plus: T, minus: T, a: T, b: T) -> (T, T) {
    let (up, down) = nudged(plus, minus, a, b);
    (f(up), f(down))
}

/// Eq. 3's update dampened (the follow-up code's `cnn_dualprop_RAOVR_dampened_ff`; not in the paper):
/// z+ = f((a + plus b + l z+_prev) / (1 + l)), z- = f((a - minus b + l z-_prev) / (1 + l)). At l = 0 it is
/// [`hidden_inside`] bit for bit (the damping is skipped, so that a signed zero or an infinite z_prev cannot leak in).
///
/// Proved (proofs/): `Dampened.v` `dampened_fixed_point_iff`, `dampened_identity_same_fixed_point`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn hidden_dampened<T: Scalar>(
    f: impl Fn(T) -> T,
    plus: T,
    minus: T,
    l: T,
    a: T,
    b: T,
    prev_plus: T,
    prev_minus: T,
) -> (T, T) {
    if l == T::zero() {
        return hidden_inside(f, plus, minus, a, b);
    }
    let (up, down) = nudged(plus, minus, a, b);
    let denom = T::one() + l;
    (
        f((up + l * prev_plus) / denom),
        f((down + l * prev_minus) / denom),
    )
}

/// Eq. 21 (feedback added after the activation): z+ = f(a) + plus b, z- = f(a) - minus b.
///
/// Proved (proofs/): `LeCunChain.v` `settled_update_satisfies_kkt`, `printed_update_kkt_iff`; `Objectives.v`
/// `settled_update_is_stationary_for_eq20`.
#[inline(always)]
pub fn hidden_outside<T: Scalar>(f: impl Fn(T) -> T, plus: T, minus: T, a: T, b: T) -> (T, T) {
    let fa = f(a);
    (fa + plus * b, fa - minus * b)
}

/// Eqs. 3, 8 or 21 by placement (the reference's per-unit form; the kernels choose the placement outside their loops).
#[inline]
pub fn hidden_unit<T: Scalar>(
    placement: Placement,
    f: impl Fn(T) -> T,
    plus: T,
    minus: T,
    a: T,
    b: T,
) -> (T, T) {
    match placement {
        Placement::InsideActivation => hidden_inside(f, plus, minus, a, b),
        Placement::OutsideActivation => hidden_outside(f, plus, minus, a, b),
    }
}

/// Eq. 16 and the linearized original-DP output: z+ = a - plus g, z- = a + minus g with g = beta l'(.).
///
/// Proved (proofs/): `OutputLayer.v` `eq16_satisfies_eq15`, `eq15_unique`, `eq16_least_squares`; `OrigVsPlus.v`
/// `half_output_plus_difference`, `half_output_minus_difference` (against `output_exact`).
#[inline(always)]
pub fn output_linear<T: Scalar>(plus: T, minus: T, a: T, g: T) -> (T, T) {
    (a - plus * g, a + minus * g)
}

/// Eq. 3's exact output min/max for least squares, ab = alpha beta, bb = abar beta:
/// z+ = (a + ab y) / (1 + ab), z- = (a - bb y) / (1 - bb).
///
/// Proved (proofs/): `OrigOutput.v` `orig_out_plus_global_min`, `orig_out_minus_global_max`, `orig_out_saddle`;
/// `Objectives.v` `orig_out_stationary`; `OrigVsPlus.v` `half_output_plus_difference`,
/// `half_output_minus_difference`.
#[inline(always)]
pub fn output_exact<T: Scalar>(ab: T, bb: T, a: T, y: T) -> (T, T) {
    let one = T::one();
    ((a + ab * y) / (one + ab), (a - bb * y) / (one - bb))
}

/// One unit of D delta (Eqs. 20, 21; back-propagation's chain rule): the multiplier v times f'(a).
///
/// Proved (proofs/): `LeCunChain.v` `settled_update_satisfies_kkt`.
#[inline(always)]
pub fn through_derivative<T: Scalar>(df: impl Fn(T) -> T, v: T, a: T) -> T {
    v * df(a)
}

/// Eq. 6 for one unit: the mean zbar = alpha z+ + abar z-.
///
/// Proved (proofs/): `OrigVsPlus.v` `dp_mean_feedforward_extreme`, `orig_mean_extreme`,
/// `orig_mean_not_feedforward`.
#[inline(always)]
pub fn mean<T: Scalar>(alpha: T, abar: T, plus: T, minus: T) -> T {
    alpha * plus + abar * minus
}

/// Eq. 6 for one unit: the mean zbar and the difference delta = z+ - z-.
#[inline(always)]
pub fn mean_and_delta<T: Scalar>(alpha: T, abar: T, plus: T, minus: T) -> (T, T) {
    (mean(alpha, abar, plus, minus), plus - minus)
}

/// Where the two nudged pre-activations (up, down) = (a + plus b, a - minus b) of a unit lie relative to the kink of
/// a piecewise-linear f (Prop. 3.1 and Eqs. 10-11 hold on one piece; proofs/Relu.v). A value counts as above the kink
/// when it is strictly greater (ReLU's convention, f'(0) = 0), so a unit with one value exactly at the kink and the
/// other above it straddles: the pass is not differentiable there, and the checks treat it as off the pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitPattern {
    /// Both above the kink (DP+: zbar = a, delta = b).
    Active,
    /// Both at or below the kink (ReLU: z+ = z- = 0, Eq. 19).
    Inactive,
    /// up above, down at or below (DP+: zbar = alpha (a + abar b), delta = a + abar b).
    StraddleUp,
    /// down above, up at or below (DP+: zbar = abar (a - alpha b), delta = -(a - alpha b)).
    StraddleDown,
}

impl UnitPattern {
    /// The pattern of the nudged pre-activations `up` and `down` (from [`nudged`]) about `kink`.
    pub fn of(kink: f64, up: f64, down: f64) -> Self {
        match (up > kink, down > kink) {
            (true, true) => UnitPattern::Active,
            (false, false) => UnitPattern::Inactive,
            (true, false) => UnitPattern::StraddleUp,
            (false, true) => UnitPattern::StraddleDown,
        }
    }

    /// True when the two nudged pre-activations lie on opposite sides of the kink (off DP+'s exact pieces).
    pub fn straddles(self) -> bool {
        matches!(self, UnitPattern::StraddleUp | UnitPattern::StraddleDown)
    }
}
