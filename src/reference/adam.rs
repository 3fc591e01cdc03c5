//! Adam (Kingma and Ba), the optimiser of the paper's experiments, and one reference training step.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::reference::gradient::{backprop, dual_gradient, Gradients};
use crate::reference::inference::{infer, Verdict};
use crate::reference::matrix::Matrix;
use crate::reference::method::Config;
use crate::reference::network::Network;
use crate::reference::problem::Problem;
use crate::reference::scalar::{c, Scalar};

/// Adam hyper-parameters. The defaults are the protocol's (learning rate 3e-5, PyTorch's betas and epsilon).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Step size lr (the protocol's 3e-5).
    pub learning_rate: f64,
    /// Decay of the first moment (mean of gradients), PyTorch's default 0.9.
    pub beta1: f64,
    /// Decay of the second moment (mean of squared gradients), PyTorch's default 0.999.
    pub beta2: f64,
    /// Added to sqrt(v_hat) in the denominator, guarding against division by zero.
    pub epsilon: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            learning_rate: 3e-5,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }
}

/// First and second moments of every parameter, and the step count.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamState<T> {
    /// First moment of every weight and bias, shaped like the network.
    pub m: Gradients<T>,
    /// Second moment (uncentred) of every weight and bias, shaped like the network.
    pub v: Gradients<T>,
    /// Updates applied so far; the next update's bias corrections 1 - beta^t use t + 1.
    pub t: u64,
}

impl<T: Scalar> AdamState<T> {
    /// Zero moments shaped like the network.
    pub fn new(net: &Network<T>) -> Self {
        let zeros = Gradients {
            w: net
                .layers
                .iter()
                .map(|l| Matrix::zeros(l.w.rows(), l.w.cols()))
                .collect(),
            b: net
                .layers
                .iter()
                .map(|l| vec![T::zero(); l.b.len()])
                .collect(),
        };
        Self {
            m: zeros.clone(),
            v: zeros,
            t: 0,
        }
    }

    /// One bias-corrected Adam update of every parameter (PyTorch's formulation).
    pub fn update(&mut self, cfg: &AdamConfig, net: &mut Network<T>, grad: &Gradients<T>) {
        self.t += 1;
        let step = AdamStep::new(cfg, self.t);
        for (k, layer) in net.layers.iter_mut().enumerate() {
            step.apply(
                layer.w.as_mut_slice(),
                grad.w[k].as_slice(),
                self.m.w[k].as_mut_slice(),
                self.v.w[k].as_mut_slice(),
            );
            step.apply(&mut layer.b, &grad.b[k], &mut self.m.b[k], &mut self.v.b[k]);
        }
    }
}

/// Adam's coefficients at step t, in `T`: the moment decays, the bias corrections 1 - beta^t, the learning rate and
/// epsilon (PyTorch's formulation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep<T> {
    b1: T,
    b2: T,
    bc1: T,
    bc2: T,
    lr: T,
    eps: T,
}

impl<T: Scalar> AdamStep<T> {
    /// The coefficients of step `t` (1-based).
    pub fn new(cfg: &AdamConfig, t: u64) -> Self {
        Self {
            b1: c::<T>(cfg.beta1),
            b2: c::<T>(cfg.beta2),
            bc1: c::<T>(1.0 - cfg.beta1.powi(t as i32)),
            bc2: c::<T>(1.0 - cfg.beta2.powi(t as i32)),
            lr: c::<T>(cfg.learning_rate),
            eps: c::<T>(cfg.epsilon),
        }
    }

    /// One parameter: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, p -= lr (m / bc1) / (sqrt(v / bc2) + eps).
    #[inline(always)]
    pub fn unit(&self, p: &mut T, g: T, m: &mut T, v: &mut T) {
        let one = T::one();
        *m = self.b1 * *m + (one - self.b1) * g;
        *v = self.b2 * *v + (one - self.b2) * g * g;
        let m_hat = *m / self.bc1;
        let v_hat = *v / self.bc2;
        *p = *p - self.lr * m_hat / (v_hat.sqrt() + self.eps);
    }

    /// [`AdamStep::unit`] on every element of equal-length slices of parameters, gradients and moments.
    #[inline]
    pub fn apply(&self, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            self.unit(p, g, m, v);
        }
    }
}

/// How a training step estimates the gradient.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "estimator", rename_all = "snake_case")]
pub enum Estimator {
    /// A dual-propagation variant's inference, then its activity-difference gradient.
    Dual(Config),
    /// Exact back-propagation.
    Backprop,
}

/// What one training step reports: the reference's [`train_step`], the kernels' `Trainer::step` and every
/// experiments engine return this one type.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    /// Mean unweighted loss of the feed-forward prediction on the batch (before the update).
    pub loss: f64,
    /// Inference verdict (None for back-propagation). When it failed, the weights were not updated.
    pub verdict: Option<Verdict>,
    /// Inference iterations actually run: 0 for back-propagation, K unless the run failed (or, in the kernels,
    /// an exact early exit stopped it sooner).
    pub iterations_run: usize,
}

/// One reference training step: gradient estimate, then Adam. On a failed inference the weights stay unchanged.
pub fn train_step<T: Scalar>(
    net: &mut Network<T>,
    estimator: &Estimator,
    adam_cfg: &AdamConfig,
    adam: &mut AdamState<T>,
    x: &Matrix<T>,
    y: &Matrix<T>,
) -> Result<StepOutcome> {
    net.validate_batch(x, y)?;
    let (loss, bp) = backprop(net, x, y);
    let loss = crate::reference::scalar::to_f64(loss);
    let (grad, verdict, iterations_run) = match estimator {
        Estimator::Backprop => (bp, None, 0),
        Estimator::Dual(cfg) => {
            let inf = infer(&Problem::new(net, cfg, x, y)?)?;
            let iterations_run = inf.trajectory.len();
            if inf.verdict.failed() {
                return Ok(StepOutcome {
                    loss,
                    verdict: Some(inf.verdict),
                    iterations_run,
                });
            }
            let grad = dual_gradient(net, cfg, &inf.states);
            (grad, Some(inf.verdict), iterations_run)
        }
    };
    adam.update(adam_cfg, net, &grad);
    Ok(StepOutcome {
        loss,
        verdict,
        iterations_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adam's bias correction makes the moments' estimates exact for the first two steps: from zero moments with
    /// gradients g1 then g2, m_hat = (b1 g1 + g2) / (1 + b1) and v_hat = (b2 g1^2 + g2^2) / (1 + b2) at t = 2, and
    /// m_hat = g1, v_hat = g1^2 at t = 1. Route: these closed forms, independent of [`AdamStep`]'s recurrences
    /// (the kernels now call the same step, so their agreement no longer checks it).
    #[test]
    fn first_two_steps_match_closed_forms() {
        let cfg = AdamConfig {
            learning_rate: 1e-2,
            ..AdamConfig::default()
        };
        let (b1, b2, lr, eps) = (cfg.beta1, cfg.beta2, cfg.learning_rate, cfg.epsilon);
        for (p0, g1, g2) in [(0.3, 0.7, -0.2), (-1.5, -2e-3, 5.0), (2.0, 0.0, 1e-4)] {
            let (mut p, mut m, mut v) = (p0, 0.0, 0.0);
            AdamStep::<f64>::new(&cfg, 1).unit(&mut p, g1, &mut m, &mut v);
            let p1 = p0 - lr * g1 / ((g1 * g1).sqrt() + eps);
            AdamStep::<f64>::new(&cfg, 2).unit(&mut p, g2, &mut m, &mut v);
            let m_hat = (b1 * g1 + g2) / (1.0 + b1);
            let v_hat = (b2 * g1 * g1 + g2 * g2) / (1.0 + b2);
            let p2 = p1 - lr * m_hat / (v_hat.sqrt() + eps);
            // A few roundings of each side: 8 ulps relative to the step's scale.
            let tol = 8.0 * f64::EPSILON * (p0.abs() + lr);
            assert!((p - p2).abs() <= tol, "p {p} vs closed form {p2}");
        }
    }
}
