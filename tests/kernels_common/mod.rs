//! Shared generators and comparisons of the kernel tests (seeded, so every failure replays).
#![allow(dead_code)]

use dualprop::kernels::KernelFloat;
use dualprop::reference::scalar::{c, to_f64};
use dualprop::reference::{
    Activation, Config, Init, Loss, Matrix, Method, Network, OutputRule, Schedule,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

/// One random inference problem.
#[derive(Debug, Clone)]
pub struct Case {
    pub widths: Vec<usize>,
    pub batch: usize,
    pub activation: Activation,
    pub loss: Loss,
    pub cfg: Config,
    pub seed: u64,
}

pub fn activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        3 => Just(Activation::Relu),
        1 => Just(Activation::Identity),
        1 => Just(Activation::LeakyRelu { slope: 0.1 }),
        1 => Just(Activation::Tanh),
        1 => Just(Activation::Sigmoid),
        1 => Just(Activation::Softplus),
    ]
}

pub fn alpha() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), Just(1.0), Just(0.5), 0.0..=1.0f64]
}

pub fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(1usize..10, 2..6),
        1usize..8,
        activation(),
        prop_oneof![3 => Just(Loss::LeastSquares), 1 => Just(Loss::SoftmaxCrossEntropy)],
        prop::sample::select(Method::ALL.to_vec()),
        prop::option::of(prop::sample::select(vec![
            OutputRule::Eq16,
            OutputRule::Eq16FrozenGradient,
            OutputRule::OriginalExact,
            OutputRule::OriginalLinearized,
        ])),
        prop::sample::select(Schedule::ALL.to_vec()),
        alpha(),
        0.05..1.5f64,
        1usize..7,
        any::<u64>(),
    )
        .prop_map(
            |(widths, batch, activation, loss, method, output, schedule, alpha, beta, k, seed)| {
                let mut cfg = Config::new(method, alpha, beta, k).with_schedule(schedule);
                cfg.output = output;
                Case {
                    widths,
                    batch,
                    activation,
                    loss,
                    cfg,
                    seed,
                }
            },
        )
        .prop_filter("valid configuration", |c| c.cfg.validate(c.loss).is_ok())
}

/// The network, inputs and targets of a case, in `T`.
pub fn problem<T: KernelFloat>(case: &Case) -> (Network<T>, Matrix<T>, Matrix<T>) {
    let net = Network::init(
        &case.widths,
        case.activation,
        case.loss,
        Init::TorchDefault,
        case.seed,
    )
    .unwrap();
    let (x, y) = batch_data(&case.widths, case.batch, case.loss, case.seed ^ 0x5eed);
    (net, x, y)
}

/// A seeded batch: inputs uniform in [-1, 1], targets uniform (least squares) or one-hot (cross-entropy).
pub fn batch_data<T: KernelFloat>(
    widths: &[usize],
    batch: usize,
    loss: Loss,
    seed: u64,
) -> (Matrix<T>, Matrix<T>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (n_in, n_out) = (widths[0], *widths.last().unwrap());
    let x = Matrix::from_fn(batch, n_in, |_, _| c::<T>(rng.random_range(-1.0..=1.0)));
    let y = match loss {
        Loss::LeastSquares => {
            Matrix::from_fn(batch, n_out, |_, _| c::<T>(rng.random_range(-1.0..=1.0)))
        }
        Loss::SoftmaxCrossEntropy => {
            let hot: Vec<usize> = (0..batch).map(|_| rng.random_range(0..n_out)).collect();
            Matrix::from_fn(
                batch,
                n_out,
                |i, j| if hot[i] == j { T::one() } else { T::zero() },
            )
        }
    };
    (x, y)
}

/// Largest |v| over several slices, at least 1.
pub fn magnitude<T: KernelFloat>(parts: &[&[T]]) -> f64 {
    parts
        .iter()
        .flat_map(|p| p.iter())
        .map(|&v| to_f64(v).abs())
        .fold(1.0, f64::max)
}

/// Largest |a - b|, or infinity if the lengths differ or a NaN appears on one side only.
pub fn max_diff<T: KernelFloat>(a: &[T], b: &[T]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let (x, y) = (to_f64(x), to_f64(y));
            if x.is_nan() || y.is_nan() {
                if x.is_nan() && y.is_nan() {
                    0.0
                } else {
                    f64::INFINITY
                }
            } else {
                (x - y).abs()
            }
        })
        .fold(0.0, f64::max)
}

/// Bitwise equality of two float slices (NaNs included).
pub fn same_bits<T: KernelFloat>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| x.bits() == y.bits())
}

/// Proptest cases: `default`, or `KERNELS_CASES` from the environment (for long local sweeps).
pub fn cases(default: u32) -> u32 {
    std::env::var("KERNELS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
