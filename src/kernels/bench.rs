//! Shared pieces of the benchmarks (`benches/kernels.rs`) and `dualprop perf`: the paper's network, seeded
//! batches, the estimators measured, and faer's matrix multiply at the shapes of a training step (the roofline).

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::error::Result;
use crate::reference::scalar::c;
use crate::reference::{Activation, Config, Estimator, Init, Loss, Method, Network};

use super::dense::{feedback_product, forward_product, gradient_product};
use super::KernelFloat;

/// The paper's MNIST network (Table 1).
pub const PAPER_WIDTHS: [usize; 6] = [784, 1000, 1000, 1000, 1000, 10];
/// The paper's batch size.
pub const PAPER_BATCH: usize = 100;

/// The paper's network with PyTorch's default initialisation, seeded.
pub fn paper_network<T: KernelFloat>(widths: &[usize], seed: u64) -> Result<Network<T>> {
    Network::init(
        widths,
        Activation::Relu,
        Loss::LeastSquares,
        Init::TorchDefault,
        seed,
    )
}

/// A seeded MNIST-like batch: pixels uniform in [0, 1], one-hot targets (row-major `[batch, width]`).
pub fn batch<T: KernelFloat>(widths: &[usize], batch: usize, seed: u64) -> (Vec<T>, Vec<T>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (n_in, n_out) = (widths[0], widths[widths.len() - 1]);
    let x = (0..batch * n_in)
        .map(|_| c::<T>(rng.random_range(0.0..1.0)))
        .collect();
    let mut y = vec![T::zero(); batch * n_out];
    for b in 0..batch {
        y[b * n_out + rng.random_range(0..n_out)] = T::one();
    }
    (x, y)
}

/// The estimators of the performance table, with their labels: back-propagation, DP+ at K = 1 and K = 30,
/// original DP at K = 30 (alpha = 0, beta = 1/2 as in Table 1).
pub fn estimators() -> Vec<(&'static str, Estimator)> {
    vec![
        ("back-propagation", Estimator::Backprop),
        (
            "DP+ K=1",
            Estimator::Dual(Config::new(Method::DpPlus, 0.0, 0.5, 1)),
        ),
        (
            "DP+ K=30",
            Estimator::Dual(Config::new(Method::DpPlus, 0.0, 0.5, 30)),
        ),
        (
            "original DP K=30",
            Estimator::Dual(Config::new(Method::OriginalDp, 0.0, 0.5, 30)),
        ),
    ]
}

/// Multiply-adds of one back-propagation training step: forward and weight gradients over every layer, the
/// backward products over every layer but the first (B (3P - P_1), P the weight count).
pub fn backprop_macs(widths: &[usize], batch: usize) -> u64 {
    let p: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
    let p1 = widths[0] * widths[1];
    (batch * (3 * p - p1)) as u64
}

/// Median of the durations.
pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Times `f` `reps` times after `warmup` calls; returns the median.
pub fn time_median(warmup: usize, reps: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..warmup {
        f();
    }
    let times = (0..reps.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    median(times)
}

/// faer's matrix multiply alone at the shapes of one back-propagation training step (forward W z, backward
/// W^T e except for the first layer, weight gradient e z^T), in the kernels' layouts, on buffers of its own.
/// Its GFLOP/s is the roofline the training steps are compared with.
pub struct Roofline<T> {
    widths: Vec<usize>,
    batch: usize,
    w: Vec<Vec<T>>,
    g: Vec<Vec<T>>,
    src: Vec<T>,
    dst: Vec<T>,
}

impl<T: KernelFloat> Roofline<T> {
    pub fn new(widths: &[usize], batch: usize) -> Self {
        let depth = widths.len() - 1;
        let widest = widths.iter().copied().max().unwrap_or(1);
        let fill = |n: usize| -> Vec<T> {
            (0..n)
                .map(|i| c::<T>(((i % 7) as f64 - 3.0) * 0.01))
                .collect()
        };
        Self {
            widths: widths.to_vec(),
            batch,
            w: (0..depth)
                .map(|k| fill(widths[k] * widths[k + 1]))
                .collect(),
            g: (0..depth)
                .map(|k| fill(widths[k] * widths[k + 1]))
                .collect(),
            src: fill(widest * batch),
            dst: fill(widest * batch),
        }
    }

    /// Runs every product once; returns the multiply-adds executed.
    pub fn run(&mut self, par: super::dense::Exec) -> u64 {
        let (widths, batch) = (&self.widths, self.batch);
        let mut macs = 0u64;
        for k in 1..widths.len() {
            let (out, inp) = (widths[k], widths[k - 1]);
            let w = &self.w[k - 1];
            forward_product(w, out, inp, &self.src, batch, &mut self.dst, par, &mut macs);
            if k > 1 {
                feedback_product(w, out, inp, &self.src, batch, &mut self.dst, par, &mut macs);
            }
            let g = &mut self.g[k - 1];
            gradient_product(
                &self.src,
                out,
                &self.dst,
                inp,
                batch,
                T::one(),
                g,
                par,
                &mut macs,
            );
        }
        macs
    }
}

/// [`Roofline`] timed alone: (multiply-adds, median time).
pub fn roofline<T: KernelFloat>(
    widths: &[usize],
    batch: usize,
    par: super::dense::Exec,
    warmup: usize,
    reps: usize,
) -> (u64, Duration) {
    let mut r = Roofline::<T>::new(widths, batch);
    let mut macs = 0;
    let time = time_median(warmup, reps, || macs = r.run(par));
    (macs, time)
}
