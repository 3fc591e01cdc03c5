//! The byte codec of the stored float types: little-endian, as safetensors holds them. Kept off
//! [`Scalar`] because scalar types that are never stored (dual numbers) implement that trait too.

use safetensors::Dtype;

use crate::reference::scalar::{bf16, f16, FloatType, Scalar};

/// A float type a tensor file can hold: its [`FloatType`] and its little-endian bytes.
pub trait StoredFloat: Scalar {
    /// The enum value naming this type.
    const FLOAT: FloatType;
    /// Appends the little-endian bytes of `values` to `out`.
    fn to_le(values: &[Self], out: &mut Vec<u8>);
    /// The values whose little-endian bytes are `bytes` (a trailing partial value is ignored).
    fn from_le(bytes: &[u8]) -> Vec<Self>;
}

macro_rules! stored {
    ($t:ty, $float:ident, $n:literal) => {
        impl StoredFloat for $t {
            const FLOAT: FloatType = FloatType::$float;
            fn to_le(values: &[Self], out: &mut Vec<u8>) {
                out.reserve(values.len() * $n);
                values
                    .iter()
                    .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
            }
            fn from_le(bytes: &[u8]) -> Vec<Self> {
                bytes
                    .chunks_exact($n)
                    .map(|c| <$t>::from_le_bytes(c.try_into().expect("chunks of the type's size")))
                    .collect()
            }
        }
    };
}

stored!(f16, F16, 2);
stored!(bf16, Bf16, 2);
stored!(f32, F32, 4);
stored!(f64, F64, 8);

/// The safetensors dtype of a float type.
pub fn dtype(float: FloatType) -> Dtype {
    match float {
        FloatType::F16 => Dtype::F16,
        FloatType::Bf16 => Dtype::BF16,
        FloatType::F32 => Dtype::F32,
        FloatType::F64 => Dtype::F64,
    }
}

/// The float type of a safetensors dtype (`None` for integers, booleans and the 8-bit floats).
pub fn float_type(dtype: Dtype) -> Option<FloatType> {
    FloatType::ALL
        .into_iter()
        .find(|&t| self::dtype(t) == dtype)
}
