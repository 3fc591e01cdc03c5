//! One problem: a network, a configuration, a batch of inputs x and its targets y, checked against each other once.
//!
//! Every entry point that runs or judges dual propagation (inference here and in the kernels, the KKT, fixed-point
//! and dampened residuals, the loop gain) takes a `Problem`, so the inputs are validated in one place and no
//! function is reached with unchecked ones.

use crate::error::{Error, Result};
use crate::reference::damping::Damping;
use crate::reference::matrix::Matrix;
use crate::reference::method::{Config, Method};
use crate::reference::network::Network;
use crate::reference::scalar::Scalar;
use crate::reference::state::DualState;

/// A network, a configuration and a batch (x `[batch, in]`, y `[batch, out]`), validated by [`Problem::new`].
///
/// ```
/// use dualprop::checks::kkt_report;
/// use dualprop::reference::{infer, Activation, Config, Init, Loss, Matrix, Method, Network, Problem};
/// use dualprop::Error;
///
/// let net = Network::<f64>::init(&[3, 4, 2], Activation::Identity, Loss::LeastSquares, Init::TorchDefault, 7)?;
/// let x = Matrix::from_vec(2, 3, vec![0.5, -1.0, 0.25, 1.0, 0.0, -0.5])?;
/// let y = Matrix::from_vec(2, 2, vec![0.1, -0.2, 0.3, 0.0])?;
/// let cfg = Config::new(Method::DpPlus, 0.5, 0.1, 30);
/// let problem = Problem::new(&net, &cfg, &x, &y)?;
///
/// // With identity activations DP+ settles, and its states meet Eqs. 10, 11 and 15 to rounding (spec row 2).
/// let run = infer(&problem)?;
/// assert!(!run.verdict.failed());
/// assert!(kkt_report(&problem, &run.states)?.max_relative() < 1e-12);
///
/// // Bad input is a typed error at construction, never a panic.
/// let bad = Config::new(Method::DpPlus, 1.5, 0.1, 30);
/// assert_eq!(Problem::new(&net, &bad, &x, &y).unwrap_err(), Error::Alpha(1.5));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Problem<'a, T> {
    net: &'a Network<T>,
    cfg: &'a Config,
    x: &'a Matrix<T>,
    y: &'a Matrix<T>,
}

impl<'a, T: Scalar> Problem<'a, T> {
    /// Checks the network, the batch against it, the configuration against the network's loss and (dampened
    /// original DP) the explicit damping weights against its depth, in that order; the first failure is the error.
    pub fn new(
        net: &'a Network<T>,
        cfg: &'a Config,
        x: &'a Matrix<T>,
        y: &'a Matrix<T>,
    ) -> Result<Self> {
        net.validate()?;
        net.validate_batch(x, y)?;
        cfg.validate(net.loss)?;
        validate_damping(net, cfg)?;
        Ok(Self { net, cfg, x, y })
    }

    /// The network.
    pub fn net(&self) -> &'a Network<T> {
        self.net
    }

    /// The configuration.
    pub fn cfg(&self) -> &'a Config {
        self.cfg
    }

    /// The inputs, `[batch, in]` (the clamped layer z_0).
    pub fn x(&self) -> &'a Matrix<T> {
        self.x
    }

    /// The targets, `[batch, out]`.
    pub fn y(&self) -> &'a Matrix<T> {
        self.y
    }

    /// Checks states from elsewhere before a check reads them: one pair per layer 0..=L of the batch's shapes, all
    /// finite ([`DualState::validate`]), and layer 0 clamped to this problem's x in both states, bit for bit.
    pub fn validate_state(&self, state: &DualState<T>) -> Result<()> {
        state.validate(self.net, self.x.rows())?;
        for (name, z0) in [("z_plus.0", &state.plus[0]), ("z_minus.0", &state.minus[0])] {
            if let Some(index) = z0
                .as_slice()
                .iter()
                .zip(self.x.as_slice())
                .position(|(a, b)| a != b)
            {
                return Err(Error::ClampedInput {
                    what: name.into(),
                    index,
                });
            }
        }
        Ok(())
    }
}

/// For [`Method::OriginalDpDampened`]: every hidden layer has its damping weight L_k (explicit weights number
/// L - 1). Checked with the network because the configuration alone does not know the depth.
pub fn validate_damping<T: Scalar>(net: &Network<T>, cfg: &Config) -> Result<()> {
    if cfg.method == Method::OriginalDpDampened {
        if let Damping::Explicit(_) = cfg.damping() {
            cfg.damping().resolve(net)?;
        }
    }
    Ok(())
}
