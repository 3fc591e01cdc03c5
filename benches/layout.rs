//! Issue 13's experiments on the dense products, each timed round by round against what the kernels do (the order
//! alternating between rounds, so that a change of load affects both alike): `cargo bench --bench layout [-- rounds]`.
//! docs/performance.md ("Tried") quotes a run.
//! 1. Output layout: W z at a step's shapes into the states' layout (unit index contiguous, what the kernels use)
//!    against into a batch-contiguous buffer followed by the transpose into the states' layout, 1 and 2 threads.
//! 2. Independent work: a back-propagation layer's two independent products (the weight gradient e z^T and the
//!    feedback W^T e) one after the other on two threads each (what the kernels do) against side by side
//!    (`rayon::join`), one thread each, in the states' layout and with the feedback's output batch-contiguous.
//! 3. Fork-join cost: an empty `rayon::join` on the two-thread pool.

use std::time::Instant;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

/// dst (unit-contiguous `[rows, batch]`) = src (batch-contiguous `[rows, batch]`), in cache-sized tiles.
fn transpose_into(src: &[f32], rows: usize, batch: usize, dst: &mut [f32]) {
    const TILE: usize = 32;
    for i0 in (0..rows).step_by(TILE) {
        for b0 in (0..batch).step_by(TILE) {
            for i in i0..(i0 + TILE).min(rows) {
                for b in b0..(b0 + TILE).min(batch) {
                    dst[i + rows * b] = src[i * batch + b];
                }
            }
        }
    }
}

/// The product's operands: W `[out, in]` row-major, z unit-contiguous `[in, batch]`, e unit-contiguous `[out, batch]`.
struct Operands {
    out: usize,
    inp: usize,
    batch: usize,
    w: Vec<f32>,
    z: Vec<f32>,
    e: Vec<f32>,
}

impl Operands {
    fn new(out: usize, inp: usize, batch: usize) -> Self {
        let value = |i: usize| ((i % 7) as f32 - 3.0) * 0.01;
        let fill = |n: usize| (0..n).map(value).collect();
        Self {
            out,
            inp,
            batch,
            w: fill(out * inp),
            z: fill(inp * batch),
            e: fill(out * batch),
        }
    }

    /// GFLOP/s of `products` products of this shape done in `secs`.
    fn gflops(&self, products: usize, secs: f64) -> f64 {
        2.0 * (products * self.out * self.inp * self.batch) as f64 / secs / 1e9
    }

    /// dst `[out, batch]` = W z into the states' layout, or batch-contiguous into `tmp` and then transposed.
    fn forward(&self, dst: &mut [f32], tmp: &mut [f32], by_batch: bool, par: Par) {
        let w = MatRef::from_row_major_slice(&self.w, self.out, self.inp);
        let z = MatRef::from_column_major_slice(&self.z, self.inp, self.batch);
        product(w, z, dst, tmp, by_batch, par);
    }

    /// dst `[in, batch]` = W^T e, in the states' layout or batch-contiguous then transposed.
    fn feedback(&self, dst: &mut [f32], tmp: &mut [f32], by_batch: bool, par: Par) {
        let wt = MatRef::from_column_major_slice(&self.w, self.inp, self.out);
        let e = MatRef::from_column_major_slice(&self.e, self.out, self.batch);
        product(wt, e, dst, tmp, by_batch, par);
    }

    /// G `[out, in]` row-major = e z^T (the weight gradient, as the kernels write it).
    fn gradient(&self, g: &mut [f32], par: Par) {
        let e = MatRef::from_column_major_slice(&self.e, self.out, self.batch);
        let zt = MatRef::from_column_major_slice(&self.z, self.inp, self.batch).transpose();
        let g = MatMut::from_row_major_slice_mut(g, self.out, self.inp);
        matmul(g, Accum::Replace, e, zt, 1.0, par);
    }
}

/// dst `[rows, batch]` (unit-contiguous) = lhs rhs, written directly or batch-contiguous into `tmp` and then
/// transposed.
fn product(
    lhs: MatRef<'_, f32>,
    rhs: MatRef<'_, f32>,
    dst: &mut [f32],
    tmp: &mut [f32],
    by_batch: bool,
    par: Par,
) {
    let (rows, batch) = (lhs.nrows(), rhs.ncols());
    if by_batch {
        let t = MatMut::from_row_major_slice_mut(tmp, rows, batch);
        matmul(t, Accum::Replace, lhs, rhs, 1.0, par);
        transpose_into(tmp, rows, batch, dst);
    } else {
        let d = MatMut::from_column_major_slice_mut(dst, rows, batch);
        matmul(d, Accum::Replace, lhs, rhs, 1.0, par);
    }
}

/// Median and 10-90% range of per-round ratios.
fn ratio_summary(ratio: &mut [f64]) -> (f64, f64, f64) {
    ratio.sort_by(f64::total_cmp);
    let n = ratio.len();
    (ratio[n / 2], ratio[n / 10], ratio[n * 9 / 10])
}

/// Times `a` and `b` alternately for `rounds` rounds (after 5 warm-up rounds); returns their medians (s) and the
/// per-round ratio b / a summarized.
fn paired(
    rounds: usize,
    mut a: impl FnMut() -> f64,
    mut b: impl FnMut() -> f64,
) -> (f64, f64, (f64, f64, f64)) {
    let (mut ta, mut tb, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds + 5 {
        let (x, y) = if round % 2 == 0 {
            let x = a();
            (x, b())
        } else {
            let y = b();
            (a(), y)
        };
        if round >= 5 {
            ta.push(x);
            tb.push(y);
            ratio.push(y / x);
        }
    }
    (median(&mut ta), median(&mut tb), ratio_summary(&mut ratio))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds `f` takes.
fn seconds(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

fn line(
    what: &str,
    a: &str,
    b: &str,
    (ta, tb, (r, lo, hi)): (f64, f64, (f64, f64, f64)),
    rate: impl Fn(f64) -> f64,
) {
    println!(
        "{what}: {a} {:.3} ms ({:.0} GFLOP/s); {b} {:.3} ms ({:.0} GFLOP/s); ratio {r:.2} (10-90%: {lo:.2}-{hi:.2})",
        ta * 1e3,
        rate(ta),
        tb * 1e3,
        rate(tb)
    );
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let two = Par::rayon(2);
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build_global()
        .ok();
    println!("1. Output layout (ratio: batch-contiguous + transpose over the states' layout)");
    for (out, inp, batch) in [
        (1000, 784, 100),
        (1000, 1000, 10),
        (1000, 1000, 100),
        (1000, 1000, 1000),
    ] {
        let o = Operands::new(out, inp, batch);
        let (mut dst, mut tmp) = (vec![0.0; out * batch], vec![0.0; out * batch]);
        for (threads, par) in [(1, Par::Seq), (2, two)] {
            let cell = std::cell::RefCell::new((&mut dst, &mut tmp));
            let run = |by_batch: bool| {
                let mut c = cell.borrow_mut();
                let (d, t) = &mut *c;
                seconds(|| o.forward(d, t, by_batch, par))
            };
            let what = format!("W [{out}, {inp}] z, batch {batch}, {threads} thread(s)");
            let m = paired(rounds, || run(false), || run(true));
            line(
                &what,
                "states' layout",
                "batch-contiguous + transpose",
                m,
                |t| o.gflops(1, t),
            );
        }
    }

    println!("2. Independent products (ratio: side by side, one thread each, over one after the other on two threads)");
    let o = Operands::new(1000, 1000, 100);
    let mut g = vec![0.0; 1000 * 1000];
    let (mut fb, mut tmp) = (vec![0.0; 1000 * 100], vec![0.0; 1000 * 100]);
    for by_batch in [false, true] {
        let cell = std::cell::RefCell::new((&mut g, &mut fb, &mut tmp));
        let sequential = || {
            let mut c = cell.borrow_mut();
            let (g, fb, t) = &mut *c;
            seconds(|| {
                o.gradient(g, two);
                o.feedback(fb, t, false, two);
            })
        };
        let side_by_side = || {
            let mut c = cell.borrow_mut();
            let (g, fb, t) = &mut *c;
            seconds(|| {
                rayon::join(
                    || o.gradient(g, Par::Seq),
                    || o.feedback(fb, t, by_batch, Par::Seq),
                );
            })
        };
        let what = format!(
            "e z^T and W^T e, [1000, 1000], batch 100 (side by side: feedback {})",
            if by_batch {
                "batch-contiguous + transpose"
            } else {
                "in the states' layout"
            }
        );
        let m = paired(rounds, sequential, side_by_side);
        line(&what, "one after the other", "side by side", m, |t| {
            o.gflops(2, t)
        });
    }

    println!("3. Fork-join cost");
    let mut joins: Vec<f64> = (0..rounds * 10)
        .map(|_| {
            seconds(|| {
                rayon::join(|| (), || ());
            })
        })
        .collect();
    println!(
        "empty rayon::join on 2 threads: median {:.1} us (a [1000, 1000] product at batch 100 takes about 1000 us)",
        median(&mut joins) * 1e6
    );
}
