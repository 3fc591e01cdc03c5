//! Where a training step's time goes, phase by phase, for ours and the JAX peer measured the same way: the
//! cumulative stages of a step (feed-forward; + inference; + gradient) and Adam are each timed on their own (best
//! of a few repetitions), and the products inside a stage are charged at the GEMM rate measured in the same run
//! (faer's roofline for ours, XLA's for the peer), the rest of the stage being elementwise work.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::kernels::{adam, dense, gradient, inference, KernelFloat, Trainer, Workspace};
use crate::reference::{AdamConfig, AdamState};

use super::workload::{batch, paper_network, EstimatorId, PAPER_BATCH, PAPER_WIDTHS};
use super::Plan;

/// A phase of a training step, in the table's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The feed-forward pass (its products, bias and activation), measured.
    FeedForward,
    /// The inference sweep's products (back-propagation: its backward products W^T e), at the GEMM rate.
    SweepProducts,
    /// What the inference and gradient stages spend beyond their products (nudges, means, masks, differences).
    Elementwise,
    /// The weight-gradient products e z^T, at the GEMM rate.
    GradientProducts,
    /// The Adam update, measured.
    Adam,
    /// The whole step minus the stages above (loss, checks, bookkeeping, and the timing's own noise).
    Other,
}

impl Phase {
    /// Every phase, in the table's order.
    pub const ALL: [Phase; 6] = [
        Self::FeedForward,
        Self::SweepProducts,
        Self::Elementwise,
        Self::GradientProducts,
        Self::Adam,
        Self::Other,
    ];

    /// The table's wording.
    pub fn label(self) -> &'static str {
        match self {
            Self::FeedForward => "feed-forward",
            Self::SweepProducts => "sweep (backward) products",
            Self::Elementwise => "elementwise updates",
            Self::GradientProducts => "gradient products",
            Self::Adam => "Adam",
            Self::Other => "other",
        }
    }
}

/// The measured stages of a step (seconds) and the multiply-adds of its products.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stages {
    /// A whole training step.
    pub step_s: f64,
    /// The feed-forward pass alone.
    pub forward_s: f64,
    /// Feed-forward + inference sweep (= forward_s for back-propagation).
    pub inference_s: f64,
    /// Feed-forward + inference + gradient.
    pub gradient_s: f64,
    /// The Adam update alone.
    pub adam_s: f64,
    /// Multiply-adds of the sweep's (back-propagation: backward) products.
    pub sweep_macs: u64,
    /// Multiply-adds of the weight-gradient products.
    pub gradient_macs: u64,
}

/// One step's phases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The whole step (best of the repetitions), seconds.
    pub step_s: f64,
    /// The GEMM rate the products were charged at, GFLOP/s.
    pub gemm_gflops: f64,
    /// Seconds of each phase; they add up to `step_s`.
    pub phases_s: BTreeMap<Phase, f64>,
}

/// Splits the measured stages into phases, charging `sweep_macs` and `gradient_macs` at `gemm_gflops`.
/// Differences are kept as measured (a negative "other" says the stages timed alone were slower than the step).
pub fn split(st: &Stages, gemm_gflops: f64) -> Profile {
    let at_rate = |macs: u64| 2.0 * macs as f64 / (gemm_gflops * 1e9);
    let sweep = at_rate(st.sweep_macs);
    let grad = at_rate(st.gradient_macs);
    let stages = st.gradient_s - st.forward_s;
    let phases_s = BTreeMap::from([
        (Phase::FeedForward, st.forward_s),
        (Phase::SweepProducts, sweep),
        (Phase::Elementwise, stages - sweep - grad),
        (Phase::GradientProducts, grad),
        (Phase::Adam, st.adam_s),
        (Phase::Other, st.step_s - st.gradient_s - st.adam_s),
    ]);
    Profile {
        step_s: st.step_s,
        gemm_gflops,
        phases_s,
    }
}

/// Multiply-adds of the weight-gradient products of one step: B P.
pub fn gradient_macs(widths: &[usize], batch: usize) -> u64 {
    let p: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
    (batch * p) as u64
}

fn best(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

/// Our stages of `id`'s step on the paper's network, in the plan's default thread mode.
pub fn our_stages<T: KernelFloat>(id: EstimatorId, plan: &Plan) -> Result<Stages> {
    let (w, b) = (PAPER_WIDTHS, PAPER_BATCH);
    let reps = plan.reps.max(3);
    let opts = id.options(plan.options());
    let par = opts.par();
    let mut net = paper_network::<T>(&w, 0)?;
    let (x, y) = batch::<T>(&w, b, 1);
    let mut ws = Workspace::<T>::new(&w, b)?;
    let forward_s = best(reps, || {
        dense::forward(&net, &mut ws, &x, b, par);
    });
    ws.macs = 0;
    dense::forward(&net, &mut ws, &x, b, par);
    let forward_macs = ws.macs;
    let cfg = id.config();
    let order = cfg.map(|c| c.schedule.layer_order(net.depth()));
    let run = |ws: &mut Workspace<T>, with_gradient: bool| {
        let scale = dense::forward(&net, ws, &x, b, par);
        match (&cfg, &order) {
            (Some(cfg), Some(order)) => {
                inference::infer(&net, cfg, order, ws, &x, &y, b, scale, &opts);
                if with_gradient {
                    gradient::dual_gradient(&net, cfg, ws, b, par);
                }
            }
            _ if with_gradient => gradient::backprop(&net, ws, &x, &y, b, par),
            _ => {}
        }
    };
    let inference_s = best(reps, || run(&mut ws, false));
    let gradient_s = best(reps, || run(&mut ws, true));
    ws.macs = 0;
    run(&mut ws, true);
    let gradient_macs = gradient_macs(&w, b);
    let sweep_macs = ws.macs - forward_macs - gradient_macs;
    let grad = ws.gradient().clone();
    let mut state = AdamState::new(&net);
    let adam_cfg = AdamConfig::default();
    let adam_s = best(reps, || {
        adam::update(&mut state, &adam_cfg, &mut net, &grad, opts.threads)
    });
    let net = paper_network::<T>(&w, 0)?;
    let mut trainer = Trainer::new(&net, id.estimator(), adam_cfg, b)?.with_options(opts);
    let step_s = best(reps, || {
        let _ = trainer.step(&x, &y, b);
    });
    Ok(Stages {
        step_s,
        forward_s,
        inference_s,
        gradient_s,
        adam_s,
        sweep_macs,
        gradient_macs,
    })
}

/// The peer's stages from its cumulative timings (`jax_peer.py`'s "phases" reply) and its interleaved step
/// median; the multiply-adds are ours (the same products: the peer runs every sweep, so its K=1 twin has the
/// same count as ours).
pub fn peer_stages(t: &BTreeMap<String, f64>, step_s: f64, ours: &Stages) -> Option<Stages> {
    Some(Stages {
        step_s,
        forward_s: *t.get("forward")?,
        inference_s: *t.get("forward_inference")?,
        gradient_s: *t.get("forward_inference_gradient")?,
        adam_s: *t.get("adam")?,
        ..*ours
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Route: the phases worked out by hand (2 x 1e9 flops at 100 GFLOP/s = 20 ms).
    #[test]
    fn split_charges_products_at_the_rate_and_adds_up() {
        let st = Stages {
            step_s: 0.100,
            forward_s: 0.020,
            inference_s: 0.050,
            gradient_s: 0.080,
            adam_s: 0.015,
            sweep_macs: 1_000_000_000,
            gradient_macs: 500_000_000,
        };
        let p = split(&st, 100.0);
        let ms = |ph| (p.phases_s[&ph] * 1e3 * 1e6).round() / 1e6;
        assert_eq!(ms(Phase::FeedForward), 20.0);
        assert_eq!(ms(Phase::SweepProducts), 20.0);
        assert_eq!(ms(Phase::GradientProducts), 10.0);
        assert_eq!(ms(Phase::Elementwise), 30.0);
        assert_eq!(ms(Phase::Adam), 15.0);
        assert_eq!(ms(Phase::Other), 5.0);
        let total: f64 = p.phases_s.values().sum();
        assert!((total - st.step_s).abs() < 1e-12);
    }
}
