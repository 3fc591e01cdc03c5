//! The problem dampened original DP solves (issue 11 item 2; the follow-up code's `cnn_dualprop_RAOVR_dampened_ff`).
//!
//! A fixed point of the dampened hidden update z = f((s + L z) / (1 + L)), s = a + alpha b for z+ and
//! s = a - abar b for z-, satisfies, wherever f is invertible at the argument,
//!
//! ```text
//!     (1 + L) f^-1(z) - L z = s        (dampened Eq. 3 stationarity)
//! ```
//!
//! that is, Eq. 3's stationarity z = f(s) with the activation f replaced by f_L, f_L^-1 = (1 + L) f^-1 - L id. The
//! two coincide exactly where f^-1(z) = z: on an identity piece. So for identity and ReLU networks the dampened and
//! the undamped iteration have the same fixed points (ReLU's flat piece: z = 0 needs s / (1 + L) <= 0, i.e. s <= 0,
//! as undamped); for tanh, sigmoid and softplus (f^-1(z) != z for z != 0) they differ: the dampened iteration
//! converges to a stationary point of a different saddle problem. Its output rule (linearized, gradient frozen at the
//! feed-forward prediction) is Eq. 3's output stationarity only to first order in beta either way.
//!
//! Proved (proofs/): `Dampened.v` `dampened_fixed_point_iff`, `dampened_identity_same_fixed_point`.
//!
//! [`dampened_hidden_residuals`] evaluates that condition on any states; the fixed-point residual of the update
//! itself is [`crate::checks::fixed_point_residuals`] with the dampened configuration.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reference::activation::Activation;
use crate::reference::method::Method;
use crate::reference::problem::Problem;
use crate::reference::scalar::{c, to_f64, Scalar};
use crate::reference::state::DualState;
use crate::reference::update::{feedback, multiplier, pre_activation};

/// Residual of the dampened Eq. 3 stationarity on one hidden layer, both states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DampenedResidual {
    /// Hidden layer k in 1..L-1.
    pub layer: usize,
    /// The damping weight L_k used.
    pub weight: f64,
    /// max over units of |(1 + L) f^-1(z) - L z - s| over z+ and z-, absolute (pre-activation units).
    pub max_abs: f64,
    /// max over units of that residual divided by the sum of the magnitudes of its terms.
    pub max_relative: f64,
    /// Units (times batch rows, times 2 states) where f^-1 is undefined (e.g. ReLU's z = 0), not evaluated.
    pub excluded: usize,
}

/// Dampened Eq. 3 stationarity, (1 + L_k) f^-1(z_k) - L_k z_k = a_k +- c b_k, on every hidden layer of `state`.
pub fn dampened_hidden_residuals<T: Scalar>(
    problem: &Problem<T>,
    state: &DualState<T>,
) -> Result<Vec<DampenedResidual>> {
    let (net, cfg) = (problem.net(), problem.cfg());
    if cfg.method != Method::OriginalDpDampened {
        return Err(Error::Unsupported(format!(
            "the dampened stationarity applies to original_dp_dampened, not {}",
            cfg.method.name()
        )));
    }
    problem.validate_state(state)?;
    // Hidden layers only: every alpha read here (the rule, zbar_{k-1}, zbar_k) is the hidden layers'.
    let rule = cfg.method.hidden_rule(cfg.hidden_layer_alpha());
    let (plus, minus) = (rule.plus, rule.minus);
    let alpha = c::<T>(cfg.hidden_layer_alpha());
    let mut out = Vec::new();
    for k in 1..net.depth() {
        let l = cfg.damping().weight(net, k)?;
        let a = pre_activation(net, state, k, alpha);
        let b = feedback(net, k, &multiplier(net, state, k + 1, alpha, false));
        let mut res = DampenedResidual {
            layer: k,
            weight: l,
            max_abs: 0.0,
            max_relative: 0.0,
            excluded: 0,
        };
        for i in 0..a.as_slice().len() {
            let (ai, bi) = (to_f64(a.as_slice()[i]), to_f64(b.as_slice()[i]));
            for (z, s) in [
                (state.plus[k].as_slice()[i], ai + plus * bi),
                (state.minus[k].as_slice()[i], ai - minus * bi),
            ] {
                let Some(inv) = net.activation.inverse(z) else {
                    res.excluded += 1;
                    continue;
                };
                let (inv, z) = (to_f64(inv), to_f64(z));
                // ReLU's flat piece: z = 0 is the fixed point iff s <= 0 (f^-1 is a set there, not 0).
                let flat = net.activation == Activation::Relu && z == 0.0;
                let r = if flat {
                    s.max(0.0)
                } else {
                    (1.0 + l) * inv - l * z - s
                };
                let scale = (1.0 + l) * inv.abs()
                    + l * z.abs()
                    + ai.abs()
                    + (plus.abs() + minus.abs()) * bi.abs();
                res.max_abs = res.max_abs.max(r.abs());
                if scale > 0.0 {
                    res.max_relative = res.max_relative.max(r.abs() / scale);
                }
            }
        }
        out.push(res);
    }
    Ok(out)
}
