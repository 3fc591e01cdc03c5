//! The objectives whose saddle points the updates seek, as generic functions of the states: Eq. 7 (DP+, whose output
//! terms are Eq. 14), Eq. 3 (original DP) and the Lagrangian of Eq. 20 reparametrized by Eq. 6. Generic over the
//! scalar, so that forward-mode dual numbers (`reference::dual::Dual`) differentiate them: the KKT checkers
//! (`checks::kkt`) are tested against these derivatives (tests/spec_objective.rs).

use crate::reference::matrix::Matrix;
use crate::reference::network::Network;
use crate::reference::scalar::{c, Scalar};
use crate::reference::state::DualState;
use crate::reference::widen::{matrix_f64, network_f64, state_f64};

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
    /// loss and f_L the identity, evaluated in `T`. None where f^-1(zbar) is undefined on a unit with delta != 0
    /// (where delta = 0 such a term is dropped: ReLU's inactive piece, where Eq. 19 makes it vanish; its
    /// derivative in z^+- is then not this function's).
    ///
    /// Proved (proofs/): `Objectives.v` `eq15_1_is_derivative`, `eq15_2_is_derivative`, `eq10_1_is_derivative`,
    /// `eq10_2_is_derivative`, `eq10_1_layer_is_partial`, `eq10_2_layer_is_partial`.
    pub fn eq7(&self) -> Option<T> {
        let (net, state, depth) = (self.net, self.state, self.net.depth());
        let al = c::<T>(self.alpha);
        let mut total = c::<T>(self.beta) * net.loss.value(&state.mean(depth, al), self.y);
        for (k, a) in self.pre_activations() {
            let (zbar, delta) = (state.mean(k, al), state.delta(k));
            let units = delta.as_slice().iter().zip(zbar.as_slice());
            for ((&d, &zb), &ai) in units.zip(a.as_slice()) {
                let inv = if k == depth {
                    Some(zb)
                } else {
                    net.activation.inverse(zb)
                };
                match inv {
                    Some(inv) => total = total + d * (inv - ai),
                    None if d == T::zero() => {}
                    None => return None,
                }
            }
        }
        Some(total)
    }

    /// [`Self::eq7`] evaluated in f64 (the states and weights widened exactly), for reports.
    pub fn eq7_value(&self) -> Option<f64> {
        self.widened(|p| p.eq7())
    }

    /// Eq. 3: alpha l(z_L^+) + abar l(z_L^-) + (1/beta) sum_k [E_k(z_k^+, zbar_{k-1}) - E_k(z_k^-, zbar_{k-1})]
    /// with the unweighted loss and E_k(z, zbar) = G_k(z) - z^T (W zbar + b), G_L = 1/2 ||z||^2, evaluated in `T`.
    /// None where G is +infinity or has no closed form (softplus).
    ///
    /// Proved (proofs/): `Objectives.v` `eq3_out_plus_is_derivative`, `eq3_out_minus_is_derivative`,
    /// `eq3_hidden_plus_is_derivative`, `eq3_hidden_minus_is_derivative`.
    pub fn eq3(&self) -> Option<T> {
        let (net, state, depth) = (self.net, self.state, self.net.depth());
        let (alpha, beta) = (c::<T>(self.alpha), c::<T>(self.beta));
        let (one, half) = (T::one(), c::<T>(0.5));
        let mut total = alpha * net.loss.value(&state.plus[depth], self.y)
            + (one - alpha) * net.loss.value(&state.minus[depth], self.y);
        for (k, a) in self.pre_activations() {
            for (z, sign) in [(&state.plus[k], one), (&state.minus[k], -one)] {
                for (&zi, &ai) in z.as_slice().iter().zip(a.as_slice()) {
                    let g = if k == depth {
                        half * zi * zi
                    } else {
                        net.activation.potential(zi)?
                    };
                    total = total + sign / beta * (g - zi * ai);
                }
            }
        }
        Some(total)
    }

    /// [`Self::eq3`] evaluated in f64 (the states and weights widened exactly), for reports.
    pub fn eq3_value(&self) -> Option<f64> {
        self.widened(|p| p.eq3())
    }

    /// The Lagrangian of Eq. 20 with z_k = zbar_k and its multiplier delta_k = z_k^+ - z_k^- (Eq. 6):
    /// l(zbar_L) + sum_k delta_k^T (zbar_k - f_k(a_k)), a_k = W_{k-1} zbar_{k-1} + b_{k-1}, beta-weighted loss,
    /// f_L the identity, evaluated in `T`. Defined for every state (f, not f^-1, enters).
    ///
    /// Proved (proofs/): `Objectives.v` `eq20_state_is_partial`, `eq20_multiplier_is_partial`,
    /// `eq20_out_state_is_derivative`, `eq20_out_multiplier_is_derivative`.
    pub fn eq20(&self) -> T {
        let (net, state, depth) = (self.net, self.state, self.net.depth());
        let al = c::<T>(self.alpha);
        let mut total = c::<T>(self.beta) * net.loss.value(&state.mean(depth, al), self.y);
        for (k, a) in self.pre_activations() {
            let (zbar, delta, fa) = (state.mean(k, al), state.delta(k), net.activate(k, &a));
            let units = delta.as_slice().iter().zip(zbar.as_slice());
            for ((&d, &zb), &f) in units.zip(fa.as_slice()) {
                total = total + d * (zb - f);
            }
        }
        total
    }

    /// [`Self::eq20`] evaluated in f64 (the states and weights widened exactly), for reports.
    pub fn eq20_value(&self) -> f64 {
        self.widened(|p| Some(p.eq20())).unwrap_or(f64::NAN)
    }

    /// (k, a_k) for k = 1..=L, a_k = W_{k-1} zbar_{k-1} + b_{k-1} at the states' means.
    fn pre_activations(&self) -> impl Iterator<Item = (usize, Matrix<T>)> + '_ {
        let al = c::<T>(self.alpha);
        (1..=self.net.depth())
            .map(move |k| (k, self.net.pre_activation(k, &self.state.mean(k - 1, al))))
    }

    /// `objective` at this point with every number widened to f64 (exact for the supported types).
    fn widened(&self, objective: impl Fn(&ObjectivePoint<f64>) -> Option<f64>) -> Option<f64> {
        let (net, state, y) = (
            network_f64(self.net),
            state_f64(self.state),
            matrix_f64(self.y),
        );
        objective(&ObjectivePoint {
            net: &net,
            alpha: self.alpha,
            beta: self.beta,
            state: &state,
            y: &y,
        })
    }
}
