//! What a training loop needs from whatever computes the steps: the [`Engine`] trait, and its implementation
//! over the readable reference (slow; for tiny nets in tests, and as the judge of the fast engine).

use crate::error::Result;
use crate::kernels::KernelFloat;
use crate::reference::{
    backprop, dual_gradient, infer, train_step, AdamConfig, AdamState, Estimator, Gradients,
    Matrix, Network, Problem, Scalar, StepOutcome, Verdict,
};

/// Gradient estimate and back-propagation gradient on the same weights and batch.
pub struct GradientPair<T> {
    /// The run's estimator's gradient (the dual estimate, or back-propagation's own).
    pub estimate: Gradients<T>,
    /// The exact back-propagation gradient.
    pub backprop: Gradients<T>,
    /// The estimate's inference verdict; None when the estimator is back-propagation.
    pub verdict: Option<Verdict>,
}

/// A trainer holding a network and its Adam state. Batches are row-major: x [batch, in], y [batch, out].
pub trait Engine<T> {
    /// One gradient estimate and Adam update.
    fn step(&mut self, x: &[T], y: &[T], batch: usize) -> Result<StepOutcome>;
    /// Feed-forward outputs [batch, out] into `out`.
    fn predict(&mut self, x: &[T], batch: usize, out: &mut [T]) -> Result<()>;
    /// The estimator's gradient and the back-propagation gradient, without updating anything.
    fn gradients(&mut self, x: &[T], y: &[T], batch: usize) -> Result<GradientPair<T>>;
    /// Copies of the current network and Adam state (what a checkpoint holds).
    fn snapshot(&self) -> (Network<T>, AdamState<T>);
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
    /// An engine over a validated network, with the estimator, Adam's settings and its state (fresh or resumed).
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
    fn step(&mut self, x: &[T], y: &[T], batch: usize) -> Result<StepOutcome> {
        let (x, y) = self.matrices(x, y, batch)?;
        train_step(
            &mut self.net,
            &self.estimator,
            &self.adam_cfg,
            &mut self.adam,
            &x,
            &y,
        )
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
                let inf = infer(&Problem::new(&self.net, cfg, &x, &y)?)?;
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

    fn snapshot(&self) -> (Network<T>, AdamState<T>) {
        (self.net.clone(), self.adam.clone())
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
    /// An engine over a network, with its Adam state, sized for batches of at most `max_batch` examples.
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
    fn step(&mut self, x: &[T], y: &[T], batch: usize) -> Result<StepOutcome> {
        self.trainer.step(x, y, batch)
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

    fn snapshot(&self) -> (Network<T>, AdamState<T>) {
        (self.trainer.network(), self.trainer.adam_state())
    }

    fn name(&self) -> &'static str {
        "kernels"
    }
}
