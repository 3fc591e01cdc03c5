//! Alignment of a gradient estimate with back-propagation, layer by layer (Figures 1 and 2).

use crate::experiments::metrics::LayerAlignment;
use crate::reference::{scalar::to_f64, Gradients, Scalar};

/// Cosine, angle and norms per layer; a layer's vector is its weight matrix and bias together.
pub fn compare<T: Scalar>(estimate: &Gradients<T>, backprop: &Gradients<T>) -> Vec<LayerAlignment> {
    (0..estimate.w.len())
        .map(|k| {
            let est = estimate.w[k].as_slice().iter().chain(&estimate.b[k]);
            let bp = backprop.w[k].as_slice().iter().chain(&backprop.b[k]);
            let (mut dot, mut ee, mut bb, mut dd) = (0.0, 0.0, 0.0, 0.0);
            for (&e, &b) in est.zip(bp) {
                let (e, b) = (to_f64(e), to_f64(b));
                dot += e * b;
                ee += e * e;
                bb += b * b;
                dd += (e - b) * (e - b);
            }
            let denom = ee.sqrt() * bb.sqrt();
            // Two zero vectors are aligned; one zero vector has no direction (NaN says so).
            let cosine = if denom > 0.0 {
                (dot / denom).clamp(-1.0, 1.0)
            } else if ee == 0.0 && bb == 0.0 {
                1.0
            } else {
                f64::NAN
            };
            LayerAlignment {
                layer: k + 1,
                cosine,
                angle_degrees: cosine.acos().to_degrees(),
                difference_norm: dd.sqrt(),
                estimate_norm: ee.sqrt(),
                backprop_norm: bb.sqrt(),
            }
        })
        .collect()
}
