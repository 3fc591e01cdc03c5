//! The roofline: faer's matrix multiply alone at the shapes of one back-propagation training step.

use std::time::Duration;

use crate::kernels::dense::{dense_product, gradient_product, Exec, WeightOp};
use crate::kernels::KernelFloat;
use crate::reference::scalar::c;
use crate::reference::Matrix;

use super::measurement::time_median;

/// faer's matrix multiply alone at the shapes of one back-propagation training step (forward W z, backward
/// W^T e except for the first layer, weight gradient e z^T), in the kernels' layouts, on buffers of its own.
/// Its GFLOP/s is the roofline the training steps are compared with.
pub struct Roofline<T> {
    widths: Vec<usize>,
    batch: usize,
    w: Vec<Matrix<T>>,
    g: Vec<Vec<T>>,
    src: Vec<T>,
    dst: Vec<T>,
}

impl<T: KernelFloat> Roofline<T> {
    /// Buffers for the products of a step of the network `widths` at `batch` samples.
    pub fn new(widths: &[usize], batch: usize) -> Self {
        let depth = widths.len() - 1;
        let widest = widths.iter().copied().max().unwrap_or(1);
        let value = |i: usize| c::<T>(((i % 7) as f64 - 3.0) * 0.01);
        let fill = |n: usize| -> Vec<T> { (0..n).map(value).collect() };
        Self {
            widths: widths.to_vec(),
            batch,
            w: (0..depth)
                .map(|k| Matrix::from_fn(widths[k + 1], widths[k], |i, j| value(i * widths[k] + j)))
                .collect(),
            g: (0..depth)
                .map(|k| fill(widths[k] * widths[k + 1]))
                .collect(),
            src: fill(widest * batch),
            dst: fill(widest * batch),
        }
    }

    /// Runs every product once; returns the multiply-adds executed.
    pub fn run(&mut self, par: Exec) -> u64 {
        let (widths, batch) = (&self.widths, self.batch);
        let mut macs = 0u64;
        for k in 1..widths.len() {
            let (out, inp) = (widths[k], widths[k - 1]);
            let w = &self.w[k - 1];
            // No feedback into the input layer.
            let ops: &[WeightOp] = if k > 1 {
                &[WeightOp::Forward, WeightOp::Transpose]
            } else {
                &[WeightOp::Forward]
            };
            for &op in ops {
                dense_product(w, op, &self.src, batch, &mut self.dst, par, &mut macs);
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
    par: Exec,
    warmup: usize,
    reps: usize,
) -> (u64, Duration) {
    let mut r = Roofline::<T>::new(widths, batch);
    let mut macs = 0;
    let time = time_median(warmup, reps, || macs = r.run(par));
    (macs, time)
}

/// GFLOP/s of `macs` multiply-adds (2 flops each) in `seconds`.
pub fn gflops(macs: u64, seconds: f64) -> f64 {
    2.0 * macs as f64 / seconds / 1e9
}

/// Side of the square GEMM that stands for the machine's practical peak: 1024^3 multiply-adds (about 10 ms at
/// 200 GFLOP/s), large enough for faer's blocking to reach its best rate.
pub const PEAK_SIDE: usize = 1024;

/// faer's rate on one square `PEAK_SIDE` GEMM (best of `reps`), GFLOP/s: the practical peak the products of a
/// step are bounded by with these threads.
pub fn square_peak<T: KernelFloat>(par: Exec, reps: usize) -> f64 {
    let n = PEAK_SIDE;
    let value = |i: usize| c::<T>(((i % 7) as f64 - 3.0) * 0.01);
    let w = Matrix::from_fn(n, n, |i, j| value(i * n + j));
    let src: Vec<T> = (0..n * n).map(value).collect();
    let mut dst = src.clone();
    let mut macs = 0u64;
    let mut best = f64::INFINITY;
    for _ in 0..=reps.max(1) {
        macs = 0;
        let start = std::time::Instant::now();
        dense_product(&w, WeightOp::Forward, &src, n, &mut dst, par, &mut macs);
        best = best.min(start.elapsed().as_secs_f64());
    }
    gflops(macs, best)
}
