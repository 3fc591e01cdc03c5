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
