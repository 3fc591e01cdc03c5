//! Values of the objectives whose saddle points the updates seek: Eq. 7 (DP+) and Eq. 3 (original DP).

use crate::reference::matrix::Matrix;
use crate::reference::network::Network;
use crate::reference::scalar::{c, to_f64, Scalar};
use crate::reference::state::DualState;

/// The point at which the objectives are evaluated: states of `net` with their alpha (which sets the means
/// zbar_k), the nudging strength beta and the targets y.
#[derive(Debug, Clone, Copy)]
pub struct ObjectivePoint<'a, T> {
    /// The network the states belong to.
    pub net: &'a Network<T>,
    /// Weight of z^+ in the means zbar_k = alpha z_k^+ + (1 - alpha) z_k^- (Eq. 6).
    pub alpha: f64,
    /// Nudging strength.
    pub beta: f64,
    /// The dual states z_k^+- (k = 0..=L).
    pub state: &'a DualState<T>,
    /// Targets, one row a sample.
    pub y: &'a Matrix<T>,
}

impl<T: Scalar> ObjectivePoint<'_, T> {
    /// Eq. 7: l(zbar_L) + sum_k delta_k^T (f_k^-1(zbar_k) - a_k), summed over the batch, with the beta-weighted
    /// loss and f_L the identity. None where f^-1(zbar) is undefined on a unit with delta != 0 (ReLU's inactive
    /// piece is skipped when delta = 0, where Eq. 19 makes its term vanish).
    ///
    /// Proved (proofs/): `Objectives.v` `eq15_1_is_derivative`, `eq15_2_is_derivative`, `eq10_1_is_derivative`,
    /// `eq10_2_is_derivative`, `eq10_1_layer_is_partial`, `eq10_2_layer_is_partial`.
    pub fn eq7_value(&self) -> Option<f64> {
        let (net, state, depth) = (self.net, self.state, self.net.depth());
        let al = c::<T>(self.alpha);
        let zbar_l = state.mean(depth, al);
        let mut total = self.beta * to_f64(net.loss.value(&zbar_l, self.y));
        for (k, a) in self.pre_activations() {
            let zbar = state.mean(k, al);
            let delta = state.delta(k);
            for i in 0..a.as_slice().len() {
                let (d, zb) = (to_f64(delta.as_slice()[i]), zbar.as_slice()[i]);
                if d == 0.0 {
                    continue;
                }
                let inv = if k == depth {
                    Some(zb)
                } else {
                    net.activation.inverse(zb)
                };
                total += d * (to_f64(inv?) - to_f64(a.as_slice()[i]));
            }
        }
        Some(total)
    }

    /// Eq. 3: alpha l(z_L^+) + abar l(z_L^-) + (1/beta) sum_k [E_k(z_k^+, zbar_{k-1}) - E_k(z_k^-, zbar_{k-1})]
    /// with the unweighted loss and E_k(z, zbar) = G_k(z) - z^T (W zbar + b), G_L = 1/2 ||z||^2. None where G is
    /// +infinity or has no closed form (softplus).
    ///
    /// Proved (proofs/): `Objectives.v` `eq3_out_plus_is_derivative`, `eq3_out_minus_is_derivative`,
    /// `eq3_hidden_plus_is_derivative`, `eq3_hidden_minus_is_derivative`.
    pub fn eq3_value(&self) -> Option<f64> {
        let (net, state, depth) = (self.net, self.state, self.net.depth());
        let (alpha, beta) = (self.alpha, self.beta);
        let mut total = alpha * to_f64(net.loss.value(&state.plus[depth], self.y))
            + (1.0 - alpha) * to_f64(net.loss.value(&state.minus[depth], self.y));
        for (k, a) in self.pre_activations() {
            for (z, sign) in [(&state.plus[k], 1.0), (&state.minus[k], -1.0)] {
                for i in 0..a.as_slice().len() {
                    let zi = z.as_slice()[i];
                    let g = if k == depth {
                        0.5 * to_f64(zi) * to_f64(zi)
                    } else {
                        to_f64(net.activation.potential(zi)?)
                    };
                    total += sign / beta * (g - to_f64(zi) * to_f64(a.as_slice()[i]));
                }
            }
        }
        Some(total)
    }

    /// (k, a_k) for k = 1..=L, a_k = W_{k-1} zbar_{k-1} + b_{k-1} at the states' means.
    fn pre_activations(&self) -> impl Iterator<Item = (usize, Matrix<T>)> + '_ {
        let al = c::<T>(self.alpha);
        (1..=self.net.depth())
            .map(move |k| (k, self.net.pre_activation(k, &self.state.mean(k - 1, al))))
    }
}
