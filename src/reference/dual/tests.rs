//! Unit tests of [`super::Dual`]: tangents against the reference's derivatives and central differences.

use super::*;
use crate::reference::activation::Activation;
use num_traits::Float;

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
    // Tangents 1 and 3 at a tie: their mean 2 (a difference, or either one alone, gives another number).
    assert_eq!(
        Dual::new(0.0_f64, 1.0).max(Dual::new(0.0, 3.0)).tangent,
        2.0
    );
    assert_eq!(
        Dual::new(0.0_f64, 1.0).min(Dual::new(0.0, 3.0)).tangent,
        2.0
    );
    assert_eq!(Dual::constant(0.0_f64).sqrt().tangent, 0.0);
    assert!(Dual::variable(0.0_f64).sqrt().tangent.is_infinite());
    assert_eq!(Dual::variable(f64::NAN).max(x).value, 0.0);
    assert_eq!(Dual::<f64>::variable(2.5).floor().tangent, 0.0);
    assert_eq!(Dual::<f64>::variable(2.5).fract().tangent, 1.0);
    assert_eq!(Dual::<f64>::variable(3.0).powi(0).tangent, 0.0);
    assert_eq!(<Dual<f64> as Float>::epsilon().value, f64::EPSILON);
    assert_eq!(crate::reference::scalar::c::<Dual<f64>>(0.5).tangent, 0.0);
    assert_eq!(
        Float::integer_decode(Dual::variable(-2.5_f64)),
        Float::integer_decode(-2.5_f64),
        "the value's mantissa, exponent and sign"
    );
}

/// One method under test: its name, the expression in dual numbers and the same expression in plain f64 (the
/// macro writes it once for both types, `k` making a constant of each), and the point.
macro_rules! both {
    ($name:expr, |$u:ident, $k:ident| $e:expr, $x:expr) => {
        (
            $name,
            (|$u: Dual<f64>| {
                #[allow(unused_variables)]
                let $k = |v: f64| Dual::constant(v);
                $e
            }) as fn(Dual<f64>) -> Dual<f64>,
            (|$u: f64| {
                #[allow(unused_variables)]
                let $k = |v: f64| v;
                $e
            }) as fn(f64) -> f64,
            $x,
        )
    };
}

/// Every Float method with a derivative: the dual's value equals f64's own method (to 2 ulps), and its tangent,
/// seeded with t = 3/8 (neither 0 nor 1, so that a tangent multiplied where it should divide shows), equals t times
/// a central difference of the plain f64 expression (step h = 1e-5, so the truncation h^2 |g'''| / 6 and the
/// rounding eps |g| / h are both below 1e-9 for these O(1) arguments). Neither route runs the dual's value code,
/// and the bound is relative to the difference quotient, so an infinite or NaN tangent fails.
#[test]
fn float_methods_match_central_differences() {
    let fns = [
        both!("mul", |u, k| u + u * u - u / k(3.0), 0.7),
        both!("div", |u, k| k(1.5) / (u + k(2.0)), 0.7),
        both!("rem", |u, k| (u * k(3.0)) % k(1.0), 0.7),
        both!("recip", |u, k| u.recip(), 0.7),
        both!("powi", |u, k| u.powi(3), 0.7),
        both!("powi-", |u, k| u.powi(-2), 0.7),
        both!("powi0", |u, k| u.powi(0) * u, 0.7),
        both!("powf", |u, k| u.powf(u), 0.7),
        both!("sqrt", |u, k| u.sqrt(), 0.7),
        both!("exp", |u, k| u.exp(), 0.7),
        both!("exp2", |u, k| u.exp2(), 0.7),
        both!("ln", |u, k| u.ln(), 0.7),
        both!("log", |u, k| u.log(u + k(2.0)), 0.7),
        both!("log2", |u, k| u.log2(), 0.7),
        both!("log10", |u, k| u.log10(), 0.7),
        both!("cbrt", |u, k| u.cbrt(), 0.7),
        both!("hypot", |u, k| u.hypot(u * u), 0.7),
        // One operand constant (tangent 0) on either side: the shortcut for two zero tangents must not fire.
        both!("hypot-c", |u, k| u.hypot(k(0.5)), 0.7),
        both!("c-hypot", |u, k| k(0.5).hypot(u), 0.7),
        both!("sin", |u, k| u.sin(), 0.7),
        both!("cos", |u, k| u.cos(), 0.7),
        both!("tan", |u, k| u.tan(), 0.7),
        both!("asin", |u, k| u.asin(), 0.7),
        both!("acos", |u, k| u.acos(), 0.7),
        both!("atan", |u, k| u.atan(), 0.7),
        both!("atan2", |u, k| u.atan2(u * u + k(0.1)), 0.7),
        both!("atan2-", |u, k| Float::atan2(u * u + k(0.1), u), 0.7),
        both!("atan2-c", |u, k| u.atan2(k(0.5)), 0.7),
        both!("c-atan2", |u, k| Float::atan2(k(0.5), u), 0.7),
        both!("sin_cos", |u, k| u.sin_cos().0 * u.sin_cos().1, 0.7),
        both!("exp_m1", |u, k| u.exp_m1(), 0.7),
        both!("ln_1p", |u, k| u.ln_1p(), 0.7),
        both!("sinh", |u, k| u.sinh() * u.cosh(), 0.7),
        both!("tanh", |u, k| u.tanh(), 0.7),
        both!("asinh", |u, k| u.asinh() + Float::acosh(u + k(1.0)), 0.7),
        both!("atanh", |u, k| u.atanh().mul_add(u, u.to_degrees()), 0.7),
        // Every operand of mul_add with a tangent of its own.
        both!("mul_add", |u, k| u.sin().mul_add(u * u, u.exp()), 0.7),
        both!("abs+", |u, k| u.abs(), 0.7),
        both!("abs-", |u, k| u.abs(), -0.7),
        both!("max", |u, k| u.max(u * u), 0.7),
        both!("min", |u, k| u.min(u * u), 0.7),
        both!("abs_sub", |u, k| Float::abs_sub(u, u * u), 0.7),
        both!("powf2.5", |u, k| u.powf(k(2.5)), 0.7),
        both!("cosh", |u, k| u.cosh() + u.to_radians(), 0.7),
        both!("copysign", |u, k| u.copysign(k(-1.0)), 0.7),
        both!("clamp", |u, k| u.clamp(k(0.0), k(1.0)), 0.7),
    ];
    let (h, t) = (1e-5, 0.375);
    for (name, dual, plain, x) in fns {
        let d = dual(Dual::new(x, t));
        let want = plain(x);
        assert!(
            (d.value - want).abs() <= 2.0 * f64::EPSILON * want.abs(),
            "{name}: value {} vs f64's {want}",
            d.value
        );
        let fd = t * (plain(x + h) - plain(x - h)) / (2.0 * h);
        assert!(
            (d.tangent - fd).abs() <= 1e-8 * fd.abs().max(1.0),
            "{name}: tangent {} vs {fd}",
            d.tangent
        );
    }
}

/// Equality compares values only (as documented: the tangent takes no part in branching), Display writes v + te,
/// and the remainder u % w = u - trunc(u / w) w has tangent u' - trunc(u / w) w': at u = 7.5 + t, w = 2 + t / 2
/// the value is 1.5 and the derivative 1 - 3 / 2 = -1/2, which a central difference of the f64 expression
/// confirms.
#[test]
fn equality_display_and_remainder() {
    assert_eq!(Dual::new(1.0_f64, 2.0), Dual::new(1.0, 5.0));
    assert_ne!(Dual::new(1.0_f64, 2.0), Dual::new(2.0, 2.0));
    assert_eq!(format!("{}", Dual::new(1.5_f64, -2.0)), "1.5 + -2e");
    let r = Dual::new(7.5_f64, 1.0) % Dual::new(2.0, 0.5);
    assert_eq!((r.value, r.tangent), (1.5, -0.5));
    let h = 1e-6;
    let f = |t: f64| (7.5 + t) % (2.0 + t / 2.0);
    let central = (f(h) - f(-h)) / (2.0 * h);
    assert!((central - r.tangent).abs() <= 1e-9, "{central}");
}

/// Conversions and `is_zero` read the value only (the tangent of a number converted out is dropped, as documented).
#[test]
fn conversions_read_the_value() {
    use num_traits::{ToPrimitive, Zero};
    let d = Dual::new(2.75_f64, 7.0);
    assert_eq!(d.to_f64(), Some(2.75));
    assert_eq!(d.to_f32(), Some(2.75));
    assert_eq!(d.to_i64(), Some(2));
    assert_eq!(d.to_u64(), Some(2));
    let n = Dual::new(-3.5_f64, 1.0);
    assert_eq!(n.to_i64(), Some(-3));
    assert_eq!(n.to_u64(), None);
    assert!(Dual::new(0.0_f64, 5.0).is_zero());
    assert!(!Dual::new(1.0_f64, 0.0).is_zero());
}
