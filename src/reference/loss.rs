//! Output losses l(z_L), beta-weighted as in the paper (l = beta/2 ||z - y||^2 for least squares).
//!
//! The value and gradient of one row are written once, over rows of `n` contiguous values: a row-major
//! [`Matrix`] `[B, n]` here, a column-major `[n, B]` state in the kernels.

use serde::{Deserialize, Serialize};

use crate::reference::matrix::Matrix;
use crate::reference::scalar::{c, Scalar};

/// The loss on the linear output layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// l(z) = 1/2 ||z - y||^2 (unweighted).
    LeastSquares,
    /// l(z) = -sum y_i log softmax(z)_i.
    SoftmaxCrossEntropy,
}

impl Loss {
    /// Unweighted gradient l'(z) for every row of the batch.
    pub fn gradient<T: Scalar>(self, z: &Matrix<T>, y: &Matrix<T>) -> Matrix<T> {
        let mut g = z.clone();
        self.gradient_rows(z.as_slice(), y.as_slice(), z.cols(), g.as_mut_slice());
        g
    }

    /// beta-weighted gradient g = beta l'(z) (the g of Eq. 16).
    ///
    /// Proved (proofs/): `OutputSaddle.v` `lsq_b_derivative` (least squares); `OutputLayer.v` `eq16_least_squares`.
    pub fn weighted_gradient<T: Scalar>(self, z: &Matrix<T>, y: &Matrix<T>, beta: T) -> Matrix<T> {
        self.gradient(z, y).scale(beta)
    }

    /// Unweighted loss of every row, summed over the batch.
    pub fn value<T: Scalar>(self, z: &Matrix<T>, y: &Matrix<T>) -> T {
        self.value_rows(z.as_slice(), y.as_slice(), z.cols())
    }

    /// Unweighted l'(z) of every row of `n` values into `g`: z - y (least squares), softmax(z) - y (cross-entropy).
    #[inline]
    pub fn gradient_rows<T: Scalar>(self, z: &[T], y: &[T], n: usize, g: &mut [T]) {
        match self {
            Loss::LeastSquares => {
                for ((gi, &zi), &yi) in g.iter_mut().zip(z).zip(y) {
                    *gi = zi - yi;
                }
            }
            Loss::SoftmaxCrossEntropy if n > 0 => {
                for ((gr, zr), yr) in g
                    .chunks_exact_mut(n)
                    .zip(z.chunks_exact(n))
                    .zip(y.chunks_exact(n))
                {
                    let lse = log_sum_exp(zr);
                    for ((gi, &zi), &yi) in gr.iter_mut().zip(zr).zip(yr) {
                        *gi = (zi - lse).exp() - yi;
                    }
                }
            }
            Loss::SoftmaxCrossEntropy => {}
        }
    }

    /// Unweighted loss of every row of `n` values, summed over the rows in order: 1/2 sum (z - y)^2 (least
    /// squares), sum y (logsumexp(z) - z) (cross-entropy).
    pub fn value_rows<T: Scalar>(self, z: &[T], y: &[T], n: usize) -> T {
        let mut total = T::zero();
        if n == 0 {
            return total;
        }
        let half = c::<T>(0.5);
        for (zr, yr) in z.chunks_exact(n).zip(y.chunks_exact(n)) {
            total = total
                + match self {
                    Loss::LeastSquares => zr
                        .iter()
                        .zip(yr)
                        .fold(T::zero(), |acc, (&a, &t)| acc + half * (a - t) * (a - t)),
                    Loss::SoftmaxCrossEntropy => {
                        let lse = log_sum_exp(zr);
                        zr.iter()
                            .zip(yr)
                            .fold(T::zero(), |acc, (&a, &t)| acc + t * (lse - a))
                    }
                };
        }
        total
    }
}

/// log sum exp of a row, shifted by the row maximum.
fn log_sum_exp<T: Scalar>(row: &[T]) -> T {
    let m = row.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
    m + row.iter().fold(T::zero(), |s, &v| s + (v - m).exp()).ln()
}
