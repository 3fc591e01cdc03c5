//! The float types the reference is generic over, the one enum that names them, and the one switch from a
//! [`FloatType`] value to a generic call ([`with_float!`](crate::with_float)).

use num_traits::Float;
use std::fmt::{Debug, Display};

use crate::error::{Error, Result};

pub use half::{bf16, f16};

/// A real number type the reference runs in: `f32`, `f64`, `half::f16`, `half::bf16`, ...
pub trait Scalar: Float + Debug + Display + Send + Sync + 'static {
    /// Short name used in reports and errors.
    const NAME: &'static str;

    /// Machine epsilon (spacing of the numbers at 1) as f64: 2^-52 for f64, 2^-23 for f32, 2^-10 for f16,
    /// 2^-7 for bf16. Every tolerance of the crate is a multiple of it.
    fn eps() -> f64 {
        Self::epsilon().to_f64().unwrap_or(f64::NAN)
    }
}

impl Scalar for f32 {
    const NAME: &'static str = "f32";
}
impl Scalar for f64 {
    const NAME: &'static str = "f64";
}
impl Scalar for f16 {
    const NAME: &'static str = "f16";
}
impl Scalar for bf16 {
    const NAME: &'static str = "bf16";
}

/// The float type of a run, a checkpoint, an oracle computation or a stored tensor. Serialized as `"f16"`,
/// `"bf16"`, `"f32"`, `"f64"` (the spellings run specs and oracle configurations already hold).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum FloatType {
    /// IEEE half precision (binary16), epsilon 2^-10.
    F16,
    /// bfloat16: f32's exponent range, epsilon 2^-7.
    Bf16,
    /// IEEE single precision (binary32), epsilon 2^-23.
    F32,
    /// IEEE double precision (binary64), epsilon 2^-52.
    F64,
}

impl FloatType {
    /// Every float type, narrowest first.
    pub const ALL: [FloatType; 4] = [
        FloatType::F16,
        FloatType::Bf16,
        FloatType::F32,
        FloatType::F64,
    ];

    /// The name used in files, reports and on the command line (the Rust type's [`Scalar::NAME`]).
    pub fn name(self) -> &'static str {
        crate::with_float!(self, T => <T as Scalar>::NAME)
    }

    /// Machine epsilon of the type ([`Scalar::eps`]).
    pub fn epsilon(self) -> f64 {
        crate::with_float!(self, T => <T as Scalar>::eps())
    }

    /// The error of a computation that runs only in the kernels' types (f32 and f64).
    pub fn kernels_unsupported(self) -> Error {
        Error::Unsupported(format!(
            "float type {}: the kernels (and so training) run in f32 or f64",
            self.name()
        ))
    }
}

impl Display for FloatType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for FloatType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        FloatType::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| Error::Format(format!("unknown float type {s:?} (f16, bf16, f32, f64)")))
    }
}

/// The one switch from a [`FloatType`] value to a generic call: binds `T` to the value's Rust type and evaluates
/// the expression.
///
/// `with_float!(float, T => expr)` covers all four types. `with_float!(float, kernels T => expr)` covers f32 and
/// f64 only and answers f16 and bf16 with [`FloatType::kernels_unsupported`] (the expression must then be a
/// `Result<_, crate::Error>`).
///
/// ```
/// use dualprop::reference::scalar::{FloatType, Scalar};
/// let digits = |t: FloatType| dualprop::with_float!(t, T => <T as Scalar>::eps().log2());
/// assert_eq!(digits(FloatType::Bf16), -7.0);
/// ```
#[macro_export]
macro_rules! with_float {
    // The f32 and f64 arms every form has, then the form's own arms for the half types (the kernels form does
    // not instantiate the body for them).
    (@wide $float:expr, $T:ident => $body:expr, { $($half:tt)* }) => {
        match $float {
            $crate::reference::scalar::FloatType::F32 => {
                type $T = f32;
                $body
            }
            $crate::reference::scalar::FloatType::F64 => {
                type $T = f64;
                $body
            }
            $($half)*
        }
    };
    ($float:expr, kernels $T:ident => $body:expr) => {
        $crate::with_float!(@wide $float, $T => $body, {
            half => Err(half.kernels_unsupported().into()),
        })
    };
    ($float:expr, $T:ident => $body:expr) => {
        $crate::with_float!(@wide $float, $T => $body, {
            $crate::reference::scalar::FloatType::F16 => {
                type $T = $crate::reference::scalar::f16;
                $body
            }
            $crate::reference::scalar::FloatType::Bf16 => {
                type $T = $crate::reference::scalar::bf16;
                $body
            }
        })
    };
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
