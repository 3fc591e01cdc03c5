//! Weight and bias gradients: the dual-propagation estimates from activity differences and exact back-propagation.

use crate::reference::matrix::Matrix;
use crate::reference::method::Config;
use crate::reference::network::Network;
use crate::reference::scalar::{c, Scalar};
use crate::reference::state::DualState;
use crate::reference::update::{multiplier, times_derivative};

/// Gradients of every layer: `w[k]` has the shape of W_k, `b[k]` the length of b_k.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients<T> {
    /// `w[k]`: gradient for W_k (0-based; W_k maps layer k to layer k+1), shaped [n_{k+1}, n_k].
    pub w: Vec<Matrix<T>>,
    /// `b[k]`: gradient for b_k, of length n_{k+1}.
    pub b: Vec<Vec<T>>,
}

/// Estimate of the gradient of the unweighted loss averaged over the batch, from the states:
/// grad W_{k-1} = -(1/(beta B)) sum_batch delta_k zbar_{k-1}^T and grad b_{k-1} = -(1/(beta B)) sum delta_k,
/// with delta_k replaced by D_k delta_k (D_k = f'(a_k), 1 on the output) for the Eq. 20 variants, whose
/// multiplier belongs to the post-activation constraint.
///
/// Proved (proofs/): `DPPlusChain.v` `dp_plus_identity_equals_bp`, `dp_plus_identity_equals_bp_matrices`,
/// `dp_plus_scalar_chain_explicit`; `BPDerivative.v` `dp_plus_scalar_is_derivative`; `LeCunChain.v`
/// `lecun_settled_equals_bp`, `lecun_printed_alternates`, `printed_sign_counterexample`; `BPGeneral.v`
/// `lecun_settled_is_derivative`, `dp_plus_identity_is_derivative`.
pub fn dual_gradient<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    state: &DualState<T>,
) -> Gradients<T> {
    let depth = net.depth();
    let batch = c::<T>(state.plus[0].rows() as f64);
    let scale = -T::one() / (c::<T>(cfg.beta) * batch);
    let through = cfg
        .method
        .hidden_rule(cfg.hidden_layer_alpha())
        .feedback_through_derivative;
    let mut w = Vec::with_capacity(net.depth());
    let mut b = Vec::with_capacity(net.depth());
    for k in 1..=net.depth() {
        // zbar_{k-1} with layer k-1's alpha (Eq. 6), as the pre-activation a_k reads it.
        let alpha_below = c::<T>(cfg.alpha_of_layer(k - 1, depth));
        let delta = multiplier(net, state, k, alpha_below, through);
        let below = state.mean(k - 1, alpha_below);
        w.push(delta.transpose_mul(&below).scale(scale));
        b.push(delta.column_sums().into_iter().map(|v| v * scale).collect());
    }
    Gradients { w, b }
}

/// Exact gradient of the unweighted loss of the plain feed-forward pass, averaged over the batch.
/// Returns (mean loss, gradients).
///
/// Proved (proofs/): `BPDerivative.v` `bp_scalar_is_derivative`; `BPGeneral.v` `bp_layer_is_derivative`,
/// `bp_is_derivative`, `bp_entry_is_partial_derivative`; the ground truth of `DPPlusChain.v`
/// `dp_plus_identity_equals_bp`, `dp_plus_identity_equals_bp_matrices` and `LeCunChain.v`
/// `lecun_settled_equals_bp`.
pub fn backprop<T: Scalar>(net: &Network<T>, x: &Matrix<T>, y: &Matrix<T>) -> (T, Gradients<T>) {
    let depth = net.depth();
    let z = net.forward(x);
    let batch = c::<T>(x.rows() as f64);
    let loss = net.loss.value(&z[depth], y) / batch;
    // e_k = d loss / d a_k (per sample, not yet averaged).
    let mut e = net.loss.gradient(&z[depth], y);
    let mut w = vec![Matrix::zeros(0, 0); depth];
    let mut b = vec![Vec::new(); depth];
    for k in (1..=depth).rev() {
        let inv_b = T::one() / batch;
        w[k - 1] = e.transpose_mul(&z[k - 1]).scale(inv_b);
        b[k - 1] = e.column_sums().into_iter().map(|v| v * inv_b).collect();
        if k > 1 {
            let a = net.pre_activation(k - 1, &z[k - 2]);
            e = times_derivative(net, k - 1, &a, &e.mul(&net.layers[k - 1].w));
        }
    }
    (loss, Gradients { w, b })
}
