//! Closed forms of original DP's loop gain (Eq. 3, exact output rule, up-down schedule): identity activations,
//! the masked form for piecewise-linear f, layers of orthonormal rows, and the threshold scale by bisection
//! (docs/stability.md, "Original DP").

use crate::reference::matrix::Matrix;
use crate::reference::method::{Config, Method};
use crate::reference::network::Network;
use crate::reference::rules::UnitPattern;
use crate::reference::scalar::Scalar;
use crate::reference::state::DualState;
use crate::reference::widen::{network_f64, state_f64};

use super::patterns::layer_nudged;
use super::power::spectral_norm;

/// Original DP's output feedback under the exact min/max of Eq. 3 (least squares):
/// delta_L = z_L^+ - z_L^- = -c_alpha (a_L - y) with c_alpha = beta / ((1 + alpha beta)(1 - abar beta)).
pub fn original_output_coefficient(alpha: f64, beta: f64) -> f64 {
    beta / ((1.0 + alpha * beta) * (1.0 - (1.0 - alpha) * beta))
}

/// lambda_max of sum_{k=1}^{L-1} M_k M_k^T, M_k = W_{L-1} ... W_k (the weights only; W_0 does not enter).
pub fn feedback_gram_lambda_max<T: Scalar>(net: &Network<T>, steps: usize) -> f64 {
    let net = network_f64(net);
    let depth = net.depth();
    let out = net.output_width();
    let mut s = Matrix::zeros(out, out);
    // M_k as an [out, n_k] matrix, built downwards: M_{L-1} = W_{L-1}, M_k = M_{k+1} W_k.
    let mut m = net.layers[depth - 1].w.clone();
    for k in (1..depth).rev() {
        if k < depth - 1 {
            m = m.mul(&net.layers[k].w);
        }
        let g = m.mul_transpose(&m);
        s = s.zip(&g, |a, b| a + b);
    }
    // S is symmetric PSD: its largest eigenvalue is its spectral norm.
    spectral_norm(&s, steps)
}

/// Original DP (Eq. 3, exact output rule), identity activations, up-down schedule: the loop gain
/// G = |2 alpha - 1| c_alpha lambda_max(S) (docs/stability.md, "Original DP"). The pass maps the output error
/// e = a_L - y to e_ff - (2 alpha - 1) c_alpha S e, so the iteration converges iff G < 1 and diverges iff G > 1
/// (oscillating for alpha > 1/2, monotone for alpha < 1/2).
pub fn original_dp_identity_gain<T: Scalar>(net: &Network<T>, alpha: f64, beta: f64) -> f64 {
    (2.0 * alpha - 1.0).abs()
        * original_output_coefficient(alpha, beta)
        * feedback_gram_lambda_max(net, 500)
}

/// Original DP (Eq. 3, exact output rule), up-down schedule, piecewise-linear f, at a state where no hidden unit's
/// two nudged pre-activations a + alpha b and a - abar b lie on different pieces: the loop gain of the pass while the
/// pattern holds is G = |2 alpha - 1| c_alpha max over the batch of lambda_max(sum_{k=1}^{L-1} N_k N_k^T) with
/// N_k = W_{L-1} D_{L-1} ... W_k D_k and D_k = f'(a_k) (for ReLU the 0/1 mask of active units).
/// None when some unit straddles a kink or has a nudged pre-activation exactly on it (there the pass has only
/// one-sided derivatives: a layer of units at the kink, e.g. above a dead layer with zero biases, passes a
/// perturbation in one direction and not the other), or f is not piecewise linear, or the hidden layers have an
/// alpha of their own ([`Config::hidden_alpha`]).
pub fn original_dp_masked_gain<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    state: &DualState<T>,
) -> Option<f64> {
    // The gain is derived for one alpha in every layer.
    if !net.activation.is_piecewise_linear() || cfg.hidden_layer_alpha() != cfg.alpha {
        return None;
    }
    let net = network_f64(net);
    let state = state_f64(state);
    let alpha = cfg.alpha;
    let depth = net.depth();
    let kink = net.activation.kink();
    let mut masks = vec![Matrix::zeros(0, 0); depth];
    for k in 1..depth {
        // Without a kink (identity) no unit straddles.
        let (a, nudged) = layer_nudged(&net, &state, Method::OriginalDp, alpha, k);
        if let Some(kink) = kink {
            let off_pieces = nudged.iter().any(|&(up, down)| {
                UnitPattern::of(kink, up, down).straddles() || up == kink || down == kink
            });
            if off_pieces {
                return None;
            }
        }
        masks[k] = net.activation_derivative(k, &a);
    }
    let out = net.output_width();
    let mut worst = 0.0_f64;
    for r in 0..state.plus[0].rows() {
        // N_k as an [out, n_k] matrix, built downwards: N_{L-1} = W_{L-1} D_{L-1}, N_k = N_{k+1} W_k D_k.
        let mut s = Matrix::zeros(out, out);
        let mut n: Option<Matrix<f64>> = None;
        for k in (1..depth).rev() {
            let w = &net.layers[k].w;
            let base = match &n {
                None => w.clone(),
                Some(prev) => prev.mul(w),
            };
            let d = &masks[k];
            let nk = Matrix::from_fn(base.rows(), base.cols(), |i, j| {
                base.get(i, j) * d.get(r, j)
            });
            s = s.zip(&nk.mul_transpose(&nk), |x, y| x + y);
            n = Some(nk);
        }
        worst = worst.max(spectral_norm(&s, 500));
    }
    Some((2.0 * alpha - 1.0).abs() * original_output_coefficient(alpha, cfg.beta) * worst)
}

/// [`original_dp_identity_gain`] when every W_k (k >= 1) is s times a matrix with orthonormal rows of equal width:
/// S = (sum_{j=1}^{L-1} s^{2j}) I.
pub fn original_dp_layer_gain(alpha: f64, beta: f64, s: f64, depth: usize) -> f64 {
    let sum: f64 = (1..depth).map(|j| s.powi(2 * j as i32)).sum();
    (2.0 * alpha - 1.0).abs() * original_output_coefficient(alpha, beta) * sum
}

/// The layer gain s at which [`original_dp_layer_gain`] equals `target` (bisection; the gain is increasing in s).
/// Infinite when alpha = 1/2 or L = 1 (the gain is identically 0).
pub fn original_dp_scale_for_gain(alpha: f64, beta: f64, depth: usize, target: f64) -> f64 {
    if depth < 2 || alpha == 0.5 {
        return f64::INFINITY;
    }
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while original_dp_layer_gain(alpha, beta, hi, depth) < target {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if original_dp_layer_gain(alpha, beta, mid, depth) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The threshold layer gain s*(alpha, beta, L): original DP diverges for s > s* and converges for s < s*.
pub fn original_dp_threshold_scale(alpha: f64, beta: f64, depth: usize) -> f64 {
    original_dp_scale_for_gain(alpha, beta, depth, 1.0)
}
