//! Elementwise hidden-layer activations f_k, their derivatives, inverses and convex potentials G_k (f = (G^*)', f^-1 = G').

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reference::scalar::{c, Scalar};

/// Hidden-layer activation. The output layer is always linear (f_L absorbed into the loss, Section 3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// f(x) = x (the network is linear; DP+ is exact for any beta).
    Identity,
    /// f(x) = max(x, 0); derivative 0 at the kink x = 0.
    Relu,
    /// `x` for x >= 0, `slope * x` otherwise.
    LeakyRelu {
        /// The negative-side slope, finite and > 0 so that f stays invertible.
        slope: f64,
    },
    /// f(x) = tanh(x), range (-1, 1).
    Tanh,
    /// The logistic function f(x) = 1 / (1 + e^-x), range (0, 1).
    Sigmoid,
    /// f(x) = log(1 + e^x), range (0, inf); its derivative is the logistic function.
    Softplus,
}

impl Activation {
    /// Checks parameters (the leaky slope must keep f invertible).
    pub fn validate(self) -> Result<()> {
        match self {
            Activation::LeakyRelu { slope } if !(slope.is_finite() && slope > 0.0) => {
                Err(Error::LeakySlope(slope))
            }
            _ => Ok(()),
        }
    }

    /// True for activations that are affine on each of finitely many pieces (DP+ is exact on a piece).
    pub fn is_piecewise_linear(self) -> bool {
        matches!(
            self,
            Activation::Identity | Activation::Relu | Activation::LeakyRelu { .. }
        )
    }

    /// Location of the kink for piecewise-linear activations (None for smooth or affine ones).
    pub fn kink(self) -> Option<f64> {
        match self {
            Activation::Relu | Activation::LeakyRelu { .. } => Some(0.0),
            _ => None,
        }
    }

    /// f(x).
    pub fn apply<T: Scalar>(self, x: T) -> T {
        match self {
            Activation::Identity => x,
            Activation::Relu => {
                if x > T::zero() {
                    x
                } else {
                    T::zero()
                }
            }
            Activation::LeakyRelu { slope } => {
                if x >= T::zero() {
                    x
                } else {
                    x * c(slope)
                }
            }
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => T::one() / (T::one() + (-x).exp()),
            Activation::Softplus => {
                // log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
                x.max(T::zero()) + (-x.abs()).exp().ln_1p()
            }
        }
    }

    /// f'(x); at a kink the right derivative (PyTorch's convention for ReLU is 0 at 0: we follow it).
    pub fn derivative<T: Scalar>(self, x: T) -> T {
        match self {
            Activation::Identity => T::one(),
            Activation::Relu => {
                if x > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Activation::LeakyRelu { slope } => {
                if x >= T::zero() {
                    T::one()
                } else {
                    c(slope)
                }
            }
            Activation::Tanh => {
                let t = x.tanh();
                T::one() - t * t
            }
            Activation::Sigmoid => {
                let s = self.apply(x);
                s * (T::one() - s)
            }
            Activation::Softplus => Activation::Sigmoid.apply(x),
        }
    }

    /// f^-1(z) on the range of f, and on the active piece for ReLU (z >= 0); None outside the range.
    pub fn inverse<T: Scalar>(self, z: T) -> Option<T> {
        let one = T::one();
        let v = match self {
            Activation::Identity => z,
            Activation::Relu => {
                if z < T::zero() {
                    return None;
                }
                z
            }
            Activation::LeakyRelu { slope } => {
                if z >= T::zero() {
                    z
                } else {
                    z / c(slope)
                }
            }
            Activation::Tanh => {
                if z.abs() >= one {
                    return None;
                }
                c::<T>(0.5) * ((one + z) / (one - z)).ln()
            }
            Activation::Sigmoid => {
                if z <= T::zero() || z >= one {
                    return None;
                }
                (z / (one - z)).ln()
            }
            Activation::Softplus => {
                if z <= T::zero() {
                    return None;
                }
                // log(e^z - 1) = z + log(1 - e^-z)
                z + (-(-z).exp()).ln_1p()
            }
        };
        Some(v)
    }

    /// (f^-1)'(z) = 1 / f'(f^-1(z)); None outside the range (or at ReLU's inactive piece).
    ///
    /// Proved (proofs/): `HiddenLayer.v` `aff_inv_derivative` (affine case).
    pub fn inverse_derivative<T: Scalar>(self, z: T) -> Option<T> {
        let one = T::one();
        match self {
            Activation::Identity => Some(one),
            Activation::Relu => (z >= T::zero()).then_some(one),
            Activation::LeakyRelu { slope } => {
                Some(if z >= T::zero() { one } else { one / c(slope) })
            }
            Activation::Tanh => (z.abs() < one).then(|| one / (one - z * z)),
            Activation::Sigmoid => (z > T::zero() && z < one).then(|| one / (z * (one - z))),
            Activation::Softplus => (z > T::zero()).then(|| one / (-(-z).exp_m1())),
        }
    }

    /// The convex potential G with G' = f^-1 (Eq. 18), used for the value of the Eq. 3 objective.
    /// None where G is +infinity (outside the range), at tanh's ends +-1 (G's closure is ln 2 there, but z atanh z
    /// is not evaluable) or where G has no elementary closed form (softplus). Sigmoid's ends 0 and 1 give 0.
    pub fn potential<T: Scalar>(self, z: T) -> Option<T> {
        let half = c::<T>(0.5);
        let one = T::one();
        match self {
            Activation::Identity => Some(half * z * z),
            Activation::Relu => (z >= T::zero()).then(|| half * z * z),
            Activation::LeakyRelu { slope } => Some(if z >= T::zero() {
                half * z * z
            } else {
                half * z * z / c(slope)
            }),
            Activation::Tanh => {
                if z.abs() >= one {
                    return None;
                }
                Some(z * self.inverse(z)? + half * (one - z * z).ln())
            }
            Activation::Sigmoid => {
                if z < T::zero() || z > one {
                    return None;
                }
                let xlogx = |v: T| {
                    if v == T::zero() {
                        T::zero()
                    } else {
                        v * v.ln()
                    }
                };
                Some(xlogx(z) + xlogx(one - z))
            }
            Activation::Softplus => None,
        }
    }
}
