//! Gradient alignment per layer against back-propagation (the quantities of Figures 1 and 2).

use serde::{Deserialize, Serialize};

use crate::reference::gradient::Gradients;
use crate::reference::scalar::{to_f64, Scalar};

/// Alignment of one layer's (W, b) estimate with the back-propagation gradient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerAlignment {
    /// Index k of W_k (0-based, as in PyTorch's list of layers).
    pub layer: usize,
    /// cos of the angle between the two (W, b) vectors; 1 if both are zero (they agree), NaN if only one is
    /// (it has no direction).
    pub cosine: f64,
    /// The angle in degrees.
    pub angle_degrees: f64,
    /// ||estimate - backprop||_2.
    pub diff_norm: f64,
    pub estimate_norm: f64,
    pub backprop_norm: f64,
}

/// Per-layer alignment of `estimate` against `backprop` (accumulated in f64).
pub fn alignment<T: Scalar>(
    estimate: &Gradients<T>,
    backprop: &Gradients<T>,
) -> Vec<LayerAlignment> {
    (0..estimate.w.len())
        .map(|k| {
            let e = estimate.w[k].as_slice().iter().chain(&estimate.b[k]);
            let g = backprop.w[k].as_slice().iter().chain(&backprop.b[k]);
            let (mut dot, mut ee, mut gg, mut dd) = (0.0, 0.0, 0.0, 0.0);
            for (&x, &y) in e.zip(g) {
                let (x, y) = (to_f64(x), to_f64(y));
                dot += x * y;
                ee += x * x;
                gg += y * y;
                dd += (x - y) * (x - y);
            }
            let cosine = if ee > 0.0 && gg > 0.0 {
                (dot / (ee.sqrt() * gg.sqrt())).clamp(-1.0, 1.0)
            } else if ee == 0.0 && gg == 0.0 {
                1.0
            } else {
                f64::NAN
            };
            LayerAlignment {
                layer: k,
                cosine,
                angle_degrees: cosine.acos().to_degrees(),
                diff_norm: dd.sqrt(),
                estimate_norm: ee.sqrt(),
                backprop_norm: gg.sqrt(),
            }
        })
        .collect()
}
