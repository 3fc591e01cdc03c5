//! The training loop's kernel: feed-forward, gradient estimate (a dual-propagation variant or back-propagation)
//! and Adam, on a workspace allocated once ([`crate::reference::train_step`]'s twin).

use crate::error::{Error, Result};
use crate::reference::scalar::{c, to_f64};
use crate::reference::{
    AdamConfig, AdamState, Config, DualState, Estimator, Gradients, Matrix, Network, Verdict,
};

use super::dense::forward;
use super::elementwise::loss_value;
use super::gradient::{backprop, dual_gradient};
use super::inference::{infer, KernelInference, SweepOutcome};
use super::workspace::Workspace;
use super::{adam, KernelFloat, KernelOptions};

/// What one training step reports.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelStep {
    /// Mean unweighted loss of the feed-forward prediction on the batch, before the update.
    pub loss: f64,
    /// Inference verdict (None for back-propagation). When it failed, the weights were not updated.
    pub verdict: Option<Verdict>,
    /// Inference iterations actually run (0 for back-propagation; less than K after an early exit).
    pub iterations_run: usize,
}

/// A network, its estimator, Adam's state and a workspace: trains on batches of at most `max_batch` samples
/// without allocating.
#[derive(Debug, Clone)]
pub struct Trainer<T: KernelFloat> {
    net: Network<T>,
    estimator: Estimator,
    adam_cfg: AdamConfig,
    adam: AdamState<T>,
    ws: Workspace<T>,
    opts: KernelOptions,
    /// The schedule's layer order (fixed with the estimator).
    order: Vec<usize>,
}

impl<T: KernelFloat> Trainer<T> {
    /// A trainer starting from `net` with fresh Adam moments.
    pub fn new(
        net: &Network<T>,
        estimator: Estimator,
        adam: AdamConfig,
        max_batch: usize,
    ) -> Result<Self> {
        let state = AdamState::new(net);
        Self::from_parts(net, estimator, adam, state, max_batch)
    }

    /// A trainer resuming from a checkpoint: the network and Adam's moments and step count as saved.
    pub fn from_parts(
        net: &Network<T>,
        estimator: Estimator,
        adam_cfg: AdamConfig,
        adam_state: AdamState<T>,
        max_batch: usize,
    ) -> Result<Self> {
        net.validate()?;
        let order = match &estimator {
            Estimator::Dual(cfg) => {
                cfg.validate(net.loss)?;
                cfg.schedule.layer_order(net.depth())
            }
            Estimator::Backprop => Vec::new(),
        };
        let like = AdamState::new(net);
        let same_shape = |a: &Gradients<T>, b: &Gradients<T>| {
            a.w.len() == b.w.len()
                && a.w.iter().zip(&b.w).all(|(x, y)| x.shape() == y.shape())
                && a.b.iter().zip(&b.b).all(|(x, y)| x.len() == y.len())
        };
        if !same_shape(&adam_state.m, &like.m) || !same_shape(&adam_state.v, &like.v) {
            return Err(Error::Format(
                "Adam state does not have the network's shape".into(),
            ));
        }
        Ok(Self {
            ws: Workspace::new(&net.widths(), max_batch)?,
            net: net.clone(),
            estimator,
            adam_cfg,
            adam: adam_state,
            opts: KernelOptions::default(),
            order,
        })
    }

    /// Replaces the tuning knobs (threads, early exit).
    pub fn with_options(mut self, opts: KernelOptions) -> Self {
        self.opts = opts;
        self
    }

    pub fn options(&self) -> KernelOptions {
        self.opts
    }

    pub fn set_options(&mut self, opts: KernelOptions) {
        self.opts = opts;
    }

    pub fn estimator(&self) -> &Estimator {
        &self.estimator
    }

    /// The current weights.
    pub fn network(&self) -> Network<T> {
        self.net.clone()
    }

    /// The current weights, borrowed.
    pub fn network_ref(&self) -> &Network<T> {
        &self.net
    }

    /// Adam's moments and step count (with [`Trainer::network`], a checkpoint).
    pub fn adam_state(&self) -> AdamState<T> {
        self.adam.clone()
    }

    /// Multiply-adds executed by the dense products of the last [`Trainer::step`] (or [`Trainer::predict`];
    /// for [`Trainer::gradients`], of its last estimate).
    pub fn last_macs(&self) -> u64 {
        self.ws.macs
    }

    /// Bytes of the workspace (states, scratch, one gradient), without weights and Adam's moments.
    pub fn workspace_bytes(&self) -> usize {
        self.ws.bytes()
    }

    /// Bytes of everything the trainer holds: workspace, weights, Adam's two moments.
    pub fn total_bytes(&self) -> usize {
        let params: usize = self
            .net
            .layers
            .iter()
            .map(|l| l.w.as_slice().len() + l.b.len())
            .sum();
        self.ws.bytes() + 3 * params * std::mem::size_of::<T>()
    }

    /// Feed-forward outputs for `x` (row-major `[batch, in]`) into `out` (row-major `[batch, out]`).
    pub fn predict(&mut self, x: &[T], batch: usize, out: &mut [T]) -> Result<()> {
        self.ws.check_batch(x, None, batch)?;
        let depth = self.net.depth();
        let len = self.ws.widths[depth] * batch;
        if out.len() != len {
            return Err(Error::Shape {
                what: "out (row-major [batch, out] data length)".into(),
                expected: (batch, self.ws.widths[depth]),
                got: (out.len(), 1),
            });
        }
        self.ws.macs = 0;
        forward(&self.net, &mut self.ws, x, batch, self.opts.par());
        out.copy_from_slice(&self.ws.plus[depth][..len]);
        Ok(())
    }

    /// Feed-forward, loss, and the estimator's gradient in `ws.grad` (None for a failed inference).
    fn estimate(
        &mut self,
        x: &[T],
        y: &[T],
        batch: usize,
        estimator: &Estimator,
    ) -> Result<(f64, Option<SweepOutcome>)> {
        self.ws.check_batch(x, Some(y), batch)?;
        self.ws.macs = 0;
        let par = self.opts.par();
        let depth = self.net.depth();
        let scale = forward(&self.net, &mut self.ws, x, batch, par);
        let n_out = self.ws.widths[depth];
        let sum = loss_value(
            self.net.loss,
            &self.ws.plus[depth][..n_out * batch],
            y,
            n_out,
        );
        let loss = to_f64(sum / c::<T>(batch as f64));
        match estimator {
            Estimator::Backprop => {
                backprop(&self.net, &mut self.ws, x, y, batch, par);
                Ok((loss, None))
            }
            Estimator::Dual(cfg) => {
                // The only dual estimator is the trainer's own, whose layer order is kept in `order`.
                let outcome = infer(
                    &self.net,
                    cfg,
                    &self.order,
                    &mut self.ws,
                    x,
                    y,
                    batch,
                    scale,
                    &self.opts,
                );
                if !outcome.verdict.failed() {
                    dual_gradient(&self.net, cfg, &mut self.ws, batch, par);
                }
                Ok((loss, Some(outcome)))
            }
        }
    }

    /// One training step on `x` (row-major `[batch, in]`) and `y` (row-major `[batch, out]`): the estimate, then
    /// Adam. On a failed verdict the weights and Adam's state are not updated.
    pub fn step(&mut self, x: &[T], y: &[T], batch: usize) -> Result<KernelStep> {
        let estimator = self.estimator;
        let (loss, outcome) = self.estimate(x, y, batch, &estimator)?;
        let (verdict, iterations_run) = match outcome {
            Some(o) => (Some(o.verdict), o.iterations_run),
            None => (None, 0),
        };
        if !verdict.as_ref().is_some_and(Verdict::failed) {
            adam::update(
                &mut self.adam,
                &self.adam_cfg,
                &mut self.net,
                &self.ws.grad,
                self.opts.threads,
            );
        }
        Ok(KernelStep {
            loss,
            verdict,
            iterations_run,
        })
    }

    /// The estimate and the exact back-propagation gradient on the current weights and the same batch, without
    /// an update (for the alignment figures). For back-propagation both are the same gradient. On a failed
    /// verdict the estimate is whatever the failed states give (possibly non-finite).
    pub fn gradients(
        &mut self,
        x: &[T],
        y: &[T],
        batch: usize,
    ) -> Result<(Gradients<T>, Gradients<T>, Option<Verdict>)> {
        self.estimate(x, y, batch, &Estimator::Backprop)?;
        let bp = self.ws.grad.clone();
        let estimator = self.estimator;
        let verdict = match estimator {
            Estimator::Backprop => None,
            Estimator::Dual(cfg) => {
                let (_, outcome) = self.estimate(x, y, batch, &estimator)?;
                let outcome = outcome.expect("a dual estimator returns an outcome");
                if outcome.verdict.failed() {
                    dual_gradient(&self.net, &cfg, &mut self.ws, batch, self.opts.par());
                }
                Some(outcome.verdict)
            }
        };
        Ok((self.ws.grad.clone(), bp, verdict))
    }
}

/// One inference with its gradient estimate on a fresh workspace (allocates; for tests and fuzzing).
/// `x` is `[batch, in]`, `y` `[batch, out]`, as for [`crate::reference::infer`].
pub fn infer_batch<T: KernelFloat>(
    net: &Network<T>,
    cfg: &Config,
    x: &Matrix<T>,
    y: &Matrix<T>,
    early_exit: bool,
) -> Result<KernelInference<T>> {
    infer_batch_with(
        net,
        cfg,
        x,
        y,
        &KernelOptions {
            early_exit,
            ..KernelOptions::default()
        },
    )
}

/// [`infer_batch`] with every knob.
pub fn infer_batch_with<T: KernelFloat>(
    net: &Network<T>,
    cfg: &Config,
    x: &Matrix<T>,
    y: &Matrix<T>,
    opts: &KernelOptions,
) -> Result<KernelInference<T>> {
    net.validate()?;
    net.validate_batch(x, y)?;
    cfg.validate(net.loss)?;
    let batch = x.rows();
    let mut ws = Workspace::new(&net.widths(), batch)?;
    let par = opts.par();
    let (xs, ys) = (x.as_slice(), y.as_slice());
    let scale = forward(net, &mut ws, xs, batch, par);
    let order = cfg.schedule.layer_order(net.depth());
    let outcome = infer(net, cfg, &order, &mut ws, xs, ys, batch, scale, opts);
    dual_gradient(net, cfg, &mut ws, batch, par);
    let widths = net.widths();
    let take = |bufs: &[Vec<T>]| -> Vec<Matrix<T>> {
        std::iter::once(x.clone())
            .chain((1..=net.depth()).map(|k| {
                Matrix::from_vec(batch, widths[k], bufs[k][..widths[k] * batch].to_vec())
                    .expect("workspace buffers hold [width, batch]")
            }))
            .collect()
    };
    Ok(KernelInference {
        states: DualState {
            plus: take(&ws.plus),
            minus: take(&ws.minus),
        },
        gradient: ws.grad,
        verdict: outcome.verdict,
        iterations_run: outcome.iterations_run,
    })
}

impl<T: KernelFloat> Trainer<T> {
    /// Fills every workspace buffer with NaN (for tests: a later result that depends on an element the kernels
    /// failed to write shows up as NaN).
    #[doc(hidden)]
    pub fn poison_workspace(&mut self) {
        self.ws.fill(T::nan());
    }
}
