//! LPOM (Eq. 4): the objective of lifted proximal operator machines, which the paper notes coincides with original
//! DP's (Eq. 3) at alpha = 1, where z^- gets no feedback and its max is z_k^- = f(a_k(z^+_{k-1})).
//!
//! With E_k(z, z') = G_k(z) - z^T (W_{k-1} z' + b_{k-1}) (G_k' = f^-1, G_L = 1/2 ||z||^2: the output layer is
//! linear) and a_k = W_{k-1} z_{k-1} + b_{k-1}:
//!
//! ```text
//!     LPOM(z) = l(z_L) + (1/beta) sum_k [E_k(z_k, z_{k-1}) - E_k(f_k(a_k), z_{k-1})]        (Eq. 4)
//!     dLPOM/dz_k = (1/beta) [f^-1(z_k) - a_k - W_k^T (z_{k+1} - f_{k+1}(a_{k+1}))]   (k < L)
//!     dLPOM/dz_L = l'(z_L) + (1/beta) (z_L - a_L)
//! ```
//!
//! (the -E_{k+1}(f(a_{k+1}), z_k) term is minus a minimum over its first argument, so by the envelope theorem its
//! derivative in z_k is W_k^T f(a_{k+1})). The stationary points are therefore original DP's alpha = 1 fixed points
//! with its exact output rule: z_k = f(a_k + W_k^T delta_{k+1}) with delta_{k+1} = z_{k+1} - f(a_{k+1}), and
//! z_L = a_L - beta l'(z_L).
//!
//! The follow-up code (Rasmuskh/dualprop_icml_2024, `src/models.py`) has a commented-out `cnn_LPOM_ff` class that
//! damps its fixed-point iteration as its dampened original DP does, z_k <- f((a_k + b_k + L_k z_k) / (1 + L_k)) with
//! b_k = W_k^T (z_{k+1} - fa_{k+1}), fa_{k+1} = f(a_{k+1}) as stored at layer k + 1's last update, but with
//! L_k = 1 + max(0, (gamma_k - 1) / 2) (gamma_k, not gamma_k^2, and never below 1) from 3 power-iteration steps on
//! every layer, and a linearized output z_L = a_L - beta l'(a_L) at the current a_L. It is not run by that code and
//! not offered here; [`lpom_stationarity`] judges such an iteration's result (docs/oracle.md).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reference::matrix::Matrix;
use crate::reference::network::Network;
use crate::reference::scalar::{c, to_f64, Scalar};
use crate::reference::state::DualState;

/// Eq. 4 at the states z = (z_0 = x, z_1, .., z_L), summed over the batch, with the unweighted loss (as Eq. 3 in
/// [`crate::checks::ObjectivePoint::eq3_value`]). None where some G_k(z_k) is +infinity or has no closed form
/// (softplus). Generic so that [`crate::reference::dual::Dual`] carries its derivative.
pub fn lpom_value<T: Scalar>(
    net: &Network<T>,
    z: &[Matrix<T>],
    y: &Matrix<T>,
    beta: T,
) -> Option<T> {
    let depth = net.depth();
    let mut total = net.loss.value(&z[depth], y);
    let half = c::<T>(0.5);
    let potential = |k: usize, v: T| {
        if k == depth {
            Some(half * v * v)
        } else {
            net.activation.potential(v)
        }
    };
    for k in 1..=depth {
        let a = net.pre_activation(k, &z[k - 1]);
        let fa = net.activate(k, &a);
        for i in 0..a.as_slice().len() {
            let (zi, ai, fi) = (z[k].as_slice()[i], a.as_slice()[i], fa.as_slice()[i]);
            // E_k(z_k, z_{k-1}) - E_k(f(a_k), z_{k-1}) for one unit.
            let e = potential(k, zi)? - zi * ai - (potential(k, fi)? - fi * ai);
            total = total + e / beta;
        }
    }
    Some(total)
}

/// dLPOM/dz_k for k = 1..=L (the module's formula; index 0 of the result is x's, zero). None where f^-1(z_k) is
/// undefined.
pub fn lpom_gradient<T: Scalar>(
    net: &Network<T>,
    z: &[Matrix<T>],
    y: &Matrix<T>,
    beta: T,
) -> Option<Vec<Matrix<T>>> {
    let depth = net.depth();
    let a: Vec<Matrix<T>> = (1..=depth)
        .map(|k| net.pre_activation(k, &z[k - 1]))
        .collect();
    let mut out = vec![Matrix::zeros(z[0].rows(), z[0].cols())];
    for k in 1..=depth {
        let ak = &a[k - 1];
        let g = if k == depth {
            let lg = net.loss.gradient(&z[k], y);
            let prox = z[k].zip(ak, |zi, ai| (zi - ai) / beta);
            lg.zip(&prox, |p, q| p + q)
        } else {
            let next = net.activate(k + 1, &a[k]);
            let b = z[k + 1].zip(&next, |p, q| p - q).mul(&net.layers[k].w);
            let mut g = z[k].clone();
            for (i, gi) in g.as_mut_slice().iter_mut().enumerate() {
                let inv = net.activation.inverse(z[k].as_slice()[i])?;
                *gi = (inv - ak.as_slice()[i] - b.as_slice()[i]) / beta;
            }
            g
        };
        out.push(g);
    }
    Some(out)
}

/// Stationarity of Eq. 4 on one layer: beta dLPOM/dz_k, in pre-activation units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LpomResidual {
    /// Layer k in 1..=L.
    pub layer: usize,
    /// max over units of |beta dLPOM/dz_k| (absolute).
    pub max_abs: f64,
}

/// Stationarity residuals of Eq. 4 at the states z (z_0 = x). An error where f^-1(z_k) is undefined (a state
/// outside the range of f) or the shapes do not fit the network.
pub fn lpom_stationarity<T: Scalar>(
    net: &Network<T>,
    z: &[Matrix<T>],
    y: &Matrix<T>,
    beta: f64,
) -> Result<Vec<LpomResidual>> {
    let state = DualState {
        plus: z.to_vec(),
        minus: z.to_vec(),
    };
    state.validate(net, z.first().map_or(0, |x| x.rows()))?;
    net.validate_batch(&z[0], y)?;
    let grad = lpom_gradient(net, z, y, c::<T>(beta)).ok_or_else(|| {
        Error::Unsupported("LPOM stationarity: a state lies outside the range of f".into())
    })?;
    Ok((1..=net.depth())
        .map(|k| LpomResidual {
            layer: k,
            max_abs: beta * to_f64(grad[k].max_abs()),
        })
        .collect())
}

/// The original-DP states at alpha = 1 that Eq. 4 is Eq. 3 at: z^+ = z and z_k^- = f_k(a_k(z_{k-1})), the max of
/// Eq. 3 over z^- (z_0^- = x).
pub fn original_dp_states_at_alpha_one<T: Scalar>(
    net: &Network<T>,
    z: &[Matrix<T>],
) -> DualState<T> {
    let mut minus = vec![z[0].clone()];
    for k in 1..=net.depth() {
        minus.push(net.activate(k, &net.pre_activation(k, &z[k - 1])));
    }
    DualState {
        plus: z.to_vec(),
        minus,
    }
}
