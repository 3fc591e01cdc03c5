//! [`Float`] for [`Dual`]: each method with its derivative (the conventions at kinks are in the parent module).

use num_traits::{Float, NumCast, One, Zero};
use std::num::FpCategory;

use super::Dual;
use crate::reference::scalar::{c, Scalar};

/// Methods that only make or read the value: constants (tangent 0), predicates on the value, and the piecewise
/// constant functions (slope 0, also at their jumps).
macro_rules! value_only {
    (constants: $($c:ident),*; predicates: $($p:ident),*; steps: $($s:ident),*) => {
        $(fn $c() -> Self {
            Self::constant(T::$c())
        })*
        $(fn $p(self) -> bool {
            self.value.$p()
        })*
        $(fn $s(self) -> Self {
            Self::new(self.value.$s(), T::zero())
        })*
    };
}

impl<T: Scalar> Float for Dual<T> {
    value_only! {
        constants: nan, infinity, neg_infinity, neg_zero, min_value, min_positive_value, epsilon, max_value;
        predicates: is_nan, is_infinite, is_finite, is_normal, is_sign_positive, is_sign_negative;
        steps: floor, ceil, round, trunc, signum
    }
    fn classify(self) -> FpCategory {
        self.value.classify()
    }
    fn fract(self) -> Self {
        Self::new(self.value.fract(), self.tangent)
    }
    /// Slope sign(v), and 0 at v = 0 (midpoint of [-1, 1]).
    fn abs(self) -> Self {
        let slope = if self.value > T::zero() {
            T::one()
        } else if self.value < T::zero() {
            -T::one()
        } else if self.value.is_nan() {
            T::nan()
        } else {
            T::zero()
        };
        self.chain(self.value.abs(), slope)
    }
    /// self * a + b, value fused as `T` fuses it.
    fn mul_add(self, a: Self, b: Self) -> Self {
        Self::new(
            self.value.mul_add(a.value, b.value),
            self.tangent * a.value + self.value * a.tangent + b.tangent,
        )
    }
    fn recip(self) -> Self {
        let r = self.value.recip();
        self.chain(r, -r * r)
    }
    fn powi(self, n: i32) -> Self {
        if n == 0 {
            return Self::one();
        }
        let slope = <T as NumCast>::from(n).unwrap_or_else(T::nan) * self.value.powi(n - 1);
        self.chain(self.value.powi(n), slope)
    }
    /// d(u^w) = w u^(w-1) du + u^w ln(u) dw, each term only when its tangent is nonzero.
    fn powf(self, n: Self) -> Self {
        let value = self.value.powf(n.value);
        let mut tangent = T::zero();
        if self.tangent != T::zero() {
            tangent = tangent + n.value * self.value.powf(n.value - T::one()) * self.tangent;
        }
        if n.tangent != T::zero() {
            tangent = tangent + value * self.value.ln() * n.tangent;
        }
        Self::new(value, tangent)
    }
    fn sqrt(self) -> Self {
        let s = self.value.sqrt();
        self.chain(s, (s + s).recip())
    }
    fn exp(self) -> Self {
        let e = self.value.exp();
        self.chain(e, e)
    }
    fn exp2(self) -> Self {
        let e = self.value.exp2();
        self.chain(e, e * (T::one() + T::one()).ln())
    }
    fn ln(self) -> Self {
        self.chain(self.value.ln(), self.value.recip())
    }
    fn log(self, base: Self) -> Self {
        self.ln() / base.ln()
    }
    fn log2(self) -> Self {
        self.chain(
            self.value.log2(),
            (self.value * (T::one() + T::one()).ln()).recip(),
        )
    }
    fn log10(self) -> Self {
        self.chain(self.value.log10(), (self.value * c::<T>(10.0).ln()).recip())
    }
    fn to_degrees(self) -> Self {
        self.chain(self.value.to_degrees(), T::one().to_degrees())
    }
    fn to_radians(self) -> Self {
        self.chain(self.value.to_radians(), T::one().to_radians())
    }
    fn max(self, other: Self) -> Self {
        self.extremum(other, true)
    }
    fn min(self, other: Self) -> Self {
        self.extremum(other, false)
    }
    /// max(self - other, 0), with the tie at the midpoint as for `max`.
    fn abs_sub(self, other: Self) -> Self {
        (self - other).max(Self::zero())
    }
    fn cbrt(self) -> Self {
        let r = self.value.cbrt();
        self.chain(r, (c3::<T>() * r * r).recip())
    }
    /// d sqrt(u^2 + w^2) = (u du + w dw) / h; 0 at the origin when both tangents are 0.
    fn hypot(self, other: Self) -> Self {
        let h = self.value.hypot(other.value);
        if self.tangent == T::zero() && other.tangent == T::zero() {
            return Self::constant(h);
        }
        Self::new(
            h,
            (self.value * self.tangent + other.value * other.tangent) / h,
        )
    }
    fn sin(self) -> Self {
        let (s, c) = self.value.sin_cos();
        self.chain(s, c)
    }
    fn cos(self) -> Self {
        let (s, c) = self.value.sin_cos();
        self.chain(c, -s)
    }
    fn tan(self) -> Self {
        let t = self.value.tan();
        self.chain(t, T::one() + t * t)
    }
    fn asin(self) -> Self {
        let slope = (T::one() - self.value * self.value).sqrt().recip();
        self.chain(self.value.asin(), slope)
    }
    fn acos(self) -> Self {
        let slope = -(T::one() - self.value * self.value).sqrt().recip();
        self.chain(self.value.acos(), slope)
    }
    fn atan(self) -> Self {
        self.chain(
            self.value.atan(),
            (T::one() + self.value * self.value).recip(),
        )
    }
    /// atan2(y = self, x = other): d = (x dy - y dx) / (x^2 + y^2).
    fn atan2(self, other: Self) -> Self {
        let value = self.value.atan2(other.value);
        if self.tangent == T::zero() && other.tangent == T::zero() {
            return Self::constant(value);
        }
        let r2 = self.value * self.value + other.value * other.value;
        Self::new(
            value,
            (other.value * self.tangent - self.value * other.tangent) / r2,
        )
    }
    fn sin_cos(self) -> (Self, Self) {
        let (s, c) = self.value.sin_cos();
        (self.chain(s, c), self.chain(c, -s))
    }
    fn exp_m1(self) -> Self {
        self.chain(self.value.exp_m1(), self.value.exp())
    }
    fn ln_1p(self) -> Self {
        self.chain(self.value.ln_1p(), (T::one() + self.value).recip())
    }
    fn sinh(self) -> Self {
        self.chain(self.value.sinh(), self.value.cosh())
    }
    fn cosh(self) -> Self {
        self.chain(self.value.cosh(), self.value.sinh())
    }
    fn tanh(self) -> Self {
        let t = self.value.tanh();
        self.chain(t, T::one() - t * t)
    }
    fn asinh(self) -> Self {
        let slope = (self.value * self.value + T::one()).sqrt().recip();
        self.chain(self.value.asinh(), slope)
    }
    fn acosh(self) -> Self {
        let slope = (self.value * self.value - T::one()).sqrt().recip();
        self.chain(self.value.acosh(), slope)
    }
    fn atanh(self) -> Self {
        let slope = (T::one() - self.value * self.value).recip();
        self.chain(self.value.atanh(), slope)
    }
    fn integer_decode(self) -> (u64, i16, i8) {
        self.value.integer_decode()
    }
}

/// The constant 3 in `T` (exact in every float type).
fn c3<T: Scalar>() -> T {
    T::one() + T::one() + T::one()
}
