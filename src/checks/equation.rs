//! The conditions the KKT check evaluates, named once: [`Equation`]'s Display is the paper's wording, and it is
//! also how reports, oracle files (`kkt.{k}.equations`) and JSON spell each condition.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One condition of the KKT report ([`crate::checks::kkt`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Equation {
    /// DP+ hidden layer, Eq. 10, first line (the z+ stationarity).
    Eq10Plus,
    /// DP+ hidden layer, Eq. 10, second line (the z- stationarity).
    Eq10Minus,
    /// DP+ hidden layer, Eq. 11 (the sum of both lines of Eq. 10).
    Eq11,
    /// [`Equation::Eq10Plus`] at units whose nudged pre-activations straddle the kink.
    Eq10PlusStraddling,
    /// [`Equation::Eq10Minus`] at straddling units.
    Eq10MinusStraddling,
    /// [`Equation::Eq11`] at straddling units.
    Eq11Straddling,
    /// Eq. 19 at inactive ReLU units: z+ = z- = 0.
    Eq19InactiveRelu,
    /// Original DP: stationarity of Eq. 3 in z+ (hidden or output layer).
    Eq3StationarityPlus,
    /// Original DP: stationarity of Eq. 3 in z-.
    Eq3StationarityMinus,
    /// Eq. 20 variants, hidden layer: the constraint zbar = f(a).
    Eq20Constraint,
    /// Eq. 20 variants, hidden layer: the multiplier delta = W^T D delta.
    Eq20Multiplier,
    /// DP+ output layer, Eq. 15, first line.
    Eq15Plus,
    /// DP+ output layer, Eq. 15, second line.
    Eq15Minus,
    /// Eq. 20 variants, output layer: the constraint zbar = a.
    Eq20OutputConstraint,
    /// Eq. 20 variants, output layer: the multiplier delta = -beta l'(zbar).
    Eq20OutputMultiplier,
}

impl Equation {
    /// Every condition, in the order a report lists them.
    pub const ALL: [Equation; 15] = [
        Equation::Eq10Plus,
        Equation::Eq10Minus,
        Equation::Eq11,
        Equation::Eq10PlusStraddling,
        Equation::Eq10MinusStraddling,
        Equation::Eq11Straddling,
        Equation::Eq19InactiveRelu,
        Equation::Eq3StationarityPlus,
        Equation::Eq3StationarityMinus,
        Equation::Eq20Constraint,
        Equation::Eq20Multiplier,
        Equation::Eq15Plus,
        Equation::Eq15Minus,
        Equation::Eq20OutputConstraint,
        Equation::Eq20OutputMultiplier,
    ];

    /// The paper's wording; stored in committed files, so never reworded.
    pub fn wording(self) -> &'static str {
        match self {
            Equation::Eq10Plus => "Eq. 10 (+)",
            Equation::Eq10Minus => "Eq. 10 (-)",
            Equation::Eq11 => "Eq. 11",
            Equation::Eq10PlusStraddling => "Eq. 10 (+) straddling the kink",
            Equation::Eq10MinusStraddling => "Eq. 10 (-) straddling the kink",
            Equation::Eq11Straddling => "Eq. 11 straddling the kink",
            Equation::Eq19InactiveRelu => "Eq. 19 (inactive ReLU: z+ = z- = 0)",
            Equation::Eq3StationarityPlus => "Eq. 3 stationarity in z+",
            Equation::Eq3StationarityMinus => "Eq. 3 stationarity in z-",
            Equation::Eq20Constraint => "Eq. 20 constraint zbar = f(a)",
            Equation::Eq20Multiplier => "Eq. 20 multiplier delta = W^T D delta",
            Equation::Eq15Plus => "Eq. 15 (+)",
            Equation::Eq15Minus => "Eq. 15 (-)",
            Equation::Eq20OutputConstraint => "Eq. 20 constraint zbar = a",
            Equation::Eq20OutputMultiplier => "Eq. 20 multiplier delta = -beta l'(zbar)",
        }
    }

    /// The same condition at units straddling the kink (Eqs. 10 and 11 only).
    pub fn straddling(self) -> Option<Equation> {
        match self {
            Equation::Eq10Plus => Some(Equation::Eq10PlusStraddling),
            Equation::Eq10Minus => Some(Equation::Eq10MinusStraddling),
            Equation::Eq11 => Some(Equation::Eq11Straddling),
            _ => None,
        }
    }

    /// True for the conditions evaluated at straddling units, where Prop. 3.1's local linearity fails.
    pub fn is_straddling(self) -> bool {
        matches!(
            self,
            Equation::Eq10PlusStraddling | Equation::Eq10MinusStraddling | Equation::Eq11Straddling
        )
    }
}

impl fmt::Display for Equation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wording())
    }
}

/// Reads as its wording, so code that searched the former string keys (`e.equation.contains("straddling")`)
/// keeps working.
impl Deref for Equation {
    type Target = str;
    fn deref(&self) -> &str {
        self.wording()
    }
}

impl FromStr for Equation {
    type Err = crate::error::Error;
    fn from_str(s: &str) -> crate::error::Result<Self> {
        Equation::ALL
            .into_iter()
            .find(|e| e.wording() == s)
            .ok_or_else(|| crate::error::Error::Format(format!("unknown KKT equation {s:?}")))
    }
}

impl Serialize for Equation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.wording())
    }
}

impl<'de> Deserialize<'de> for Equation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each wording names one condition: parsing the Display gives the variant back (route: the table above
    /// read back through `FromStr`, independent of the KKT computation).
    #[test]
    fn wording_round_trips() {
        for e in Equation::ALL {
            assert_eq!(e.to_string().parse::<Equation>().unwrap(), e);
            assert_eq!(e.is_straddling(), e.contains("straddling"));
            if let Some(s) = e.straddling() {
                assert_eq!(s.wording(), format!("{e} straddling the kink"));
            }
        }
    }
}
