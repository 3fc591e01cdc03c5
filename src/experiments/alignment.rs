//! Alignment of a gradient estimate with back-propagation, layer by layer (Figures 1 and 2), in the metrics' form.

use crate::checks::alignment::alignment;
use crate::experiments::metrics::LayerAlignment;
use crate::reference::{Gradients, Scalar};

/// Cosine, angle and norms per layer (1-based, as in the figures); a layer's vector is its weights and bias.
pub fn compare<T: Scalar>(estimate: &Gradients<T>, backprop: &Gradients<T>) -> Vec<LayerAlignment> {
    alignment(estimate, backprop)
        .into_iter()
        .map(|a| LayerAlignment {
            layer: a.layer + 1,
            cosine: a.cosine,
            angle_degrees: a.angle_degrees,
            difference_norm: a.diff_norm,
            estimate_norm: a.estimate_norm,
            backprop_norm: a.backprop_norm,
        })
        .collect()
}
