//! A dense multilayer perceptron: weights W_k of shape [out, in] (as in the paper and PyTorch), biases b_k.

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reference::activation::Activation;
use crate::reference::loss::Loss;
use crate::reference::matrix::Matrix;
use crate::reference::scalar::{from_f64, Scalar};

/// One dense layer: pre-activation a = W zbar + b.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer<T> {
    /// Shape [out, in].
    pub w: Matrix<T>,
    /// Length `out`.
    pub b: Vec<T>,
}

/// Weight initialisation schemes. The two public codes of dual propagation both draw W with variance 1/fan_in
/// and zero bias ([`Init::LecunNormal`], [`Init::NormalFanIn`]); see docs/experiments.md for which code uses which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// PyTorch's `nn.Linear` default: W and b uniform in [-1/sqrt(in), 1/sqrt(in)] (variance 1/(3 fan_in)).
    TorchDefault,
    /// flax's `nn.Dense` default (Rasmuskh/dualprop_icml_2024, `src/models.py`): W from jax's `lecun_normal`, a
    /// standard normal truncated to (-2, 2) times sqrt(1/fan_in) / [`TRUNCATED_NORMAL_STD`], so that
    /// Var W = 1/fan_in exactly; zero bias.
    LecunNormal,
    /// The Julia script `train_DP.jl` of the same repository: W a plain normal of variance 1/fan_in
    /// (`randn / sqrt(fan_in)`), zero bias.
    NormalFanIn,
    /// Glorot/Xavier uniform for W in [-sqrt(6/(in+out)), +], zero bias.
    XavierUniform,
    /// He/Kaiming normal for W with std sqrt(2/in), zero bias.
    HeNormal,
}

/// Truncation of jax's `truncated_normal` in `lecun_normal`: standard deviations on either side of 0.
pub const TRUNCATION: f64 = 2.0;

/// Standard deviation of a standard normal truncated to (-[`TRUNCATION`], [`TRUNCATION`]): jax divides by it so
/// that the truncated draw has the variance asked for: sqrt(1 - 4 phi(2) / (2 Phi(2) - 1)) with phi, Phi the
/// standard normal density and distribution function.
pub const TRUNCATED_NORMAL_STD: f64 = 0.879_625_661_034_239_8;

/// A standard normal truncated to (-[`TRUNCATION`], [`TRUNCATION`]), by rejection (about 4.6% of draws rejected).
fn truncated_standard_normal(rng: &mut rand::rngs::StdRng) -> f64 {
    loop {
        let z: f64 = rng.sample(rand_distr::StandardNormal);
        if z.abs() < TRUNCATION {
            return z;
        }
    }
}

/// L layers mapping x = z_0 to the linear output z_L; `activation` is applied on layers 1..L-1.
#[derive(Debug, Clone, PartialEq)]
pub struct Network<T> {
    /// `layers[k]` holds W_k and b_k, mapping layer k to layer k+1 (L entries, 0-based).
    pub layers: Vec<Layer<T>>,
    /// The hidden-layer activation f_k, the same for k = 1..L-1.
    pub activation: Activation,
    /// The loss l on the linear output z_L, unweighted (beta is in the method's configuration).
    pub loss: Loss,
}

impl<T: Scalar> Network<T> {
    /// Checks non-emptiness, shape chaining and finiteness.
    pub fn new(layers: Vec<Layer<T>>, activation: Activation, loss: Loss) -> Result<Self> {
        let net = Self {
            layers,
            activation,
            loss,
        };
        net.validate()?;
        Ok(net)
    }

    /// Random network with the given layer widths `[in, h1, ..., out]`, seeded.
    pub fn init(
        widths: &[usize],
        activation: Activation,
        loss: Loss,
        init: Init,
        seed: u64,
    ) -> Result<Self> {
        if widths.len() < 2 {
            return Err(Error::EmptyNetwork);
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut layers = Vec::with_capacity(widths.len() - 1);
        for (k, pair) in widths.windows(2).enumerate() {
            let (n_in, n_out) = (pair[0], pair[1]);
            if n_in == 0 || n_out == 0 {
                return Err(Error::EmptyLayer {
                    layer: if n_in == 0 { k } else { k + 1 },
                });
            }
            let sample_w = |rng: &mut rand::rngs::StdRng| -> f64 {
                match init {
                    Init::TorchDefault => {
                        let bound = 1.0 / (n_in as f64).sqrt();
                        rng.random_range(-bound..=bound)
                    }
                    Init::XavierUniform => {
                        let bound = (6.0 / (n_in + n_out) as f64).sqrt();
                        rng.random_range(-bound..=bound)
                    }
                    Init::HeNormal => {
                        let z: f64 = rng.sample(rand_distr::StandardNormal);
                        z * (2.0 / n_in as f64).sqrt()
                    }
                    Init::LecunNormal => {
                        truncated_standard_normal(rng) * (1.0 / n_in as f64).sqrt()
                            / TRUNCATED_NORMAL_STD
                    }
                    Init::NormalFanIn => {
                        let z: f64 = rng.sample(rand_distr::StandardNormal);
                        z / (n_in as f64).sqrt()
                    }
                }
            };
            let mut w = Vec::with_capacity(n_in * n_out);
            for _ in 0..n_in * n_out {
                w.push(from_f64(sample_w(&mut rng))?);
            }
            let mut b = Vec::with_capacity(n_out);
            for _ in 0..n_out {
                let v = match init {
                    Init::TorchDefault => {
                        let bound = 1.0 / (n_in as f64).sqrt();
                        rng.random_range(-bound..=bound)
                    }
                    _ => 0.0,
                };
                b.push(from_f64(v)?);
            }
            layers.push(Layer {
                w: Matrix::from_vec(n_out, n_in, w)?,
                b,
            });
        }
        Self::new(layers, activation, loss)
    }

    /// Number of weight layers L.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// Widths `[in, h1, ..., out]`.
    pub fn widths(&self) -> Vec<usize> {
        let mut w = vec![self.layers[0].w.cols()];
        w.extend(self.layers.iter().map(|l| l.w.rows()));
        w
    }

    /// n_0, the width of the input x = z_0.
    pub fn input_width(&self) -> usize {
        self.layers[0].w.cols()
    }

    /// n_L, the width of the linear output z_L.
    pub fn output_width(&self) -> usize {
        self.layers[self.depth() - 1].w.rows()
    }

    /// Pre-activation of layer k (1-based) from the state below: a_k = zbar_{k-1} W_{k-1}^T + b_{k-1}.
    pub fn pre_activation(&self, k: usize, below: &Matrix<T>) -> Matrix<T> {
        let layer = &self.layers[k - 1];
        below.mul_transpose(&layer.w).add_row(&layer.b)
    }

    /// Activation of layer k: `f` for hidden layers, identity for the output layer L.
    pub fn activate(&self, k: usize, a: &Matrix<T>) -> Matrix<T> {
        if k == self.depth() {
            a.clone()
        } else {
            a.map(|x| self.activation.apply(x))
        }
    }

    /// Derivative D_k = f'(a_k) elementwise (1 on the linear output layer).
    pub fn activation_derivative(&self, k: usize, a: &Matrix<T>) -> Matrix<T> {
        if k == self.depth() {
            a.map(|_| T::one())
        } else {
            a.map(|x| self.activation.derivative(x))
        }
    }

    /// Plain feed-forward pass: returns z_0 = x, z_1, ..., z_L.
    pub fn forward(&self, x: &Matrix<T>) -> Vec<Matrix<T>> {
        let mut z = vec![x.clone()];
        for k in 1..=self.depth() {
            let a = self.pre_activation(k, &z[k - 1]);
            z.push(self.activate(k, &a));
        }
        z
    }

    /// Shape and finiteness checks of the network itself.
    pub fn validate(&self) -> Result<()> {
        if self.layers.is_empty() {
            return Err(Error::EmptyNetwork);
        }
        self.activation.validate()?;
        let mut width = self.layers[0].w.cols();
        if width == 0 {
            return Err(Error::EmptyLayer { layer: 0 });
        }
        for (k, layer) in self.layers.iter().enumerate() {
            let (out, inp) = layer.w.shape();
            if out == 0 {
                return Err(Error::EmptyLayer { layer: k + 1 });
            }
            if inp != width {
                return Err(Error::Shape {
                    what: format!("W.{k}"),
                    expected: (out, width),
                    got: (out, inp),
                });
            }
            if layer.b.len() != out {
                return Err(Error::Shape {
                    what: format!("b.{k}"),
                    expected: (out, 1),
                    got: (layer.b.len(), 1),
                });
            }
            if let Some(index) = layer.w.first_non_finite() {
                return Err(Error::NonFinite {
                    what: format!("W.{k}"),
                    index,
                });
            }
            if let Some(index) = layer.b.iter().position(|v| !v.is_finite()) {
                return Err(Error::NonFinite {
                    what: format!("b.{k}"),
                    index,
                });
            }
            width = out;
        }
        Ok(())
    }

    /// Checks a batch: x is [batch, in], y is [batch, out], both finite and non-empty.
    pub fn validate_batch(&self, x: &Matrix<T>, y: &Matrix<T>) -> Result<()> {
        if x.rows() == 0 {
            return Err(Error::EmptyBatch);
        }
        if x.cols() != self.input_width() {
            return Err(Error::Shape {
                what: "x".into(),
                expected: (x.rows(), self.input_width()),
                got: x.shape(),
            });
        }
        if y.shape() != (x.rows(), self.output_width()) {
            return Err(Error::Shape {
                what: "y".into(),
                expected: (x.rows(), self.output_width()),
                got: y.shape(),
            });
        }
        for (what, m) in [("x", x), ("y", y)] {
            if let Some(index) = m.first_non_finite() {
                return Err(Error::NonFinite {
                    what: what.into(),
                    index,
                });
            }
        }
        Ok(())
    }
}
