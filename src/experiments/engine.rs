//! What a training loop needs from whatever computes the steps: the [`Engine`] trait, and its implementation
//! over the readable reference (slow; for tiny nets in tests, and as the judge of the fast engine).

use crate::error::Result;
use crate::kernels::KernelFloat;
use crate::reference::{
    backprop, dual_gradient, infer, train_step, AdamConfig, AdamState, Estimator, Gradients,
    Matrix, Network, Scalar, Verdict,
};

/// One training step's report.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineStep {
    /// Mean unweighted loss of the feed-forward prediction on the batch, before the update.
    pub loss: f64,
    /// Inference verdict (None for back-propagation). When it failed, the weights were not updated.
    pub verdict: Option<Verdict>,
    /// Inference iterations actually run (an exact early exit may stop before K); 0 for back-propagation.
    pub iterations_run: usize,
}

/// Gradient estimate and back-propagation gradient on the same weights and batch.
pub struct GradientPair<T> {
    pub estimate: Gradients<T>,
    pub backprop: Gradients<T>,
    pub verdict: Option<Verdict>,
}

/// A trainer holding a network and its Adam state. Batches are row-major: x [batch, in], y [batch, out].
pub trait Engine<T> {
    /// One gradient estimate and Adam update.
    fn step(&mut self, x: &[T], y: &[T], batch: usize) -> Result<EngineStep>;
    /// Feed-forward outputs [batch, out] into `out`.
    fn predict(&mut self, x: &[T], batch: usize, out: &mut [T]) -> Result<()>;
    /// The estimator's gradient and the back-propagation gradient, without updating anything.
    fn gradients(&mut self, x: &[T], y: &[T], batch: usize) -> Result<GradientPair<T>>;
    /// A copy of the current network.
    fn network(&self) -> Network<T>;
    /// A copy of the current Adam state.
    fn adam_state(&self) -> AdamState<T>;
    /// Short name for reports.
    fn name(&self) -> &'static str;
}

/// The reference engine: [`crate::reference::train_step`] and friends on [`Matrix`] values.
pub struct ReferenceEngine<T> {
    net: Network<T>,
    estimator: Estimator,
    adam_cfg: AdamConfig,
    adam: AdamState<T>,
}

impl<T: Scalar> ReferenceEngine<T> {
    pub fn new(
        net: Network<T>,
        estimator: Estimator,
        adam_cfg: AdamConfig,
        adam: AdamState<T>,
    ) -> Result<Self> {
        net.validate()?;
        Ok(Self {
            net,
            estimator,
            adam_cfg,
            adam,
        })
    }

    fn matrices(&self, x: &[T], y: &[T], batch: usize) -> Result<(Matrix<T>, Matrix<T>)> {
        Ok((
            Matrix::from_vec(batch, self.net.input_width(), x.to_vec())?,
            Matrix::from_vec(batch, self.net.output_width(), y.to_vec())?,
        ))
    }
}

impl<T: Scalar> Engine<T> for ReferenceEngine<T> {
    fn step(&mut self, x: &[T], y: &[T], batch: usize) -> Result<EngineStep> {
        let (x, y) = self.matrices(x, y, batch)?;
        let out = train_step(
            &mut self.net,
            &self.estimator,
            &self.adam_cfg,
            &mut self.adam,
            &x,
            &y,
        )?;
        // The reference always runs all K iterations.
        let iterations_run = match self.estimator {
            Estimator::Dual(cfg) => cfg.iterations,
            Estimator::Backprop => 0,
        };
        Ok(EngineStep {
            loss: out.loss,
            verdict: out.verdict,
            iterations_run,
        })
    }

    fn predict(&mut self, x: &[T], batch: usize, out: &mut [T]) -> Result<()> {
        let x = Matrix::from_vec(batch, self.net.input_width(), x.to_vec())?;
        let z = self.net.forward(&x);
        let last = z[self.net.depth()].as_slice();
        if out.len() != last.len() {
            return Err(crate::Error::Shape {
                what: "prediction buffer".into(),
                expected: (batch, self.net.output_width()),
                got: (out.len(), 1),
            });
        }
        out.copy_from_slice(last);
        Ok(())
    }

    fn gradients(&mut self, x: &[T], y: &[T], batch: usize) -> Result<GradientPair<T>> {
        let (x, y) = self.matrices(x, y, batch)?;
        self.net.validate_batch(&x, &y)?;
        let (_, bp) = backprop(&self.net, &x, &y);
        let (estimate, verdict) = match &self.estimator {
            Estimator::Backprop => (bp.clone(), None),
            Estimator::Dual(cfg) => {
                let inf = infer(&self.net, cfg, &x, &y)?;
                (
                    dual_gradient(&self.net, cfg, &inf.states),
                    Some(inf.verdict),
                )
            }
        };
        Ok(GradientPair {
            estimate,
            backprop: bp,
            verdict,
        })
    }

    fn network(&self) -> Network<T> {
        self.net.clone()
    }

    fn adam_state(&self) -> AdamState<T> {
        self.adam.clone()
    }

    fn name(&self) -> &'static str {
        "reference"
    }
}

/// The fast engine: [`crate::kernels::Trainer`].
pub struct KernelEngine<T: KernelFloat> {
    trainer: crate::kernels::Trainer<T>,
}

impl<T: KernelFloat> KernelEngine<T> {
    pub fn new(
        net: Network<T>,
        estimator: Estimator,
        adam_cfg: AdamConfig,
        adam: AdamState<T>,
        max_batch: usize,
    ) -> Result<Self> {
        Ok(Self {
            trainer: crate::kernels::Trainer::from_parts(
                &net, estimator, adam_cfg, adam, max_batch,
            )?,
        })
    }
}

impl<T: KernelFloat> Engine<T> for KernelEngine<T> {
    fn step(&mut self, x: &[T], y: &[T], batch: usize) -> Result<EngineStep> {
        let s = self.trainer.step(x, y, batch)?;
        Ok(EngineStep {
            loss: s.loss,
            verdict: s.verdict,
            iterations_run: s.iterations_run,
        })
    }

    fn predict(&mut self, x: &[T], batch: usize, out: &mut [T]) -> Result<()> {
        self.trainer.predict(x, batch, out)
    }

    fn gradients(&mut self, x: &[T], y: &[T], batch: usize) -> Result<GradientPair<T>> {
        let (estimate, backprop, verdict) = self.trainer.gradients(x, y, batch)?;
        Ok(GradientPair {
            estimate,
            backprop,
            verdict,
        })
    }

    fn network(&self) -> Network<T> {
        self.trainer.network()
    }

    fn adam_state(&self) -> AdamState<T> {
        self.trainer.adam_state()
    }

    fn name(&self) -> &'static str {
        "kernels"
    }
}
