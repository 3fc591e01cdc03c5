//! Output losses l(z_L), beta-weighted as in the paper (l = beta/2 ||z - y||^2 for least squares).

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
        match self {
            Loss::LeastSquares => z.zip(y, |a, t| a - t),
            Loss::SoftmaxCrossEntropy => {
                let p = softmax_rows(z);
                p.zip(y, |p, t| p - t)
            }
        }
    }

    /// beta-weighted gradient g = beta l'(z) (the g of Eq. 16).
    pub fn weighted_gradient<T: Scalar>(self, z: &Matrix<T>, y: &Matrix<T>, beta: T) -> Matrix<T> {
        self.gradient(z, y).scale(beta)
    }

    /// Unweighted loss of every row, summed over the batch.
    pub fn value<T: Scalar>(self, z: &Matrix<T>, y: &Matrix<T>) -> T {
        let mut total = T::zero();
        for i in 0..z.rows() {
            let (zr, yr) = (z.row(i), y.row(i));
            total = total
                + match self {
                    Loss::LeastSquares => zr.iter().zip(yr).fold(T::zero(), |acc, (&a, &t)| {
                        acc + c::<T>(0.5) * (a - t) * (a - t)
                    }),
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

fn log_sum_exp<T: Scalar>(row: &[T]) -> T {
    let m = row.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
    m + row.iter().fold(T::zero(), |s, &v| s + (v - m).exp()).ln()
}

/// Row-wise softmax, shifted by the row maximum.
pub fn softmax_rows<T: Scalar>(z: &Matrix<T>) -> Matrix<T> {
    let mut out = z.clone();
    for i in 0..z.rows() {
        let lse = log_sum_exp(z.row(i));
        for j in 0..z.cols() {
            out.set(i, j, (z.get(i, j) - lse).exp());
        }
    }
    out
}
