//! Kink patterns of hidden units ([`UnitPattern`]) under a method's hidden rule at a state.

use crate::reference::matrix::Matrix;
use crate::reference::method::Method;
use crate::reference::network::Network;
use crate::reference::rules::{self, UnitPattern};
use crate::reference::scalar::Scalar;
use crate::reference::state::DualState;
use crate::reference::update::{feedback, multiplier, pre_activation};
use crate::reference::widen::{network_f64, state_f64};

/// Pre-activations a_k and every unit's nudged pair (a + plus b, a - minus b) of layer `k` under `method`'s rule at
/// `state`, with b = W_k^T delta_{k+1} from the state itself.
pub(crate) fn layer_nudged(
    net: &Network<f64>,
    state: &DualState<f64>,
    method: Method,
    alpha: f64,
    k: usize,
) -> (Matrix<f64>, Vec<(f64, f64)>) {
    let rule = method.hidden_rule(alpha);
    let a = pre_activation(net, state, k, alpha);
    let b = feedback(
        net,
        k,
        &multiplier(net, state, k + 1, alpha, rule.feedback_through_derivative),
    );
    let nudged = a
        .as_slice()
        .iter()
        .zip(b.as_slice())
        .map(|(&a, &b)| rules::nudged(rule.plus, rule.minus, a, b))
        .collect();
    (a, nudged)
}

/// Kink patterns of every hidden unit (layers 1..L-1, per layer a batch x width matrix) under the DP+ rule at `state`,
/// with b = W_k^T delta_{k+1} from the state itself.
pub fn dp_plus_patterns<T: Scalar>(
    net: &Network<T>,
    alpha: f64,
    state: &DualState<T>,
) -> Vec<Vec<UnitPattern>> {
    let net = network_f64(net);
    let state = state_f64(state);
    // The kink of ReLU (the patterns are read for ReLU networks).
    let kink = net.activation.kink().unwrap_or(0.0);
    (1..net.depth())
        .map(|k| {
            let (_, nudged) = layer_nudged(&net, &state, Method::DpPlus, alpha, k);
            nudged
                .iter()
                .map(|&(up, down)| UnitPattern::of(kink, up, down))
                .collect()
        })
        .collect()
}

/// Number of hidden units (times batch rows) whose nudged pre-activations straddle the kink.
///
/// Proved (proofs/): `Relu.v` `relu_straddle_plus`, `relu_straddle_minus`.
pub fn straddling_units<T: Scalar>(net: &Network<T>, alpha: f64, state: &DualState<T>) -> usize {
    dp_plus_patterns(net, alpha, state)
        .iter()
        .flatten()
        .filter(|p| p.straddles())
        .count()
}
