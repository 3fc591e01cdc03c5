//! Specification, the ground truth itself: back-propagation (`reference::backprop`) checked against a derivative
//! computed another way. The independent route is forward mode (`checks::derivative`): the reference's own
//! feed-forward pass and `Loss::value` run in dual numbers (`reference::dual::Dual`), so neither `Loss::gradient`,
//! `Activation::derivative` nor the transposed products of back-propagation take part. Central finite differences
//! in f64 are a coarse third route, `Loss::value` is checked against the loss written out directly, and the DP+
//! gradient's orders in beta (claim 4) are measured against the forward-mode gradient.

mod common;

use common::*;
use dualprop::checks::derivative::{directional_derivative, forward_mode_gradient, mean_loss};
use dualprop::checks::tolerance::{eps, rounding};
use dualprop::reference::Problem;
use dualprop::reference::*;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use rand::{Rng, SeedableRng};

const ACTIVATIONS: [Activation; 6] = [
    Activation::Identity,
    Activation::Relu,
    Activation::LeakyRelu { slope: 0.05 },
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Softplus,
];
const LOSSES: [Loss; 2] = [Loss::LeastSquares, Loss::SoftmaxCrossEntropy];

/// Fixed proptest seed (reproducible runs); `DUALPROP_SPEC_CASES` sets the number of cases as for the other
/// specification tests.
fn config(default_cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default_cases),
        rng_seed: RngSeed::Fixed(0x5eed_d0a1),
        ..ProptestConfig::default()
    }
}

/// Like `arb_shape` (1-5 hidden layers, batch 1-8) but widths 1-8: forward mode costs one pass per parameter.
fn arb_small_shape() -> impl Strategy<Value = (Vec<usize>, usize, u64)> {
    (
        prop::collection::vec(1usize..=8, 3..=7),
        1usize..=8,
        any::<u64>(),
    )
}

/// The case with every bias set to 0 (as He and Xavier initialisation leave them); the biases stay parameters.
/// With ReLU a layer whose units are all inactive then puts the next pre-activations exactly on the kink.
fn without_biases(mut c: Case<f64>) -> Case<f64> {
    for l in &mut c.net.layers {
        l.b.iter_mut().for_each(|b| *b = 0.0);
    }
    c
}

/// All parameters in one list, layer by layer, W before b (the order of `Gradients`).
fn flat(g: &Gradients<f64>) -> Vec<f64> {
    let mut v = Vec::new();
    for k in 0..g.w.len() {
        v.extend_from_slice(g.w[k].as_slice());
        v.extend_from_slice(&g.b[k]);
    }
    v
}

/// Componentwise magnitude of the gradient: back-propagation's recursion with every factor replaced by a bound on
/// its absolute value: |z_{k-1}|, |W_k|, 1 for every hidden derivative (|f'| <= 1 for every activation of the
/// crate, and 1 - t^2, s (1 - s) are computed to a few eps absolute, not relative), and at the output |z| + |y|
/// (least squares: l' = z - y) or 2 (cross-entropy: back-propagation forms p - t with |p - t| <= 1; forward mode
/// forms sum_i p_i dz_i - dz_label plus the log-sum-exp shift's cancelling tangent, terms bounded by 2 sum |dz|).
/// Rounding errors of either route are bounded relative to this sum over paths of absolute products.
fn magnitude(c: &Case<f64>) -> Gradients<f64> {
    let net = &c.net;
    let depth = net.depth();
    let z = net.forward(&c.x);
    let abs = |m: &Matrix<f64>| m.map(f64::abs);
    let mut e = match net.loss {
        Loss::LeastSquares => abs(&z[depth]).zip(&abs(&c.y), |a, b| a + b),
        Loss::SoftmaxCrossEntropy => z[depth].map(|_| 2.0),
    };
    let inv_b = 1.0 / c.x.rows() as f64;
    let (mut w, mut b) = (vec![Matrix::zeros(0, 0); depth], vec![Vec::new(); depth]);
    for k in (1..=depth).rev() {
        w[k - 1] = e.transpose_mul(&abs(&z[k - 1])).scale(inv_b);
        b[k - 1] = e.column_sums().into_iter().map(|v| v * inv_b).collect();
        e = e.mul(&abs(&net.layers[k - 1].w));
    }
    Gradients { w, b }
}

/// Rounding bound shared by the two exact routes: every path from a parameter to the loss has at most L + 1 levels
/// (L layers and the loss), each a sum of length at most n = max(widths, batch) followed by a product with a
/// weight, a derivative and a scaling; each route is then within gamma_m <= 2 m eps, m = (n + 4)(L + 1), of the
/// exact value relative to `magnitude`, and the two within twice that: 4 (n + 4)(L + 1) eps, which is
/// `tolerance::rounding(n, L + 1)`.
fn exact_routes_tolerance(c: &Case<f64>) -> f64 {
    let n = max_width(&c.net).max(c.x.rows());
    rounding::<f64>(n, c.net.depth() + 1)
}

/// Largest |a - b| / magnitude over the parameters, in units of the tolerance (a pass is <= 1).
fn worst_ratio(a: &[f64], b: &[f64], mag: &[f64], tol: f64) -> (f64, usize) {
    let mut worst = (0.0, 0);
    for (i, ((&u, &v), &m)) in a.iter().zip(b).zip(mag).enumerate() {
        let r = (u - v).abs() / (tol * m.max(f64::MIN_POSITIVE));
        if r > worst.0 || r.is_nan() {
            worst = (r, i);
        }
    }
    worst
}

/// Branch of every piecewise-linear unit (its derivative's value) over the batch, for detecting kink crossings.
fn branches(net: &Network<f64>, x: &Matrix<f64>) -> Vec<f64> {
    let z = net.forward(x);
    (1..net.depth())
        .flat_map(|k| {
            let a = net.pre_activation(k, &z[k - 1]);
            a.as_slice()
                .iter()
                .map(|&v| net.activation.derivative(v))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Parameter p of layer k + 1 (W_k's entries in row-major order, then b_k's).
fn param(net: &mut Network<f64>, (k, p): (usize, usize)) -> &mut f64 {
    let l = &mut net.layers[k];
    let nw = l.w.as_slice().len();
    if p < nw {
        &mut l.w.as_mut_slice()[p]
    } else {
        &mut l.b[p - nw]
    }
}

/// (l(theta + s) - l(theta - s)) / (exact step), and whether every piecewise-linear unit stayed on the branch
/// recorded in `base` at both points (always true for `None`). Leaves the parameter as it was.
fn central_difference(
    net: &mut Network<f64>,
    c: &Case<f64>,
    at: (usize, usize),
    s: f64,
    base: Option<&[f64]>,
) -> (f64, bool) {
    let theta = *param(net, at);
    let (up, down) = (theta + s, theta - s);
    let mut eval = |t: f64| {
        *param(net, at) = t;
        let same = base.is_none_or(|b| branches(net, &c.x) == b);
        (mean_loss(net, &c.x, &c.y), same)
    };
    let ((lu, su), (ld, sd)) = (eval(up), eval(down));
    *param(net, at) = theta;
    ((lu - ld) / ((up - theta) + (theta - down)), su && sd)
}

/// Upper bound on the absolute rounding error of `mean_loss` in f64, relative to `rounding(n, L + 1)`: the loss's
/// own sums (|loss terms|) plus |dl/dz| times a bound on the error of z_L, which is rounding(n, L) times the
/// feed-forward pass on absolute values (|W| |z| + |b| + |f(a)| per layer; |f'| <= 1 carries the pre-activation's
/// error through f).
fn loss_magnitude(c: &Case<f64>) -> f64 {
    let net = &c.net;
    let z = net.forward(&c.x);
    let mut za = c.x.map(f64::abs);
    for (l, zk) in net.layers.iter().zip(&z[1..]) {
        let b: Vec<f64> = l.b.iter().map(|v| v.abs()).collect();
        za = za
            .mul_transpose(&l.w.map(f64::abs))
            .add_row(&b)
            .zip(zk, |s, v| s + v.abs());
    }
    let zl = &z[net.depth()];
    let mut total = 0.0;
    for i in 0..zl.rows() {
        for j in 0..zl.cols() {
            let (v, t, a) = (zl.get(i, j), c.y.get(i, j), za.get(i, j));
            total += match net.loss {
                Loss::LeastSquares => (v - t).abs() * a + 0.5 * (v - t) * (v - t),
                // |p - t| <= 1 per output, and the log-sum-exp of the row and the label's logit enter once each.
                Loss::SoftmaxCrossEntropy => a + t.abs() * (2.0 * zl.max_abs() + 1.0),
            };
        }
    }
    total / zl.rows() as f64
}

proptest! {
    // 16 networks x 6 activations x 2 losses x with/without biases = 384 full gradients.
    #![proptest_config(config(16))]

    /// The ground truth against the second route: for every activation, both losses, 1-5 hidden layers, with and
    /// without biases, back-propagation's gradient equals the forward-mode derivative of the reference's
    /// feed-forward loss (`forward_mode_gradient`, no back-propagation code) componentwise within
    /// `exact_routes_tolerance` relative to `magnitude`, and the loss values are bitwise equal (the dual's value
    /// path is the f64 computation).
    #[test]
    fn backprop_equals_forward_mode((widths, batch, seed) in arb_small_shape()) {
        for act in ACTIVATIONS {
            for loss in LOSSES {
                for biases in [true, false] {
                    let c = case(&widths, batch, act, loss, seed);
                    let c = if biases { c } else { without_biases(c) };
                    let (bp_loss, bp) = backprop(&c.net, &c.x, &c.y);
                    let (fm_loss, fm) = forward_mode_gradient(&c.net, &c.x, &c.y).unwrap();
                    prop_assert_eq!(bp_loss, fm_loss);
                    let tol = exact_routes_tolerance(&c);
                    let (r, i) = worst_ratio(&flat(&bp), &flat(&fm), &flat(&magnitude(&c)), tol);
                    prop_assert!(
                        r <= 1.0,
                        "{act:?} {loss:?} biases {biases}: parameter {i}: backprop {} vs forward mode {} \
                         ({r:.3} x tolerance {tol:e})",
                        flat(&bp)[i], flat(&fm)[i]
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// The same at full size (widths 1-32) along one random direction v per case: forward mode's directional
    /// derivative (one pass with every tangent seeded by v) equals <backprop, v> within `exact_routes_tolerance`
    /// times <magnitude, |v|>.
    #[test]
    fn backprop_equals_forward_mode_along_a_direction(
        (widths, batch, seed) in arb_shape(), act in 0usize..6, ce in any::<bool>(), biases in any::<bool>(),
    ) {
        let loss = LOSSES[ce as usize];
        let c = case(&widths, batch, ACTIVATIONS[act], loss, seed);
        let c = if biases { c } else { without_biases(c) };
        let (_, bp) = backprop(&c.net, &c.x, &c.y);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed.rotate_left(17));
        let v = Gradients {
            w: bp.w.iter().map(|m| Matrix::from_fn(m.rows(), m.cols(), |_, _| rng.random_range(-1.0..=1.0))).collect(),
            b: bp.b.iter().map(|b| b.iter().map(|_| rng.random_range(-1.0..=1.0)).collect()).collect(),
        };
        let (_, fm) = directional_derivative(&c.net, &c.x, &c.y, &v).unwrap();
        let (g, vv, m) = (flat(&bp), flat(&v), flat(&magnitude(&c)));
        let bp_dot: f64 = g.iter().zip(&vv).map(|(a, b)| a * b).sum();
        let mag: f64 = m.iter().zip(&vv).map(|(a, b)| a * b.abs()).sum();
        // The dot product over P parameters adds its own gamma_P, relative to the same magnitude.
        let tol = exact_routes_tolerance(&c) + rounding::<f64>(g.len(), 1);
        prop_assert!(
            (bp_dot - fm).abs() <= tol * mag,
            "{:?} {loss:?}: <backprop, v> {bp_dot} vs forward mode {fm} (tolerance {})", ACTIVATIONS[act], tol * mag
        );
    }

    /// A coarse third route in plain f64, sharing no code with back-propagation but the feed-forward pass: central
    /// differences D(h) = (l(theta + h) - l(theta - h)) / (2h) with h = 1e-4 (the exact step (theta + h) - theta is
    /// used). Error of D(h): truncation h^2 l''' / 6, estimated by Richardson as |D(2h) - D(h)| / 3 and allowed
    /// twice (for the next term), plus rounding 2 rho / (2h) with rho = rounding(n, L + 1) x `loss_magnitude`
    /// the error bound of one loss evaluation; back-propagation's own rounding is far below. Parameters whose
    /// +-2h moves a piecewise-linear unit across its kink are skipped, and at least half must be compared.
    #[test]
    fn finite_differences_agree_with_backprop(
        (widths, batch, seed) in arb_small_shape(), act in 0usize..6, ce in any::<bool>(), biases in any::<bool>(),
    ) {
        let act = ACTIVATIONS[act];
        let loss = LOSSES[ce as usize];
        let c = case(&widths, batch, act, loss, seed);
        let c = if biases { c } else { without_biases(c) };
        let (_, bp) = backprop(&c.net, &c.x, &c.y);
        let g = flat(&bp);
        let h = 1e-4;
        let rho = rounding::<f64>(max_width(&c.net).max(batch), c.net.depth() + 1) * loss_magnitude(&c);
        let base = act.is_piecewise_linear().then(|| branches(&c.net, &c.x));
        let mut net = c.net.clone();
        let (mut compared, mut index) = (0usize, 0usize);
        for k in 0..net.depth() {
            for p in 0..net.layers[k].w.as_slice().len() + net.layers[k].b.len() {
                let (d1, s1) = central_difference(&mut net, &c, (k, p), h, base.as_deref());
                let (d2, s2) = central_difference(&mut net, &c, (k, p), 2.0 * h, base.as_deref());
                if s1 && s2 {
                    let tol = 2.0 * (d2 - d1).abs() / 3.0 + rho / h;
                    prop_assert!(
                        (d1 - g[index]).abs() <= tol,
                        "{act:?} {loss:?} biases {biases}: parameter {index}: central difference {d1} vs backprop {} \
                         (tolerance {tol:e})", g[index]
                    );
                    compared += 1;
                }
                index += 1;
            }
        }
        prop_assert!(2 * compared >= index, "only {compared} of {index} parameters away from a kink");
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// `Loss::value` against the loss written out directly in f64 (until now it was only compared with the kernels'
    /// copy of the same formula): least squares sum 1/2 (z - y)^2; cross-entropy -sum_j t_j (z_j - ln sum_i e^{z_i})
    /// with the log-sum-exp unshifted (logits in [-30, 30], so e^z cannot overflow), one-hot and soft targets. The
    /// two differ by rounding only: sums of at most n + B terms, one exp and one ln per term, so within
    /// rounding(n + B, 1) relative to the sum of the absolute terms (|lse| + |z_j| + 1 per unit of target for
    /// cross-entropy, the 1 for ln's absolute error from the sum's relative error).
    #[test]
    fn loss_value_matches_the_direct_formula(
        batch in 1usize..=8, n in 1usize..=16, spread in 0.0f64..30.0, soft in any::<bool>(), seed in any::<u64>(),
    ) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let z = Matrix::from_fn(batch, n, |_, _| rng.random_range(-spread..=spread));
        let ls_y = Matrix::from_fn(batch, n, |_, _| rng.random_range(-1.0..=1.0));
        let labels: Vec<usize> = (0..batch).map(|_| rng.random_range(0..n)).collect();
        let mut ce_y = Matrix::from_fn(batch, n, |i, j| {
            if soft { rng.random_range(0.0..1.0) } else if labels[i] == j { 1.0 } else { 0.0 }
        });
        for i in 0..batch {
            let s: f64 = ce_y.row(i).iter().sum();
            for j in 0..n {
                ce_y.set(i, j, ce_y.get(i, j) / s.max(f64::MIN_POSITIVE));
            }
        }
        let tol = rounding::<f64>(n + batch, 1);

        let (mut direct, mut terms) = (0.0, 0.0);
        for i in 0..batch {
            for j in 0..n {
                let d = z.get(i, j) - ls_y.get(i, j);
                direct += 0.5 * d * d;
                terms += 0.5 * d * d;
            }
        }
        let ls = Loss::LeastSquares.value(&z, &ls_y);
        prop_assert!((ls - direct).abs() <= tol * terms, "least squares {ls} vs {direct}");

        let (mut direct, mut terms) = (0.0, 0.0);
        for i in 0..batch {
            let lse = z.row(i).iter().map(|v| v.exp()).sum::<f64>().ln();
            for j in 0..n {
                let t = ce_y.get(i, j);
                direct -= t * (z.get(i, j) - lse);
                terms += t.abs() * (lse.abs() + z.get(i, j).abs() + 1.0);
            }
        }
        let ce = Loss::SoftmaxCrossEntropy.value(&z, &ce_y);
        prop_assert!((ce - direct).abs() <= tol * terms, "cross-entropy {ce} vs {direct} (soft {soft})");
    }
}

proptest! {
    #![proptest_config(config(32))]

    /// Claim 4 measured against the independent gradient: for smooth activations the DP+ estimate's error against
    /// the forward-mode gradient is first order in beta at alpha in {0, 1} and second order at alpha = 1/2 (the
    /// bands and the beta range of `spec_orders::gradient_error_order_in_beta`, which measures against
    /// back-propagation). Widths 1-8.
    #[test]
    fn dp_plus_gradient_order_in_beta_against_forward_mode(
        (widths, batch, seed) in arb_small_shape(), act in 0usize..3, which in 0usize..3, beta in 2.5e-4f64..1e-3,
    ) {
        let alpha = [0.0, 0.5, 1.0][which];
        let smooth = [Activation::Tanh, Activation::Sigmoid, Activation::Softplus];
        let c = case(&widths, batch, smooth[act], Loss::LeastSquares, seed);
        let (_, fm) = forward_mode_gradient(&c.net, &c.x, &c.y).unwrap();
        let e = |b: f64| {
            let cfg = Config::new(Method::DpPlus, alpha, b, 40);
            let inf = Problem::new(&c.net, &cfg, &c.x, &c.y).and_then(|p| infer(&p)).ok()?;
            matches!(inf.verdict, Verdict::Converged { .. })
                .then(|| gradient_distance(&dual_gradient(&c.net, &cfg, &inf.states), &fm))
        };
        let (Some(e1), Some(e2)) = (e(beta), e(beta / 2.0)) else { return Err(TestCaseError::reject("no fixed point")) };
        let fm_norm = flat(&fm).iter().map(|v| v * v).sum::<f64>().sqrt();
        // Far above the rounding of the estimate (~ eps / beta relative), as in spec_orders.
        prop_assume!(e2 > 1e-9 * fm_norm && e2 > eps::<f64>());
        let p = if alpha == 0.5 { 2 } else { 1 };
        let r = 2f64.powi(p);
        let (lo, hi) = (r * 0.875, r * 1.125);
        prop_assert!((lo..=hi).contains(&(e1 / e2)), "alpha {alpha}: ratio {} outside [{lo}, {hi}]", e1 / e2);
    }
}

/// Closed forms the loss must meet whatever the implementation: equal logits give cross-entropy ln n per row
/// (for any target distribution), and least squares at z = y is exactly 0.
#[test]
fn loss_closed_forms() {
    for n in [1usize, 2, 3, 10, 1000] {
        let z = Matrix::from_fn(2, n, |_, _| 0.7);
        let y = Matrix::from_fn(2, n, |i, j| if (i + j) % n == 0 { 1.0 } else { 0.0 });
        let ce = Loss::SoftmaxCrossEntropy.value(&z, &y);
        let want = 2.0 * (n as f64).ln();
        assert!(
            (ce - want).abs() <= rounding::<f64>(n, 1) * (want + 2.0),
            "n = {n}: {ce} vs {want}"
        );
        assert_eq!(Loss::LeastSquares.value(&z, &z), 0.0);
    }
}

/// The inverse function theorem for every activation, (f^-1)'(z) = 1 / f'(f^-1(z)), on a grid that includes the
/// ends of each range (tanh +-1, sigmoid 0 and 1, softplus and ReLU 0) and leaky ReLU's kink, where both sides
/// take the right-hand piece (f'(0) = 1, (f^-1)'(0) = 1): `inverse_derivative` is defined exactly where `inverse`
/// is, and equals the reciprocal there to a few ulps times 1 + |(f^-1)'(z)| (near the end of a range, f^-1 forms
/// 1 - z, or 1 - e^-z, with a rounding eps relative to 1, which (f^-1)' magnifies). ReLU at z = 0 is left out (f^-1(0) is a set; f'(0) = 0 by
/// convention while the checker reads the active piece's 1). Independent route: `derivative` and `inverse`.
#[test]
fn inverse_derivative_is_the_reciprocal_of_f_prime() {
    let grid = [
        -2.0f64, -1.5, -1.0, -0.5, -1e-3, 0.0, 1e-3, 0.25, 0.5, 0.75, 0.9, 1.0, 1.5, 2.0,
    ];
    for f in ACTIVATIONS {
        for z in grid {
            match (f.inverse(z), f.inverse_derivative(z)) {
                (None, None) => {}
                (Some(_), Some(_)) if f == Activation::Relu && z == 0.0 => {}
                (Some(u), Some(d)) => {
                    let want = 1.0 / f.derivative(u);
                    assert!(
                        (d - want).abs() <= 16.0 * f64::EPSILON * (1.0 + d.abs()) * want.abs(),
                        "{f:?} at {z}: (f^-1)' = {d}, 1 / f'(f^-1) = {want}"
                    );
                }
                (u, d) => panic!("{f:?} at {z}: inverse {u:?} but inverse_derivative {d:?}"),
            }
        }
    }
}

/// Rows with no outputs (n = 0, a shape a network refuses but `Loss` is public): the loss is the empty sum 0 and
/// the gradient the empty matrix, for both losses, not a panic. Independent route: the empty sum, worked out.
#[test]
fn loss_of_rows_without_outputs_is_empty() {
    let (z, y) = (Matrix::<f64>::zeros(3, 0), Matrix::<f64>::zeros(3, 0));
    for loss in LOSSES {
        assert_eq!(loss.value(&z, &y), 0.0, "{loss:?}");
        assert_eq!(loss.gradient(&z, &y).shape(), (3, 0), "{loss:?}");
    }
}

/// A direction shaped unlike the network is a typed error, not a panic.
#[test]
fn misshapen_direction_is_a_typed_error() {
    let c = case(&[3, 4, 2], 2, Activation::Tanh, Loss::LeastSquares, 7);
    let (_, g) = backprop(&c.net, &c.x, &c.y);
    let short = Gradients {
        w: g.w[..1].to_vec(),
        b: g.b[..1].to_vec(),
    };
    let mut wrong = g.clone();
    wrong.b[1].push(0.0);
    // Only one of the two lists short: each alone is a misshapen direction.
    let (mut short_w, mut short_b) = (g.clone(), g.clone());
    short_w.w.pop();
    short_b.b.pop();
    let mut wrong_w = g.clone();
    wrong_w.w[0] = Matrix::zeros(1, 1);
    for d in [short, wrong, short_w, short_b, wrong_w] {
        assert!(matches!(
            directional_derivative(&c.net, &c.x, &c.y, &d),
            Err(dualprop::Error::Shape { .. })
        ));
    }
}

/// `checks::alignment` on gradients whose angles are known: per layer (1-based) the cosine, the angle in degrees and
/// the three norms of e = (1, 0 | 0) against g = (1, 1 | 0) (45 degrees, |e - g| = 1), of e = -g (180 degrees,
/// |e - g| = 2 |g|), of two zero gradients (cosine 1 by convention), of a zero estimate against a nonzero gradient
/// (NaN: no direction), and of parallel vectors whose rounded cosine may exceed 1 (clamped: angle 0). Independent
/// route: the angles worked out.
#[test]
fn alignment_closed_forms() {
    use dualprop::checks::alignment;
    let grads = |layers: &[[f64; 3]]| Gradients {
        w: layers
            .iter()
            .map(|l| Matrix::from_vec(1, 2, l[..2].to_vec()).unwrap())
            .collect(),
        b: layers.iter().map(|l| vec![l[2]]).collect(),
    };
    let s = 0.1f64;
    let estimate = grads(&[
        [1.0, 0.0, 0.0],
        [-2.0, 1.0, -2.0],
        [0.0; 3],
        [0.0; 3],
        [3.0 * s, 7.0 * s, 11.0 * s],
    ]);
    let backprop = grads(&[
        [1.0, 1.0, 0.0],
        [2.0, -1.0, 2.0],
        [0.0; 3],
        [0.0, 2.0, 0.0],
        [0.3, 0.7, 1.1],
    ]);
    let a = alignment(&estimate, &backprop);
    assert_eq!(a.len(), 5);
    let close = |x: f64, want: f64, what: &str| {
        assert!(
            (x - want).abs() <= 8.0 * f64::EPSILON * want.abs().max(1.0),
            "{what}: {x} vs {want}"
        )
    };
    for (i, r) in a.iter().enumerate() {
        assert_eq!(r.layer, i + 1);
    }
    let r = &a[0];
    close(r.cosine, 0.5f64.sqrt(), "cos 45");
    close(r.angle_degrees, 45.0, "45 degrees");
    close(r.difference_norm, 1.0, "diff 45");
    close(r.estimate_norm, 1.0, "|e| 45");
    close(r.backprop_norm, 2.0f64.sqrt(), "|g| 45");
    let r = &a[1];
    assert_eq!((r.cosine, r.angle_degrees), (-1.0, 180.0));
    close(r.difference_norm, 6.0, "diff 180");
    close(r.estimate_norm, 3.0, "|e| 180");
    assert_eq!(
        (a[2].cosine, a[2].angle_degrees, a[2].difference_norm),
        (1.0, 0.0, 0.0)
    );
    assert!(a[3].cosine.is_nan() && a[3].angle_degrees.is_nan());
    close(a[3].difference_norm, 2.0, "diff to zero");
    assert!(a[4].cosine <= 1.0 && a[4].angle_degrees >= 0.0);
    close(a[4].cosine, 1.0, "parallel");
}
