//! The training loop's kernel: feed-forward, gradient estimate (a dual-propagation variant or back-propagation)
//! and Adam, on a workspace allocated once ([`crate::reference::train_step`]'s twin).

use crate::error::{Error, Result};
use crate::reference::inference::resolve_damping;
use crate::reference::problem::{validate_damping, Problem};
use crate::reference::scalar::{c, to_f64};
use crate::reference::{
    AdamConfig, AdamState, Config, DualState, Estimator, Gradients, Matrix, Network, StepOutcome,
    Verdict,
};

use super::dense::forward;
use super::gradient::{backprop, dual_gradient};
use super::inference::{infer, KernelInference, SweepOutcome};
use super::workspace::Workspace;
use super::{adam, KernelFloat, KernelOptions};

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
                validate_damping(net, cfg)?;
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

    /// The tuning knobs in force (threads, early exit).
    pub fn options(&self) -> KernelOptions {
        self.opts
    }

    /// Replaces the tuning knobs (threads, early exit) in place.
    pub fn set_options(&mut self, opts: KernelOptions) {
        self.opts = opts;
    }

    /// How each step estimates the gradient (a DP variant's configuration or back-propagation).
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

    /// Checks the batch and runs the feed-forward pass (states and pre-activations left in the workspace).
    /// Returns the mean unweighted loss of the prediction and the feed-forward scale of the verdict.
    fn feed_forward(&mut self, x: &[T], y: &[T], batch: usize) -> Result<(f64, f64)> {
        self.ws.check_batch(x, Some(y), batch)?;
        self.ws.macs = 0;
        let depth = self.net.depth();
        let scale = forward(&self.net, &mut self.ws, x, batch, self.opts.par());
        let n_out = self.ws.widths[depth];
        let out = &self.ws.plus[depth][..n_out * batch];
        let sum = self.net.loss.value_rows(out, y, n_out);
        Ok((to_f64(sum / c::<T>(batch as f64)), scale))
    }

    /// From the feed-forward states: the trainer's dual inference, then its gradient estimate in `ws.grad`
    /// (skipped after a failed verdict unless `even_if_failed`).
    fn dual_estimate(
        &mut self,
        cfg: &Config,
        x: &[T],
        y: &[T],
        batch: usize,
        scale: f64,
        even_if_failed: bool,
    ) -> SweepOutcome {
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
        if even_if_failed || !outcome.verdict.failed() {
            dual_gradient(&self.net, cfg, &mut self.ws, batch, self.opts.par());
        }
        outcome
    }

    /// One training step on `x` (row-major `[batch, in]`) and `y` (row-major `[batch, out]`): the estimate, then
    /// Adam. On a failed verdict the weights and Adam's state are not updated.
    pub fn step(&mut self, x: &[T], y: &[T], batch: usize) -> Result<StepOutcome> {
        let (loss, scale) = self.feed_forward(x, y, batch)?;
        let (verdict, iterations_run) = match self.estimator {
            Estimator::Backprop => {
                backprop(&self.net, &mut self.ws, x, y, batch, self.opts.par());
                (None, 0)
            }
            Estimator::Dual(cfg) => {
                // Dampened original DP: L_k from the current weights, once per step (as the follow-up code does).
                let cfg = resolve_damping(&self.net, &cfg)?;
                let o = self.dual_estimate(&cfg, x, y, batch, scale, false);
                (Some(o.verdict), o.iterations_run)
            }
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
        Ok(StepOutcome {
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
        // One feed-forward pass serves both: back-propagation reads the states and leaves them in place.
        let (_, scale) = self.feed_forward(x, y, batch)?;
        backprop(&self.net, &mut self.ws, x, y, batch, self.opts.par());
        let bp = self.ws.grad.clone();
        let verdict = match self.estimator {
            Estimator::Backprop => None,
            Estimator::Dual(cfg) => {
                let cfg = resolve_damping(&self.net, &cfg)?;
                Some(self.dual_estimate(&cfg, x, y, batch, scale, true).verdict)
            }
        };
        Ok((self.ws.grad.clone(), bp, verdict))
    }
}

/// One inference with its gradient estimate on a fresh workspace (allocates; for tests and fuzzing).
/// The problem is the reference's ([`crate::reference::infer`]).
pub fn infer_batch<T: KernelFloat>(
    problem: &Problem<T>,
    early_exit: bool,
) -> Result<KernelInference<T>> {
    let opts = KernelOptions {
        early_exit,
        ..KernelOptions::default()
    };
    infer_batch_with(problem, &opts)
}

/// [`infer_batch`] with every knob.
pub fn infer_batch_with<T: KernelFloat>(
    problem: &Problem<T>,
    opts: &KernelOptions,
) -> Result<KernelInference<T>> {
    let (net, x, y) = (problem.net(), problem.x(), problem.y());
    let cfg = &resolve_damping(net, problem.cfg())?;
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
