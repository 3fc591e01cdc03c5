//! A second derivative route, independent of back-propagation: the reference's own feed-forward pass and
//! `Loss::value`, run in forward-mode dual numbers ([`Dual`]). Nothing here calls `Loss::gradient`,
//! `Activation::derivative` or the transposed products of `reference::gradient`; the chain rule is applied by the
//! number type, one elementary operation at a time.

use crate::error::{Error, Result};
use crate::reference::dual::Dual;
use crate::reference::gradient::Gradients;
use crate::reference::matrix::Matrix;
use crate::reference::network::{Layer, Network};
use crate::reference::scalar::{c, Scalar};

/// Mean loss over the batch of the plain feed-forward pass (the quantity `backprop` differentiates).
pub fn mean_loss<T: Scalar>(net: &Network<T>, x: &Matrix<T>, y: &Matrix<T>) -> T {
    let z = net.forward(x);
    net.loss.value(&z[net.depth()], y) / c::<T>(x.rows() as f64)
}

/// d (mean loss) / d theta for every weight and bias, by forward mode: one feed-forward pass in `Dual<T>` per
/// parameter, with that parameter's tangent seeded to 1 and every other tangent 0. Returns (mean loss, gradients)
/// like `backprop`. Costs (number of parameters) x (one forward pass): meant for small checking networks.
///
/// Proofs: the independent route for `BPGeneral.v` `bp_is_derivative`, `bp_entry_is_partial_derivative`,
/// `bp_layer_is_derivative`.
pub fn forward_mode_gradient<T: Scalar>(
    net: &Network<T>,
    x: &Matrix<T>,
    y: &Matrix<T>,
) -> Result<(T, Gradients<T>)> {
    net.validate_batch(x, y)?;
    let (mut dual, dx, dy) = (lift(net)?, constant(x), constant(y));
    let mut loss = T::zero();
    let mut derivative = |dual: &Network<Dual<T>>| {
        let l = mean_loss(dual, &dx, &dy);
        loss = l.value;
        l.tangent
    };
    let mut w = Vec::with_capacity(net.depth());
    let mut b = Vec::with_capacity(net.depth());
    for k in 0..net.depth() {
        let (rows, cols) = net.layers[k].w.shape();
        let mut gw = Vec::with_capacity(rows * cols);
        for i in 0..rows * cols {
            dual.layers[k].w.as_mut_slice()[i].tangent = T::one();
            gw.push(derivative(&dual));
            dual.layers[k].w.as_mut_slice()[i].tangent = T::zero();
        }
        w.push(Matrix::from_vec(rows, cols, gw)?);
        let mut gb = Vec::with_capacity(rows);
        for i in 0..rows {
            dual.layers[k].b[i].tangent = T::one();
            gb.push(derivative(&dual));
            dual.layers[k].b[i].tangent = T::zero();
        }
        b.push(gb);
    }
    Ok((loss, Gradients { w, b }))
}

/// Directional derivative of the mean loss along `direction` (shaped like the gradients) in one forward pass:
/// every parameter's tangent is seeded with its entry of `direction`. Returns (mean loss, derivative).
pub fn directional_derivative<T: Scalar>(
    net: &Network<T>,
    x: &Matrix<T>,
    y: &Matrix<T>,
    direction: &Gradients<T>,
) -> Result<(T, T)> {
    net.validate_batch(x, y)?;
    if direction.w.len() != net.depth() || direction.b.len() != net.depth() {
        return Err(Error::Shape {
            what: "direction layers".into(),
            expected: (net.depth(), 1),
            got: (direction.w.len().min(direction.b.len()), 1),
        });
    }
    let mut dual = lift(net)?;
    for (k, layer) in dual.layers.iter_mut().enumerate() {
        let (dw, db) = (&direction.w[k], &direction.b[k]);
        if dw.shape() != layer.w.shape() || db.len() != layer.b.len() {
            return Err(Error::Shape {
                what: format!("direction.{k}"),
                expected: layer.w.shape(),
                got: dw.shape(),
            });
        }
        for (p, &t) in layer.w.as_mut_slice().iter_mut().zip(dw.as_slice()) {
            p.tangent = t;
        }
        for (p, &t) in layer.b.iter_mut().zip(db) {
            p.tangent = t;
        }
    }
    let l = mean_loss(&dual, &constant(x), &constant(y));
    Ok((l.value, l.tangent))
}

/// The network with every parameter a dual constant.
fn lift<T: Scalar>(net: &Network<T>) -> Result<Network<Dual<T>>> {
    let layers = net
        .layers
        .iter()
        .map(|l| Layer {
            w: constant(&l.w),
            b: l.b.iter().map(|&v| Dual::constant(v)).collect(),
        })
        .collect();
    Network::new(layers, net.activation, net.loss)
}

fn constant<T: Scalar>(m: &Matrix<T>) -> Matrix<Dual<T>> {
    Matrix::from_fn(m.rows(), m.cols(), |i, j| Dual::constant(m.get(i, j)))
}
