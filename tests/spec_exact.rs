//! Specification, part 1: the paper's claims that hold exactly (to rounding) for every network.
//! Each test names the claim, the equation and the Coq theorem that proves the same statement (docs/spec.md).

mod common;

use common::*;
use dualprop::checks::{kkt_report, tolerance, Equation};
use dualprop::reference::update::layer_update;
use dualprop::reference::Problem;
use dualprop::reference::*;
use proptest::prelude::*;

const ACTIVATIONS: [Activation; 6] = [
    Activation::Identity,
    Activation::Relu,
    Activation::LeakyRelu { slope: 0.1 },
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Softplus,
];

/// Componentwise first-order bound on the rounding in an estimate of each layer's gradient from the states
/// (Eq. 21's W_k and b_k estimates, -(1/(beta B)) sum_batch m_{k+1} zbar_k^T), against the exact value: the
/// magnitudes of the terms before they cancel, in the manner of a running error bound (Higham, section 3.3).
///
/// Each delta_l = z+_l - z-_l is computed from states of size M_l = |z+_l| + |z-_l|, so it carries an error of
/// order eps M_l, plus the error fed back from above through |W_l|^T (every activation here has |f'| <= 1, so
/// |D| <= 1 bounds the derivative). Each pre-activation a_l is a dot product whose terms have magnitude
/// A_l = |W_{l-1}| (M_{l-1} + A_{l-1}) + |b_{l-1}| (A_0 = 0; the rounding of the means below included), so it is
/// off by order eps A_l, and that error enters three places: the output's delta_L = -beta l'(a_L) (least squares,
/// l'' = 1) by eps beta A_L, a hidden multiplier D_l delta_l (Eq. 21) by eps |f''| A_l |delta_l| <= eps A_l M_l
/// (|f''| <= 1 here), and the mean zbar_l = f(a_l) by eps A_l. Hence the multiplier bound Q_L = M_L + beta A_L,
/// Q_l = P_l + A_l M_l with P_l = M_l + Q_{l+1} |W_l|. The estimate's entry (i, j) then carries at most a few eps
/// times S_ij = (1/(beta B)) sum_b Q_{k+1}[b, i] (M_k + A_k)[b, j], and the bias entry i at most
/// S_i = (1/(beta B)) sum_b Q_{k+1}[b, i]. Back-propagation's gradient is a sum of terms no larger (its delta is the
/// unnudged one, delta / beta, its states the feed-forward ones), so the two differ by at most
/// [`tolerance::rounding`] times S, componentwise. This replaces the a-priori (1 + 1/beta) of
/// [`difference_tolerance`], which assumed states of size 1 and |delta| ~ beta: a draw with a small loss gradient
/// (|delta| << |z|) broke that assumption by 1.38x (tests/spec_exact.proptest-regressions). The pre-activation
/// terms A were missing before: a draw whose output pre-activation cancels (a width-1 layer feeding 31 outputs,
/// softplus, beta 6) broke the bound without them by 1.33x (`settled_and_printed_eq21_where_a_l_cancels`).
fn estimate_rounding_scale(net: &Network<f64>, s: &DualState<f64>, beta: f64) -> Gradients<f64> {
    let depth = net.depth();
    let batch = s.plus[0].rows() as f64;
    let magnitude = |l: usize| s.plus[l].zip(&s.minus[l], |p, m| p.abs() + m.abs());
    // A_l for l = 0..=L.
    let mut terms = vec![Matrix::zeros(s.plus[0].rows(), s.plus[0].cols())];
    for l in 1..=depth {
        let layer = &net.layers[l - 1];
        let below = magnitude(l - 1).zip(&terms[l - 1], |m, a| m + a);
        let bias: Vec<f64> = layer.b.iter().map(|v| v.abs()).collect();
        terms.push(below.mul_transpose(&layer.w.map(f64::abs)).add_row(&bias));
    }
    let mut q = magnitude(depth).zip(&terms[depth], |m, a| m + beta * a);
    let (mut w, mut b) = (vec![Matrix::zeros(0, 0); depth], vec![Vec::new(); depth]);
    for k in (0..depth).rev() {
        let below = magnitude(k).zip(&terms[k], |m, a| m + a);
        w[k] = q.transpose_mul(&below).scale(1.0 / (beta * batch));
        b[k] = q
            .column_sums()
            .into_iter()
            .map(|v| v / (beta * batch))
            .collect();
        if k > 0 {
            let p = magnitude(k).zip(&q.mul(&net.layers[k].w.map(f64::abs)), |m, fed| m + fed);
            let through_d = magnitude(k).zip(&terms[k], |m, a| m * a);
            q = p.zip(&through_d, |p, d| p + d);
        }
    }
    Gradients { w, b }
}

/// Largest |est - sign bp| / S over the entries of layer k's W and b (S from [`estimate_rounding_scale`]), and the
/// largest |bp| / S, which says how far above rounding the layer's gradient is (so a sign error could show).
fn scaled_mismatch(
    est: &Gradients<f64>,
    bp: &Gradients<f64>,
    scale: &Gradients<f64>,
    k: usize,
    sign: f64,
) -> (f64, f64) {
    let est = est.w[k].as_slice().iter().chain(&est.b[k]);
    let bp = bp.w[k].as_slice().iter().chain(&bp.b[k]);
    let scale = scale.w[k].as_slice().iter().chain(&scale.b[k]);
    let (mut worst, mut signal) = (0.0f64, 0.0f64);
    for ((&e, &g), &s) in est.zip(bp).zip(scale) {
        let s = s.max(f64::MIN_POSITIVE);
        worst = worst.max((e - sign * g).abs() / s);
        signal = signal.max(g.abs() / s);
    }
    (worst, signal)
}

/// The body of `settled_eq21_is_exact_printed_is_not` (claim 7, last part; Eqs. 20-21), for one draw.
fn settled_and_printed_eq21(
    widths: &[usize],
    batch: usize,
    seed: u64,
    activation: Activation,
    alpha: f64,
    beta: f64,
) -> Result<(), TestCaseError> {
    let c = case(widths, batch, activation, Loss::LeastSquares, seed);
    let depth = c.net.depth();
    let (_, bp) = backprop(&c.net, &c.x, &c.y);
    let settled = Config::new(Method::Eq21, alpha, beta, 2);
    let inf = infer(&Problem::new(&c.net, &settled, &c.x, &c.y).unwrap()).unwrap();
    let settled_states = inf.states.clone();
    let report = kkt_report(
        &Problem::new(&c.net, &settled, &c.x, &c.y).unwrap(),
        &inf.states,
    )
    .unwrap();
    let tol = tolerance::rounding::<f64>(max_width(&c.net), depth);
    prop_assert!(
        report.max_relative() <= tol,
        "Eq. 20 residual {} > {tol}",
        report.max_relative()
    );
    let settled_est = dual_gradient(&c.net, &settled, &inf.states);
    let scale = estimate_rounding_scale(&c.net, &inf.states, beta);
    for w in 0..depth {
        let (worst, _) = scaled_mismatch(&settled_est, &bp, &scale, w, 1.0);
        prop_assert!(
            worst <= tol,
            "settled, layer {w}: differs from bp by {worst} x its rounding scale > {tol}"
        );
    }

    let printed = Config::new(Method::Eq21Printed, alpha, beta, 2);
    let inf = infer(&Problem::new(&c.net, &printed, &c.x, &c.y).unwrap()).unwrap();
    let est = dual_gradient(&c.net, &printed, &inf.states);
    // Every hidden layer k where the settled multiplier delta_k is nonzero must violate Eq. 20's multiplier
    // condition: the printed delta_k is (-1)^(L-k) the settled one (same forward states), so its residual
    // delta_k - W^T D delta_{k+1} is 2 delta_k unit by unit, not rounding. A layer counts as nonzero when its
    // largest |delta_k| is 1e3 times the rounding of its states; there the residual must reach |delta_k|.
    let printed_report = kkt_report(
        &Problem::new(&c.net, &printed, &c.x, &c.y).unwrap(),
        &inf.states,
    )
    .unwrap();
    for k in 1..depth {
        let d = settled_states.delta(k).max_abs();
        let floor = 1e3 * tol * (1.0 + settled_states.layer_max_abs(k));
        if d <= floor {
            continue;
        }
        let r = printed_report
            .get(k, Equation::Eq20Multiplier)
            .unwrap()
            .max_abs;
        prop_assert!(
            r >= d,
            "printed sign, layer {k}: multiplier residual {r} < |delta_k| = {d} (floor {floor})"
        );
    }
    // W_k's estimate uses delta_{k+1}, so it is (-1)^(L-k-1) times back-propagation's, on every layer. The layer
    // below the output is the first whose sign flips: there the draw must carry an entry of bp far above its
    // rounding scale, so that the sign error (a mismatch of 2 |bp|) could not hide in the tolerance.
    let scale = estimate_rounding_scale(&c.net, &inf.states, beta);
    for w in 0..depth {
        let sign = if (depth - w - 1) % 2 == 0 { 1.0 } else { -1.0 };
        let (worst, signal) = scaled_mismatch(&est, &bp, &scale, w, sign);
        prop_assert!(
            worst <= tol,
            "printed sign, W_{w}: estimate is not {sign} bp ({worst} x its rounding scale > {tol})"
        );
        if w + 2 == depth {
            prop_assume!(signal > 1e3 * tol);
        }
    }
    Ok(())
}

/// A draw of `settled_eq21_is_exact_printed_is_not` where the loss gradient is small against the states, so the
/// nudged differences cancel more than the earlier a-priori tolerance (1 + 1/beta) x rounding assumed: the printed
/// W_2 estimate was -bp to 7.96e-14 relative, 1.38x that tolerance (docs/mutation.md). Kept with its exact values.
#[test]
fn settled_and_printed_eq21_where_the_differences_cancel() {
    settled_and_printed_eq21(
        &[3, 10, 2, 6, 1],
        3,
        14056154536514325364,
        Activation::Relu,
        0.6848190855727351,
        6.3772257649542805,
    )
    .unwrap();
}

/// A draw of `settled_eq21_is_exact_printed_is_not` found in 60,000 fresh draws: ReLU, depth 6, where the settled
/// Eq. 20 relative residual was 1.03x `tolerance::rounding`; the same cause as the tanh draw below (the constraint's
/// scale left out the terms of a cancelling pre-activation). Kept with its exact values.
#[test]
fn settled_and_printed_eq21_through_six_layers() {
    settled_and_printed_eq21(
        &[1, 16, 25, 19, 12, 3, 7],
        6,
        7721602547923722626,
        Activation::Relu,
        0.03647913307942262,
        3.690884815459666,
    )
    .unwrap();
}

/// A draw of `settled_eq21_is_exact_printed_is_not` (found once in about 140,000 fresh draws; tanh, alpha 0.994,
/// beta 9.6) whose settled Eq. 20 constraint read 6.4x the rounding bound as a relative residual, at a layer-3 unit
/// whose pre-activation cancels to near 0 (absolute residual 5.6e-17): the checker normalised zbar - f(a) by
/// |zbar| + |f(a)| only, leaving out the terms of a that f(a) carries (|f'(a)| (|W| |zbar| + |b|)). It now counts
/// them, as the other conditions' scales do (`checks::kkt`, `lagrangian_hidden`). Kept with its exact values.
#[test]
fn settled_and_printed_eq21_near_tanh_saturation() {
    settled_and_printed_eq21(
        &[10, 18, 11, 20, 9],
        4,
        4694165774621143961,
        Activation::Tanh,
        0.9939394838962032,
        9.600336118191898,
    )
    .unwrap();
}

/// A draw of `settled_eq21_is_exact_printed_is_not` (shrunk under a mutant of the mutation run, failing unmutated)
/// whose output pre-activation a_L cancels: a width-1 hidden layer feeding 31 outputs, softplus, beta 6. The printed
/// W_2 estimate differed from bp by 1.33x the rounding bound before the bound counted the pre-activations' terms A_l
/// ([`estimate_rounding_scale`]). Kept with its exact values.
#[test]
fn settled_and_printed_eq21_where_a_l_cancels() {
    settled_and_printed_eq21(
        &[11, 15, 1, 31],
        1,
        5663630311028912867,
        Activation::Softplus,
        0.27005880217391215,
        6.0267216404587804,
    )
    .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(48)))]

    /// Claim 1 (Eqs. 15-16; proofs/OutputLayer.v `eq16_satisfies_eq15`): the output states of Eq. 16 satisfy both
    /// conditions of Eq. 15 for every alpha and beta, for least squares and cross-entropy, any activation, any K.
    /// Past abar beta = 2 (least squares) the point is stationary but not the saddle of Eq. 14 (claim 1',
    /// tests/spec_saddle.rs); this test checks stationarity only, which holds there too.
    #[test]
    fn eq16_satisfies_eq15(
        (widths, batch, seed) in arb_shape(),
        act in 0usize..6, ce in any::<bool>(),
        alpha in 0.0f64..=1.0, beta in 1e-3f64..10.0, k in 1usize..4,
    ) {
        let loss = if ce { Loss::SoftmaxCrossEntropy } else { Loss::LeastSquares };
        let c = case(&widths, batch, ACTIVATIONS[act], loss, seed);
        let cfg = Config::new(Method::DpPlus, alpha, beta, k);
        let mut inf = infer(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap()).unwrap();
        let depth = c.net.depth();
        // Eq. 16 solves Eq. 15 for the a_L it is given: apply it to the current a_L (the down sweep has since moved
        // zbar_{L-1}, so the states after a full iteration meet Eq. 15 only at a fixed point).
        dualprop::reference::update::update_layer(&c.net, &cfg, &mut inf.states, depth, &c.y, &inf.frozen_gradient);
        let report = kkt_report(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap(), &inf.states).unwrap();
        let tol = tolerance::rounding::<f64>(max_width(&c.net), depth);
        for eq in [Equation::Eq15Plus, Equation::Eq15Minus] {
            let r = report.get(depth, eq).unwrap();
            prop_assert!(r.max_relative <= tol, "{eq}: relative residual {} > {tol}", r.max_relative);
        }
    }

    /// Claim 2 (Prop. 3.1, Eq. 10; proofs/HiddenLayer.v `vector_affine_prop31`, proofs/DPPlusChain.v
    /// `dp_plus_identity_equals_bp`): with identity activations DP+ at any alpha meets Eq. 10 and Eq. 11 to
    /// rounding, and its gradient estimate equals back-propagation's to rounding, for any beta.
    #[test]
    fn identity_dp_plus_is_exact(
        (widths, batch, seed) in arb_shape(),
        alpha in 0.0f64..=1.0, beta in 1e-2f64..10.0, k in 1usize..4,
    ) {
        let c = case(&widths, batch, Activation::Identity, Loss::LeastSquares, seed);
        let cfg = Config::new(Method::DpPlus, alpha, beta, k);
        let inf = infer(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap()).unwrap();
        let report = kkt_report(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap(), &inf.states).unwrap();
        let tol = tolerance::rounding::<f64>(max_width(&c.net), c.net.depth());
        prop_assert!(report.max_relative() <= tol, "KKT {} > {tol}", report.max_relative());
        let est = dual_gradient(&c.net, &cfg, &inf.states);
        let (_, bp) = backprop(&c.net, &c.x, &c.y);
        let scale = estimate_rounding_scale(&c.net, &inf.states, beta);
        for w in 0..c.net.depth() {
            let (worst, _) = scaled_mismatch(&est, &bp, &scale, w, 1.0);
            prop_assert!(worst <= tol, "layer {w}: gradient differs from bp by {worst} x its rounding scale > {tol}");
        }
    }

    /// Claim 7, last part (Eqs. 20-21; proofs/LeCunChain.v `settled_update_satisfies_kkt`,
    /// `lecun_settled_equals_bp`): the settled Eq. 21 meets Eq. 20 and its gradient equals back-propagation's for every
    /// activation, alpha and beta; the printed sign (`printed_update_kkt_iff`, `lecun_printed_alternates`) violates the
    /// multiplier condition on every hidden layer with a nonzero multiplier, by 2 |delta_k|, and flips the sign of every
    /// other layer's gradient.
    #[test]
    fn settled_eq21_is_exact_printed_is_not(
        (widths, batch, seed) in arb_shape(),
        act in 0usize..6, alpha in 0.0f64..=1.0, beta in 1e-2f64..10.0,
    ) {
        settled_and_printed_eq21(&widths, batch, seed, ACTIVATIONS[act], alpha, beta)?;
    }


    /// Claim 5 (remark after Prop. 3.1; proofs/OrigVsPlus.v `half_hidden_updates_coincide`): at alpha = 1/2 the hidden
    /// updates of DP+ and original DP coincide, so with the same output rule they give bitwise the same states and
    /// gradients, for every schedule and K. Comparing the two paths alone would pass if both were wrong the same way
    /// (they share the pre-activation, the feedback and the unit rule), so each hidden update is also checked
    /// against the value written out here from the equations, an independent route: Eq. 8 with alpha = 1/2 gives
    /// z+- = f(a +- b/2) and so does Eq. 3's stationarity, f^-1(z+-) = a +- b/2, with
    /// a = W_{k-1} zbar_{k-1} + b_{k-1} and b = W_k^T (z+_{k+1} - z-_{k+1}) summed here in loops.
    #[test]
    fn half_alpha_dp_plus_equals_original_dp_with_same_output(
        (widths, batch, seed) in arb_shape(),
        act in 0usize..6, beta in 1e-2f64..1.9, k in 1usize..6, sched in 0usize..5, exact in any::<bool>(),
    ) {
        let c = case(&widths, batch, ACTIVATIONS[act], Loss::LeastSquares, seed);
        let rule = if exact { OutputRule::OriginalExact } else { OutputRule::Eq16 };
        let config = |m| Config::new(m, 0.5, beta, k).with_schedule(Schedule::ALL[sched]).with_output(rule);
        let run = |m| {
            let cfg = config(m);
            let inf = infer(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap()).unwrap();
            let g = dual_gradient(&c.net, &cfg, &inf.states);
            (inf, g)
        };
        let (dp, g_dp) = run(Method::DpPlus);
        let (orig, g_orig) = run(Method::OriginalDp);
        prop_assert!(dp.states == orig.states && g_dp == g_orig);
        let f = ACTIVATIONS[act];
        let s = &dp.states;
        let net = &c.net;
        let tol = tolerance::rounding::<f64>(max_width(net), 1);
        for layer in 1..net.depth() {
            let (w_in, bias, w_out) = (&net.layers[layer - 1].w, &net.layers[layer - 1].b, &net.layers[layer].w);
            let want = |r: usize, j: usize| {
                let (mut a, mut a_abs) = (bias[j], bias[j].abs());
                for l in 0..w_in.cols() {
                    let zbar = 0.5 * s.plus[layer - 1].get(r, l) + 0.5 * s.minus[layer - 1].get(r, l);
                    a += w_in.get(j, l) * zbar;
                    a_abs += (w_in.get(j, l) * zbar).abs();
                }
                let (mut b, mut b_abs) = (0.0, 0.0);
                for m in 0..w_out.rows() {
                    let d = s.plus[layer + 1].get(r, m) - s.minus[layer + 1].get(r, m);
                    b += w_out.get(m, j) * d;
                    b_abs += (w_out.get(m, j) * d).abs();
                }
                // |f'| <= 1 for every activation here, so f carries the rounding of its argument at most 1:1.
                (f.apply(a + 0.5 * b), f.apply(a - 0.5 * b), tol * (a_abs + 0.5 * b_abs + 1.0))
            };
            for m in [Method::DpPlus, Method::OriginalDp] {
                let (plus, minus) = layer_update(net, &config(m), s, layer, &c.y, &dp.frozen_gradient);
                for r in 0..plus.rows() {
                    for j in 0..plus.cols() {
                        let (wp, wm, t) = want(r, j);
                        prop_assert!((plus.get(r, j) - wp).abs() <= t, "{m:?} layer {layer}: z+ {} vs Eq. 8 {wp}", plus.get(r, j));
                        prop_assert!((minus.get(r, j) - wm).abs() <= t, "{m:?} layer {layer}: z- {} vs Eq. 8 {wm}", minus.get(r, j));
                    }
                }
            }
        }
    }


    /// Claim 5, outputs (proofs/OrigVsPlus.v `half_output_plus_difference`, `half_output_minus_difference`): with
    /// their own output rules, after the first iteration from the feed-forward states (same a_L), original DP's exact
    /// min/max and Eq. 16 differ by z+_orig - z+_DP+ = beta^2 (a - y) / (2 (2 + beta)) and
    /// z-_orig - z-_DP+ = beta^2 (a - y) / (2 (2 - beta)).
    #[test]
    fn half_alpha_output_rules_differ_by_closed_form(
        (widths, batch, seed) in arb_shape(), act in 0usize..6, beta in 1e-2f64..1.9,
    ) {
        let c = case(&widths, batch, ACTIVATIONS[act], Loss::LeastSquares, seed);
        let depth = c.net.depth();
        let ours = infer(&Problem::new(&c.net, &Config::new(Method::DpPlus, 0.5, beta, 1), &c.x, &c.y).unwrap()).unwrap();
        let orig = infer(&Problem::new(&c.net, &Config::new(Method::OriginalDp, 0.5, beta, 1), &c.x, &c.y).unwrap()).unwrap();
        let a = &ours.feed_forward[depth];
        let tol = tolerance::rounding::<f64>(max_width(&c.net), depth);
        for i in 0..a.rows() {
            for j in 0..a.cols() {
                let e = a.get(i, j) - c.y.get(i, j);
                let dp = orig.states.plus[depth].get(i, j) - ours.states.plus[depth].get(i, j);
                let dm = orig.states.minus[depth].get(i, j) - ours.states.minus[depth].get(i, j);
                let (wp, wm) = (beta * beta * e / (2.0 * (2.0 + beta)), beta * beta * e / (2.0 * (2.0 - beta)));
                let scale = a.get(i, j).abs() + c.y.get(i, j).abs() + 1.0;
                prop_assert!((dp - wp).abs() <= tol * scale, "z+ difference {dp} vs closed form {wp}");
                prop_assert!((dm - wm).abs() <= tol * scale / (1.0 - beta / 2.0), "z- difference {dm} vs {wm}");
            }
        }
    }

    /// Claim 6 (proofs/OrigVsPlus.v `dp_mean_feedforward_extreme`): at alpha in {0, 1} DP+'s mean state is bitwise
    /// the feed-forward activation, and K = 30 gives bitwise the states and gradient of K = 1, for every activation,
    /// loss and beta.
    #[test]
    fn extreme_alpha_dp_plus_mean_is_feed_forward(
        (widths, batch, seed) in arb_shape(), act in 0usize..6, ce in any::<bool>(),
        alpha_one in any::<bool>(), beta in 1e-3f64..10.0,
    ) {
        let loss = if ce { Loss::SoftmaxCrossEntropy } else { Loss::LeastSquares };
        let c = case(&widths, batch, ACTIVATIONS[act], loss, seed);
        let alpha = if alpha_one { 1.0 } else { 0.0 };
        let once = Config::new(Method::DpPlus, alpha, beta, 1);
        let many = Config::new(Method::DpPlus, alpha, beta, 30);
        let a = infer(&Problem::new(&c.net, &once, &c.x, &c.y).unwrap()).unwrap();
        let b = infer(&Problem::new(&c.net, &many, &c.x, &c.y).unwrap()).unwrap();
        for k in 0..=c.net.depth() {
            prop_assert!(a.states.mean(k, alpha) == a.feed_forward[k], "layer {k}: mean moved");
        }
        prop_assert!(a.states == b.states);
        prop_assert!(dual_gradient(&c.net, &once, &a.states) == dual_gradient(&c.net, &many, &b.states));
        // A fixed point after one pass (after none when the loss gradient vanishes, e.g. a single softmax output):
        // the settling pass is 1 exactly when pass 1 moved a state by more than the tolerance, measured here against
        // the feed-forward states (scale: the largest feed-forward |z_k|, k >= 1, at least 1); every later pass
        // moves nothing.
        let scale = (1..=c.net.depth()).map(|k| b.feed_forward[k].max_abs()).fold(1.0, f64::max);
        let moved = (1..=c.net.depth())
            .map(|k| {
                let d = |m: &Matrix<f64>| m.zip(&b.feed_forward[k], |u, v| (u - v).abs()).max_abs();
                d(&a.states.plus[k]).max(d(&a.states.minus[k]))
            })
            .fold(0.0, f64::max);
        let settled = usize::from(moved / scale > tolerance::fixed_point_tolerance::<f64>());
        prop_assert_eq!(&b.verdict, &Verdict::Converged { iterations: settled, exact: true });
        prop_assert_eq!(b.trajectory.len(), 30);
        prop_assert_eq!(b.trajectory[0].change, moved);
        prop_assert!(b.trajectory[1..].iter().all(|r| r.change == 0.0));
    }

    /// Claim 7 with a separate hidden alpha h (`Config::hidden_alpha`, alpha on the output only): Eq. 21's hidden
    /// rule with h keeps zbar_k (weighted by h) at f(a_k), so the settled states still meet Eq. 20 and the gradient
    /// estimate (zbar_{k-1} weighted by h, zbar_L by alpha) still equals back-propagation's, for every activation and
    /// any alpha, h and beta. Independent route: back-propagation (itself checked against forward mode in
    /// spec_derivative) and the derived KKT conditions; a layer reading its mean with the wrong alpha is off by
    /// (alpha - h) delta, first order in beta, far above the rounding scale.
    #[test]
    fn settled_eq21_with_a_hidden_alpha_is_exact(
        (widths, batch, seed) in arb_shape(),
        act in 0usize..6, alpha in 0.0f64..=1.0, h in 0.0f64..=1.0, beta in 1e-2f64..10.0,
    ) {
        let c = case(&widths, batch, ACTIVATIONS[act], Loss::LeastSquares, seed);
        let depth = c.net.depth();
        let (_, bp) = backprop(&c.net, &c.x, &c.y);
        let cfg = Config::new(Method::Eq21, alpha, beta, 2).with_hidden_alpha(h);
        let inf = infer(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap()).unwrap();
        let tol = tolerance::rounding::<f64>(max_width(&c.net), depth);
        let report = kkt_report(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap(), &inf.states).unwrap();
        prop_assert!(report.max_relative() <= tol, "Eq. 20 residual {} > {tol}", report.max_relative());
        let est = dual_gradient(&c.net, &cfg, &inf.states);
        let scale = estimate_rounding_scale(&c.net, &inf.states, beta);
        for w in 0..depth {
            let (worst, _) = scaled_mismatch(&est, &bp, &scale, w, 1.0);
            prop_assert!(worst <= tol, "layer {w}: differs from bp by {worst} x its rounding scale > {tol}");
        }
    }
}

/// The verdict's "no change" is relative to the feed-forward scale (the largest feed-forward |z_k|, at least 1): a
/// DP+ run at alpha = 1 with identity activations (states linear in beta) whose only moving pass changes the states by
/// half the tolerance times that scale settles after 0 passes; the same run with beta 4x larger (twice the tolerance
/// times the scale) after 1. The network is scaled so that the feed-forward scale is far above 1, where a change
/// measured absolutely (or multiplied by the scale) would land on the other side. Independent route: the change
/// measured in the test against the feed-forward states.
#[test]
fn verdict_tolerance_is_relative_to_the_feed_forward_scale() {
    let c = scaled(
        case(
            &[3, 4, 3, 2],
            2,
            Activation::Identity,
            Loss::LeastSquares,
            11,
        ),
        4.0,
    );
    let depth = c.net.depth();
    let run = |beta: f64| {
        Problem::new(
            &c.net,
            &Config::new(Method::DpPlus, 1.0, beta, 5),
            &c.x,
            &c.y,
        )
        .and_then(|p| infer(&p))
        .unwrap()
    };
    let moved = |inf: &Inference<f64>| {
        (1..=depth)
            .map(|k| {
                let d =
                    |m: &Matrix<f64>| m.zip(&inf.feed_forward[k], |u, v| (u - v).abs()).max_abs();
                d(&inf.states.plus[k]).max(d(&inf.states.minus[k]))
            })
            .fold(0.0, f64::max)
    };
    let unit = run(1.0);
    let scale = (1..=depth)
        .map(|k| unit.feed_forward[k].max_abs())
        .fold(1.0, f64::max);
    let tol = tolerance::fixed_point_tolerance::<f64>();
    assert!(scale > 4.0, "feed-forward scale {scale}");
    // The states are rounded to their ulps (up to eps x scale), so the change lands within an ulp or two of the
    // target: 0.5 and 2 tolerances keep it on its side.
    for (factor, settled) in [(0.5, 0), (2.0, 1)] {
        let beta = factor * tol * scale / moved(&unit);
        let inf = run(beta);
        let relative = moved(&inf) / scale;
        let side = if settled == 0 {
            relative <= tol && relative * scale * scale > tol
        } else {
            relative > tol
        };
        assert!(
            side,
            "beta {beta}: moved {relative} x scale against tolerance {tol}"
        );
        assert_eq!(
            inf.verdict,
            Verdict::Converged {
                iterations: settled,
                exact: true
            },
            "beta {beta}"
        );
    }
}

/// A run stopped before its fixed point is `Bounded` with the probe pass's change relative to the feed-forward scale:
/// DP+ at alpha = 1/2 with softplus after K = 1 and 2 passes is still moving, and its residual is exactly the largest
/// change the next pass makes (the states after K + 1 passes, measured in the test against those after K), divided
/// by the largest feed-forward |z_k| (at least 1; here above 1.5); it is far above the fixed-point tolerance (a few ulps).
/// Independent route: the next pass run as pass K + 1 and its change measured here.
#[test]
fn an_unsettled_run_is_bounded_by_its_next_pass() {
    // Weights scaled so that the linear output, hence the feed-forward scale, is well above 1.
    let c = scaled(
        case(
            &[3, 5, 4, 2],
            3,
            Activation::Softplus,
            Loss::LeastSquares,
            5,
        ),
        4.0,
    );
    let depth = c.net.depth();
    for k in [1, 2] {
        let run = |k| {
            Problem::new(
                &c.net,
                &Config::new(Method::DpPlus, 0.5, 0.5, k),
                &c.x,
                &c.y,
            )
            .and_then(|p| infer(&p))
            .unwrap()
        };
        let (now, next) = (run(k), run(k + 1));
        let scale = (1..=depth)
            .map(|l| now.feed_forward[l].max_abs())
            .fold(1.0, f64::max);
        let change = (1..=depth)
            .map(|l| {
                let d = |a: &Matrix<f64>, b: &Matrix<f64>| a.zip(b, |u, v| (u - v).abs()).max_abs();
                d(&next.states.plus[l], &now.states.plus[l])
                    .max(d(&next.states.minus[l], &now.states.minus[l]))
            })
            .fold(0.0, f64::max);
        assert!(scale > 1.5, "feed-forward scale {scale}");
        assert!(
            change / scale > 1e6 * tolerance::fixed_point_tolerance::<f64>(),
            "K = {k}: {change}"
        );
        assert_eq!(
            now.verdict,
            Verdict::Bounded {
                residual: change / scale
            },
            "K = {k}"
        );
    }
}
