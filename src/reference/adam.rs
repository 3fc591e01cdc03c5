//! Adam (Kingma and Ba), the optimiser of the paper's experiments, and one reference training step.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::reference::gradient::{backprop, dual_gradient, Gradients};
use crate::reference::inference::{infer, Verdict};
use crate::reference::matrix::Matrix;
use crate::reference::method::Config;
use crate::reference::network::Network;
use crate::reference::scalar::{c, Scalar};

/// Adam hyper-parameters. The defaults are the protocol's (learning rate 3e-5, PyTorch's betas and epsilon).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    pub learning_rate: f64,
    pub beta1: f64,
    pub beta2: f64,
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
    pub m: Gradients<T>,
    pub v: Gradients<T>,
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
        let (b1, b2) = (c::<T>(cfg.beta1), c::<T>(cfg.beta2));
        let bc1 = c::<T>(1.0 - cfg.beta1.powi(self.t as i32));
        let bc2 = c::<T>(1.0 - cfg.beta2.powi(self.t as i32));
        let (lr, eps) = (c::<T>(cfg.learning_rate), c::<T>(cfg.epsilon));
        let one = T::one();
        let step = |p: &mut T, g: T, m: &mut T, v: &mut T| {
            *m = b1 * *m + (one - b1) * g;
            *v = b2 * *v + (one - b2) * g * g;
            let m_hat = *m / bc1;
            let v_hat = *v / bc2;
            *p = *p - lr * m_hat / (v_hat.sqrt() + eps);
        };
        for (k, layer) in net.layers.iter_mut().enumerate() {
            let (gw, mw, vw) = (&grad.w[k], &mut self.m.w[k], &mut self.v.w[k]);
            for i in 0..layer.w.as_slice().len() {
                step(
                    &mut layer.w.as_mut_slice()[i],
                    gw.as_slice()[i],
                    &mut mw.as_mut_slice()[i],
                    &mut vw.as_mut_slice()[i],
                );
            }
            for i in 0..layer.b.len() {
                step(
                    &mut layer.b[i],
                    grad.b[k][i],
                    &mut self.m.b[k][i],
                    &mut self.v.b[k][i],
                );
            }
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
            let inf = infer(net, cfg, x, y)?;
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
