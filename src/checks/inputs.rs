//! Validation shared by the checks that judge states from elsewhere (an inference result or a candidate's).

use crate::error::Result;
use crate::reference::matrix::Matrix;
use crate::reference::method::Config;
use crate::reference::network::Network;
use crate::reference::scalar::Scalar;
use crate::reference::state::DualState;

/// Checks the network, the configuration against its loss, then the states and the targets against the network
/// (shapes and finite values), in that order: bad input is a typed error before any residual is computed.
pub(crate) fn validate_states<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    state: &DualState<T>,
    y: &Matrix<T>,
) -> Result<()> {
    net.validate()?;
    cfg.validate(net.loss)?;
    let batch = state.plus.first().map_or(0, |x| x.rows());
    state.validate(net, batch)?;
    net.validate_batch(&state.plus[0], y)
}
