//! DP+ with ReLU hidden units, alpha in [0, 1]: the contraction bounds of docs/stability.md
//! ("DP+ for alpha in (0, 1)").

use crate::reference::activation::Activation;
use crate::reference::matrix::Matrix;
use crate::reference::method::{Config, Method, OutputRule, Schedule};
use crate::reference::network::Network;
use crate::reference::rules::UnitPattern;
use crate::reference::scalar::Scalar;
use crate::reference::state::DualState;
use crate::reference::widen::network_f64;

use super::patterns::dp_plus_patterns;
use super::power::{nonnegative_radius, spectral_norm_upper};

/// The two DP+ contraction bounds of docs/stability.md ("DP+ for alpha in (0, 1)").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DpPlusBound {
    /// rho(C) with the layer norms restricted to the kink pattern at the state (max over the batch): an upper bound
    /// of the loop gain while no unit changes piece. 0 when no unit straddles.
    pub local: f64,
    /// rho(C) with the full layer norms: when < 1 the pass is a contraction everywhere (unique fixed point,
    /// convergence from any start).
    pub global: f64,
    /// Straddling units (times batch rows) at the state.
    pub straddling: usize,
}

/// Comparison matrix C over the carried feedback (delta_2..delta_L) of one up-down pass, from per-layer numbers:
/// nu[k] bounds ||W_k Za_k||, tau[k] bounds ||W_k Zb_k W_k^T|| / zeta, straddle[k] says whether delta_k depends on
/// a_k (k = 1..L-1, index 0 unused), `beta_out` is the output's d delta_L / d a_L (beta for Eq. 16, 0 when frozen).
fn comparison_matrix(
    depth: usize,
    zeta: f64,
    beta_out: f64,
    nu: &[f64],
    tau: &[f64],
    straddle: &[bool],
) -> Vec<Vec<f64>> {
    let n = depth - 1; // carried D_2..D_L -> index j - 2
    let unit = |j: usize| {
        let mut v = vec![0.0; n];
        v[j - 2] = 1.0;
        v
    };
    let axpy = |a: f64, x: &[f64], y: &[f64]| -> Vec<f64> {
        x.iter().zip(y).map(|(xi, yi)| a * xi + yi).collect()
    };
    // Up sweep: eps_1 = 0, eps_{k+1} <= nu_k eps_k + zeta tau_k D_{k+1}.
    let mut eps = vec![vec![0.0; n]; depth + 1];
    for k in 1..depth {
        eps[k + 1] = axpy(
            nu[k],
            &eps[k],
            &unit(k + 1)
                .iter()
                .map(|v| v * zeta * tau[k])
                .collect::<Vec<_>>(),
        );
    }
    // Down sweep: D'_L = beta eps_L, D'_k <= [S_k nonempty] eps_k + nu_k D'_{k+1}.
    let mut dp = vec![vec![0.0; n]; depth + 1];
    dp[depth] = eps[depth].iter().map(|v| beta_out * v).collect();
    for k in (2..depth).rev() {
        let s = if straddle[k] { 1.0 } else { 0.0 };
        dp[k] = axpy(
            nu[k],
            &dp[k + 1],
            &eps[k].iter().map(|v| s * v).collect::<Vec<_>>(),
        );
    }
    (2..=depth).map(|j| dp[j].clone()).collect()
}

/// The DP+ contraction bounds for ReLU hidden layers, up-down schedule, alpha in [0, 1], Eq. 16 output
/// (or its frozen-gradient convention). None for other methods, activations or schedules, or a hidden alpha apart
/// from alpha ([`Config::hidden_alpha`]: the bounds are derived for one alpha).
pub fn dp_plus_relu_bound<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    state: &DualState<T>,
) -> Option<DpPlusBound> {
    if cfg.method != Method::DpPlus
        || net.activation != Activation::Relu
        || cfg.schedule != Schedule::UpDown
        || cfg.hidden_layer_alpha() != cfg.alpha
    {
        return None;
    }
    let beta_out = match cfg.output_rule() {
        OutputRule::Eq16 => cfg.beta,
        OutputRule::Eq16FrozenGradient => 0.0,
        _ => return None,
    };
    let depth = net.depth();
    if depth < 2 {
        return Some(DpPlusBound {
            local: 0.0,
            global: 0.0,
            straddling: 0,
        });
    }
    let zeta = cfg.alpha * cfg.abar();
    let net64 = network_f64(net);
    // Global: nu_k = ||W_k||, tau_k = ||W_k||^2, every layer may straddle.
    let mut nu = vec![0.0; depth];
    let mut tau = vec![0.0; depth];
    for k in 1..depth {
        nu[k] = spectral_norm_upper(&net64.layers[k].w);
        tau[k] = nu[k] * nu[k];
    }
    let global = nonnegative_radius(&comparison_matrix(
        depth,
        zeta,
        beta_out,
        &nu,
        &tau,
        &vec![true; depth],
    ));
    // Local: per sample, restricted to the pattern.
    let patterns = dp_plus_patterns(net, cfg.alpha, state);
    let batch = state.plus[0].rows();
    let mut local = 0.0_f64;
    let mut straddling = 0;
    for r in 0..batch {
        let mut nu = vec![0.0; depth];
        let mut tau = vec![0.0; depth];
        let mut straddle = vec![false; depth];
        for k in 1..depth {
            let w = &net64.layers[k].w;
            let width = w.cols();
            let pat = &patterns[k - 1][r * width..(r + 1) * width];
            // W_k P_N (columns of units not inactive) and W_k Sigma_k W_k^T (Sigma = +1 up, -1 down straddles).
            let wn = Matrix::from_fn(w.rows(), width, |i, j| {
                if pat[j] == UnitPattern::Inactive {
                    0.0
                } else {
                    w.get(i, j)
                }
            });
            let sign = |p: UnitPattern| match p {
                UnitPattern::StraddleUp => 1.0,
                UnitPattern::StraddleDown => -1.0,
                _ => 0.0,
            };
            let ws = Matrix::from_fn(w.rows(), width, |i, j| sign(pat[j]) * w.get(i, j));
            let count = pat.iter().filter(|p| p.straddles()).count();
            straddling += count;
            straddle[k] = count > 0;
            nu[k] = spectral_norm_upper(&wn);
            tau[k] = if count > 0 {
                spectral_norm_upper(&ws.mul_transpose(w))
            } else {
                0.0
            };
        }
        local = local.max(nonnegative_radius(&comparison_matrix(
            depth, zeta, beta_out, &nu, &tau, &straddle,
        )));
    }
    Some(DpPlusBound {
        local,
        global,
        straddling,
    })
}
