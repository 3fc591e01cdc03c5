//! Tolerances, each with its reason. All are relative (dimensionless) unless the name says otherwise.

use crate::reference::scalar::{to_f64, Scalar};

/// Machine epsilon of `T` as f64 (2^-52 for f64, 2^-23 for f32, 2^-10 for f16, 2^-7 for bf16).
pub fn eps<T: Scalar>() -> f64 {
    to_f64(T::epsilon())
}

/// Relative tolerance for an identity that holds in exact arithmetic and is evaluated in `T` ("holds to rounding").
///
/// Each residual combines a few dot products of length at most `max_width`, whose error is bounded by
/// gamma_n = n eps / (1 - n eps) times the sum of the absolute products (Higham, Thm. 3.1); the states entering them
/// carry the rounding of up to `depth` earlier layers, which adds at first order when the layer gains are O(1).
/// A factor 4 covers the activation and its inverse (each correctly rounded to within a few ulps).
pub fn rounding<T: Scalar>(max_width: usize, depth: usize) -> f64 {
    4.0 * (max_width + 4) as f64 * depth.max(1) as f64 * eps::<T>()
}

/// Relative difference |x - y| / max(|x|, |y|, floor): the floor keeps quantities near zero from inflating it.
pub fn relative_difference(x: f64, y: f64, floor: f64) -> f64 {
    (x - y).abs() / x.abs().max(y.abs()).max(floor)
}
