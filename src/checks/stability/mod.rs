//! Stability of the inference iteration (Section 4): the loop gain of one schedule pass, its closed forms for
//! original DP (Eq. 3) with identity activations, and a sufficient contraction condition for DP+ (Eq. 8) with ReLU.
//!
//! Derivations are in `docs/stability.md`. Notation (per sample, column vectors): M_k = W_{L-1} ... W_k,
//! S = sum_{k=1}^{L-1} M_k M_k^T, zeta = alpha abar, c_alpha = beta / ((1 + alpha beta)(1 - abar beta)).
//!
//! The estimator [`loop_gain_estimate`] works on any network and method: it linearises one pass of the schedule (the map
//! the reference's [`iterate`](crate::reference::inference::iterate) applies) around a state by finite differences in f64 and runs power iteration on
//! those Jacobian-vector products. For piecewise-linear networks it is exact (up to rounding) as long as the
//! perturbation crosses no kink.

//!
//! Pieces: [`loop_gain`](mod@loop_gain) (the estimator), [`original_dp`] (closed forms and the threshold scale),
//! [`patterns`] (kink patterns), [`relu_bound`] (DP+ with ReLU), [`power`] (power iteration), [`sweep`] (the
//! observed divergence boundary in weight scale against the predicted one). The f64 conversions live in
//! [`crate::reference::widen`].

pub mod loop_gain;
pub mod original_dp;
pub mod patterns;
pub mod power;
pub mod relu_bound;
pub mod sweep;

pub use crate::reference::rules::UnitPattern;
pub use crate::reference::widen::{matrix_f64, network_f64, state_f64};
pub use loop_gain::{loop_gain_estimate, LoopGain};
pub use original_dp::{
    feedback_gram_lambda_max, original_dp_identity_gain, original_dp_layer_gain,
    original_dp_masked_gain, original_dp_scale_for_gain, original_dp_threshold_scale,
    original_output_coefficient,
};
pub use patterns::{dp_plus_patterns, straddling_units};
pub use power::{nonnegative_radius, spectral_norm, spectral_norm_upper};
pub use relu_bound::{dp_plus_relu_bound, DpPlusBound};
pub use sweep::{
    boundary_table, run_case, run_sweep, CaseResult, Crossing, GainSource, Outcome, SweepSpec,
};
