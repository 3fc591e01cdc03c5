//! Fixed-point residual of every update: the distance between the states and one more application of the update.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::reference::inference::Inference;
use crate::reference::matrix::Matrix;
use crate::reference::problem::Problem;
use crate::reference::scalar::{c, to_f64, Scalar};
use crate::reference::state::DualState;
use crate::reference::update::layer_update;

/// Largest |change| of z_k^+ and z_k^- if layer k alone were updated once more (Eqs. 3, 8, 16, 21 as configured).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerFixedPoint {
    /// Layer index k in 1..=L.
    pub layer: usize,
    /// max |update(z)_k^+ - z_k^+| over units and batch rows, absolute (in the state's units).
    pub plus: f64,
    /// max |update(z)_k^- - z_k^-| over units and batch rows, absolute (in the state's units).
    pub minus: f64,
}

/// Fixed-point residuals of an inference result.
pub fn fixed_point_residuals<T: Scalar>(
    problem: &Problem<T>,
    inference: &Inference<T>,
) -> Vec<LayerFixedPoint> {
    residuals_with(problem, &inference.states, &inference.frozen_gradient)
}

/// Fixed-point residuals of arbitrary states (e.g. another implementation's); the frozen output gradient, if the
/// rule needs it, is recomputed from the feed-forward pass of the problem's x. Validates the states first.
pub fn fixed_point_residuals_of_state<T: Scalar>(
    problem: &Problem<T>,
    state: &DualState<T>,
) -> Result<Vec<LayerFixedPoint>> {
    problem.validate_state(state)?;
    let (net, cfg) = (problem.net(), problem.cfg());
    let ff = net.forward(problem.x());
    let frozen = net
        .loss
        .weighted_gradient(&ff[net.depth()], problem.y(), c(cfg.beta));
    Ok(residuals_with(problem, state, &frozen))
}

fn residuals_with<T: Scalar>(
    problem: &Problem<T>,
    state: &DualState<T>,
    frozen: &Matrix<T>,
) -> Vec<LayerFixedPoint> {
    let (net, cfg, y) = (problem.net(), problem.cfg(), problem.y());
    (1..=net.depth())
        .map(|k| {
            let (p, m) = layer_update(net, cfg, state, k, y, frozen);
            LayerFixedPoint {
                layer: k,
                plus: to_f64(p.zip(&state.plus[k], |a, b| a - b).max_abs()),
                minus: to_f64(m.zip(&state.minus[k], |a, b| a - b).max_abs()),
            }
        })
        .collect()
}
