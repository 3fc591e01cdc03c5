//! The damping weights L_k of [`Method::OriginalDpDampened`](crate::reference::Method::OriginalDpDampened): given,
//! or L_k = max(0, (gamma_k^2 - 1) / 2) with gamma_k the spectral norm of W_k, the weight whose transpose carries
//! layer k's feedback b_k = W_k^T delta_{k+1} (as the follow-up code's `get_L_and_gamma` pairs them: its `L[k]`
//! comes from `layers[k]`, which maps z_k to z_{k+1}).

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reference::matrix::Matrix;
use crate::reference::network::Network;
use crate::reference::scalar::{to_f64, Scalar};

/// Most hidden layers whose L_k can be given explicitly (kept inline so that `Config` stays `Copy`).
pub const MAX_EXPLICIT_DAMPING: usize = 12;

/// Where the damping weights L_k (k = 1..L-1) come from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Damping {
    /// gamma_k = sigma_max(W_k) from faer's SVD (the exact value, to rounding). JSON `"spectral_norm"`.
    SpectralNorm,
    /// gamma_k = ||W_k v|| (or ||W_k v + b_k|| with `with_bias`) after `iterations` steps v <- W_k^T (W_k v [+ b_k])
    /// / ||.|| from a standard-normal start drawn from a generator seeded with `seed + k`. The follow-up code runs 50
    /// steps from a random start and applies the layer with its bias (`with_bias: true`); its random stream is
    /// JAX's, so only the converged value, not the start, can be matched.
    PowerIteration {
        /// Power-iteration steps (>= 1; the follow-up code: 50).
        iterations: usize,
        /// Seed of layer k's start vector is `seed + k`.
        seed: u64,
        /// Apply the layer's bias in the forward product, as the follow-up code's `layer(b)` does.
        #[serde(default)]
        with_bias: bool,
    },
    /// L_k given for k = 1..L-1, in order (JSON `{"explicit": [L_1, ..., L_{L-1}]}`).
    Explicit(DampingValues),
}

/// L_1..L_{L-1} given explicitly: finite, >= 0, at most [`MAX_EXPLICIT_DAMPING`]. Serialized as a JSON list.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f64>", into = "Vec<f64>")]
pub struct DampingValues {
    len: usize,
    values: [f64; MAX_EXPLICIT_DAMPING],
}

impl DampingValues {
    /// The values L_1..L_n (an error when there are too many, or one is negative or not finite).
    pub fn new(values: &[f64]) -> Result<Self> {
        if values.len() > MAX_EXPLICIT_DAMPING {
            return Err(Error::Unsupported(format!(
                "{} explicit damping weights; at most {MAX_EXPLICIT_DAMPING} hidden layers can be given",
                values.len()
            )));
        }
        if let Some(bad) = values.iter().find(|l| !(l.is_finite() && **l >= 0.0)) {
            return Err(Error::Unsupported(format!(
                "damping weight {bad} must be finite and >= 0"
            )));
        }
        let mut inline = [0.0; MAX_EXPLICIT_DAMPING];
        inline[..values.len()].copy_from_slice(values);
        Ok(Self {
            len: values.len(),
            values: inline,
        })
    }

    /// L_1..L_n.
    pub fn as_slice(&self) -> &[f64] {
        &self.values[..self.len]
    }
}

impl TryFrom<Vec<f64>> for DampingValues {
    type Error = Error;

    fn try_from(v: Vec<f64>) -> Result<Self> {
        DampingValues::new(&v)
    }
}

impl From<DampingValues> for Vec<f64> {
    fn from(d: DampingValues) -> Vec<f64> {
        d.as_slice().to_vec()
    }
}

/// L = max(0, (gamma^2 - 1) / 2): the follow-up code's damping weight for a feedback weight of spectral norm gamma.
pub fn weight_from_norm(gamma: f64) -> f64 {
    ((gamma * gamma - 1.0) / 2.0).max(0.0)
}

impl Damping {
    /// Checks what can be checked without the network (explicit values are checked when built).
    pub fn validate(&self) -> Result<()> {
        match self {
            Damping::PowerIteration { iterations: 0, .. } => Err(Error::Unsupported(
                "power iteration for the damping weights needs at least 1 step".into(),
            )),
            _ => Ok(()),
        }
    }

    /// L_k for hidden layer k of `net` (1 <= k < L). Explicit values must number exactly L - 1.
    pub fn weight<T: Scalar>(&self, net: &Network<T>, k: usize) -> Result<f64> {
        let depth = net.depth();
        if !(1..depth).contains(&k) {
            return Err(Error::Unsupported(format!(
                "damping weight of layer {k}: only hidden layers 1..{} have one",
                depth.saturating_sub(1)
            )));
        }
        let layer = &net.layers[k];
        // W_k in f64, built only for the computed dampings (explicit ones are an index lookup).
        let w = || {
            Matrix::from_fn(layer.w.rows(), layer.w.cols(), |i, j| {
                to_f64(layer.w.get(i, j))
            })
        };
        match *self {
            Damping::SpectralNorm => Ok(weight_from_norm(spectral_norm(&w()))),
            Damping::PowerIteration {
                iterations,
                seed,
                with_bias,
            } => {
                let bias: Option<Vec<f64>> =
                    with_bias.then(|| layer.b.iter().map(|&b| to_f64(b)).collect());
                let start = seed.wrapping_add(k as u64);
                Ok(weight_from_norm(power_norm(
                    &w(),
                    bias.as_deref(),
                    iterations,
                    start,
                )))
            }
            Damping::Explicit(values) => {
                let v = values.as_slice();
                if v.len() != depth - 1 {
                    return Err(Error::Unsupported(format!(
                        "{} explicit damping weights for a network with {} hidden layers",
                        v.len(),
                        depth - 1
                    )));
                }
                Ok(v[k - 1])
            }
        }
    }

    /// L_1..L_{L-1} of `net`, computed once ([`Damping::Explicit`] of them, which every update then reads).
    pub fn resolve<T: Scalar>(&self, net: &Network<T>) -> Result<Damping> {
        let weights = (1..net.depth())
            .map(|k| self.weight(net, k))
            .collect::<Result<Vec<f64>>>()?;
        Ok(Damping::Explicit(DampingValues::new(&weights)?))
    }
}

/// sigma_max of W ([out, in]) from faer's SVD; 0 for an empty matrix. A failed SVD (not seen) falls back to the
/// Frobenius norm, an upper bound, so the damping errs on the stable side.
pub fn spectral_norm(w: &Matrix<f64>) -> f64 {
    if w.rows() == 0 || w.cols() == 0 {
        return 0.0;
    }
    let m = faer::Mat::<f64>::from_fn(w.rows(), w.cols(), |i, j| w.get(i, j));
    match m.singular_values() {
        Ok(s) => s.first().copied().unwrap_or(0.0),
        Err(_) => norm(w.as_slice()),
    }
}

/// The follow-up code's estimate: `steps` of v <- W^T (W v + c) / ||.|| from a standard-normal v drawn with
/// `seed`, then ||W v + c|| (c = the bias when given, else 0). Without the bias it approaches sigma_max from below.
pub fn power_norm(w: &Matrix<f64>, bias: Option<&[f64]>, steps: usize, seed: u64) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut v = Matrix::from_fn(1, w.cols(), |_, _| StandardNormal.sample(&mut rng));
    // Row form: W v is v W^T, W^T u is u W.
    let forward = |v: &Matrix<f64>| {
        let u = v.mul_transpose(w);
        match bias {
            Some(c) => u.add_row(c),
            None => u,
        }
    };
    for _ in 0..steps {
        let back = forward(&v).mul(w);
        let n = norm(back.as_slice());
        if n == 0.0 || !n.is_finite() {
            break;
        }
        v = back.scale(1.0 / n);
    }
    norm(forward(&v).as_slice())
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}
