//! Forward-mode dual numbers v + t e (e^2 = 0): a [`Scalar`] whose tangent t carries the derivative of the value v
//! along one seeded direction, so every generic function of the reference differentiates itself without the
//! back-propagation code. It is a checking tool: never stored, so it has no byte codec.
//!
//! Conventions where the derivative is not classical:
//! - comparisons, equality and the predicates (`is_nan`, `is_finite`, `classify`, ...) look at the value only, so
//!   the dual takes the same branches as `T` would. Where the reference branches (ReLU's `x > 0`, leaky ReLU's
//!   `x >= 0`), the tangent is therefore the derivative of the branch taken, which is exactly
//!   `Activation::derivative`'s convention at the kink (0 for ReLU at 0, 1 for leaky ReLU at 0);
//! - `max`/`min` at a tie and `abs` at 0 take the midpoint of the subdifferential (the mean of the two tangents,
//!   resp. 0). Softplus's stable form max(x, 0) + ln_1p(e^-|x|) then gets 1/2 + 0 = sigmoid(0) at x = 0, the
//!   reference's derivative, and the log-sum-exp shift's tangent cancels whatever it is. A ReLU written as
//!   max(x, 0) would get 1/2 at 0, not the reference's 0;
//! - piecewise-constant functions (`floor`, `ceil`, `round`, `trunc`, `signum`) have tangent 0, `fract` tangent 1;
//! - a zero tangent stays zero even where the derivative is infinite (sqrt at 0), so constants stay constants;
//!   elsewhere a derivative with no finite value gives a NaN or infinite tangent, never a panic.

use num_traits::{Num, NumCast, One, ToPrimitive, Zero};
use std::cmp::Ordering;
use std::fmt::{self, Display};

use std::ops::{Add, Div, Mul, Neg, Rem, Sub};

use crate::reference::scalar::Scalar;

/// A value and its tangent (directional derivative).
#[derive(Debug, Clone, Copy)]
pub struct Dual<T> {
    /// The number itself: exactly what `T` would compute.
    pub value: T,
    /// d value / d (seeded direction).
    pub tangent: T,
}

impl<T: Scalar> Dual<T> {
    /// v + t e.
    pub fn new(value: T, tangent: T) -> Self {
        Self { value, tangent }
    }

    /// A constant: tangent 0.
    pub fn constant(value: T) -> Self {
        Self::new(value, T::zero())
    }

    /// The variable differentiated by: tangent 1.
    pub fn variable(value: T) -> Self {
        Self::new(value, T::one())
    }

    /// Chain rule for a function of one argument: `value` = g(self.value), `slope` = g'(self.value). A zero tangent
    /// stays zero whatever the slope (a constant stays constant even where g' is infinite).
    fn chain(self, value: T, slope: T) -> Self {
        let tangent = if self.tangent == T::zero() {
            T::zero()
        } else {
            slope * self.tangent
        };
        Self::new(value, tangent)
    }

    /// The argument whose value is larger (`pick_larger`) or smaller; at a tie the mean of the tangents (midpoint of
    /// the subdifferential); a NaN argument loses, as in `f64::max`.
    fn extremum(self, other: Self, pick_larger: bool) -> Self {
        if self.value.is_nan() {
            return other;
        }
        if other.value.is_nan() {
            return self;
        }
        match self.value.partial_cmp(&other.value) {
            Some(Ordering::Greater) => {
                if pick_larger {
                    self
                } else {
                    other
                }
            }
            Some(Ordering::Less) => {
                if pick_larger {
                    other
                } else {
                    self
                }
            }
            _ => {
                let half = T::one() / (T::one() + T::one());
                let value = if pick_larger {
                    self.value.max(other.value)
                } else {
                    self.value.min(other.value)
                };
                Self::new(value, (self.tangent + other.tangent) * half)
            }
        }
    }
}

impl<T: Scalar> Scalar for Dual<T> {
    const NAME: &'static str = "dual";
}

impl<T: Display> Display for Dual<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} + {}e", self.value, self.tangent)
    }
}

/// Equality of the values (the tangent does not take part in branching).
impl<T: Scalar> PartialEq for Dual<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

/// Order of the values (the tangent does not take part in branching).
impl<T: Scalar> PartialOrd for Dual<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl<T: Scalar> Add for Dual<T> {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self::new(self.value + o.value, self.tangent + o.tangent)
    }
}

impl<T: Scalar> Sub for Dual<T> {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Self::new(self.value - o.value, self.tangent - o.tangent)
    }
}

impl<T: Scalar> Mul for Dual<T> {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        Self::new(
            self.value * o.value,
            self.tangent * o.value + self.value * o.tangent,
        )
    }
}

impl<T: Scalar> Div for Dual<T> {
    type Output = Self;
    /// (u / w)' = (u' - (u / w) w') / w.
    fn div(self, o: Self) -> Self {
        let q = self.value / o.value;
        Self::new(q, (self.tangent - q * o.tangent) / o.value)
    }
}

impl<T: Scalar> Rem for Dual<T> {
    type Output = Self;
    /// u % w = u - trunc(u / w) w, with trunc piecewise constant.
    fn rem(self, o: Self) -> Self {
        let n = (self.value / o.value).trunc();
        Self::new(self.value % o.value, self.tangent - n * o.tangent)
    }
}

impl<T: Scalar> Neg for Dual<T> {
    type Output = Self;
    fn neg(self) -> Self {
        Self::new(-self.value, -self.tangent)
    }
}

impl<T: Scalar> Zero for Dual<T> {
    fn zero() -> Self {
        Self::constant(T::zero())
    }
    fn is_zero(&self) -> bool {
        self.value.is_zero()
    }
}

impl<T: Scalar> One for Dual<T> {
    fn one() -> Self {
        Self::constant(T::one())
    }
}

impl<T: Scalar> Num for Dual<T> {
    type FromStrRadixErr = T::FromStrRadixErr;
    fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
        T::from_str_radix(s, radix).map(Self::constant)
    }
}

/// Conversions read the value.
impl<T: Scalar> ToPrimitive for Dual<T> {
    fn to_i64(&self) -> Option<i64> {
        self.value.to_i64()
    }
    fn to_u64(&self) -> Option<u64> {
        self.value.to_u64()
    }
    fn to_f64(&self) -> Option<f64> {
        self.value.to_f64()
    }
    fn to_f32(&self) -> Option<f32> {
        self.value.to_f32()
    }
}

/// Numbers converted into a dual are constants.
impl<T: Scalar> NumCast for Dual<T> {
    fn from<N: ToPrimitive>(n: N) -> Option<Self> {
        <T as NumCast>::from(n).map(Self::constant)
    }
}

mod float;
#[cfg(test)]
mod tests;
