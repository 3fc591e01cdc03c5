//! The float types the reference is generic over.

use num_traits::Float;
use std::fmt::{Debug, Display};

use crate::error::{Error, Result};

/// A real number type the reference runs in: `f32`, `f64`, `half::f16`, `half::bf16`, ...
pub trait Scalar: Float + Debug + Display + Send + Sync + 'static {
    /// Short name used in reports and errors.
    const NAME: &'static str;
}

impl Scalar for f32 {
    const NAME: &'static str = "f32";
}
impl Scalar for f64 {
    const NAME: &'static str = "f64";
}
impl Scalar for half::f16 {
    const NAME: &'static str = "f16";
}
impl Scalar for half::bf16 {
    const NAME: &'static str = "bf16";
}

/// Converts an `f64` (configuration values are kept in `f64`) into `T`, refusing values that overflow.
pub fn from_f64<T: Scalar>(value: f64) -> Result<T> {
    match T::from(value) {
        Some(v) if v.is_finite() || !value.is_finite() => Ok(v),
        _ => Err(Error::Unrepresentable {
            value,
            float: T::NAME,
        }),
    }
}

/// Converts `T` to `f64` for reports (always exact for the supported types).
pub fn to_f64<T: Scalar>(value: T) -> f64 {
    value.to_f64().unwrap_or(f64::NAN)
}

/// `T` from a small constant the code itself chooses (never user data).
pub fn c<T: Scalar>(value: f64) -> T {
    T::from(value).unwrap_or_else(T::nan)
}
