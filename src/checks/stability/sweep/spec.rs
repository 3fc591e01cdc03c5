//! The sweep's grid and fixed settings ([`SweepSpec`]) and its cases ([`Case`]): the networks, batches and
//! configurations every run of the sweep draws from.

use rand::{Rng, SeedableRng};

use crate::error::Result;
use crate::reference::activation::Activation;
use crate::reference::loss::Loss;
use crate::reference::matrix::Matrix;
use crate::reference::method::{Config, Method};
use crate::reference::network::{Init, Network};

/// The sweep's grid and fixed settings. [`SweepSpec::small`] runs in the default `cargo test`,
/// [`SweepSpec::full`] is opt-in.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpec {
    /// Layer widths, input first.
    pub widths: Vec<usize>,
    /// Seeds of the He-normal weights; the batch of seed `s` is drawn with seed `s + 1000`.
    pub seeds: Vec<u64>,
    /// Samples per batch: x and y standard normal.
    pub batch: usize,
    /// Nudging strength (the paper's 1/2; original DP's exact output needs (1 - alpha) beta < 1).
    pub beta: f64,
    /// Inference passes K of each run.
    pub iterations: usize,
    /// Methods swept.
    pub methods: Vec<Method>,
    /// alpha values swept.
    pub alphas: Vec<f64>,
    /// Hidden activations swept (the output layer is linear, least squares).
    pub activations: Vec<Activation>,
    /// Weight scales s of the grid, increasing.
    pub scales: Vec<f64>,
    /// Bisection stops when hi / lo - 1 is at most this.
    pub resolution: f64,
    /// Power-iteration steps of [`loop_gain_estimate`](crate::checks::stability::loop_gain_estimate).
    pub estimator_steps: usize,
}

impl SweepSpec {
    /// Geometric grid from `lo` to `hi` with `per_octave` points per factor 2 (both ends included).
    pub fn geometric(lo: f64, hi: f64, per_octave: usize) -> Vec<f64> {
        let n = ((hi / lo).log2() * per_octave as f64).round() as usize;
        (0..=n)
            .map(|i| lo * 2f64.powf(i as f64 / per_octave as f64))
            .collect()
    }

    /// The sweep of the default `cargo test`: widths 8-16-16-16-4, one seed, DP+ and original DP, the five
    /// alphas, identity, ReLU and tanh, s in [1/4, 4] at 2 points per octave, K = 100, bisection to 1%.
    pub fn small() -> Self {
        Self {
            widths: vec![8, 16, 16, 16, 4],
            seeds: vec![1],
            batch: 4,
            beta: 0.5,
            iterations: 100,
            methods: vec![Method::DpPlus, Method::OriginalDp],
            alphas: vec![0.0, 0.25, 0.5, 0.75, 1.0],
            activations: vec![Activation::Identity, Activation::Relu, Activation::Tanh],
            scales: Self::geometric(0.25, 4.0, 2),
            resolution: 1e-2,
            estimator_steps: 60,
        }
    }

    /// The opt-in sweep: three seeds, Eq. 21 added, 4 points per octave, K = 200, bisection to 0.1%.
    pub fn full() -> Self {
        Self {
            seeds: vec![1, 2, 3],
            iterations: 200,
            methods: vec![Method::DpPlus, Method::OriginalDp, Method::Eq21],
            scales: Self::geometric(0.25, 4.0, 4),
            resolution: 1e-3,
            estimator_steps: 100,
            ..Self::small()
        }
    }

    /// The network of a case at weight scale `scale`: He-normal (seed), zero biases, every W times `scale`.
    pub fn network(&self, activation: Activation, seed: u64, scale: f64) -> Result<Network<f64>> {
        let mut net = Network::<f64>::init(
            &self.widths,
            activation,
            Loss::LeastSquares,
            Init::HeNormal,
            seed,
        )?;
        for l in net.layers.iter_mut() {
            l.w = l.w.scale(scale);
        }
        Ok(net)
    }

    /// The batch of a seed: x and y standard normal, drawn with seed `seed + 1000`.
    pub fn data(&self, seed: u64) -> (Matrix<f64>, Matrix<f64>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed + 1000);
        let mut normal = || rng.sample::<f64, _>(rand_distr::StandardNormal);
        let inw = self.widths.first().copied().unwrap_or(0);
        let outw = self.widths.last().copied().unwrap_or(0);
        let x = Matrix::from_fn(self.batch, inw, |_, _| normal());
        let y = Matrix::from_fn(self.batch, outw, |_, _| normal());
        (x, y)
    }

    /// The configuration of a case: the paper's up-down schedule, the method's own output rule, K passes.
    pub fn config(&self, method: Method, alpha: f64) -> Config {
        Config::new(method, alpha, self.beta, self.iterations)
    }

    /// Every case of the sweep, in table order (method, alpha, activation, seed).
    pub fn cases(&self) -> Vec<Case> {
        let mut out = Vec::new();
        for &method in &self.methods {
            for &alpha in &self.alphas {
                for &activation in &self.activations {
                    for &seed in &self.seeds {
                        out.push(Case {
                            method,
                            alpha,
                            activation,
                            seed,
                        });
                    }
                }
            }
        }
        out
    }
}

/// One family of runs over the weight scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Case {
    /// The method.
    pub method: Method,
    /// alpha.
    pub alpha: f64,
    /// Hidden activation.
    pub activation: Activation,
    /// Weight seed.
    pub seed: u64,
}
