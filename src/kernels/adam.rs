//! Adam ([`AdamState::update`]'s twin): the same operations element by element, so the same gradient gives
//! bitwise the same parameters and moments; only the loop is split across threads.

use rayon::prelude::*;

use crate::reference::scalar::c;
use crate::reference::{AdamConfig, AdamState, Gradients, Network};

use super::KernelFloat;

/// Elements per parallel task: large enough that a task outweighs its scheduling.
const CHUNK: usize = 1 << 15;

/// One bias-corrected Adam update of every parameter of `net` with `grad` (PyTorch's formulation).
pub fn update<T: KernelFloat>(
    state: &mut AdamState<T>,
    cfg: &AdamConfig,
    net: &mut Network<T>,
    grad: &Gradients<T>,
    threads: usize,
) {
    state.t += 1;
    let (b1, b2) = (c::<T>(cfg.beta1), c::<T>(cfg.beta2));
    let bc1 = c::<T>(1.0 - cfg.beta1.powi(state.t as i32));
    let bc2 = c::<T>(1.0 - cfg.beta2.powi(state.t as i32));
    let (lr, eps) = (c::<T>(cfg.learning_rate), c::<T>(cfg.epsilon));
    let one = T::one();
    let step = move |p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]| {
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m = b1 * *m + (one - b1) * g;
            *v = b2 * *v + (one - b2) * g * g;
            let m_hat = *m / bc1;
            let v_hat = *v / bc2;
            *p = *p - lr * m_hat / (v_hat.sqrt() + eps);
        }
    };
    for (k, layer) in net.layers.iter_mut().enumerate() {
        let (p, g) = (layer.w.as_mut_slice(), grad.w[k].as_slice());
        let (m, v) = (state.m.w[k].as_mut_slice(), state.v.w[k].as_mut_slice());
        if threads > 1 && p.len() > CHUNK {
            p.par_chunks_mut(CHUNK)
                .zip(g.par_chunks(CHUNK))
                .zip(m.par_chunks_mut(CHUNK))
                .zip(v.par_chunks_mut(CHUNK))
                .for_each(|(((p, g), m), v)| step(p, g, m, v));
        } else {
            step(p, g, m, v);
        }
        step(
            &mut layer.b,
            &grad.b[k],
            &mut state.m.b[k],
            &mut state.v.b[k],
        );
    }
}
