//! JSON has no NaN or infinity: the training runs' records and the alignment reports write them as the strings
//! "NaN", "inf", "-inf" and read them back from those (or from null, which serde_json writes by default). Use as
//! `#[serde(with = "crate::json_float")]` on an `f64` field.

use serde::{Deserialize, Deserializer, Serializer};

/// A finite number as itself, NaN and the infinities as strings.
pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else if v.is_nan() {
        s.serialize_str("NaN")
    } else if *v > 0.0 {
        s.serialize_str("inf")
    } else {
        s.serialize_str("-inf")
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Repr {
    Number(f64),
    Text(String),
    Null(()),
}

/// A number, or "inf" / "-inf"; any other string and null read as NaN.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(match Option::<Repr>::deserialize(d)? {
        Some(Repr::Number(v)) => v,
        Some(Repr::Text(t)) if t == "inf" => f64::INFINITY,
        Some(Repr::Text(t)) if t == "-inf" => f64::NEG_INFINITY,
        _ => f64::NAN,
    })
}
