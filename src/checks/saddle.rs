//! Well-posedness of DP+'s output problem (Eq. 14): a min over z_L^+ and a max over z_L^-. Eq. 16 always solves
//! the stationarity system Eq. 15 (proofs/OutputLayer.v `eq16_satisfies_eq15`); whether that stationary point is
//! the saddle Eq. 14 asks for depends on the curvatures (proofs/OutputSaddle.v `curvature_plus_general`,
//! `curvature_minus_general`): alpha (alpha l'' + 2) in z^+ and abar (abar l'' - 2) in z^-, with l'' the Hessian of
//! the beta-weighted loss. The verdict is a flag, not an error: Table 1 runs alpha in {0, 1}, the degenerate ends.

use serde::{Deserialize, Serialize};

use crate::reference::loss::Loss;
use crate::reference::method::{Config, Method};

/// Whether Eq. 16 is a saddle point of Eq. 14 (min over z_L^+, max over z_L^-) for every input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Saddle {
    /// alpha in (0, 1) and abar lambda < 2 (lambda the largest eigenvalue l'' can reach): a unique min in z^+ and
    /// a unique max in z^- (proofs/OutputSaddle.v `eq16_strict_saddle`).
    Strict,
    /// A saddle for every input, but with a flat direction: alpha = 1 (J affine in z^-,
    /// `eq14_alpha_one_degenerate`), alpha = 0 (J affine in z^+, `eq14_alpha_zero_degenerate`), or abar lambda = 2
    /// exactly (`eq16_saddle` includes the boundary).
    Degenerate,
    /// abar lambda > 2: for some input the z^- curvature at Eq. 16 is positive, so Eq. 16 is not a max over z^-
    /// (least squares: for every input, `eq14_no_max_when_abar_beta_gt_2`). Eq. 16 still solves Eq. 15.
    NotASaddle,
}

/// The largest eigenvalue the Hessian of the beta-weighted loss `beta l` reaches over all inputs: beta for least
/// squares (Hessian beta I); beta / 2 for softmax cross-entropy (Hessian beta (diag(p) - p p^T), eigenvalues in
/// [0, beta / 2], the top one reached at two classes with equal probability; docs/proofs.md).
pub fn loss_curvature_bound(loss: Loss, beta: f64) -> f64 {
    match loss {
        Loss::LeastSquares => beta,
        Loss::SoftmaxCrossEntropy => beta / 2.0,
    }
}

/// The saddle verdict of Eq. 14 for `cfg` (its alpha and beta) and `loss`; `None` for methods whose output is not
/// Eq. 14's (original DP's Eq. 3 has its own well-posedness, `Error::IllPosedOriginalOutput`; the Eq. 20/21
/// variants are stationary points of a Lagrangian).
///
/// Both losses are convex (l'' >= 0), so the z^+ curvature alpha (alpha l'' + 2) is >= 0 always and > 0 for
/// alpha > 0; the z^- curvature abar (abar l'' - 2) is <= 0 for all inputs exactly when abar lambda <= 2
/// (proofs/OutputSaddle.v `eq16_saddle`, `eq16_saddle_general`).
///
/// Proved (proofs/): `OutputSaddle.v` `curvature_plus`, `curvature_minus`, `curvature_plus_general`,
/// `curvature_minus_general`, `eq16_saddle`, `eq16_strict_saddle`, `eq14_no_max_when_abar_beta_gt_2`,
/// `eq14_alpha_one_degenerate`, `eq14_alpha_zero_degenerate`, `eq16_saddle_general`.
pub fn output_saddle(cfg: &Config, loss: Loss) -> Option<Saddle> {
    if cfg.method != Method::DpPlus {
        return None;
    }
    let (alpha, abar) = (cfg.alpha, cfg.abar());
    let minus_curvature = abar * loss_curvature_bound(loss, cfg.beta);
    Some(if minus_curvature > 2.0 {
        Saddle::NotASaddle
    } else if alpha == 0.0 || alpha == 1.0 || minus_curvature == 2.0 {
        Saddle::Degenerate
    } else {
        Saddle::Strict
    })
}
