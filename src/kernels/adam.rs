//! Adam ([`AdamState::update`]'s twin): the same per-parameter step ([`AdamStep`]), so the same gradient gives
//! bitwise the same parameters and moments; only the loop is split across threads.

use rayon::prelude::*;

use crate::reference::adam::AdamStep;
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
    let step = AdamStep::<T>::new(cfg, state.t);
    for (k, layer) in net.layers.iter_mut().enumerate() {
        let (p, g) = (layer.w.as_mut_slice(), grad.w[k].as_slice());
        let (m, v) = (state.m.w[k].as_mut_slice(), state.v.w[k].as_mut_slice());
        if threads > 1 && p.len() > CHUNK {
            p.par_chunks_mut(CHUNK)
                .zip(g.par_chunks(CHUNK))
                .zip(m.par_chunks_mut(CHUNK))
                .zip(v.par_chunks_mut(CHUNK))
                .for_each(|(((p, g), m), v)| step.apply(p, g, m, v));
        } else {
            step.apply(p, g, m, v);
        }
        step.apply(
            &mut layer.b,
            &grad.b[k],
            &mut state.m.b[k],
            &mut state.v.b[k],
        );
    }
}
