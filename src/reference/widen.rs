//! The same network, matrices and states in f64 (exact for every supported float type): the checks that do their
//! own linear algebra (stability) work in f64 whatever the type of the run they judge.

use crate::reference::matrix::Matrix;
use crate::reference::network::{Layer, Network};
use crate::reference::scalar::{to_f64, Scalar};
use crate::reference::state::DualState;

/// The same matrix in f64.
pub fn matrix_f64<T: Scalar>(m: &Matrix<T>) -> Matrix<f64> {
    Matrix::from_fn(m.rows(), m.cols(), |i, j| to_f64(m.get(i, j)))
}

/// The same network in f64.
pub fn network_f64<T: Scalar>(net: &Network<T>) -> Network<f64> {
    Network {
        layers: net
            .layers
            .iter()
            .map(|l| Layer {
                w: matrix_f64(&l.w),
                b: l.b.iter().map(|&v| to_f64(v)).collect(),
            })
            .collect(),
        activation: net.activation,
        loss: net.loss,
    }
}

/// The same states in f64.
pub fn state_f64<T: Scalar>(s: &DualState<T>) -> DualState<f64> {
    DualState {
        plus: s.plus.iter().map(matrix_f64).collect(),
        minus: s.minus.iter().map(matrix_f64).collect(),
    }
}
