//! One layer's update: the hidden rules (Eqs. 3, 8, 21) and the output rules (Eqs. 3, 16).

use crate::reference::matrix::Matrix;
use crate::reference::method::{Config, HiddenRule, OutputRule, Placement};
use crate::reference::network::Network;
use crate::reference::scalar::{c, Scalar};
use crate::reference::state::DualState;

/// Pre-activation a_k = W_{k-1} zbar_{k-1} + b_{k-1} from the current states.
pub fn pre_activation<T: Scalar>(
    net: &Network<T>,
    state: &DualState<T>,
    k: usize,
    alpha: T,
) -> Matrix<T> {
    net.pre_activation(k, &state.mean(k - 1, alpha))
}

/// Feedback into hidden layer k from above: b = W_k^T delta_{k+1}, or W_k^T (D_{k+1} delta_{k+1}) for Eq. 21,
/// with D_{k+1} = f'(W_k zbar_k + b_k) at the next layer's current pre-activation.
pub fn feedback<T: Scalar>(
    net: &Network<T>,
    state: &DualState<T>,
    k: usize,
    alpha: T,
    rule: &HiddenRule,
) -> Matrix<T> {
    let mut delta = state.delta(k + 1);
    if rule.feedback_through_derivative {
        let d = net.activation_derivative(k + 1, &pre_activation(net, state, k + 1, alpha));
        delta = delta.zip(&d, |x, y| x * y);
    }
    delta.mul(&net.layers[k].w)
}

/// The hidden unit update of a method (Eq. 8 for DP+, Eq. 3's for original DP, Eq. 21 for the Lagrangian variant).
pub fn hidden_unit<T: Scalar>(
    net: &Network<T>,
    rule: &HiddenRule,
    plus_w: T,
    minus_w: T,
    a: T,
    b: T,
) -> (T, T) {
    let f = |x: T| net.activation.apply(x);
    match rule.placement {
        Placement::InsideActivation => (f(a + plus_w * b), f(a - minus_w * b)),
        Placement::OutsideActivation => {
            let fa = f(a);
            (fa + plus_w * b, fa - minus_w * b)
        }
    }
}

/// New (z_k^+, z_k^-) of a hidden layer k < L given a_k and the feedback b.
pub fn hidden_states<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    a: &Matrix<T>,
    b: &Matrix<T>,
) -> (Matrix<T>, Matrix<T>) {
    let rule = cfg.method.hidden_rule(cfg.alpha);
    let (pw, mw) = (c::<T>(rule.plus), c::<T>(rule.minus));
    let mut plus = a.clone();
    let mut minus = a.clone();
    for (i, (&ai, &bi)) in a.as_slice().iter().zip(b.as_slice()).enumerate() {
        let (p, m) = hidden_unit(net, &rule, pw, mw, ai, bi);
        plus.as_mut_slice()[i] = p;
        minus.as_mut_slice()[i] = m;
    }
    (plus, minus)
}

/// New (z_L^+, z_L^-) of the linear output layer given a_L (Eq. 16 or Eq. 3's min/max, or a named convention).
/// `frozen_g` is beta l'(a_L) at the initial feed-forward prediction (used by [`OutputRule::Eq16FrozenGradient`]).
pub fn output_states<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    a: &Matrix<T>,
    y: &Matrix<T>,
    frozen_g: &Matrix<T>,
) -> (Matrix<T>, Matrix<T>) {
    let alpha = c::<T>(cfg.alpha);
    let abar = T::one() - alpha;
    let beta = c::<T>(cfg.beta);
    let linear_in_g =
        |g: &Matrix<T>, wp: T, wm: T| (a.zip(g, |a, g| a - wp * g), a.zip(g, |a, g| a + wm * g));
    match cfg.output_rule() {
        OutputRule::Eq16 => linear_in_g(&net.loss.weighted_gradient(a, y, beta), abar, alpha),
        OutputRule::Eq16FrozenGradient => linear_in_g(frozen_g, abar, alpha),
        OutputRule::OriginalLinearized => {
            linear_in_g(&net.loss.weighted_gradient(a, y, beta), alpha, abar)
        }
        OutputRule::OriginalExact => {
            // Stationarity of Eq. 3 for least squares: z+ + alpha beta (z+ - y) = a, z- - abar beta (z- - y) = a.
            let (ab, bb) = (alpha * beta, abar * beta);
            (
                a.zip(y, |a, t| (a + ab * t) / (T::one() + ab)),
                a.zip(y, |a, t| (a - bb * t) / (T::one() - bb)),
            )
        }
    }
}

/// Recomputes z_k^+- of layer k in place from the current states of its neighbours.
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
    let alpha = c::<T>(cfg.alpha);
    let a = pre_activation(net, state, k, alpha);
    if k == net.depth() {
        output_states(net, cfg, &a, y, frozen_g)
    } else {
        let rule = cfg.method.hidden_rule(cfg.alpha);
        let b = feedback(net, state, k, alpha, &rule);
        hidden_states(net, cfg, &a, &b)
    }
}
