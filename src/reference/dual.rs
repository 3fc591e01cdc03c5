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

use num_traits::{Float, Num, NumCast, One, ToPrimitive, Zero};
use std::cmp::Ordering;
use std::fmt::{self, Display};
use std::num::FpCategory;
use std::ops::{Add, Div, Mul, Neg, Rem, Sub};

use crate::reference::scalar::{c, Scalar};

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

impl<T: Scalar> Float for Dual<T> {
    fn nan() -> Self {
        Self::constant(T::nan())
    }
    fn infinity() -> Self {
        Self::constant(T::infinity())
    }
    fn neg_infinity() -> Self {
        Self::constant(T::neg_infinity())
    }
    fn neg_zero() -> Self {
        Self::constant(T::neg_zero())
    }
    fn min_value() -> Self {
        Self::constant(T::min_value())
    }
    fn min_positive_value() -> Self {
        Self::constant(T::min_positive_value())
    }
    fn epsilon() -> Self {
        Self::constant(T::epsilon())
    }
    fn max_value() -> Self {
        Self::constant(T::max_value())
    }
    fn is_nan(self) -> bool {
        self.value.is_nan()
    }
    fn is_infinite(self) -> bool {
        self.value.is_infinite()
    }
    fn is_finite(self) -> bool {
        self.value.is_finite()
    }
    fn is_normal(self) -> bool {
        self.value.is_normal()
    }
    fn classify(self) -> FpCategory {
        self.value.classify()
    }
    fn floor(self) -> Self {
        Self::new(self.value.floor(), T::zero())
    }
    fn ceil(self) -> Self {
        Self::new(self.value.ceil(), T::zero())
    }
    fn round(self) -> Self {
        Self::new(self.value.round(), T::zero())
    }
    fn trunc(self) -> Self {
        Self::new(self.value.trunc(), T::zero())
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
    fn signum(self) -> Self {
        Self::new(self.value.signum(), T::zero())
    }
    fn is_sign_positive(self) -> bool {
        self.value.is_sign_positive()
    }
    fn is_sign_negative(self) -> bool {
        self.value.is_sign_negative()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::activation::Activation;

    /// The dual's tangent at x is the reference's `Activation::derivative` (a different formula for sigmoid and
    /// softplus, the same for tanh), with the same convention at the kinks (x = 0).
    #[test]
    fn activation_tangents_follow_the_reference_derivative() {
        let acts = [
            Activation::Identity,
            Activation::Relu,
            Activation::LeakyRelu { slope: 0.05 },
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Softplus,
        ];
        for act in acts {
            for x in [-3.0, -0.5, -1e-300, 0.0, 1e-300, 0.25, 2.0, 40.0] {
                let d = act.apply(Dual::variable(x));
                assert_eq!(d.value, act.apply(x), "{act:?} value at {x}");
                let want = act.derivative(x);
                // |f'| <= 1, and the reference's 1 - t^2 and s (1 - s) keep an absolute error of a few eps where
                // they lose relative accuracy (f' small), so the bound is absolute.
                assert!(
                    (d.tangent - want).abs() <= 4.0 * f64::EPSILON,
                    "{act:?} at {x}: {} vs {want}",
                    d.tangent
                );
            }
        }
    }

    /// Ties and kinks: the documented midpoint conventions, and zero tangents staying zero.
    #[test]
    fn conventions_at_ties_and_kinks() {
        let x = Dual::variable(0.0_f64);
        assert_eq!(x.abs().tangent, 0.0);
        assert_eq!(x.max(Dual::constant(0.0)).tangent, 0.5);
        assert_eq!(x.min(Dual::constant(0.0)).tangent, 0.5);
        assert_eq!(x.max(Dual::constant(-1.0)).tangent, 1.0);
        assert_eq!(x.min(Dual::constant(-1.0)).tangent, 0.0);
        assert_eq!(Dual::constant(0.0_f64).sqrt().tangent, 0.0);
        assert!(Dual::variable(0.0_f64).sqrt().tangent.is_infinite());
        assert_eq!(Dual::variable(f64::NAN).max(x).value, 0.0);
        assert_eq!(Dual::<f64>::variable(2.5).floor().tangent, 0.0);
        assert_eq!(Dual::<f64>::variable(2.5).fract().tangent, 1.0);
        assert_eq!(Dual::<f64>::variable(3.0).powi(0).tangent, 0.0);
        assert_eq!(<Dual<f64> as Float>::epsilon().value, f64::EPSILON);
        assert_eq!(crate::reference::scalar::c::<Dual<f64>>(0.5).tangent, 0.0);
    }

    /// Every Float method with a derivative, against a central difference in f64 (step h = 1e-5, so the
    /// truncation h^2 |g'''| / 6 and the rounding eps |g| / h are both below 1e-9 for these O(1) arguments).
    #[test]
    fn float_methods_match_central_differences() {
        type F = fn(Dual<f64>) -> Dual<f64>;
        let fns: [(&str, F, f64); 38] = [
            ("mul", |u| u + u * u - u / Dual::constant(3.0), 0.7),
            (
                "div",
                |u| Dual::constant(1.5) / (u + Dual::constant(2.0)),
                0.7,
            ),
            (
                "rem",
                |u| (u * Dual::constant(3.0)) % Dual::constant(1.0),
                0.7,
            ),
            ("recip", |u| u.recip(), 0.7),
            ("powi", |u| u.powi(3), 0.7),
            ("powi-", |u| u.powi(-2), 0.7),
            ("powf", |u| u.powf(u), 0.7),
            ("sqrt", |u| u.sqrt(), 0.7),
            ("exp", |u| u.exp(), 0.7),
            ("exp2", |u| u.exp2(), 0.7),
            ("ln", |u| u.ln(), 0.7),
            ("log", |u| u.log(u + Dual::constant(2.0)), 0.7),
            ("log2", |u| u.log2(), 0.7),
            ("log10", |u| u.log10(), 0.7),
            ("cbrt", |u| u.cbrt(), 0.7),
            ("hypot", |u| u.hypot(u * u), 0.7),
            ("sin", |u| u.sin(), 0.7),
            ("cos", |u| u.cos(), 0.7),
            ("tan", |u| u.tan(), 0.7),
            ("asin", |u| u.asin(), 0.7),
            ("acos", |u| u.acos(), 0.7),
            ("atan", |u| u.atan(), 0.7),
            ("atan2", |u| u.atan2(u * u + Dual::constant(0.1)), 0.7),
            ("exp_m1", |u| u.exp_m1(), 0.7),
            ("ln_1p", |u| u.ln_1p(), 0.7),
            ("sinh", |u| u.sinh() * u.cosh(), 0.7),
            ("tanh", |u| u.tanh(), 0.7),
            (
                "asinh",
                |u| u.asinh() + (u + Dual::constant(1.0)).acosh(),
                0.7,
            ),
            ("atanh", |u| u.atanh().mul_add(u, u.to_degrees()), 0.7),
            ("abs+", |u| u.abs(), 0.7),
            ("abs-", |u| u.abs(), -0.7),
            ("max", |u| u.max(u * u), 0.7),
            ("min", |u| u.min(u * u), 0.7),
            ("abs_sub", |u| u.abs_sub(u * u), 0.7),
            ("powf", |u| u.powf(Dual::constant(2.5)), 0.7),
            ("cosh", |u| u.cosh() + u.to_radians(), 0.7),
            ("copysign", |u| u.copysign(Dual::constant(-1.0)), 0.7),
            (
                "clamp",
                |u| u.clamp(Dual::constant(0.0), Dual::constant(1.0)),
                0.7,
            ),
        ];
        let h = 1e-5;
        for (name, f, x) in fns {
            let d = f(Dual::variable(x)).tangent;
            let fd = (f(Dual::constant(x + h)).value - f(Dual::constant(x - h)).value) / (2.0 * h);
            assert!(
                (d - fd).abs() <= 1e-8 * d.abs().max(1.0),
                "{name}: {d} vs {fd}"
            );
        }
    }
}
