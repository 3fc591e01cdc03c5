//! One layer's update: the hidden rules (Eqs. 3, 8, 21) and the output rules (Eqs. 3, 16), applied unit by unit
//! through [`crate::reference::rules`].

use crate::reference::matrix::Matrix;
use crate::reference::method::{Config, OutputUnit};
use crate::reference::network::Network;
use crate::reference::rules;
use crate::reference::scalar::{c, Scalar};
use crate::reference::state::DualState;

/// Pre-activation a_k = W_{k-1} zbar_{k-1} + b_{k-1} from the current states; `alpha` is layer k-1's
/// ([`Config::alpha_of_layer`]).
pub fn pre_activation<T: Scalar>(
    net: &Network<T>,
    state: &DualState<T>,
    k: usize,
    alpha: T,
) -> Matrix<T> {
    net.pre_activation(k, &state.mean(k - 1, alpha))
}

/// D_k v with D_k = f'(a_k) (1 on the linear output layer L): the Eq. 20/21 multiplier through the derivative.
pub fn times_derivative<T: Scalar>(
    net: &Network<T>,
    k: usize,
    a: &Matrix<T>,
    v: &Matrix<T>,
) -> Matrix<T> {
    if k == net.depth() {
        return v.clone();
    }
    let df = |x: T| net.activation.derivative(x);
    v.zip(a, |v, a| rules::through_derivative(df, v, a))
}

/// The multiplier of layer k as the feedback and the gradient read it: delta_k, or D_k delta_k at the current
/// pre-activation a_k for the Eq. 20 variants (`through_derivative`); `alpha` is layer k-1's, as in
/// [`pre_activation`].
pub fn multiplier<T: Scalar>(
    net: &Network<T>,
    state: &DualState<T>,
    k: usize,
    alpha: T,
    through_derivative: bool,
) -> Matrix<T> {
    let delta = state.delta(k);
    if through_derivative {
        times_derivative(net, k, &pre_activation(net, state, k, alpha), &delta)
    } else {
        delta
    }
}

/// Feedback into hidden layer k from above (Eqs. 8, 21): b = W_k^T m with m = [`multiplier`] of layer k + 1, that
/// is delta_{k+1}, or D_{k+1} delta_{k+1} at the next layer's current pre-activation for Eq. 21.
///
/// Proved (proofs/): `HiddenLayer.v` `vector_affine_prop31`; `LeCunChain.v` `settled_update_satisfies_kkt`;
/// `Objectives.v` `eq10_1_layer_is_partial`, `eq10_2_layer_is_partial`, `settled_update_is_stationary_for_eq20`.
pub fn feedback<T: Scalar>(net: &Network<T>, k: usize, multiplier_above: &Matrix<T>) -> Matrix<T> {
    multiplier_above.mul(&net.layers[k].w)
}

/// Applies a per-unit rule (z+, z-) = rule(i, u_i, v_i) to every unit i of a layer.
fn per_unit<T: Scalar>(
    u: &Matrix<T>,
    v: &Matrix<T>,
    rule: impl Fn(usize, T, T) -> (T, T),
) -> (Matrix<T>, Matrix<T>) {
    let mut plus = u.clone();
    let mut minus = u.clone();
    for (i, (&ui, &vi)) in u.as_slice().iter().zip(v.as_slice()).enumerate() {
        let (p, m) = rule(i, ui, vi);
        plus.as_mut_slice()[i] = p;
        minus.as_mut_slice()[i] = m;
    }
    (plus, minus)
}

/// New (z_k^+, z_k^-) of a hidden layer k < L given a_k and the feedback b (Eq. 8, Eq. 3's, or Eq. 21), with
/// the hidden layers' alpha ([`Config::alpha_of_layer`]).
///
/// Proved (proofs/): `HiddenLayer.v` `vector_affine_prop31`; `Relu.v` `relu_layer_no_straddle`; `Objectives.v`
/// `affine_eq8_stationary_for_eq7`.
pub fn hidden_states<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    a: &Matrix<T>,
    b: &Matrix<T>,
) -> (Matrix<T>, Matrix<T>) {
    let rule = cfg.method.hidden_rule(cfg.hidden_layer_alpha());
    let (pw, mw) = rule.coefficients::<T>();
    let f = |x: T| net.activation.apply(x);
    per_unit(a, b, |_, a, b| {
        rules::hidden_unit(rule.placement, f, pw, mw, a, b)
    })
}

/// New (z_k^+, z_k^-) of a hidden layer under dampened original DP (Eq. 3's update dampened, follow-up code):
/// each state is averaged with its previous iterate `prev` = (z_k^+, z_k^-) with weight `l` = L_k before f.
pub fn hidden_states_dampened<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    a: &Matrix<T>,
    b: &Matrix<T>,
    prev: (&Matrix<T>, &Matrix<T>),
    l: T,
) -> (Matrix<T>, Matrix<T>) {
    let (pw, mw) = cfg
        .method
        .hidden_rule(cfg.hidden_layer_alpha())
        .coefficients::<T>();
    let f = |x: T| net.activation.apply(x);
    let (zp, zm) = (prev.0.as_slice(), prev.1.as_slice());
    per_unit(a, b, |i, ai, bi| {
        rules::hidden_dampened(f, pw, mw, l, ai, bi, zp[i], zm[i])
    })
}

/// New (z_L^+, z_L^-) of the linear output layer given a_L (Eq. 16 or Eq. 3's min/max, or a named convention).
/// `frozen_g` is beta l'(a_L) at the initial feed-forward prediction (used by
/// [`OutputRule::Eq16FrozenGradient`](crate::reference::OutputRule::Eq16FrozenGradient)).
///
/// Proved (proofs/): `OutputLayer.v` `eq16_satisfies_eq15`, `veq16_satisfies_veq15`, `veq15_unique`; `Objectives.v`
/// `eq16_stationary_for_eq14`; `OrigVsPlus.v` `half_outputs_differ`; `OutputSaddle.v` `eq16_saddle`,
/// `eq16_saddle_general` (when it is a saddle: `checks::output_saddle`).
pub fn output_states<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    a: &Matrix<T>,
    y: &Matrix<T>,
    frozen_g: &Matrix<T>,
) -> (Matrix<T>, Matrix<T>) {
    let beta = c::<T>(cfg.beta);
    match cfg.output_rule().unit(c::<T>(cfg.alpha), beta) {
        OutputUnit::Linear {
            plus,
            minus,
            frozen,
        } => {
            let current;
            let g = if frozen {
                frozen_g
            } else {
                current = net.loss.weighted_gradient(a, y, beta);
                &current
            };
            per_unit(a, g, |_, a, g| rules::output_linear(plus, minus, a, g))
        }
        OutputUnit::Exact { ab, bb } => per_unit(a, y, |_, a, t| rules::output_exact(ab, bb, a, t)),
    }
}

/// Recomputes z_k^+- of layer k in place from the current states of its neighbours.
///
/// Proved (proofs/): `Passes.v` `dp_plus_extreme_any_schedule`, `dp_plus_extreme_K_passes`.
pub fn update_layer<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    state: &mut DualState<T>,
    k: usize,
    y: &Matrix<T>,
    frozen_g: &Matrix<T>,
) {
    let (plus, minus) = layer_update(net, cfg, state, k, y, frozen_g);
    state.plus[k] = plus;
    state.minus[k] = minus;
}

/// What one update of layer k would produce, without writing it.
pub fn layer_update<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    state: &DualState<T>,
    k: usize,
    y: &Matrix<T>,
    frozen_g: &Matrix<T>,
) -> (Matrix<T>, Matrix<T>) {
    let depth = net.depth();
    let a = pre_activation(net, state, k, c::<T>(cfg.alpha_of_layer(k - 1, depth)));
    if k == depth {
        output_states(net, cfg, &a, y, frozen_g)
    } else {
        let rule = cfg.method.hidden_rule(cfg.alpha_of_layer(k, depth));
        let through = rule.feedback_through_derivative;
        let below_next = c::<T>(cfg.alpha_of_layer(k, depth));
        let b = feedback(net, k, &multiplier(net, state, k + 1, below_next, through));
        if rule.damped {
            // A damping not validated against this network (explicit weights of the wrong length) gives NaN
            // states; every public entry (`infer`, the checks) validates first and reports it as an error.
            let l = cfg.damping().weight(net, k).unwrap_or(f64::NAN);
            let prev = (&state.plus[k], &state.minus[k]);
            hidden_states_dampened(net, cfg, &a, &b, prev, c::<T>(l))
        } else {
            hidden_states(net, cfg, &a, &b)
        }
    }
}
