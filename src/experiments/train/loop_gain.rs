//! Loop gain through training (loop_gain.jsonl, Figure 3): on the weights and batch of a step, before its update,
//! the spectral radius of one inference pass's Jacobian (`checks::stability::loop_gain_estimate`), estimated on
//! the batch's first [`LOOP_GAIN_EXAMPLES`] examples with [`LOOP_GAIN_POWER_STEPS`] power steps.
//!
//! Why a sub-batch: the estimator is a finite-difference power iteration on the readable reference in f64, one
//! full pass of the schedule per power step; on the paper's 784-1000x4-10 net one estimate over the whole batch
//! of 100 took 62.7 s of CPU against 2.7 s over 4 examples (docs/experiments.md). The examples of a batch do not interact in the inference iteration
//! (each row's states depend only on its own input and target), so the whole batch's Jacobian is block-diagonal and
//! its spectral radius is the largest of the examples'; the sub-batch's gain is a lower bound on it.

use crate::checks::stability::{loop_gain_estimate, matrix_f64, network_f64};
use crate::error::Result;
use crate::kernels::KernelFloat;
use crate::reference::problem::Problem;
use crate::reference::{infer, Config, DualState, Matrix, Network};

/// Examples of the sub-batch the loop gain is estimated on (the batch's first ones).
pub const LOOP_GAIN_EXAMPLES: usize = 4;

/// Power-iteration steps per estimate: the gain is the geometric mean growth over the second half, so 10 steps
/// average over the last 10 after 10 to align with the dominant direction.
pub const LOOP_GAIN_POWER_STEPS: usize = 20;

/// One estimate and where it was taken.
pub(super) struct Estimate {
    pub gain: f64,
    pub rayleigh: f64,
    pub examples: usize,
    /// "inference-end" or "feed-forward".
    pub state: &'static str,
    /// The reference's inference verdict on the sub-batch (f64).
    pub sub_batch_verdict: String,
}

/// The loop gain of `cfg`'s inference iteration on `net` and the first examples of the batch `x`, `y` (row-major,
/// `batch` rows), around the states the reference's K passes end in (or, when those are not finite, around the
/// feed-forward states the passes start from).
pub(super) fn estimate<T: KernelFloat>(
    net: &Network<T>,
    cfg: &Config,
    x: &[T],
    y: &[T],
    batch: usize,
) -> Result<Estimate> {
    let m = batch.min(LOOP_GAIN_EXAMPLES);
    let (n_in, n_out) = (net.input_width(), net.output_width());
    let net = network_f64(net);
    let x = matrix_f64(&Matrix::from_vec(m, n_in, x[..m * n_in].to_vec())?);
    let y = matrix_f64(&Matrix::from_vec(m, n_out, y[..m * n_out].to_vec())?);
    let problem = Problem::new(&net, cfg, &x, &y)?;
    let inf = infer(&problem)?;
    let finite = |s: &DualState<f64>| {
        s.plus
            .iter()
            .chain(&s.minus)
            .all(|z| z.as_slice().iter().all(|v| v.is_finite()))
    };
    let (state, name) = if finite(&inf.states) {
        (inf.states, "inference-end")
    } else {
        (DualState::feed_forward(&net, &x), "feed-forward")
    };
    let g = loop_gain_estimate(&problem, &state, LOOP_GAIN_POWER_STEPS)?;
    Ok(Estimate {
        gain: g.gain,
        rayleigh: g.rayleigh,
        examples: m,
        state: name,
        sub_batch_verdict: inf.verdict.label(),
    })
}
