//! The two nudged states z_k^+ and z_k^- of every layer, their mean and difference (Eq. 6).

use crate::error::{Error, Result};
use crate::reference::matrix::Matrix;
use crate::reference::network::Network;
use crate::reference::rules;
use crate::reference::scalar::Scalar;

/// States of layers 0..=L; layer 0 is the clamped input (z_0^+ = z_0^- = x).
#[derive(Debug, Clone, PartialEq)]
pub struct DualState<T> {
    /// z_k^+ for k = 0..=L, each a B x n_k matrix (one row per sample).
    pub plus: Vec<Matrix<T>>,
    /// z_k^- for k = 0..=L, each a B x n_k matrix (one row per sample).
    pub minus: Vec<Matrix<T>>,
}

impl<T: Scalar> DualState<T> {
    /// Both states equal to the plain feed-forward activations (delta = 0 everywhere).
    pub fn feed_forward(net: &Network<T>, x: &Matrix<T>) -> Self {
        let z = net.forward(x);
        Self {
            plus: z.clone(),
            minus: z,
        }
    }

    /// Checks that the states fit `net` with a batch of `batch` rows and are finite (for states from elsewhere).
    pub fn validate(&self, net: &Network<T>, batch: usize) -> Result<()> {
        let widths = net.widths();
        if self.plus.len() != widths.len() || self.minus.len() != widths.len() {
            return Err(Error::Shape {
                what: "number of state layers".into(),
                expected: (widths.len(), 1),
                got: (self.plus.len().min(self.minus.len()), 1),
            });
        }
        for (k, &w) in widths.iter().enumerate() {
            for (name, m) in [("z_plus", &self.plus[k]), ("z_minus", &self.minus[k])] {
                if m.shape() != (batch, w) {
                    return Err(Error::Shape {
                        what: format!("{name}.{k}"),
                        expected: (batch, w),
                        got: m.shape(),
                    });
                }
                if let Some(index) = m.first_non_finite() {
                    return Err(Error::NonFinite {
                        what: format!("{name}.{k}"),
                        index,
                    });
                }
            }
        }
        Ok(())
    }

    /// Number of weight layers L.
    pub fn depth(&self) -> usize {
        self.plus.len() - 1
    }

    /// zbar_k = alpha z_k^+ + (1 - alpha) z_k^- (Eq. 6).
    ///
    /// Proved (proofs/): `OrigVsPlus.v` `dp_mean_feedforward_extreme`, `orig_mean_extreme`,
    /// `orig_mean_not_feedforward`.
    pub fn mean(&self, k: usize, alpha: T) -> Matrix<T> {
        let abar = T::one() - alpha;
        self.plus[k].zip(&self.minus[k], |p, m| rules::mean(alpha, abar, p, m))
    }

    /// delta_k = z_k^+ - z_k^- (Eq. 6).
    pub fn delta(&self, k: usize) -> Matrix<T> {
        self.plus[k].zip(&self.minus[k], |p, m| p - m)
    }

    /// Largest |z| over both states of layer k; NaN if either state holds a NaN (`T::max` would drop it).
    pub fn layer_max_abs(&self, k: usize) -> T {
        crate::reference::matrix::max_abs(&[self.plus[k].max_abs(), self.minus[k].max_abs()])
    }

    /// Largest |difference| between this state and another, over layers 1..=L.
    pub fn max_change(&self, other: &Self) -> T {
        let mut m = T::zero();
        for k in 1..self.plus.len() {
            for (a, b) in [
                (&self.plus[k], &other.plus[k]),
                (&self.minus[k], &other.minus[k]),
            ] {
                for (&x, &y) in a.as_slice().iter().zip(b.as_slice()) {
                    let d = (x - y).abs();
                    if d.is_nan() {
                        return d;
                    }
                    m = m.max(d);
                }
            }
        }
        m
    }
}
