//! The loop gain of one schedule pass, estimated on any network and method: finite-difference Jacobian-vector
//! products of the reference's [`iterate`] in f64, and power iteration on them.

use rand::{Rng, SeedableRng};

use crate::error::Result;
use crate::reference::inference::iterate;
use crate::reference::problem::Problem;
use crate::reference::scalar::Scalar;
use crate::reference::state::DualState;
use crate::reference::widen::{matrix_f64, network_f64, state_f64};

use super::power::norm;

/// Result of [`loop_gain_estimate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoopGain {
    /// Estimated spectral radius of the Jacobian of one pass (geometric mean of the norm growth over the second
    /// half of the power iteration); 0 when the Jacobian annihilates the iterate (a one-shot iteration).
    pub gain: f64,
    /// Signed Rayleigh quotient v^T J v of the last unit iterate: close to +gain for a real positive dominant
    /// eigenvalue (monotone growth or decay), to -gain for a real negative one (oscillation).
    pub rayleigh: f64,
    /// Power-iteration steps run.
    pub steps: usize,
}

fn flatten(s: &DualState<f64>) -> Vec<f64> {
    let mut v = Vec::new();
    for k in 1..s.plus.len() {
        v.extend_from_slice(s.plus[k].as_slice());
        v.extend_from_slice(s.minus[k].as_slice());
    }
    v
}

fn unflatten_into(s: &mut DualState<f64>, v: &[f64]) {
    let mut i = 0;
    for k in 1..s.plus.len() {
        for m in [&mut s.plus[k], &mut s.minus[k]] {
            let n = m.as_slice().len();
            m.as_mut_slice().copy_from_slice(&v[i..i + n]);
            i += n;
        }
    }
}

/// Loop gain of one pass of `cfg.schedule` around `state` (the spectral radius of the pass's Jacobian on the states
/// z_k^+-, k = 1..L; Section 4's "iteration"), estimated with `steps` power-iteration steps on finite-difference
/// Jacobian-vector products in f64. The perturbation is 1e-5 of the state scale: the finite-difference error is
/// then about eps_f64 / 1e-5 ~ 2e-11 relative from rounding, O(1e-5) from the curvature of smooth activations, and
/// zero from the nonlinearity for piecewise-linear activations when no unit's nudged pre-activation lies within that
/// distance of a kink.
pub fn loop_gain_estimate<T: Scalar>(
    problem: &Problem<T>,
    state: &DualState<T>,
    steps: usize,
) -> Result<LoopGain> {
    problem.validate_state(state)?;
    let cfg = problem.cfg();
    let net = network_f64(problem.net());
    let y = matrix_f64(problem.y());
    let x = matrix_f64(problem.x());
    let base = state_f64(state);
    let depth = net.depth();
    let ff = net.forward(&x);
    let frozen = net.loss.weighted_gradient(&ff[depth], &y, cfg.beta);
    let pass = |s: &DualState<f64>| {
        let mut s = s.clone();
        iterate(&net, cfg, &mut s, &y, &frozen);
        s
    };
    let x0 = flatten(&base);
    let f0 = flatten(&pass(&base));
    let scale = x0.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
    let h = 1e-5 * scale;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let mut v: Vec<f64> = (0..x0.len()).map(|_| rng.random_range(-1.0..1.0)).collect();
    let n0 = norm(&v);
    v.iter_mut().for_each(|e| *e /= n0);
    let mut work = base.clone();
    let mut logs = Vec::with_capacity(steps);
    let mut rayleigh = 0.0;
    for _ in 0..steps {
        let xp: Vec<f64> = x0.iter().zip(&v).map(|(a, d)| a + h * d).collect();
        unflatten_into(&mut work, &xp);
        let fp = flatten(&pass(&work));
        let jv: Vec<f64> = fp.iter().zip(&f0).map(|(a, b)| (a - b) / h).collect();
        let nj = norm(&jv);
        rayleigh = v.iter().zip(&jv).map(|(a, b)| a * b).sum();
        if nj == 0.0 || !nj.is_finite() {
            let gain = if nj == 0.0 { 0.0 } else { f64::INFINITY };
            return Ok(LoopGain {
                gain,
                rayleigh,
                steps,
            });
        }
        logs.push(nj.ln());
        v = jv.into_iter().map(|e| e / nj).collect();
    }
    let tail = &logs[logs.len() / 2..];
    let gain = if tail.is_empty() {
        0.0
    } else {
        (tail.iter().sum::<f64>() / tail.len() as f64).exp()
    };
    Ok(LoopGain {
        gain,
        rayleigh,
        steps,
    })
}
