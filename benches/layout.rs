//! Issue 13's output-layout experiment: faer's product W z at a step's shapes into the states' layout (unit index
//! contiguous, what the kernels use) against into a batch-contiguous buffer followed by the transpose into the
//! states' layout, with one and two threads, round by round: `cargo bench --bench layout [-- rounds]`.
//! docs/performance.md ("Tried") quotes a run; the kernels keep the states' layout.

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

struct Shape {
    out: usize,
    inp: usize,
    batch: usize,
}

/// Seconds of one product W z (W row-major `[out, in]`, z unit-contiguous `[in, batch]`), the output written
/// unit-contiguous directly (`by_batch = false`) or batch-contiguous and then transposed.
fn time_once(
    s: &Shape,
    w: &[f32],
    z: &[f32],
    dst: &mut [f32],
    tmp: &mut [f32],
    by_batch: bool,
    par: Par,
) -> f64 {
    let w = MatRef::from_row_major_slice(w, s.out, s.inp);
    let z = MatRef::from_column_major_slice(z, s.inp, s.batch);
    let start = Instant::now();
    if by_batch {
        matmul(
            MatMut::from_row_major_slice_mut(tmp, s.out, s.batch),
            Accum::Replace,
            w,
            z,
            1.0,
            par,
        );
        transpose_into(tmp, s.out, s.batch, dst);
    } else {
        matmul(
            MatMut::from_column_major_slice_mut(dst, s.out, s.batch),
            Accum::Replace,
            w,
            z,
            1.0,
            par,
        );
    }
    start.elapsed().as_secs_f64()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let shapes = [
        Shape {
            out: 1000,
            inp: 784,
            batch: 100,
        },
        Shape {
            out: 1000,
            inp: 1000,
            batch: 100,
        },
    ];
    for s in &shapes {
        let value = |i: usize| ((i % 7) as f32 - 3.0) * 0.01;
        let w: Vec<f32> = (0..s.out * s.inp).map(value).collect();
        let z: Vec<f32> = (0..s.inp * s.batch).map(value).collect();
        let (mut dst, mut tmp) = (vec![0.0; s.out * s.batch], vec![0.0; s.out * s.batch]);
        for (threads, par) in [(1, Par::Seq), (2, Par::rayon(2))] {
            let (mut direct, mut via, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
            for round in 0..rounds + 5 {
                // Alternate which goes first, so that a change of load affects both alike.
                let order = if round % 2 == 0 {
                    [false, true]
                } else {
                    [true, false]
                };
                let mut t = [0.0; 2];
                for by_batch in order {
                    t[by_batch as usize] = time_once(s, &w, &z, &mut dst, &mut tmp, by_batch, par);
                }
                if round >= 5 {
                    direct.push(t[0]);
                    via.push(t[1]);
                    ratio.push(t[1] / t[0]);
                }
            }
            let gflops = |secs: f64| 2.0 * (s.out * s.inp * s.batch) as f64 / secs / 1e9;
            let (d, v) = (median(&mut direct), median(&mut via));
            let r = median(&mut ratio);
            let (lo, hi) = (ratio[ratio.len() / 10], ratio[ratio.len() * 9 / 10]);
            println!(
                "W [{}, {}] z, batch {}, {threads} thread(s): states' layout {:.3} ms ({:.0} GFLOP/s); \
                 batch-contiguous + transpose {:.3} ms ({:.0} GFLOP/s); ratio {r:.2} (10-90%: {lo:.2}-{hi:.2})",
                s.out,
                s.inp,
                s.batch,
                d * 1e3,
                gflops(d),
                v * 1e3,
                gflops(v)
            );
        }
    }
}
