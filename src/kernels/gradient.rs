//! Weight and bias gradients: the dual-propagation estimate from the final states and exact back-propagation.

use super::dense::Exec;

use crate::reference::scalar::c;
use crate::reference::{Config, Network};

use super::dense::{dense_product, gradient_product, WeightOp};
use super::elementwise::{row_sums_scaled, scale_by_derivative, times_derivative};
use super::workspace::Workspace;
use super::KernelFloat;

/// [`crate::reference::dual_gradient`]'s twin, from the states [`super::inference::infer`] left in the workspace,
/// written to `ws.grad`: grad W_{k-1} = -(1/(beta B)) delta_k zbar_{k-1}^T, grad b_{k-1} = -(1/(beta B)) sum delta_k,
/// with delta_k replaced by D_k delta_k (D_k = f'(a_k) at the final states, 1 on the output) for the Eq. 20
/// variants.
pub fn dual_gradient<T: KernelFloat>(
    net: &Network<T>,
    cfg: &Config,
    ws: &mut Workspace<T>,
    batch: usize,
    par: Exec,
) {
    let depth = net.depth();
    let scale = -T::one() / (c::<T>(cfg.beta) * c::<T>(batch as f64));
    let through = cfg
        .method
        .hidden_rule(cfg.hidden_layer_alpha())
        .feedback_through_derivative;
    for k in 1..=depth {
        let (out, inp) = (ws.widths[k], ws.widths[k - 1]);
        let len = out * batch;
        let e: &[T] = if through && k < depth {
            super::inference::ensure_pre_activation(net, ws, k, batch, par);
            let [tmp, _] = &mut ws.tmp;
            times_derivative(
                net.activation,
                &ws.delta[k][..len],
                &ws.a[k][..len],
                &mut tmp[..len],
            );
            &ws.tmp[0]
        } else {
            &ws.delta[k]
        };
        let (gw, gb) = (&mut ws.grad.w[k - 1], &mut ws.grad.b[k - 1]);
        gradient_product(
            e,
            out,
            &ws.zbar[k - 1],
            inp,
            batch,
            scale,
            gw.as_mut_slice(),
            par,
            &mut ws.macs,
        );
        row_sums_scaled(&e[..len], out, scale, gb);
    }
}

/// [`crate::reference::backprop`]'s twin, from the feed-forward pass [`super::dense::forward`] left in the
/// workspace (a_k and z_k = `ws.plus[k]`), written to `ws.grad`. `x` is z_0, `y` the targets (row-major).
pub fn backprop<T: KernelFloat>(
    net: &Network<T>,
    ws: &mut Workspace<T>,
    x: &[T],
    y: &[T],
    batch: usize,
    par: Exec,
) {
    let depth = net.depth();
    let inv_b = T::one() / c::<T>(batch as f64);
    let n_out = ws.widths[depth];
    let [e, e_next] = &mut ws.tmp;
    net.loss.gradient_rows(
        &ws.plus[depth][..n_out * batch],
        &y[..n_out * batch],
        n_out,
        &mut e[..n_out * batch],
    );
    for k in (1..=depth).rev() {
        let (out, inp) = (ws.widths[k], ws.widths[k - 1]);
        let z_below: &[T] = if k == 1 { x } else { &ws.plus[k - 1] };
        let (gw, gb) = (&mut ws.grad.w[k - 1], &mut ws.grad.b[k - 1]);
        gradient_product(
            e,
            out,
            z_below,
            inp,
            batch,
            inv_b,
            gw.as_mut_slice(),
            par,
            &mut ws.macs,
        );
        row_sums_scaled(&e[..out * batch], out, inv_b, gb);
        if k > 1 {
            let len = inp * batch;
            dense_product(
                &net.layers[k - 1].w,
                WeightOp::Transpose,
                e,
                batch,
                e_next,
                par,
                &mut ws.macs,
            );
            // e_{k-1} = (W^T e_k) * f'(a_{k-1}), in place.
            let d_in = &mut e_next[..len];
            let a = &ws.a[k - 1][..len];
            scale_by_derivative(net.activation, d_in, a);
            std::mem::swap(e, e_next);
        }
    }
}
