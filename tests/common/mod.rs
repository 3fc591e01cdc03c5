//! Shared test fixtures: seeded random networks and batches, float conversion, and error measures.
#![allow(dead_code)]

use dualprop::reference::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

/// A network and one batch.
#[derive(Debug, Clone)]
pub struct Case<T> {
    pub net: Network<T>,
    pub x: Matrix<T>,
    pub y: Matrix<T>,
}

/// Seeded case: PyTorch-default initialisation, inputs uniform in [-1, 1], least-squares targets uniform in
/// [-1, 1] or one-hot cross-entropy targets.
pub fn case(widths: &[usize], batch: usize, act: Activation, loss: Loss, seed: u64) -> Case<f64> {
    let net = Network::init(widths, act, loss, Init::TorchDefault, seed).expect("valid widths");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
    let x = Matrix::from_fn(batch, widths[0], |_, _| rng.random_range(-1.0..=1.0));
    let out = *widths.last().unwrap();
    let y = match loss {
        Loss::LeastSquares => Matrix::from_fn(batch, out, |_, _| rng.random_range(-1.0..=1.0)),
        Loss::SoftmaxCrossEntropy => {
            let labels: Vec<usize> = (0..batch).map(|_| rng.random_range(0..out)).collect();
            Matrix::from_fn(batch, out, |i, j| if labels[i] == j { 1.0 } else { 0.0 })
        }
    };
    Case { net, x, y }
}

/// Scales every weight and bias by `s` (to set the layer gain).
pub fn scaled(mut c: Case<f64>, s: f64) -> Case<f64> {
    for l in &mut c.net.layers {
        l.w = l.w.scale(s);
        l.b.iter_mut().for_each(|b| *b *= s);
    }
    c
}

/// Rounds a case to another float type.
pub fn convert<T: Scalar>(c: &Case<f64>) -> Case<T> {
    let m = |m: &Matrix<f64>| {
        m.map(|v| v)
            .as_slice()
            .iter()
            .map(|&v| T::from(v).unwrap())
            .collect::<Vec<T>>()
    };
    let mat = |a: &Matrix<f64>| Matrix::from_vec(a.rows(), a.cols(), m(a)).unwrap();
    let layers = c
        .net
        .layers
        .iter()
        .map(|l| Layer {
            w: mat(&l.w),
            b: l.b.iter().map(|&v| T::from(v).unwrap()).collect(),
        })
        .collect();
    Case {
        net: Network::new(layers, c.net.activation, c.net.loss).unwrap(),
        x: mat(&c.x),
        y: mat(&c.y),
    }
}

/// Proptest cases: `default`, or `DUALPROP_SPEC_CASES` when set (the opt-in for longer specification runs).
pub fn cases(default: u32) -> u32 {
    std::env::var("DUALPROP_SPEC_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Widths [in, h_1..h_n, out] with 1-5 hidden layers of width 1-32, a batch of 1-8 and a seed.
pub fn arb_shape() -> impl Strategy<Value = (Vec<usize>, usize, u64)> {
    (
        prop::collection::vec(1usize..=32, 3..=7),
        1usize..=8,
        any::<u64>(),
    )
}

/// Largest width of a network.
pub fn max_width<T: Scalar>(net: &Network<T>) -> usize {
    net.widths().into_iter().max().unwrap_or(1)
}

/// ||a - b||_2 / ||b||_2 over all parameters of all layers (in f64).
pub fn gradient_relative_error<T: Scalar>(a: &Gradients<T>, b: &Gradients<T>) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for k in 0..a.w.len() {
        let pa = a.w[k].as_slice().iter().chain(&a.b[k]);
        let pb = b.w[k].as_slice().iter().chain(&b.b[k]);
        for (&u, &v) in pa.zip(pb) {
            let (u, v) = (u.to_f64().unwrap(), v.to_f64().unwrap());
            num += (u - v) * (u - v);
            den += v * v;
        }
    }
    (num / den.max(f64::MIN_POSITIVE)).sqrt()
}

/// ||a - b||_2 over all parameters.
pub fn gradient_distance<T: Scalar>(a: &Gradients<T>, b: &Gradients<T>) -> f64 {
    let mut num = 0.0;
    for k in 0..a.w.len() {
        let pa = a.w[k].as_slice().iter().chain(&a.b[k]);
        let pb = b.w[k].as_slice().iter().chain(&b.b[k]);
        for (&u, &v) in pa.zip(pb) {
            let d = u.to_f64().unwrap() - v.to_f64().unwrap();
            num += d * d;
        }
    }
    num.sqrt()
}
