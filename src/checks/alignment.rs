//! Gradient alignment per layer against back-propagation (the quantities of Figures 1 and 2).

use serde::{Deserialize, Serialize};

use crate::json_float;
use crate::reference::gradient::Gradients;
use crate::reference::scalar::{to_f64, Scalar};

/// Alignment of one layer's (W, b) estimate with the back-propagation gradient: the one alignment record of the
/// crate (oracle summaries, training runs' alignment.jsonl, the figures).
///
/// Non-finite values are written as the strings "NaN", "inf", "-inf" (JSON has none); `null` reads as NaN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerAlignment {
    /// Layer k in 1..=L, counted like the states and the KKT and fixed-point reports: the parameters W_{k-1},
    /// b_{k-1} that produce a_k (`Network::layers[k - 1]`). The figures' "layer k".
    pub layer: usize,
    /// cos of the angle between the two (W, b) vectors; 1 if both are zero (they agree), NaN if only one is
    /// (it has no direction).
    #[serde(with = "json_float")]
    pub cosine: f64,
    /// The angle in degrees.
    #[serde(with = "json_float")]
    pub angle_degrees: f64,
    /// ||estimate - backprop||_2 (`diff_norm` in older oracle summaries, which also counted layers from 0).
    #[serde(with = "json_float", alias = "diff_norm")]
    pub difference_norm: f64,
    /// ||estimate||_2.
    #[serde(with = "json_float")]
    pub estimate_norm: f64,
    /// ||backprop||_2.
    #[serde(with = "json_float")]
    pub backprop_norm: f64,
}

/// Per-layer alignment of `estimate` against `backprop` (accumulated in f64), layers 1..=L.
pub fn alignment<T: Scalar>(
    estimate: &Gradients<T>,
    backprop: &Gradients<T>,
) -> Vec<LayerAlignment> {
    (0..estimate.w.len())
        .map(|i| {
            let e = estimate.w[i].as_slice().iter().chain(&estimate.b[i]);
            let g = backprop.w[i].as_slice().iter().chain(&backprop.b[i]);
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
                layer: i + 1,
                cosine,
                angle_degrees: cosine.acos().to_degrees(),
                difference_norm: dd.sqrt(),
                estimate_norm: ee.sqrt(),
                backprop_norm: gg.sqrt(),
            }
        })
        .collect()
}
