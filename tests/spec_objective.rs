//! Specification, the KKT conditions derived rather than transcribed (issue 10, item 2): every residual of
//! `checks::kkt` is the partial derivative of its objective (`checks::objective`: Eq. 7, whose output terms are
//! Eq. 14, Eq. 3 and the Lagrangian of Eq. 20) in the state it names, with the checker's stated scaling, at arbitrary
//! states (not only fixed points). Independent route: forward mode. The objectives' values are run in dual numbers
//! (`reference::dual::Dual`) with one state entry's tangent seeded, so the derivative comes from the chain rule
//! applied by the number type to `Activation::inverse`, `Activation::potential`, `Activation::apply` and
//! `Loss::value`; neither `Activation::inverse_derivative`, `Activation::derivative`, `Loss::gradient` nor the
//! checkers' written-out conditions take part. The test recomputes the pre-activations and feedbacks only for the
//! checkers' normalizations (their relative residuals) and to classify ReLU units.
//!
//! Then, by the same route and without the checkers: each update solves its layer's conditions where the paper says
//! it does, and the linearized original-DP output rule is Eq. 3's output stationarity with l' taken at a_L (and the
//! first-order Taylor expansion in beta of the exact min/max).

// Per-unit loops index several parallel arrays (states, pre-activations, feedbacks), as in the library.
#![allow(clippy::needless_range_loop)]

mod common;

use common::*;
use dualprop::checks::tolerance::{derivative_agreement, rounding};
use dualprop::checks::{kkt_report, Equation, KktReport, ObjectivePoint};
use dualprop::reference::dual::Dual;
use dualprop::reference::rules;
use dualprop::reference::update::{multiplier, pre_activation, update_layer};
use dualprop::reference::Problem;
use dualprop::reference::*;
use proptest::prelude::*;
use proptest::test_runner::{RngSeed, TestCaseError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

type D = Dual<f64>;

const ACTIVATIONS: [Activation; 6] = [
    Activation::Identity,
    Activation::Relu,
    Activation::LeakyRelu { slope: 0.05 },
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Softplus,
];
const LOSSES: [Loss; 2] = [Loss::LeastSquares, Loss::SoftmaxCrossEntropy];
/// The paper's alphas, the two DP+/original-DP crossovers' neighbours and a generic one; a drawn alpha is added.
const ALPHAS: [f64; 5] = [0.0, 0.25, 0.5, 1.0, 0.7];
const BETAS: [f64; 3] = [1e-2, 0.5, 3.0];

/// Fixed proptest seed (reproducible runs, as in spec_derivative); `DUALPROP_SPEC_CASES` sets the number of cases.
/// Every assertion holds for any draw: the states are drawn inside the domain of f^-1 (with margins) and nothing is
/// conditional on the draw except the ReLU classification, which only picks which condition applies.
fn config(default_cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default_cases),
        rng_seed: RngSeed::Fixed(0x0b1e_c71e),
        ..ProptestConfig::default()
    }
}

/// Depth 1-4 (input, 0-3 hidden layers, output), widths 1-4, batch 1-3, a seed and a drawn alpha.
fn arb_problem() -> impl Strategy<Value = (Vec<usize>, usize, u64, f64)> {
    (
        prop::collection::vec(1usize..=4, 2..=5),
        1usize..=3,
        any::<u64>(),
        0.0f64..=1.0,
    )
}

/// Which objective a partial derivative is taken of.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Objective {
    /// Eq. 7 (DP+; its output terms are Eq. 14).
    Eq7,
    /// Eq. 3 (original DP).
    Eq3,
    /// Eq. 20 with z = zbar, delta = z+ - z- (the Lagrangian variants).
    Eq20,
}

/// A case and a state lifted to dual numbers once (every tangent 0); [`Lifted::partial`] seeds one entry.
struct Lifted {
    net: Network<D>,
    y: Matrix<D>,
    state: DualState<D>,
    alpha: f64,
    beta: f64,
}

fn lift(m: &Matrix<f64>) -> Matrix<D> {
    Matrix::from_fn(m.rows(), m.cols(), |i, j| Dual::constant(m.get(i, j)))
}

impl Lifted {
    fn new(c: &Case<f64>, state: &DualState<f64>, alpha: f64, beta: f64) -> Self {
        let layers = c
            .net
            .layers
            .iter()
            .map(|l| Layer {
                w: lift(&l.w),
                b: l.b.iter().map(|&v| Dual::constant(v)).collect(),
            })
            .collect();
        Lifted {
            net: Network::new(layers, c.net.activation, c.net.loss).unwrap(),
            y: lift(&c.y),
            state: DualState {
                plus: state.plus.iter().map(lift).collect(),
                minus: state.minus.iter().map(lift).collect(),
            },
            alpha,
            beta,
        }
    }

    /// Directional derivative of `objective` along dz_k^+ = tp, dz_k^- = tm at entry `i` (row-major over the batch)
    /// of layer k; None where the objective is undefined (outside the domain of f^-1, or G has no closed form).
    fn partial(
        &mut self,
        objective: Objective,
        k: usize,
        i: usize,
        tp: f64,
        tm: f64,
    ) -> Option<f64> {
        self.state.plus[k].as_mut_slice()[i].tangent = tp;
        self.state.minus[k].as_mut_slice()[i].tangent = tm;
        let point = ObjectivePoint {
            net: &self.net,
            alpha: self.alpha,
            beta: self.beta,
            state: &self.state,
            y: &self.y,
        };
        let value = match objective {
            Objective::Eq7 => point.eq7(),
            Objective::Eq3 => point.eq3(),
            Objective::Eq20 => Some(point.eq20()),
        };
        self.state.plus[k].as_mut_slice()[i].tangent = 0.0;
        self.state.minus[k].as_mut_slice()[i].tangent = 0.0;
        value.map(|v| v.tangent)
    }
}

/// A state anywhere in the domain of the objectives: z_0^+- = x, hidden states inside the range of f with a margin
/// (ReLU: a third exactly 0, the kink, where Eq. 3 is a subdifferential inclusion), output states in [-1.5, 1.5].
fn arbitrary_state(c: &Case<f64>, rng: &mut StdRng) -> DualState<f64> {
    let (widths, depth, batch) = (c.net.widths(), c.net.depth(), c.x.rows());
    let mut draw = |hidden: bool| -> f64 {
        if !hidden {
            return rng.random_range(-1.5..1.5);
        }
        match c.net.activation {
            Activation::Identity | Activation::LeakyRelu { .. } => rng.random_range(-1.5..1.5),
            Activation::Relu if rng.random_bool(1.0 / 3.0) => 0.0,
            Activation::Relu => rng.random_range(0.0..1.5),
            Activation::Tanh => rng.random_range(-0.95..0.95),
            Activation::Sigmoid => rng.random_range(0.03..0.97),
            Activation::Softplus => rng.random_range(0.05..2.0),
        }
    };
    let mut state = DualState::feed_forward(&c.net, &c.x);
    for k in 1..=depth {
        for m in [&mut state.plus[k], &mut state.minus[k]] {
            *m = Matrix::from_fn(batch, widths[k], |_, _| draw(k < depth));
        }
    }
    state
}

/// Pre-activation a_k and feedback b_k with the magnitudes of their terms (|W| |zbar| + |b|, |m| |W|), and
/// |delta_{k+1}| |W_k| (the feedback's magnitude without D, which bounds the error of D computed to a few eps
/// absolute), as the checkers' normalizations read them. Zero feedback on the output layer.
struct Terms {
    a: Vec<f64>,
    a_abs: Vec<f64>,
    b: Vec<f64>,
    b_abs: Vec<f64>,
    b_abs_plain: Vec<f64>,
}

fn terms(c: &Case<f64>, cfg: &Config, s: &DualState<f64>, k: usize) -> Terms {
    let (net, alpha) = (&c.net, cfg.alpha);
    let abs = |m: &Matrix<f64>| m.map(f64::abs);
    let a = pre_activation(net, s, k, alpha);
    let bias: Vec<f64> = net.layers[k - 1].b.iter().map(|v| v.abs()).collect();
    let a_abs = abs(&s.mean(k - 1, alpha))
        .mul_transpose(&abs(&net.layers[k - 1].w))
        .add_row(&bias);
    let n = a.as_slice().len();
    let (b, b_abs, b_abs_plain) = if k < net.depth() {
        let through = cfg.method.hidden_rule(alpha).feedback_through_derivative;
        let m = multiplier(net, s, k + 1, alpha, through);
        let w = &net.layers[k].w;
        (
            m.mul(w).into_vec(),
            abs(&m).mul(&abs(w)).into_vec(),
            abs(&s.delta(k + 1)).mul(&abs(w)).into_vec(),
        )
    } else {
        (vec![0.0; n], vec![0.0; n], vec![0.0; n])
    };
    Terms {
        a: a.into_vec(),
        a_abs: a_abs.into_vec(),
        b,
        b_abs,
        b_abs_plain,
    }
}

/// What the checker should report for one unit: the residual (the scaled derivative), the checker's stated
/// normalization (sum of the magnitudes of the terms it combines) and the magnitude the two routes' rounding is
/// relative to (the normalization widened by the condition of f^-1 and the loss's shift terms where they enter).
#[derive(Debug, Clone, Copy)]
struct Expected {
    residual: f64,
    scale: f64,
    magnitude: f64,
}

/// The checker's report of `equations` at layer k (their maxima, their unit counts summed) against the expected
/// units: unit counts equal, and max |r| and max |r| / scale within `tol` x the magnitudes of the derivatives'.
fn compare(
    report: &KktReport,
    k: usize,
    equations: &[Equation],
    expected: &[Expected],
    tol: f64,
    what: &str,
) -> Result<(), TestCaseError> {
    let (mut max_abs, mut max_rel, mut units) = (0.0f64, 0.0f64, 0usize);
    for &e in equations {
        if let Some(r) = report.get(k, e) {
            max_abs = max_abs.max(r.max_abs);
            max_rel = max_rel.max(r.max_relative);
            units += r.units;
        }
    }
    let want_abs = expected.iter().fold(0.0f64, |m, e| m.max(e.residual.abs()));
    let want_rel = expected
        .iter()
        .fold(0.0f64, |m, e| m.max(e.residual.abs() / e.scale));
    let mag = expected.iter().fold(0.0f64, |m, e| m.max(e.magnitude));
    let mag_rel = expected
        .iter()
        .fold(0.0f64, |m, e| m.max(e.magnitude / e.scale));
    prop_assert_eq!(units, expected.len(), "{} layer {}: units", what, k);
    prop_assert!(
        (max_abs - want_abs).abs() <= tol * mag,
        "{what} layer {k}: checker max |r| {max_abs:e}, derivative {want_abs:e} (allowed {:e})",
        tol * mag
    );
    prop_assert!(
        (max_rel - want_rel).abs() <= tol * mag_rel,
        "{what} layer {k}: checker max relative {max_rel:e}, derivative {want_rel:e} (allowed {:e})",
        tol * mag_rel
    );
    Ok(())
}

/// 1 + |z| |(f^-1)'(z)|: the condition of f^-1 at z, by which the rounding of z (and of 1 - z^2, 1 - z in
/// (f^-1)') is magnified; 1 + |z| for the piecewise-linear activations on their active piece.
fn inverse_condition(f: Activation, z: f64) -> f64 {
    1.0 + z.abs() * f.inverse_derivative(z).unwrap_or(0.0).abs()
}

/// The loss's contribution to the magnitude beyond |g|: the cross-entropy's log-sum-exp shift and the other
/// outputs' softmax terms in the forward-mode tangent, bounded by 2 beta (|p - t| <= 1 per output, as in
/// spec_derivative's magnitude); none for least squares.
fn loss_extra(loss: Loss, beta: f64) -> f64 {
    match loss {
        Loss::LeastSquares => 0.0,
        Loss::SoftmaxCrossEntropy => 2.0 * beta,
    }
}

/// A configuration whose checker is `method`'s; original DP gets the linearized output rule so that its
/// configuration is valid for cross-entropy and every beta (the checker reads only Eq. 3, not the output rule).
fn checker_config(method: Method, alpha: f64, beta: f64) -> Config {
    let cfg = Config::new(method, alpha, beta, 1);
    if method == Method::OriginalDp {
        cfg.with_output(OutputRule::OriginalLinearized)
    } else {
        cfg
    }
}

/// Every (network, activation, loss, alpha, beta, arbitrary state) of a draw; `check` gets the case, the
/// configuration pieces and the state.
fn for_each_point(
    (widths, batch, seed, drawn_alpha): (Vec<usize>, usize, u64, f64),
    mut check: impl FnMut(&Case<f64>, f64, f64, &DualState<f64>) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x0051_a7e5);
    for act in ACTIVATIONS {
        for loss in LOSSES {
            let c = case(&widths, batch, act, loss, seed);
            for alpha in ALPHAS.into_iter().chain([drawn_alpha]) {
                for beta in BETAS {
                    let state = arbitrary_state(&c, &mut rng);
                    check(&c, alpha, beta, &state)?;
                }
            }
        }
    }
    Ok(())
}

/// Expected DP+ hidden residuals of layer k (Eq. 10 from Eq. 7): (Eq. 10 (+), Eq. 10 (-), Eq. 11) at the units off
/// ReLU's inactive pattern, with whether the unit's nudged pre-activations lie on one affine piece of f (where an
/// update solves Eq. 10 exactly: identity always, ReLU and leaky ReLU off the kink, smooth f never), and Eq. 19 at
/// the inactive ones.
fn dp_plus_hidden_expected(
    c: &Case<f64>,
    cfg: &Config,
    s: &DualState<f64>,
    lifted: &mut Lifted,
    k: usize,
) -> ([Vec<Expected>; 4], Vec<bool>) {
    let (f, alpha) = (c.net.activation, cfg.alpha);
    let abar = 1.0 - alpha;
    let t = terms(c, cfg, s, k);
    let mut out: [Vec<Expected>; 4] = Default::default();
    let mut on_piece = Vec::new();
    for i in 0..t.a.len() {
        let (zp, zm) = (s.plus[k].as_slice()[i], s.minus[k].as_slice()[i]);
        let (up, down) = rules::nudged(abar, alpha, t.a[i], t.b[i]);
        if f == Activation::Relu && up <= 0.0 && down <= 0.0 {
            // Eq. 19, not a derivative: the inactive pattern pins both states at the kink.
            let scale = t.a_abs[i] + t.b_abs[i];
            out[3].push(Expected {
                residual: zp.abs().max(zm.abs()),
                scale,
                magnitude: scale,
            });
            continue;
        }
        on_piece.push(match f {
            Activation::Identity => true,
            Activation::Relu | Activation::LeakyRelu { .. } => (up > 0.0) == (down > 0.0),
            _ => false,
        });
        let zb = alpha * zp + abar * zm;
        let (inv, dinv) = (f.inverse(zb).unwrap(), f.inverse_derivative(zb).unwrap());
        let base = inv.abs() + dinv.abs() * (alpha * zp.abs() + abar * zm.abs()) + t.a_abs[i];
        let fb = dinv.abs() * (zp.abs() + zm.abs());
        let cond = inverse_condition(f, zb);
        for (slot, (tp, tm, scale)) in [
            (1.0, 0.0, base + alpha * (fb + t.b_abs[i])),
            (0.0, 1.0, base + abar * (fb + t.b_abs[i])),
            (1.0, 1.0, fb + t.b_abs[i]),
        ]
        .into_iter()
        .enumerate()
        {
            out[slot].push(Expected {
                residual: lifted.partial(Objective::Eq7, k, i, tp, tm).unwrap(),
                scale,
                magnitude: scale * cond,
            });
        }
    }
    (out, on_piece)
}

/// Expected DP+ output residuals (Eq. 15 (+), Eq. 15 (-)) from Eq. 14: d/d z_L^+ and d/d z_L^-, unscaled.
fn dp_plus_output_expected(
    c: &Case<f64>,
    cfg: &Config,
    s: &DualState<f64>,
    lifted: &mut Lifted,
) -> [Vec<Expected>; 2] {
    let (alpha, beta, depth) = (cfg.alpha, cfg.beta, c.net.depth());
    let t = terms(c, cfg, s, depth);
    let g = c
        .net
        .loss
        .weighted_gradient(&s.mean(depth, alpha), &c.y, beta)
        .into_vec();
    let mut out: [Vec<Expected>; 2] = Default::default();
    for i in 0..t.a.len() {
        let (zp, zm) = (s.plus[depth].as_slice()[i], s.minus[depth].as_slice()[i]);
        let (zb, delta) = (alpha * zp + (1.0 - alpha) * zm, zp - zm);
        for (slot, w, tp, tm) in [(0, alpha, 1.0, 0.0), (1, 1.0 - alpha, 0.0, 1.0)] {
            let scale = zb.abs() + t.a_abs[i] + w * (g[i].abs() + delta.abs());
            out[slot].push(Expected {
                residual: lifted.partial(Objective::Eq7, depth, i, tp, tm).unwrap(),
                scale,
                magnitude: scale + loss_extra(c.net.loss, beta),
            });
        }
    }
    out
}

/// Expected original-DP residuals of layer k (z^+, z^-) from Eq. 3: beta d/d z_k^+ and -beta d/d z_k^-; at
/// ReLU's kink (z = 0) the distance of 0 to the subdifferential, max(-D, 0), D the scaled right derivative.
fn original_expected(
    c: &Case<f64>,
    cfg: &Config,
    s: &DualState<f64>,
    lifted: &mut Lifted,
    k: usize,
) -> [Vec<Expected>; 2] {
    let (f, alpha, beta, depth) = (c.net.activation, cfg.alpha, cfg.beta, c.net.depth());
    let t = terms(c, cfg, s, k);
    let g = |z: &Matrix<f64>| c.net.loss.weighted_gradient(z, &c.y, beta).into_vec();
    let (gp, gm) = (g(&s.plus[k]), g(&s.minus[k]));
    let mut out: [Vec<Expected>; 2] = Default::default();
    for i in 0..t.a.len() {
        let sides = [
            (0, s.plus[k].as_slice()[i], alpha, 1.0, 0.0, beta, gp[i]),
            (
                1,
                s.minus[k].as_slice()[i],
                1.0 - alpha,
                0.0,
                1.0,
                -beta,
                gm[i],
            ),
        ];
        for (slot, z, w, tp, tm, scaling, gi) in sides {
            let d = scaling * lifted.partial(Objective::Eq3, k, i, tp, tm).unwrap();
            let expected = if k == depth {
                let scale = z.abs() + t.a_abs[i] + w * gi.abs();
                Expected {
                    residual: d,
                    scale,
                    magnitude: scale + loss_extra(c.net.loss, beta),
                }
            } else {
                let scale = z.abs() + t.a_abs[i] + w * t.b_abs[i];
                let inv = f.inverse(z).unwrap();
                let dinv = f.inverse_derivative(z).unwrap();
                // G' by the dual number cancels terms of size |f^-1|, |z (f^-1)'| and sigmoid's 1s; tanh's
                // 1/2 ln(1 - z^2) forms 1 - z^2 from a rounded z^2, a relative error eps z^2 (f^-1)'(z) on a term
                // of size |z (f^-1)'|: hence the condition factor on it.
                let potential =
                    2.0 * (inv.abs() + (z * dinv).abs() * inverse_condition(f, z) + 2.0);
                let residual = if f == Activation::Relu && z == 0.0 {
                    (-d).max(0.0)
                } else {
                    d
                };
                Expected {
                    residual,
                    scale,
                    magnitude: scale * inverse_condition(f, z) + potential,
                }
            };
            out[slot].push(expected);
        }
    }
    out
}

/// Expected Eq. 20 residuals of layer k (constraint, multiplier): d/d delta_k along (dz^+, dz^-) = (abar, -alpha)
/// and d/d zbar_k along (1, 1), unscaled.
fn eq20_expected(
    c: &Case<f64>,
    cfg: &Config,
    s: &DualState<f64>,
    lifted: &mut Lifted,
    k: usize,
) -> [Vec<Expected>; 2] {
    let (alpha, beta, depth) = (cfg.alpha, cfg.beta, c.net.depth());
    let abar = 1.0 - alpha;
    let t = terms(c, cfg, s, k);
    let g = c
        .net
        .loss
        .weighted_gradient(&s.mean(depth, alpha), &c.y, beta)
        .into_vec();
    let mut out: [Vec<Expected>; 2] = Default::default();
    for i in 0..t.a.len() {
        let (zp, zm) = (s.plus[k].as_slice()[i], s.minus[k].as_slice()[i]);
        let zb_abs = alpha * zp.abs() + abar * zm.abs();
        let (c_scale, m_scale, m_extra) = if k == depth {
            let extra = loss_extra(c.net.loss, beta);
            (zb_abs + t.a_abs[i], zp.abs() + zm.abs() + g[i].abs(), extra)
        } else {
            let f = c.net.activation;
            let fa = f.apply(t.a[i]).abs() + f.derivative(t.a[i]).abs() * t.a_abs[i];
            (
                zb_abs + fa,
                zp.abs() + zm.abs() + t.b_abs[i],
                t.b_abs_plain[i],
            )
        };
        out[0].push(Expected {
            residual: lifted.partial(Objective::Eq20, k, i, abar, -alpha).unwrap(),
            scale: c_scale,
            // f(a)'s argument carries a's rounding, |f'| <= 1 times |W| |zbar| + |b|.
            magnitude: c_scale + t.a_abs[i],
        });
        out[1].push(Expected {
            residual: lifted.partial(Objective::Eq20, k, i, 1.0, 1.0).unwrap(),
            scale: m_scale,
            magnitude: m_scale + m_extra,
        });
    }
    out
}

/// Every expected residual vanishes to `tol` x its magnitude (`applies` picks the units; None: all).
fn vanish(
    expected: &[Expected],
    applies: Option<&[bool]>,
    tol: f64,
    what: &str,
) -> Result<usize, TestCaseError> {
    let mut checked = 0;
    for (i, e) in expected.iter().enumerate() {
        if applies.is_some_and(|a| !a[i]) {
            continue;
        }
        prop_assert!(
            e.residual.abs() <= tol * e.magnitude,
            "{what}, unit {i}: derivative {:e} > {:e}",
            e.residual,
            tol * e.magnitude
        );
        checked += 1;
    }
    Ok(checked)
}

/// A zero frozen gradient for `update_layer` (read only by `OutputRule::Eq16FrozenGradient`, not used here).
fn no_frozen(c: &Case<f64>) -> Matrix<f64> {
    Matrix::zeros(c.x.rows(), c.net.output_width())
}

proptest! {
    #![proptest_config(config(12))]

    /// Eq. 10 derived from Eq. 7 (DP+ hidden layers): at arbitrary states, Eq. 10 (+) is d Eq. 7 / d z_k^+, Eq. 10 (-)
    /// is d Eq. 7 / d z_k^-, Eq. 11 their sum (the derivative along z^+ and z^- together), unscaled, on and off the
    /// kink (the checker reports straddling units apart; both are compared here); at ReLU units whose nudged
    /// pre-activations are both inactive, Eq. 19 (max(|z+|, |z-|), not a derivative). Independent route: forward
    /// mode on `ObjectivePoint::eq7` (f^-1 differentiated by the dual number, not `inverse_derivative`).
    #[test]
    fn dp_plus_hidden_residuals_are_partials_of_eq7(problem in arb_problem()) {
        for_each_point(problem, |c, alpha, beta, s| {
            let cfg = checker_config(Method::DpPlus, alpha, beta);
            let report = kkt_report(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap(), s).unwrap();
            let mut lifted = Lifted::new(c, s, alpha, beta);
            let tol = derivative_agreement::<f64>(max_width(&c.net));
            let what = format!("{:?} {:?} alpha {alpha} beta {beta}", c.net.activation, c.net.loss);
            for k in 1..c.net.depth() {
                let ([plus, minus, sum, e19], _) = dp_plus_hidden_expected(c, &cfg, s, &mut lifted, k);
                use Equation::*;
                compare(&report, k, &[Eq10Plus, Eq10PlusStraddling], &plus, tol, &format!("{what} Eq. 10 (+)"))?;
                compare(&report, k, &[Eq10Minus, Eq10MinusStraddling], &minus, tol, &format!("{what} Eq. 10 (-)"))?;
                compare(&report, k, &[Eq11, Eq11Straddling], &sum, tol, &format!("{what} Eq. 11"))?;
                compare(&report, k, &[Eq19InactiveRelu], &e19, tol, &format!("{what} Eq. 19"))?;
            }
            Ok(())
        })?;
    }

    /// Eq. 15 derived from Eq. 14 (DP+ output layer): at arbitrary states, Eq. 15 (+) is d Eq. 14 / d z_L^+ and
    /// Eq. 15 (-) is d Eq. 14 / d z_L^-, unscaled, both losses (Eq. 14 is Eq. 7's output terms: z_L enters no other
    /// term). Independent route: forward mode on `ObjectivePoint::eq7` (l' from `Loss::value` by the dual number,
    /// not `Loss::gradient`).
    #[test]
    fn dp_plus_output_residuals_are_partials_of_eq14(problem in arb_problem()) {
        for_each_point(problem, |c, alpha, beta, s| {
            let cfg = checker_config(Method::DpPlus, alpha, beta);
            let report = kkt_report(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap(), s).unwrap();
            let mut lifted = Lifted::new(c, s, alpha, beta);
            let tol = derivative_agreement::<f64>(max_width(&c.net));
            let what = format!("{:?} {:?} alpha {alpha} beta {beta}", c.net.activation, c.net.loss);
            let depth = c.net.depth();
            let [plus, minus] = dp_plus_output_expected(c, &cfg, s, &mut lifted);
            compare(&report, depth, &[Equation::Eq15Plus], &plus, tol, &format!("{what} Eq. 15 (+)"))?;
            compare(&report, depth, &[Equation::Eq15Minus], &minus, tol, &format!("{what} Eq. 15 (-)"))
        })?;
    }

    /// Eq. 3's stationarity derived from Eq. 3 (original DP, hidden and output layers): at arbitrary states the
    /// z^+ residual is beta d Eq. 3 / d z_k^+ and the z^- residual is -beta d Eq. 3 / d z_k^- (Eq. 3 carries
    /// 1/beta on the energies; the z^- problem is a max, so its residual is the negated derivative), both losses.
    /// At ReLU's kink (z = 0) the checker reports the distance of 0 to the subdifferential, max(-D, 0) with D the
    /// scaled right derivative (which the dual number takes: `potential`'s z >= 0 branch). Softplus is left out:
    /// its potential has no closed form, so Eq. 3 has no value to differentiate (`ObjectivePoint::eq3` is None).
    /// Also compares the relative residual with the checker's stated normalization |z| + |W| |zbar| + |b| + w |b|
    /// (w = alpha resp. abar). Independent route: forward mode on `ObjectivePoint::eq3` (G' = f^-1 and l' by the
    /// dual number).
    #[test]
    fn original_dp_residuals_are_partials_of_eq3(problem in arb_problem()) {
        for_each_point(problem, |c, alpha, beta, s| {
            if c.net.activation == Activation::Softplus {
                return Ok(());
            }
            let cfg = checker_config(Method::OriginalDp, alpha, beta);
            let report = kkt_report(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap(), s).unwrap();
            let mut lifted = Lifted::new(c, s, alpha, beta);
            let tol = derivative_agreement::<f64>(max_width(&c.net));
            let what = format!("{:?} {:?} alpha {alpha} beta {beta}", c.net.activation, c.net.loss);
            for k in 1..=c.net.depth() {
                let [plus, minus] = original_expected(c, &cfg, s, &mut lifted, k);
                use Equation::*;
                compare(&report, k, &[Eq3StationarityPlus], &plus, tol, &format!("{what} Eq. 3 (+)"))?;
                compare(&report, k, &[Eq3StationarityMinus], &minus, tol, &format!("{what} Eq. 3 (-)"))?;
            }
            Ok(())
        })?;
    }

    /// Eq. 20's KKT conditions derived from Eq. 20 (both Eq. 21 variants share the checker): at arbitrary states,
    /// the constraint residual zbar_k - f(a_k) (zbar_L - a_L) is d Eq. 20 / d delta_k and the multiplier residual
    /// delta_k - W_k^T D_{k+1} delta_{k+1} (delta_L + beta l'(zbar_L)) is d Eq. 20 / d zbar_k, unscaled, both
    /// losses. In the states' coordinates: d/d zbar is the derivative along (dz^+, dz^-) = (1, 1), d/d delta along
    /// (abar, -alpha) (Eq. 6 inverted). Independent route: forward mode on `ObjectivePoint::eq20` (f' from
    /// `Activation::apply` by the dual number, not `Activation::derivative`).
    #[test]
    fn eq20_residuals_are_partials_of_the_lagrangian(problem in arb_problem()) {
        for_each_point(problem, |c, alpha, beta, s| {
            let mut lifted = Lifted::new(c, s, alpha, beta);
            let tol = derivative_agreement::<f64>(max_width(&c.net));
            for method in [Method::Eq21, Method::Eq21Printed] {
                let cfg = checker_config(method, alpha, beta);
                let report = kkt_report(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap(), s).unwrap();
                let what = format!("{method:?} {:?} {:?} alpha {alpha} beta {beta}", c.net.activation, c.net.loss);
                for k in 1..=c.net.depth() {
                    let [constraint, mult] = eq20_expected(c, &cfg, s, &mut lifted, k);
                    let (ce, me) = if k == c.net.depth() {
                        (Equation::Eq20OutputConstraint, Equation::Eq20OutputMultiplier)
                    } else {
                        (Equation::Eq20Constraint, Equation::Eq20Multiplier)
                    };
                    compare(&report, k, &[ce], &constraint, tol, &format!("{what} constraint"))?;
                    compare(&report, k, &[me], &mult, tol, &format!("{what} multiplier"))?;
                }
            }
            Ok(())
        })?;
    }

    /// The rules' fixed points, by the derivative route alone (no checker): each update solves its own layer's
    /// conditions whatever the other layers hold, where the paper says it does. From an arbitrary state, updating
    /// layer k alone makes the objective's derivative in z_k^+- vanish (to `derivative_agreement` x magnitude):
    /// DP+ hidden (Eq. 8 against Eq. 7) at identity units and at ReLU / leaky ReLU units whose nudged
    /// pre-activations lie on one piece (Prop. 3.1's local linearity), with z+ = z- = 0 at inactive ReLU units
    /// (Eq. 19); DP+ output (Eq. 16 against Eq. 14) for every activation and both losses; original DP hidden (Eq. 3's
    /// update against Eq. 3, every activation with a potential; at ReLU's kink the subgradient inclusion) and its
    /// exact output (least squares, abar beta < 1). Eq. 21 settled after K = 2 passes from the feed-forward states
    /// (a fixed point: zbar stays feed-forward) against Eq. 20 on every layer. Where they do not vanish (the paper
    /// claims no more): DP+ hidden units of smooth f (second order in beta, claim 3c) and straddling units (claim
    /// 3b); original DP's linearized output (second order in beta: the test below); Eq. 21 as printed (the
    /// multiplier condition fails by 2 |delta_k|, claim 7c). The DP+ hidden check applies only off the straddling
    /// pattern, so for ReLU and leaky ReLU it counts the units it applied to over each draw's 36 points and fails
    /// below 1 when there is a hidden layer (every one of 36 independent random states straddling everywhere has
    /// probability below 2^-36).
    #[test]
    fn each_update_solves_its_layers_conditions(problem in arb_problem()) {
        let depth = problem.0.len() - 1;
        let mut applied = [0usize; ACTIVATIONS.len()];
        for_each_point(problem, |c, alpha, beta, s| {
            let tol = derivative_agreement::<f64>(max_width(&c.net));
            let (f, loss) = (c.net.activation, c.net.loss);
            let what = format!("{f:?} {loss:?} alpha {alpha} beta {beta}");
            let updated = |cfg: &Config, k: usize| {
                let mut u = s.clone();
                update_layer(&c.net, cfg, &mut u, k, &c.y, &no_frozen(c));
                u
            };
            let dp = Config::new(Method::DpPlus, alpha, beta, 1);
            let counted = &mut applied[ACTIVATIONS.iter().position(|&a| a == f).unwrap()];
            for k in 1..=depth {
                let u = updated(&dp, k);
                let mut lifted = Lifted::new(c, &u, alpha, beta);
                if k < depth {
                    let ([plus, minus, sum, e19], on_piece) = dp_plus_hidden_expected(c, &dp, &u, &mut lifted, k);
                    for (e, name) in [(&plus, "Eq. 10 (+)"), (&minus, "Eq. 10 (-)"), (&sum, "Eq. 11")] {
                        *counted += vanish(e, Some(&on_piece), tol, &format!("DP+ {what} layer {k} {name}"))?;
                    }
                    for e in &e19 {
                        prop_assert_eq!(e.residual, 0.0, "DP+ {} layer {}: Eq. 19", what, k);
                    }
                    *counted += e19.len();
                } else {
                    for e in dp_plus_output_expected(c, &dp, &u, &mut lifted) {
                        vanish(&e, None, tol, &format!("DP+ {what} Eq. 15"))?;
                    }
                }
            }

            let exact_output = loss == Loss::LeastSquares && (1.0 - alpha) * beta < 1.0;
            if f != Activation::Softplus {
                let orig = Config::new(Method::OriginalDp, alpha, beta, 1);
                for k in 1..=depth {
                    if k == depth && !exact_output {
                        continue;
                    }
                    let u = updated(&orig, k);
                    let mut lifted = Lifted::new(c, &u, alpha, beta);
                    for e in original_expected(c, &orig, &u, &mut lifted, k) {
                        vanish(&e, None, tol, &format!("original DP {what} layer {k}"))?;
                    }
                }
            }

            let settled = Config::new(Method::Eq21, alpha, beta, 2);
            let inf = infer(&Problem::new(&c.net, &settled, &c.x, &c.y).unwrap()).unwrap();
            let mut lifted = Lifted::new(c, &inf.states, alpha, beta);
            for k in 1..=depth {
                for e in eq20_expected(c, &settled, &inf.states, &mut lifted, k) {
                    vanish(&e, None, tol, &format!("Eq. 21 {what} layer {k}"))?;
                }
            }
            Ok(())
        })?;
        if depth >= 2 {
            for (f, n) in ACTIVATIONS.iter().zip(applied) {
                prop_assert!(n > 0 || !f.is_piecewise_linear(), "{:?}: the DP+ hidden check applied to no unit", f);
            }
        }
    }

    /// Issue 10 item 2, the linearized original-DP output (`OutputRule::OriginalLinearized`: z+ = a - alpha g,
    /// z- = a + abar g, g = beta l'(a_L)) derived two ways, neither reading `OutputRule::unit`'s coefficients:
    /// (1) Eq. 3's output stationarity beta d/dz+ = z+ - a + alpha beta l'(z+) = 0 (resp. -beta d/dz- =
    /// z- - a - abar beta l'(z-) = 0) with l' taken at a_L, i.e. one step z = a - (scaled derivative at z = a), the
    /// derivative by forward mode on `ObjectivePoint::eq3`, both losses; (2) least squares: the first-order Taylor
    /// expansion in beta of the exact min/max (`rules::output_exact`), its beta-derivative at beta = 0 taken by a
    /// dual number in beta. The update must equal both to `derivative_agreement` x magnitude.
    #[test]
    fn linearized_original_output_is_eq3_stationarity_with_l_prime_at_a(problem in arb_problem()) {
        for_each_point(problem, |c, alpha, beta, s| {
            if c.net.activation == Activation::Softplus {
                return Ok(()); // Eq. 3 has no value with softplus hidden layers (no closed-form potential)
            }
            let (depth, abar) = (c.net.depth(), 1.0 - alpha);
            let tol = derivative_agreement::<f64>(max_width(&c.net));
            let cfg = Config::new(Method::OriginalDp, alpha, beta, 1).with_output(OutputRule::OriginalLinearized);
            let mut u = s.clone();
            update_layer(&c.net, &cfg, &mut u, depth, &c.y, &no_frozen(c));
            let a = pre_activation(&c.net, s, depth, alpha);
            let mut at_a = s.clone();
            at_a.plus[depth] = a.clone();
            at_a.minus[depth] = a.clone();
            let mut lifted = Lifted::new(c, &at_a, alpha, beta);
            let extra = loss_extra(c.net.loss, beta);
            for i in 0..a.as_slice().len() {
                let ai = a.as_slice()[i];
                let dp = beta * lifted.partial(Objective::Eq3, depth, i, 1.0, 0.0).unwrap();
                let dm = -beta * lifted.partial(Objective::Eq3, depth, i, 0.0, 1.0).unwrap();
                let (zp, zm) = (u.plus[depth].as_slice()[i], u.minus[depth].as_slice()[i]);
                for (z, want, name) in [(zp, ai - dp, "z+"), (zm, ai - dm, "z-")] {
                    let mag = ai.abs() + dp.abs() + dm.abs() + extra;
                    prop_assert!((z - want).abs() <= tol * mag, "{} {:?}: {} {} vs stationarity {}", name, c.net.loss, i, z, want);
                }
                if c.net.loss == Loss::LeastSquares {
                    let yi = c.y.as_slice()[i];
                    let (tp, tm) = rules::output_exact(
                        Dual::new(0.0, alpha), Dual::new(0.0, abar), Dual::constant(ai), Dual::constant(yi),
                    );
                    for (z, d, name) in [(zp, tp, "z+"), (zm, tm, "z-")] {
                        prop_assert_eq!(d.value, ai);
                        let want = ai + beta * d.tangent;
                        let mag = ai.abs() + (beta * d.tangent).abs();
                        prop_assert!((z - want).abs() <= tol * mag, "{} unit {}: {} vs Taylor {}", name, i, z, want);
                    }
                }
            }
            Ok(())
        })?;
    }
}

/// Every derived residual of `method`'s report, all layers together (DP+: Eq. 10, Eq. 11, Eq. 19 and Eq. 15;
/// original DP: Eq. 3's stationarity; Eq. 21: Eq. 20's conditions), as in the per-equation tests above.
fn all_expected(
    c: &Case<f64>,
    cfg: &Config,
    s: &DualState<f64>,
    lifted: &mut Lifted,
) -> Vec<Expected> {
    let depth = c.net.depth();
    let mut all = Vec::new();
    for k in 1..=depth {
        match cfg.method {
            Method::DpPlus if k < depth => {
                let (e, _) = dp_plus_hidden_expected(c, cfg, s, lifted, k);
                all.extend(e.into_iter().flatten());
            }
            Method::DpPlus => all.extend(
                dp_plus_output_expected(c, cfg, s, lifted)
                    .into_iter()
                    .flatten(),
            ),
            Method::OriginalDp => all.extend(
                original_expected(c, cfg, s, lifted, k)
                    .into_iter()
                    .flatten(),
            ),
            _ => all.extend(eq20_expected(c, cfg, s, lifted, k).into_iter().flatten()),
        }
    }
    all
}

/// The range of f, written out (not through `Activation::inverse`): where f^-1 is defined. The states drawn
/// below keep a margin of 0.05 from every end, so rounding cannot move a state across one.
fn in_range(f: Activation, z: f64) -> bool {
    match f {
        Activation::Tanh => z.abs() < 1.0,
        Activation::Sigmoid => z > 0.0 && z < 1.0,
        Activation::Softplus => z > 0.0,
        _ => unreachable!("only the activations with a bounded range are drawn"),
    }
}

/// A state whose hidden units lie inside the range of f or (unit 0 of every row, and a third of the others)
/// outside it, z^+ and z^- on the same side with a margin, so that zbar lies there too for every alpha.
fn state_partly_outside_the_range(c: &Case<f64>, rng: &mut StdRng) -> DualState<f64> {
    let (widths, depth, batch) = (c.net.widths(), c.net.depth(), c.x.rows());
    let f = c.net.activation;
    let mut state = DualState::feed_forward(&c.net, &c.x);
    for k in 1..=depth {
        let (mut plus, mut minus) = (Vec::new(), Vec::new());
        for _row in 0..batch {
            for j in 0..widths[k] {
                let outside = k < depth && (j == 0 || rng.random_bool(1.0 / 3.0));
                let range = match (f, outside, rng.random_bool(0.5)) {
                    _ if k == depth => -1.5..1.5,
                    (Activation::Tanh, false, _) => -0.9..0.9,
                    (Activation::Tanh, true, high) => {
                        if high {
                            1.05..2.0
                        } else {
                            -2.0..-1.05
                        }
                    }
                    (Activation::Sigmoid, false, _) => 0.05..0.95,
                    (Activation::Sigmoid, true, high) => {
                        if high {
                            1.05..2.0
                        } else {
                            -1.0..-0.05
                        }
                    }
                    (Activation::Softplus, false, _) => 0.05..2.0,
                    (_, true, _) => -1.5..-0.05,
                    _ => unreachable!(),
                };
                plus.push(rng.random_range(range.clone()));
                minus.push(rng.random_range(range));
            }
        }
        state.plus[k] = Matrix::from_vec(batch, widths[k], plus).unwrap();
        state.minus[k] = Matrix::from_vec(batch, widths[k], minus).unwrap();
    }
    state
}

proptest! {
    #![proptest_config(config(12))]

    /// `KktReport::max_abs` and `max_relative` are the largest residual over every layer and equation of the
    /// report: at arbitrary states, for DP+, original DP and Eq. 21, they equal the largest of the residuals derived
    /// from the objectives (and the largest ratio to the checker's stated normalization), to `derivative_agreement`
    /// x the magnitudes. Independent route: forward mode on `ObjectivePoint` (as in the tests above), maxima taken
    /// in the test. Power: counts the (point, method) pairs whose largest residual exceeds 100 x its allowance
    /// (a report of 0, or of the first layer alone, fails there), at least one per draw.
    #[test]
    fn report_maxima_are_the_largest_derived_residuals(problem in arb_problem()) {
        let mut telling = 0usize;
        for_each_point(problem, |c, alpha, beta, s| {
            let mut lifted = Lifted::new(c, s, alpha, beta);
            let tol = derivative_agreement::<f64>(max_width(&c.net));
            for method in [Method::DpPlus, Method::OriginalDp, Method::Eq21] {
                if method == Method::OriginalDp && c.net.activation == Activation::Softplus {
                    continue; // Eq. 3 has no value to differentiate (no closed-form potential)
                }
                let cfg = checker_config(method, alpha, beta);
                let report = kkt_report(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap(), s).unwrap();
                let all = all_expected(c, &cfg, s, &mut lifted);
                let max = |g: &dyn Fn(&Expected) -> f64| all.iter().fold(0.0f64, |m, e| m.max(g(e)));
                let want_abs = max(&|e| e.residual.abs());
                let want_rel = max(&|e| e.residual.abs() / e.scale);
                let (mag, mag_rel) = (max(&|e| e.magnitude), max(&|e| e.magnitude / e.scale));
                let what = format!("{method:?} {:?} {:?} alpha {alpha} beta {beta}", c.net.activation, c.net.loss);
                prop_assert!(
                    (report.max_abs() - want_abs).abs() <= tol * mag,
                    "{}: max_abs {:e}, derived {:e}", what, report.max_abs(), want_abs
                );
                prop_assert!(
                    (report.max_relative() - want_rel).abs() <= tol * mag_rel,
                    "{}: max_relative {:e}, derived {:e}", what, report.max_relative(), want_rel
                );
                if want_abs > 100.0 * tol * mag && want_rel > 100.0 * tol * mag_rel {
                    telling += 1;
                }
            }
            Ok(())
        })?;
        prop_assert!(telling >= 1, "no point had a residual above rounding");
    }

    /// Units whose state lies outside the range of f (where f^-1, hence Eq. 10 and Eq. 3's stationarity, is
    /// undefined) are counted as excluded, the others as evaluated: per DP+ hidden equation, the units whose zbar
    /// is outside; per original-DP equation, those whose z^+ (resp. z^-) is. Tanh, sigmoid and softplus. Independent
    /// route: the range of f written out in the test ([`in_range`]). Unit 0 of every hidden row is drawn outside, so
    /// every draw with a hidden layer excludes at least one unit (counted, must be above 0).
    #[test]
    fn units_outside_the_range_of_f_are_excluded_and_counted(problem in arb_problem()) {
        let (widths, batch, seed, drawn_alpha) = problem;
        let mut rng = StdRng::seed_from_u64(seed ^ 0x0e8c_1d0e);
        let mut excluded_seen = 0usize;
        for f in [Activation::Tanh, Activation::Sigmoid, Activation::Softplus] {
            let c = case(&widths, batch, f, Loss::LeastSquares, seed);
            for alpha in ALPHAS.into_iter().chain([drawn_alpha]) {
                let s = state_partly_outside_the_range(&c, &mut rng);
                for k in 1..c.net.depth() {
                    let zbar = s.mean(k, alpha);
                    let outside = |m: &Matrix<f64>| m.as_slice().iter().filter(|&&z| !in_range(f, z)).count();
                    let n = zbar.as_slice().len();
                    let dp = kkt_report(&Problem::new(&c.net, &checker_config(Method::DpPlus, alpha, 0.5), &c.x, &c.y).unwrap(), &s).unwrap();
                    for e in [Equation::Eq10Plus, Equation::Eq10Minus, Equation::Eq11] {
                        let r = dp.get(k, e).unwrap();
                        prop_assert_eq!(r.excluded, outside(&zbar), "DP+ {:?} alpha {} layer {} {:?}", f, alpha, k, e);
                        prop_assert_eq!(r.units, n - outside(&zbar), "DP+ {:?} layer {} {:?}", f, k, e);
                    }
                    let orig = kkt_report(&Problem::new(&c.net, &checker_config(Method::OriginalDp, alpha, 0.5), &c.x, &c.y).unwrap(), &s).unwrap();
                    for (e, z) in [(Equation::Eq3StationarityPlus, &s.plus[k]), (Equation::Eq3StationarityMinus, &s.minus[k])] {
                        let r = orig.get(k, e).unwrap();
                        prop_assert_eq!(r.excluded, outside(z), "original DP {:?} alpha {} layer {} {:?}", f, alpha, k, e);
                        prop_assert_eq!(r.units, n - outside(z), "original DP {:?} layer {} {:?}", f, k, e);
                    }
                    excluded_seen += outside(&zbar);
                }
            }
        }
        prop_assert!(widths.len() < 3 || excluded_seen > 0, "no unit was drawn outside the range");
    }

    /// With a separate hidden alpha h (`Config::hidden_alpha`), the output layer's pre-activation reads the last
    /// hidden layer's mean with h and the output's own mean with alpha: at arbitrary states, Eq. 20's output
    /// constraint is max |alpha z_L^+ + (1 - alpha) z_L^- - W (h z_{L-1}^+ + (1 - h) z_{L-1}^-) - b|, and the DP+
    /// output residuals Eq. 15 for least squares are alpha g + zbar - a + alpha delta and abar g - zbar + a + abar
    /// delta with g = beta (zbar - y). Independent route: the pre-activation and the least-squares gradient
    /// recomputed unit by unit in the test (no `pre_activation`, `DualState::mean` or `Loss::gradient`).
    #[test]
    fn output_conditions_read_the_hidden_layers_mean_with_the_hidden_alpha(problem in arb_problem()) {
        let (widths, batch, seed, drawn_alpha) = problem;
        prop_assume!(widths.len() >= 3);
        let mut rng = StdRng::seed_from_u64(seed ^ 0x41fa);
        for f in ACTIVATIONS {
            let c = case(&widths, batch, f, Loss::LeastSquares, seed);
            let (depth, out, below) = (c.net.depth(), widths[widths.len() - 1], widths[widths.len() - 2]);
            let layer = &c.net.layers[depth - 1];
            for (alpha, h) in [(drawn_alpha, 1.0 - drawn_alpha), (1.0, 0.0), (0.0, 1.0), (0.5, 0.2)] {
                let beta = 0.5;
                let s = arbitrary_state(&c, &mut rng);
                let mean = |k: usize, a: f64, r: usize, j: usize| {
                    a * s.plus[k].get(r, j) + (1.0 - a) * s.minus[k].get(r, j)
                };
                let (mut constraint, mut eq15) = (0.0f64, [0.0f64; 2]);
                let mut magnitude = 0.0f64;
                for r in 0..batch {
                    for i in 0..out {
                        let (mut a, mut a_abs) = (layer.b[i], layer.b[i].abs());
                        for j in 0..below {
                            let zb = mean(depth - 1, h, r, j);
                            a += layer.w.get(i, j) * zb;
                            a_abs += (layer.w.get(i, j) * zb).abs();
                        }
                        let (zp, zm) = (s.plus[depth].get(r, i), s.minus[depth].get(r, i));
                        let (zb, delta) = (mean(depth, alpha, r, i), zp - zm);
                        let g = beta * (zb - c.y.get(r, i));
                        constraint = constraint.max((zb - a).abs());
                        eq15[0] = eq15[0].max((alpha * g + zb - a + alpha * delta).abs());
                        eq15[1] = eq15[1].max(((1.0 - alpha) * g - zb + a + (1.0 - alpha) * delta).abs());
                        magnitude = magnitude.max(a_abs + zb.abs() + g.abs() + delta.abs() + beta * c.y.get(r, i).abs());
                    }
                }
                let tol = derivative_agreement::<f64>(max_width(&c.net)) * magnitude;
                let at = |method: Method, e: Equation| {
                    let cfg = Config::new(method, alpha, beta, 1).with_hidden_alpha(h);
                    kkt_report(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap(), &s).unwrap().get(depth, e).unwrap().max_abs
                };
                let what = format!("{f:?} alpha {alpha} h {h}");
                let got = at(Method::Eq21, Equation::Eq20OutputConstraint);
                prop_assert!((got - constraint).abs() <= tol, "{}: Eq. 20 output constraint {:e}, recomputed {:e}", what, got, constraint);
                for (e, want) in [(Equation::Eq15Plus, eq15[0]), (Equation::Eq15Minus, eq15[1])] {
                    let got = at(Method::DpPlus, e);
                    prop_assert!((got - want).abs() <= tol, "{}: {:?} {:e}, recomputed {:e}", what, e, got, want);
                }
            }
        }
    }
}

/// `KktReport::max_abs` and `max_relative` on reports written out by hand: the largest entry over every layer
/// (not only the first or the last), and NaN wherever one entry is NaN, first or later. Independent route: the
/// maxima worked out in the test.
#[test]
fn report_maxima_closed_form() {
    use dualprop::checks::{EquationResidual, LayerKkt};
    let report = |entries: &[(f64, f64)]| KktReport {
        method: Method::DpPlus,
        layers: entries
            .iter()
            .enumerate()
            .map(|(k, &(max_abs, max_relative))| LayerKkt {
                layer: k + 1,
                equations: vec![EquationResidual {
                    equation: Equation::Eq10Plus,
                    max_abs,
                    max_relative,
                    units: 1,
                    excluded: 0,
                }],
            })
            .collect(),
        output_saddle: None,
    };
    let r = report(&[(0.25, 1e-3), (3.0, 2e-3), (0.5, 4e-4)]);
    assert_eq!((r.max_abs(), r.max_relative()), (3.0, 2e-3));
    let empty = report(&[]);
    assert_eq!((empty.max_abs(), empty.max_relative()), (0.0, 0.0));
    for at in 0..3 {
        let mut entries = [(0.25, 1e-3), (3.0, 2e-3), (0.5, 4e-4)];
        entries[at] = (f64::NAN, f64::NAN);
        let r = report(&entries);
        assert!(
            r.max_abs().is_nan() && r.max_relative().is_nan(),
            "NaN at {at}: {r:?}"
        );
    }
}

/// An overflowing hidden pre-activation is left unclassified (not put on ReLU's inactive piece, where Eq. 19 would
/// report a small residual): a = W x = -inf and the feedback b = W^T delta = -inf, so the DP+ nudged pre-activations
/// are a + abar b = -inf and a - alpha b = -inf + inf = NaN. The unit must reach Eq. 10, where its residuals are
/// inf and NaN, and the report's maxima must be NaN. Independent route: IEEE arithmetic worked out in the test.
#[test]
fn an_overflowing_pre_activation_reaches_the_report() {
    let big = -1e308;
    let layers = vec![
        Layer {
            w: Matrix::from_vec(1, 2, vec![big, big]).unwrap(),
            b: vec![0.0],
        },
        Layer {
            w: Matrix::from_vec(2, 1, vec![big, big]).unwrap(),
            b: vec![0.0, 0.0],
        },
    ];
    let net = Network::new(layers, Activation::Relu, Loss::LeastSquares).unwrap();
    let x = Matrix::from_vec(1, 2, vec![1.0, 1.0]).unwrap();
    let y = Matrix::zeros(1, 2);
    let mut s = DualState::feed_forward(&net, &x);
    s.plus[1] = Matrix::from_vec(1, 1, vec![0.5]).unwrap();
    s.minus[1] = s.plus[1].clone();
    s.plus[2] = Matrix::from_vec(1, 2, vec![1.0, 1.0]).unwrap();
    s.minus[2] = Matrix::zeros(1, 2);
    let cfg = Config::new(Method::DpPlus, 0.5, 1.0, 1);
    let report = kkt_report(&Problem::new(&net, &cfg, &x, &y).unwrap(), &s).unwrap();
    let get = |e| report.get(1, e).unwrap();
    assert_eq!(get(Equation::Eq19InactiveRelu).units, 0, "{report:?}");
    assert_eq!(get(Equation::Eq10Plus).units, 1, "{report:?}");
    assert_eq!(get(Equation::Eq10Plus).max_abs, f64::INFINITY, "{report:?}");
    assert!(get(Equation::Eq10Minus).max_abs.is_nan(), "{report:?}");
    assert!(
        report.max_abs().is_nan() && report.max_relative().is_nan(),
        "{report:?}"
    );
}

/// The kink convention of the DP+ checker's ReLU classification (Eqs. 10, 19; Prop. 3.1 holds on one piece): a
/// nudged pre-activation counts as above the kink only when strictly greater (f'(0) = 0), so a unit with both at or
/// below 0 is inactive (Eq. 19), one with exactly one above straddles, and one with both above is on the active
/// piece. Width-1 layers with exact small-integer pre-activations a and feedbacks b (alpha = 1/2, so the nudged
/// values a + b/2 and a - b/2 are exact): rows (a, b) = (-1, 2) up 0 down -2, (0, 0) both at 0: inactive; (1, 2) up 2
/// down 0, (0, -2) up -1 down 1: straddling; (2, 2) up 3 down 1: active. Independent route: the classification
/// worked out in the test.
#[test]
fn relu_units_at_the_kink_are_classified_by_the_strict_convention() {
    let rows = [(-1.0, 2.0), (0.0, 0.0), (1.0, 2.0), (0.0, -2.0), (2.0, 2.0)];
    let one = || Layer {
        w: Matrix::from_vec(1, 1, vec![1.0]).unwrap(),
        b: vec![0.0],
    };
    let net = Network::new(vec![one(), one()], Activation::Relu, Loss::LeastSquares).unwrap();
    let n = rows.len();
    let x = Matrix::from_vec(n, 1, rows.iter().map(|r| r.0).collect()).unwrap();
    let y = Matrix::zeros(n, 1);
    let mut s = DualState::feed_forward(&net, &x);
    s.plus[1] = Matrix::from_vec(n, 1, vec![0.5; n]).unwrap();
    s.minus[1] = s.plus[1].clone();
    s.plus[2] = Matrix::from_vec(n, 1, rows.iter().map(|r| r.1).collect()).unwrap();
    s.minus[2] = Matrix::zeros(n, 1);
    let report = kkt_report(
        &Problem::new(
            &net,
            &Config::new(Method::DpPlus, 0.5, 1.0, 1),
            &s.plus[0],
            &y,
        )
        .unwrap(),
        &s,
    )
    .unwrap();
    let units = |e| report.get(1, e).map_or(0, |r| r.units);
    use Equation::*;
    assert_eq!(units(Eq19InactiveRelu), 2, "{report:?}");
    for (on_piece, straddling) in [
        (Eq10Plus, Eq10PlusStraddling),
        (Eq10Minus, Eq10MinusStraddling),
        (Eq11, Eq11Straddling),
    ] {
        assert_eq!(units(on_piece), 1, "{on_piece:?}: {report:?}");
        assert_eq!(units(straddling), 2, "{straddling:?}: {report:?}");
    }
}

/// At states without nudging (z_k^+ = z_k^- on every layer) every delta_k is 0, so Eq. 7 and the Lagrangian of
/// Eq. 20 are beta l(z_L) and Eq. 3 is alpha l(z_L) + abar l(z_L) = l(z_L) (its energy differences cancel), for any
/// alpha and beta; Eq. 3 has no value with softplus (no closed-form potential). Eq. 7 drops the term of a ReLU unit
/// whose zbar lies outside the range of f when its delta is 0 (Eq. 19 makes it vanish there) and has no value when
/// that delta is not 0. Independent route: least squares 1/2 sum (z - y)^2 written out in the test; the values are
/// read through the f64 report functions (`eq7_value`, `eq3_value`, `eq20_value`).
#[test]
fn objective_values_without_nudging_are_the_loss() {
    for f in ACTIVATIONS {
        for seed in 0..3u64 {
            let c = case(&[3, 4, 3, 2], 3, f, Loss::LeastSquares, seed);
            let depth = c.net.depth();
            let mut rng = StdRng::seed_from_u64(seed);
            let mut s = arbitrary_state(&c, &mut rng);
            for k in 1..=depth {
                s.minus[k] = s.plus[k].clone();
            }
            let (z, y) = (s.plus[depth].as_slice(), c.y.as_slice());
            let loss: f64 = z.iter().zip(y).map(|(z, y)| 0.5 * (z - y) * (z - y)).sum();
            let size: f64 = z
                .iter()
                .zip(y)
                .map(|(z, y)| (z.abs() + y.abs()).powi(2))
                .sum();
            let tol = rounding::<f64>(z.len(), 1) * size;
            // Eq. 3 adds and subtracts (1/beta) (G(z) - z a) per unit: its rounding is relative to their sum.
            let (mut energies, mut terms) = (0.0, z.len());
            for k in 1..=depth {
                let a = pre_activation(&c.net, &s, k, 0.5);
                for (&zi, &ai) in s.plus[k].as_slice().iter().zip(a.as_slice()) {
                    let g = if k == depth {
                        0.5 * zi * zi
                    } else {
                        f.potential(zi).unwrap_or(0.0)
                    };
                    energies += 2.0 * (g.abs() + (zi * ai).abs());
                    terms += 2;
                }
            }
            for (alpha, beta) in [(0.0, 0.5), (0.7, 2.0), (1.0, 0.01)] {
                let eq3_tol = tol + rounding::<f64>(terms, 1) * energies / beta;
                let p = ObjectivePoint {
                    net: &c.net,
                    alpha,
                    beta,
                    state: &s,
                    y: &c.y,
                };
                let what = format!("{f:?} seed {seed} alpha {alpha} beta {beta}");
                let eq7 = p.eq7_value().unwrap();
                assert!(
                    (eq7 - beta * loss).abs() <= beta * tol,
                    "{what}: Eq. 7 {eq7} vs {}",
                    beta * loss
                );
                let eq20 = p.eq20_value();
                assert!(
                    (eq20 - beta * loss).abs() <= beta * tol,
                    "{what}: Eq. 20 {eq20} vs {}",
                    beta * loss
                );
                match p.eq3_value() {
                    Some(eq3) => {
                        assert!(
                            (eq3 - loss).abs() <= eq3_tol,
                            "{what}: Eq. 3 {eq3} vs {loss}"
                        )
                    }
                    None => assert_eq!(f, Activation::Softplus, "{what}: Eq. 3 has no value"),
                }
            }
            if f == Activation::Relu {
                let point = |s: &DualState<f64>| {
                    let p = ObjectivePoint {
                        net: &c.net,
                        alpha: 0.5,
                        beta: 1.0,
                        state: s,
                        y: &c.y,
                    };
                    p.eq7_value()
                };
                s.plus[1].as_mut_slice()[0] = -0.5;
                s.minus[1].as_mut_slice()[0] = -0.5;
                let eq7 = point(&s).expect("a unit outside the range with delta 0 is dropped");
                assert!(
                    (eq7 - loss).abs() <= tol,
                    "ReLU seed {seed}: Eq. 7 {eq7} vs {loss}"
                );
                s.minus[1].as_mut_slice()[0] = -0.25;
                assert_eq!(
                    point(&s),
                    None,
                    "ReLU seed {seed}: delta != 0 outside the range"
                );
            }
        }
    }
}

/// The KKT conditions' names as reports and oracle files spell them: every wording is distinct and starts with
/// its equation number ("Eq. "), is the condition's Display and Deref, parses back to it (`FromStr`) and survives a
/// JSON round trip (`Serialize`, `Deserialize`); an unknown wording is a typed error. The straddling variants are
/// exactly Eq. 10's and Eq. 11's, worded as their base condition "straddling the kink", and exactly the conditions
/// `is_straddling` names. Independent route: properties of the table (distinct, read back), not its contents.
#[test]
fn equation_wordings_are_distinct_and_read_back() {
    use Equation::*;
    let mut seen = std::collections::HashSet::new();
    for e in Equation::ALL {
        let w = e.wording();
        assert!(w.starts_with("Eq. ") && seen.insert(w), "{e:?}: {w:?}");
        assert_eq!((e.to_string().as_str(), &*e), (w, w), "{e:?}");
        assert_eq!(w.parse::<Equation>().unwrap(), e);
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, format!("{w:?}"));
        assert_eq!(serde_json::from_str::<Equation>(&json).unwrap(), e);
    }
    let straddling: Vec<Equation> = Equation::ALL
        .iter()
        .filter_map(|e| e.straddling())
        .collect();
    assert_eq!(
        straddling,
        [Eq10PlusStraddling, Eq10MinusStraddling, Eq11Straddling]
    );
    for e in Equation::ALL {
        assert_eq!(e.is_straddling(), straddling.contains(&e), "{e:?}");
        if let Some(s) = e.straddling() {
            assert_eq!(s.wording(), format!("{e} straddling the kink"));
        }
    }
    assert!(matches!(
        "Eq. 99".parse::<Equation>(),
        Err(dualprop::Error::Format(_))
    ));
    assert!(serde_json::from_str::<Equation>("\"Eq. 99\"").is_err());
}

proptest! {
    #![proptest_config(config(12))]

    /// `fixed_point_residuals_of_state` at arbitrary states is the distance to one more DP+ update of each layer,
    /// recomputed unit by unit in the test: hidden layers Eq. 8, z+ = f(a + abar b), z- = f(a - alpha b) with
    /// a = W zbar + b_bias and b = W^T delta summed in loops (identity, ReLU as max(0, .), tanh as f64::tanh);
    /// the output Eq. 16, z+ = a - abar g, z- = a + alpha g, least squares, with g = beta (a_L - y) (`Eq16`) or
    /// g = beta (feed-forward output - y) (`Eq16FrozenGradient`, the frozen gradient the function recomputes from
    /// z_0). One entry per layer, in order. Independent route: the updates written out in the test.
    #[test]
    fn fixed_point_residuals_of_a_state_are_the_distance_to_one_more_update(problem in arb_problem()) {
        let (widths, batch, seed, alpha) = problem;
        let mut rng = StdRng::seed_from_u64(seed ^ 0xf1_0ed);
        let abar = 1.0 - alpha;
        for (f, apply) in [
            (Activation::Identity, (|v| v) as fn(f64) -> f64),
            (Activation::Relu, |v: f64| v.max(0.0)),
            (Activation::Tanh, f64::tanh),
        ] {
            let c = case(&widths, batch, f, Loss::LeastSquares, seed);
            let depth = c.net.depth();
            let ff = c.net.forward(&c.x);
            for rule in [OutputRule::Eq16, OutputRule::Eq16FrozenGradient] {
                let beta = 0.5;
                let cfg = Config::new(Method::DpPlus, alpha, beta, 1).with_output(rule);
                let s = arbitrary_state(&c, &mut rng);
                let got = dualprop::checks::fixed_point_residuals_of_state(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap(), &s).unwrap();
                prop_assert_eq!(got.len(), depth);
                for k in 1..=depth {
                    let layer = &c.net.layers[k - 1];
                    let (mut worst, mut mag) = ([0.0f64; 2], 0.0f64);
                    for r in 0..batch {
                        for i in 0..widths[k] {
                            let mut a = layer.b[i];
                            let mut a_abs = layer.b[i].abs();
                            for j in 0..widths[k - 1] {
                                let zb = alpha * s.plus[k - 1].get(r, j) + abar * s.minus[k - 1].get(r, j);
                                a += layer.w.get(i, j) * zb;
                                a_abs += (layer.w.get(i, j) * zb).abs();
                            }
                            let (up, down) = if k < depth {
                                let (mut b, mut b_abs) = (0.0, 0.0);
                                for o in 0..widths[k + 1] {
                                    let d = s.plus[k + 1].get(r, o) - s.minus[k + 1].get(r, o);
                                    b += c.net.layers[k].w.get(o, i) * d;
                                    b_abs += (c.net.layers[k].w.get(o, i) * d).abs();
                                }
                                mag = mag.max(a_abs + b_abs);
                                (apply(a + abar * b), apply(a - alpha * b))
                            } else {
                                let at = if rule == OutputRule::Eq16 { a } else { ff[depth].get(r, i) };
                                let g = beta * (at - c.y.get(r, i));
                                mag = mag.max(a_abs + g.abs() + beta * c.y.get(r, i).abs());
                                (a - abar * g, a + alpha * g)
                            };
                            worst[0] = worst[0].max((up - s.plus[k].get(r, i)).abs());
                            worst[1] = worst[1].max((down - s.minus[k].get(r, i)).abs());
                            mag = mag.max(s.plus[k].get(r, i).abs() + s.minus[k].get(r, i).abs());
                        }
                    }
                    let tol = rounding::<f64>(max_width(&c.net), depth) * mag;
                    let e = &got[k - 1];
                    prop_assert_eq!(e.layer, k);
                    prop_assert!((e.plus - worst[0]).abs() <= tol, "{:?} {:?} layer {}: plus {:e} vs {:e}", f, rule, k, e.plus, worst[0]);
                    prop_assert!((e.minus - worst[1]).abs() <= tol, "{:?} {:?} layer {}: minus {:e} vs {:e}", f, rule, k, e.minus, worst[1]);
                }
            }
        }
    }
}

/// Eq. 18's potential G (G' = f^-1) at the ends of the range of f and just outside, against closed forms written
/// out here. Sigmoid: G(z) = z ln z + (1 - z) ln(1 - z) on the closed interval [0, 1] (z ln z -> 0 at the ends, so
/// G(0) = G(1) = 0; G(1/2) = -ln 2) and +infinity (None) outside. ReLU: z^2 / 2 for z >= 0 (G(0) = 0), None below.
/// Tanh: z atanh z + ln(1 - z^2) / 2 on (-1, 1) (G(1/2) = atanh(1/2) / 2 + ln(3/4) / 2), None at and beyond +-1:
/// the closure's value there (ln 2) is not evaluated, since atanh(+-1) is infinite.
#[test]
fn potentials_at_the_ends_of_the_range() {
    let tiny = 2f64.powi(-30);
    let s = Activation::Sigmoid;
    assert_eq!(s.potential(0.0f64), Some(0.0));
    assert_eq!(s.potential(1.0f64), Some(0.0));
    for outside in [-tiny, -1.0, 1.0 + tiny, 2.0] {
        assert_eq!(s.potential(outside), None, "sigmoid at {outside}");
    }
    let half = s.potential(0.5f64).unwrap();
    assert!(
        (half + std::f64::consts::LN_2).abs() <= 2.0 * f64::EPSILON,
        "{half}"
    );

    let r = Activation::Relu;
    assert_eq!(r.potential(0.0f64), Some(0.0));
    assert_eq!(r.potential(3.0f64), Some(4.5));
    assert_eq!(r.potential(-tiny), None);

    let t = Activation::Tanh;
    for edge in [1.0f64, -1.0, 1.0 + tiny, -2.0] {
        assert_eq!(t.potential(edge), None, "tanh at {edge}");
    }
    assert_eq!(t.potential(0.0f64), Some(0.0));
    let expected = 0.5f64.atanh() / 2.0 + 0.75f64.ln() / 2.0;
    let got = t.potential(0.5f64).unwrap();
    assert!(
        (got - expected).abs() <= 4.0 * f64::EPSILON * expected.abs(),
        "{got} vs {expected}"
    );
}
