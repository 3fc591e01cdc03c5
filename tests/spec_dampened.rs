//! Dampened original DP (issue 11 item 2: the follow-up code's `cnn_dualprop_RAOVR_dampened_ff`) and LPOM (Eq. 4,
//! item 3): what each computes, which problem its fixed points solve, and where it meets original DP.

mod common;
mod kernels_common;

use common::{arb_shape, case, cases};
use dualprop::checks::dampened::dampened_hidden_residuals;
use dualprop::checks::fixed_point_residuals;
use dualprop::checks::lpom::{
    lpom_gradient, lpom_stationarity, lpom_value, original_dp_states_at_alpha_one,
};
use dualprop::checks::stability::original_dp_layer_gain;
use dualprop::checks::tolerance::{fixed_point_tolerance, rounding};
use dualprop::checks::ObjectivePoint;
use dualprop::oracle::OracleConfig;
use dualprop::reference::damping::{power_norm, spectral_norm, weight_from_norm, DampingValues};
use dualprop::reference::dual::Dual;
use dualprop::reference::Problem;
use dualprop::reference::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

/// x -> z_1 = f(x + 0.1) -> ... with every later weight the scalar s: M_k M_k^T = s^{2(L-k)}, so docs/stability.md
/// section 2.3's layer gain applies exactly.
fn scalar_chain(s: f64, depth: usize, act: Activation) -> Network<f64> {
    let layers = (0..depth)
        .map(|k| Layer {
            w: Matrix::from_vec(1, 1, vec![if k == 0 { 1.0 } else { s }]).unwrap(),
            b: vec![0.1],
        })
        .collect();
    Network::new(layers, act, Loss::LeastSquares).unwrap()
}

fn one(v: f64) -> Matrix<f64> {
    Matrix::from_vec(1, 1, vec![v]).unwrap()
}

/// Route: docs/stability.md's closed-form gain (section 2.3) predicts the undamped divergence; the dampened run's
/// end state is then judged by the undamped update's own fixed-point residual. For f = identity a dampened
/// residual r_d = |z - (s + L z)/(1 + L)| = |z - s| / (1 + L) is an undamped one of (1 + L) r_d, so the dampened
/// fixed point is original DP's (unstable) fixed point to (1 + L) times the verdict's tolerance. At alpha = 1 (the
/// oscillating regime, negative eigenvalues) damping converges; at alpha = 0 (monotone growth) it only delays.
#[test]
fn damping_converges_to_original_dp_fixed_point_where_undamped_diverges() {
    let (x, y) = (one(0.7), one(-1.0));
    let beta = 0.5;
    for s in [1.2, 1.5, 2.0] {
        let net = scalar_chain(s, 3, Activation::Identity);
        assert!(original_dp_layer_gain(1.0, beta, s, 3) > 1.0);
        let undamped = Config::new(Method::OriginalDp, 1.0, beta, 200);
        assert!(
            infer(&Problem::new(&net, &undamped, &x, &y).unwrap())
                .unwrap()
                .verdict
                .failed(),
            "s = {s}"
        );
        let damped = Config::new(Method::OriginalDpDampened, 1.0, beta, 200)
            .with_output(OutputRule::OriginalExact);
        let inf = infer(&Problem::new(&net, &damped, &x, &y).unwrap()).unwrap();
        assert!(
            matches!(inf.verdict, Verdict::Converged { .. }),
            "s = {s}: {:?}",
            inf.verdict
        );
        let l = weight_from_norm(s);
        let scale = inf
            .states
            .plus
            .iter()
            .chain(&inf.states.minus)
            .map(|m| m.max_abs())
            .fold(1.0, f64::max);
        let tol = fixed_point_tolerance::<f64>() * scale;
        let dr = fixed_point_residuals(&Problem::new(&net, &damped, &x, &y).unwrap(), &inf);
        let ur = fixed_point_residuals(&Problem::new(&net, &undamped, &x, &y).unwrap(), &inf);
        for (d, u) in dr.iter().zip(&ur) {
            let bound = (1.0 + l) * (d.plus.max(d.minus) + tol) + rounding::<f64>(1, 3) * scale;
            assert!(
                u.plus.max(u.minus) <= bound,
                "s = {s}, layer {}: {u:?} vs {d:?}",
                u.layer
            );
        }
    }
    // alpha = 0: the error map's eigenvalue is positive; averaging with the previous iterate cannot flip its sign.
    let net = scalar_chain(1.5, 3, Activation::Identity);
    let damped = Config::new(Method::OriginalDpDampened, 0.0, beta, 200)
        .with_output(OutputRule::OriginalExact);
    assert!(infer(&Problem::new(&net, &damped, &x, &y).unwrap())
        .unwrap()
        .verdict
        .failed());
}

/// Route: the dampened rule short-circuits to Eq. 3's rule at L = 0, so with all L_k = 0 and the same output rule the
/// two methods must agree bit for bit through the whole run (checks the plumbing: L lookup, previous states,
/// output rule, schedule), over random networks, activations and alphas.
#[test]
fn dampened_at_zero_weight_is_original_dp_bitwise() {
    let acts = [
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Identity,
    ];
    proptest!(ProptestConfig::with_cases(cases(48)), |(shape in arb_shape(), ai in 0usize..4, alpha in prop::sample::select(vec![0.0, 0.25, 0.5, 1.0]))| {
        let (widths, batch, seed) = shape;
        let c = case(&widths, batch, acts[ai], Loss::LeastSquares, seed);
        let zeros = vec![0.0; widths.len() - 2];
        let out = OutputRule::OriginalLinearizedFrozenGradient;
        let d = Config::new(Method::OriginalDpDampened, alpha, 0.5, 5)
            .with_damping(Damping::Explicit(DampingValues::new(&zeros).unwrap()));
        let o = Config::new(Method::OriginalDp, alpha, 0.5, 5).with_output(out);
        let (a, b) = (infer(&Problem::new(&c.net, &d, &c.x, &c.y).unwrap()).unwrap(), infer(&Problem::new(&c.net, &o, &c.x, &c.y).unwrap()).unwrap());
        prop_assert_eq!(a.states, b.states);
        prop_assert_eq!(a.verdict, b.verdict);
    });
}

/// Route: for tanh the dampened fixed point is not Eq. 3's (module doc of `checks::dampened`): a converged dampened
/// run meets the dampened stationarity (1 + L) f^-1(z) - L z = s to rounding, while Eq. 3's own update moves it.
#[test]
fn tanh_dampened_fixed_point_solves_the_dampened_problem_not_eq3() {
    let (x, y) = (one(0.7), one(-1.0));
    let net = scalar_chain(1.5, 3, Activation::Tanh);
    let damped = Config::new(Method::OriginalDpDampened, 1.0, 0.5, 300)
        .with_output(OutputRule::OriginalExact);
    let inf = infer(&Problem::new(&net, &damped, &x, &y).unwrap()).unwrap();
    assert!(
        matches!(inf.verdict, Verdict::Converged { .. }),
        "{:?}",
        inf.verdict
    );
    let res = dampened_hidden_residuals(&Problem::new(&net, &damped, &x, &y).unwrap(), &inf.states)
        .unwrap();
    assert_eq!(res.len(), 2);
    for r in &res {
        assert!(r.weight > 0.0);
        // The states are within 16 ulps of a fixed point; f^-1 amplifies by 1/(1 - z^2) (bounded here).
        assert!(
            r.max_relative <= 1e3 * fixed_point_tolerance::<f64>(),
            "{r:?}"
        );
    }
    let undamped = Config::new(Method::OriginalDp, 1.0, 0.5, 1);
    let moved = fixed_point_residuals(&Problem::new(&net, &undamped, &x, &y).unwrap(), &inf);
    assert!(
        moved.iter().any(|r| r.plus.max(r.minus) > 1e-4),
        "{moved:?}"
    );
}

/// Route: the damping weights' spectral norms from faer's SVD against a diagonal matrix's known norm and against a
/// long seeded power iteration (another algorithm); the follow-up code's formula at gamma <= 1 gives 0.
#[test]
fn damping_weights_from_spectral_norms() {
    let d = Matrix::from_fn(3, 4, |i, j| if i == j { [0.5, -2.0, 1.5][i] } else { 0.0 });
    assert!((spectral_norm(&d) - 2.0).abs() <= 4.0 * f64::EPSILON * 2.0);
    assert_eq!(weight_from_norm(1.0), 0.0);
    assert_eq!(weight_from_norm(0.3), 0.0);
    assert_eq!(weight_from_norm(3.0), 4.0);
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let w = Matrix::from_fn(6, 5, |_, _| rng.random_range(-1.0..1.0));
    let exact = spectral_norm(&w);
    let power = power_norm(&w, None, 2000, 9);
    assert!(
        power <= exact * (1.0 + 1e-12) && (exact - power) / exact <= 1e-9,
        "{power} vs {exact}"
    );
    let net = case(&[5, 6, 4, 2], 1, Activation::Tanh, Loss::LeastSquares, 3).net;
    let via_power = Damping::PowerIteration {
        iterations: 2000,
        seed: 1,
        with_bias: false,
    };
    for k in 1..3 {
        let a = Damping::SpectralNorm.weight(&net, k).unwrap();
        let b = via_power.weight(&net, k).unwrap();
        assert!((a - b).abs() <= 1e-9 * (1.0 + a), "layer {k}: {a} vs {b}");
    }
}

/// Route: bad inputs are typed errors (never a panic), through the reference, the oracle's JSON and the kernels.
#[test]
fn dampened_configuration_errors() {
    let c = case(&[3, 4, 4, 2], 2, Activation::Relu, Loss::LeastSquares, 1);
    let wrong_len = Config::new(Method::OriginalDpDampened, 0.5, 0.5, 3)
        .with_damping(Damping::Explicit(DampingValues::new(&[1.0]).unwrap()));
    assert!(matches!(
        Problem::new(&c.net, &wrong_len, &c.x, &c.y).and_then(|p| infer(&p)),
        Err(dualprop::Error::Unsupported(_))
    ));
    assert!(DampingValues::new(&[-1.0]).is_err());
    assert!(DampingValues::new(&[f64::NAN]).is_err());
    let on_dp_plus = Config::new(Method::DpPlus, 0.5, 0.5, 3).with_damping(Damping::SpectralNorm);
    assert!(matches!(
        Problem::new(&c.net, &on_dp_plus, &c.x, &c.y).and_then(|p| infer(&p)),
        Err(dualprop::Error::Unsupported(_))
    ));
    let no_steps = Config::new(Method::OriginalDpDampened, 0.5, 0.5, 3).with_damping(
        Damping::PowerIteration {
            iterations: 0,
            seed: 0,
            with_bias: true,
        },
    );
    assert!(Problem::new(&c.net, &no_steps, &c.x, &c.y)
        .and_then(|p| infer(&p))
        .is_err());
    assert!(matches!(
        Problem::new(&c.net, &wrong_len, &c.x, &c.y)
            .and_then(|p| dualprop::kernels::infer_batch(&p, false)),
        Err(dualprop::Error::Unsupported(_))
    ));
    let json = br#"{"method": "original_dp_dampened", "alpha": 0.5, "beta": 0.5, "K": 30, "activation": "relu",
                    "damping": {"explicit": [0.0, 1.25]}}"#;
    let cfg = OracleConfig::from_json(json).unwrap();
    assert_eq!(cfg.method, Method::OriginalDpDampened);
    assert_eq!(cfg.reference().damping().weight(&c.net, 2).unwrap(), 1.25);
    let bad = br#"{"method": "original_dp_dampened", "alpha": 0.5, "beta": 0.5, "K": 30, "activation": "relu",
                   "damping": {"explicit": [-1.0]}}"#;
    assert!(OracleConfig::from_json(bad).is_err());
}

/// Random states z^+ strictly inside tanh's range and the targets of a small tanh network.
fn lpom_point(seed: u64) -> (Network<f64>, Vec<Matrix<f64>>, Matrix<f64>) {
    let c = case(&[3, 5, 4, 2], 2, Activation::Tanh, Loss::LeastSquares, seed);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut z = vec![c.x.clone()];
    for (k, &w) in c.net.widths().iter().enumerate().skip(1) {
        let bound = if k == c.net.depth() { 2.0 } else { 0.9 };
        z.push(Matrix::from_fn(2, w, |_, _| {
            rng.random_range(-bound..bound)
        }));
    }
    (c.net, z, c.y)
}

/// Sum of the magnitudes of the terms Eq. 4 adds up (each unit's G(z), z a, G(f(a)), f(a) a over beta, and the loss):
/// the scale that rounding errors of the two evaluations are relative to.
fn lpom_term_magnitude(net: &Network<f64>, z: &[Matrix<f64>], y: &Matrix<f64>, beta: f64) -> f64 {
    let depth = net.depth();
    let mut total = net.loss.value(&z[depth], y).abs();
    for k in 1..=depth {
        let a = net.pre_activation(k, &z[k - 1]);
        let fa = net.activate(k, &a);
        let g = |v: f64| {
            if k == depth {
                0.5 * v * v
            } else {
                net.activation.potential(v).unwrap()
            }
        };
        for i in 0..a.as_slice().len() {
            let (zi, ai, fi) = (z[k].as_slice()[i], a.as_slice()[i], fa.as_slice()[i]);
            total += (g(zi).abs() + (zi * ai).abs() + g(fi).abs() + (fi * ai).abs()) / beta;
        }
    }
    total
}

/// Route: Eq. 4 written on its own (lpom_value) against Eq. 3's value from `ObjectivePoint::eq3_value` (another
/// module) at alpha = 1 with z^- at its max f(a(z^+)): the paper's coincidence. Tolerance: both add up the same
/// terms (in different orders, with G and the products each rounded a few times), so they differ by `rounding` of
/// the widest layer and depth times the sum of the terms' magnitudes (`lpom_term_magnitude`).
#[test]
fn lpom_equals_eq3_at_alpha_one() {
    let beta = 0.5;
    proptest!(ProptestConfig::with_cases(cases(64)), |(seed in any::<u64>())| {
        let (net, z, y) = lpom_point(seed);
        let lpom = lpom_value(&net, &z, &y, beta).unwrap();
        let state = original_dp_states_at_alpha_one(&net, &z);
        let eq3 = ObjectivePoint { net: &net, alpha: 1.0, beta, state: &state, y: &y }.eq3_value().unwrap();
        let magnitude = lpom_term_magnitude(&net, &z, &y, beta);
        prop_assert!((lpom - eq3).abs() <= rounding::<f64>(5, 3) * magnitude, "{} vs {}", lpom, eq3);
    });
}

/// Route: the derivative of Eq. 4 along a random direction, carried by the dual-number type through `lpom_value`,
/// against the closed-form gradient (`lpom_gradient`, the envelope-theorem formula) dotted with the direction.
/// That gradient is Eq. 3's partial in z^+ at alpha = 1 with z^- at its max, so this is the gradient coincidence.
#[test]
fn lpom_gradient_matches_dual_numbers() {
    let beta = 0.5;
    proptest!(ProptestConfig::with_cases(cases(64)), |(seed in any::<u64>())| {
        let (net, z, y) = lpom_point(seed);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 1);
        let dir: Vec<Matrix<f64>> = z.iter().enumerate()
            .map(|(k, m)| Matrix::from_fn(m.rows(), m.cols(), |_, _| if k == 0 { 0.0 } else { rng.random_range(-1.0..1.0) }))
            .collect();
        let lift = |m: &Matrix<f64>| m.as_slice().to_vec();
        let dnet: Network<Dual<f64>> = Network::new(
            net.layers.iter().map(|l| Layer {
                w: Matrix::from_vec(l.w.rows(), l.w.cols(), lift(&l.w).into_iter().map(Dual::constant).collect()).unwrap(),
                b: l.b.iter().map(|&b| Dual::constant(b)).collect(),
            }).collect(),
            net.activation, net.loss).unwrap();
        let dz: Vec<Matrix<Dual<f64>>> = z.iter().zip(&dir).map(|(m, d)| {
            let data = m.as_slice().iter().zip(d.as_slice()).map(|(&v, &t)| Dual::new(v, t)).collect();
            Matrix::from_vec(m.rows(), m.cols(), data).unwrap()
        }).collect();
        let dy = Matrix::from_vec(y.rows(), y.cols(), y.as_slice().iter().map(|&v| Dual::constant(v)).collect()).unwrap();
        let carried = lpom_value(&dnet, &dz, &dy, Dual::constant(beta)).unwrap().tangent;
        let grad = lpom_gradient(&net, &z, &y, beta).unwrap();
        let (mut dot, mut mag) = (0.0, 0.0);
        for (g, d) in grad.iter().zip(&dir) {
            for (a, b) in g.as_slice().iter().zip(d.as_slice()) {
                dot += a * b;
                mag += (a * b).abs();
            }
        }
        prop_assert!((carried - dot).abs() <= rounding::<f64>(5, 3) * (mag + 1.0), "{} vs {}", carried, dot);
    });
}

/// Route: original DP at alpha = 1 with its exact output, iterated to convergence (the reference's inference), ends
/// at a stationary point of Eq. 4 (the module doc of `checks::lpom`): its z^+ make the LPOM gradient vanish.
#[test]
fn converged_original_dp_at_alpha_one_is_lpom_stationary() {
    let c = case(&[3, 5, 4, 2], 2, Activation::Tanh, Loss::LeastSquares, 7);
    let cfg = Config::new(Method::OriginalDp, 1.0, 0.5, 200);
    let inf = infer(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap()).unwrap();
    assert!(
        matches!(inf.verdict, Verdict::Converged { .. }),
        "{:?}",
        inf.verdict
    );
    let res = lpom_stationarity(&c.net, &inf.states.plus, &c.y, 0.5).unwrap();
    let layers: Vec<usize> = res.iter().map(|r| r.layer).collect();
    assert_eq!(layers, [1, 2, 3], "one residual per layer");
    for r in &res {
        assert!(r.max_abs <= 1e3 * fixed_point_tolerance::<f64>(), "{r:?}");
    }
    // The same check is not blind: at the feed-forward states (z_k = f(a_k), not stationary for beta > 0) the
    // hidden layers' terms vanish and the output layer's does not; it is beta times the largest entry of the LPOM
    // gradient there, whose values the forward-mode test above checks by another route.
    let ff = c.net.forward(&c.x);
    let away = lpom_stationarity(&c.net, &ff, &c.y, 0.5).unwrap();
    let grad = lpom_gradient(&c.net, &ff, &c.y, 0.5).unwrap();
    assert_eq!(away.len(), 3);
    assert!(away[2].max_abs > 1e-2, "{away:?}");
    for r in &away {
        assert_eq!(r.max_abs, 0.5 * grad[r.layer].max_abs(), "{r:?}");
    }
}

/// One kernel-vs-reference comparison of a dampened case in `T`; tolerance as tests/kernels_agreement.rs derives it
/// (the dampened map averages with weight 1/(1 + L) <= 1, so its Lipschitz constants are at most original DP's).
fn kernel_agrees<T: dualprop::kernels::KernelFloat>(
    case: &kernels_common::Case,
) -> Result<(), TestCaseError> {
    use dualprop::checks::tolerance::{kernel_state_agreement, output_amplification};
    let (net, x, y) = kernels_common::problem::<T>(case);
    let cfg = &case.cfg;
    let reference = infer(&Problem::new(&net, cfg, &x, &y).unwrap()).unwrap();
    let kernel =
        dualprop::kernels::infer_batch(&Problem::new(&net, cfg, &x, &y).unwrap(), true).unwrap();
    prop_assert_eq!(reference.verdict.failed(), kernel.verdict.failed());
    if reference.verdict.failed() {
        return Ok(());
    }
    let depth = net.depth();
    let n_max = *case.widths.iter().max().unwrap();
    let updates = depth + cfg.iterations * cfg.schedule.layer_order(depth).len();
    let parts: Vec<&[T]> = (0..=depth)
        .flat_map(|k| {
            [
                reference.states.plus[k].as_slice(),
                reference.states.minus[k].as_slice(),
            ]
        })
        .collect();
    let tol = kernel_state_agreement::<T>(updates, n_max, kernels_common::magnitude(&parts))
        * output_amplification(cfg);
    for k in 0..=depth {
        for (kk, rr) in [
            (&kernel.states.plus[k], &reference.states.plus[k]),
            (&kernel.states.minus[k], &reference.states.minus[k]),
        ] {
            let d = kernels_common::max_diff(kk.as_slice(), rr.as_slice());
            prop_assert!(d <= tol, "layer {}: difference {:e} > {:e}", k, d, tol);
        }
    }
    Ok(())
}

/// Route: the kernels' fused dampened update (faer products, cached feedback) against the reference's readable one,
/// on the kernel tests' random cases switched to dampened original DP.
#[test]
fn kernels_agree_with_the_reference_on_dampened_original_dp() {
    let strategy = kernels_common::case()
        .prop_map(|mut c| {
            c.cfg.method = Method::OriginalDpDampened;
            // Three cases in four take explicit L_k in [0.05, 3] (the damped path for sure: PyTorch's default
            // init gives spectral norms near 1, hence often L_k = 0); the rest compute L_k from faer's SVD.
            if c.seed % 4 != 0 {
                let mut rng = rand::rngs::StdRng::seed_from_u64(c.seed);
                let l: Vec<f64> = (2..c.widths.len())
                    .map(|_| rng.random_range(0.05..3.0))
                    .collect();
                c.cfg = c
                    .cfg
                    .with_damping(Damping::Explicit(DampingValues::new(&l).unwrap()));
            }
            c
        })
        .prop_filter("valid configuration", |c| c.cfg.validate(c.loss).is_ok());
    proptest!(ProptestConfig::with_cases(cases(128)), |(case in strategy)| {
        kernel_agrees::<f64>(&case)?;
        kernel_agrees::<f32>(&case)?;
    });
}

/// Route: the kernels' trainer resolves L_k from the weights at each step; its dual estimate (`Trainer::gradients`)
/// against the reference's inference and `dual_gradient` on the same weights, to the kernel tests' gradient bound.
/// Two Adam steps first, so that the weights (and with them L_k) have moved since construction.
#[test]
fn trainer_dampened_estimate_matches_the_reference_after_steps() {
    use dualprop::checks::tolerance::{kernel_gradient_agreement, kernel_state_agreement};
    let c = common::scaled(
        case(&[4, 6, 5, 3], 3, Activation::Tanh, Loss::LeastSquares, 11),
        2.0,
    );
    let cfg = Config::new(Method::OriginalDpDampened, 1.0, 0.5, 10);
    let adam = AdamConfig {
        learning_rate: 1e-2,
        ..AdamConfig::default()
    };
    let mut trainer =
        dualprop::kernels::Trainer::new(&c.net, Estimator::Dual(cfg), adam, 3).unwrap();
    let (x, y) = (c.x.as_slice(), c.y.as_slice());
    for _ in 0..2 {
        trainer.step(x, y, 3).unwrap();
    }
    let net = trainer.network();
    assert!((1..net.depth()).all(|k| Damping::SpectralNorm.weight(&net, k).unwrap() > 0.0));
    let (estimate, _, verdict) = trainer.gradients(x, y, 3).unwrap();
    let reference = infer(&Problem::new(&net, &cfg, &c.x, &c.y).unwrap()).unwrap();
    assert!(!reference.verdict.failed(), "{:?}", reference.verdict);
    assert!(!verdict.unwrap().failed());
    let expected = dual_gradient(&net, &cfg, &reference.states);
    let parts: Vec<&[f64]> = reference
        .states
        .plus
        .iter()
        .chain(&reference.states.minus)
        .map(|m| m.as_slice())
        .collect();
    let m = kernels_common::magnitude(&parts);
    let updates = net.depth() + cfg.iterations * cfg.schedule.layer_order(net.depth()).len();
    let tol = kernel_gradient_agreement::<f64>(
        kernel_state_agreement::<f64>(updates, 6, m),
        m,
        3,
        cfg.beta,
    );
    for k in 0..net.depth() {
        let d = kernels_common::max_diff(estimate.w[k].as_slice(), expected.w[k].as_slice());
        assert!(d <= tol, "grad W_{k}: {d:e} > {tol:e}");
    }
}

/// Route: the follow-up code applies the layer with its bias inside the power iteration, so its "norm" of a zero
/// weight with bias c is ||c||, not 0; `with_bias` reproduces that, and without it the estimate is sigma_max.
#[test]
fn power_iteration_with_bias_is_the_follow_up_codes_estimate() {
    let zero = Matrix::from_fn(2, 3, |_, _| 0.0);
    let bias = [3.0, 4.0];
    assert_eq!(power_norm(&zero, Some(&bias), 50, 0), 5.0);
    assert_eq!(power_norm(&zero, None, 50, 0), 0.0);
    let w = Matrix::from_fn(2, 2, |i, j| if i == j { 2.0 } else { 0.0 });
    assert!((power_norm(&w, None, 50, 3) - 2.0).abs() <= 4.0 * f64::EPSILON);
    assert!(power_norm(&w, Some(&bias), 50, 3) > 2.0);
}

/// One hidden unit's dampened residual as the test computes it: the residual and its normalization.
struct UnitResidual {
    residual: f64,
    scale: f64,
}

/// The dampened stationarity of one state value z with target s = a +- c b: (1 + L) f^-1(z) - L z - s, or, on
/// ReLU's flat piece (z = 0, where f^-1 is the set (-inf, 0]), the distance max(s, 0) of s from that set; None
/// where f^-1 is undefined (ReLU below 0). f^-1 written out here: identity, atanh, ReLU's z.
fn unit_residual(f: Activation, l: f64, z: f64, a: f64, b: f64, s: f64) -> Option<UnitResidual> {
    let inv = match f {
        Activation::Identity => z,
        Activation::Tanh => z.atanh(),
        Activation::Relu if z < 0.0 => return None,
        Activation::Relu => z,
        other => unreachable!("{other:?}"),
    };
    let residual = if f == Activation::Relu && z == 0.0 {
        s.max(0.0)
    } else {
        (1.0 + l) * inv - l * z - s
    };
    // The checker's stated normalization: the magnitudes of the terms, with |alpha| + |abar| = 1 on b.
    let scale = (1.0 + l) * inv.abs() + l * z.abs() + a.abs() + b.abs();
    Some(UnitResidual { residual, scale })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(48)))]

    /// Route: the dampened stationarity (1 + L_k) f^-1(z) - L_k z = a +- c b (proofs/Dampened.v
    /// `dampened_fixed_point_iff`) written out unit by unit in the test, at arbitrary states (not fixed points):
    /// a_k = W_{k-1} zbar_{k-1} + b_{k-1} and b_k = W_k^T (z+_{k+1} - z-_{k+1}) summed in loops, f^-1 by its formula,
    /// targets a + alpha b for z+ and a - abar b for z- with alpha drawn inside (0, 1) so that both carry b, explicit
    /// L_k, ReLU states with exact zeros (the flat piece) and negative values (excluded). The checker's max_abs,
    /// max_relative (against its stated normalization) and excluded count must match. Tolerance: both sides add the
    /// same few terms after one dot product of length <= n, so `derivative_agreement` (4 (n + 4) eps) of the scale.
    #[test]
    fn dampened_residuals_are_the_dampened_equation_unit_by_unit(
        (widths, batch, seed) in arb_shape(),
        act in 0usize..3, alpha in 0.05f64..0.95, state_seed in any::<u64>(),
    ) {
        let f = [Activation::Identity, Activation::Tanh, Activation::Relu][act];
        let c = case(&widths, batch, f, Loss::LeastSquares, seed);
        let depth = c.net.depth();
        prop_assume!(depth >= 2);
        let mut rng = rand::rngs::StdRng::seed_from_u64(state_seed);
        let ls: Vec<f64> = (1..depth).map(|_| rng.random_range(0.0..3.0)).collect();
        let cfg = Config::new(Method::OriginalDpDampened, alpha, 0.5, 1)
            .with_damping(Damping::Explicit(DampingValues::new(&ls).unwrap()));
        let mut s = DualState::feed_forward(&c.net, &c.x);
        for k in 1..=depth {
            for m in [&mut s.plus[k], &mut s.minus[k]] {
                for v in m.as_mut_slice() {
                    *v = match f {
                        Activation::Tanh => rng.random_range(-0.95..0.95),
                        Activation::Relu if rng.random_bool(0.25) => 0.0,
                        _ => rng.random_range(-0.5..1.5),
                    };
                }
            }
        }
        let res = dampened_hidden_residuals(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap(), &s).unwrap();
        prop_assert_eq!(res.len(), depth - 1);
        let tol = dualprop::checks::tolerance::derivative_agreement::<f64>(common::max_width(&c.net));
        let abar = 1.0 - alpha;
        for (k, got) in (1..depth).zip(&res) {
            let (w_in, bias, w_out) = (&c.net.layers[k - 1].w, &c.net.layers[k - 1].b, &c.net.layers[k].w);
            let (mut max_abs, mut max_rel, mut max_scale, mut excluded) = (0.0f64, 0.0f64, 0.0f64, 0usize);
            for r in 0..batch {
                for (j, &bias_j) in bias.iter().enumerate() {
                    let mut a = bias_j;
                    for i in 0..w_in.cols() {
                        let zbar = alpha * s.plus[k - 1].get(r, i) + abar * s.minus[k - 1].get(r, i);
                        a += w_in.get(j, i) * zbar;
                    }
                    let mut b = 0.0;
                    for i in 0..w_out.rows() {
                        b += w_out.get(i, j) * (s.plus[k + 1].get(r, i) - s.minus[k + 1].get(r, i));
                    }
                    for (z, target) in [(s.plus[k].get(r, j), a + alpha * b), (s.minus[k].get(r, j), a - abar * b)] {
                        match unit_residual(f, ls[k - 1], z, a, b, target) {
                            None => excluded += 1,
                            Some(u) => {
                                max_abs = max_abs.max(u.residual.abs());
                                max_scale = max_scale.max(u.scale);
                                if u.scale > 0.0 {
                                    max_rel = max_rel.max(u.residual.abs() / u.scale);
                                }
                            }
                        }
                    }
                }
            }
            prop_assert_eq!(got.excluded, excluded, "layer {}", k);
            prop_assert_eq!(got.weight, ls[k - 1]);
            prop_assert!((got.max_abs - max_abs).abs() <= tol * max_scale,
                "{f:?} layer {k}: checker max_abs {} vs {max_abs}", got.max_abs);
            prop_assert!((got.max_relative - max_rel).abs() <= tol,
                "{f:?} layer {k}: checker max_relative {} vs {max_rel}", got.max_relative);
        }
    }
}

/// Where `resolve_damping` fixes the damping weights once, and where it leaves the configuration as given. It
/// exists so that K passes do not recompute K spectral norms per layer; the updates read the same weights either
/// way, so inference cannot tell. Documented: dampened original DP with a computed damping (the default spectral
/// norm, power iteration) and at most `MAX_EXPLICIT_DAMPING` hidden layers gets explicit weights equal, layer by
/// layer, to what `Damping::weight` computes; every other method, explicit weights and deeper networks are returned
/// unchanged.
#[test]
fn resolve_damping_fixes_the_weights_only_where_documented() {
    use dualprop::reference::damping::{Damping, MAX_EXPLICIT_DAMPING};
    use dualprop::reference::inference::resolve_damping;
    let power = Damping::PowerIteration {
        iterations: 20,
        seed: 1,
        with_bias: false,
    };
    let methods = [
        Method::DpPlus,
        Method::OriginalDp,
        Method::OriginalDpDampened,
        Method::Eq21,
        Method::Eq21Printed,
    ];
    let mut resolved_cases = 0;
    for depth in [2, 4, MAX_EXPLICIT_DAMPING + 1, MAX_EXPLICIT_DAMPING + 2] {
        let net = scalar_chain(0.9, depth, Activation::Tanh);
        let explicit = (depth - 1 <= MAX_EXPLICIT_DAMPING)
            .then(|| Damping::SpectralNorm.resolve(&net).unwrap());
        for method in methods {
            let mut dampings = vec![None, Some(Damping::SpectralNorm), Some(power)];
            dampings.extend(explicit.map(Some));
            for damping in dampings {
                let cfg = Config {
                    damping,
                    ..Config::new(method, 0.5, 0.5, 3)
                };
                let got = resolve_damping(&net, &cfg).unwrap();
                let computed = !matches!(cfg.damping(), Damping::Explicit(_));
                if method == Method::OriginalDpDampened
                    && computed
                    && depth - 1 <= MAX_EXPLICIT_DAMPING
                {
                    resolved_cases += 1;
                    assert!(matches!(got.damping(), Damping::Explicit(_)), "{cfg:?}");
                    assert_eq!(
                        got,
                        cfg.with_damping(got.damping()),
                        "only the damping changes"
                    );
                    for k in 1..depth {
                        assert_eq!(
                            got.damping().weight(&net, k).unwrap(),
                            cfg.damping().weight(&net, k).unwrap(),
                            "{cfg:?} layer {k}"
                        );
                    }
                } else {
                    assert_eq!(got, cfg, "unchanged");
                }
            }
        }
    }
    assert_eq!(
        resolved_cases, 9,
        "three computed dampings at depths 2, 4 and 13"
    );
}

/// Explicit damping weights are serialized as the JSON list the configuration files use (`{"explicit": [..]}`,
/// docs/oracle.md) and read back to the same values. Route: the documented JSON written out in the test.
#[test]
fn explicit_damping_weights_are_a_json_list() {
    use dualprop::reference::damping::Damping;
    let values = DampingValues::new(&[0.5, 2.0]).unwrap();
    assert_eq!(serde_json::to_string(&values).unwrap(), "[0.5,2.0]");
    let explicit = Damping::Explicit(values);
    let json = serde_json::to_string(&explicit).unwrap();
    assert_eq!(json, r#"{"explicit":[0.5,2.0]}"#);
    assert_eq!(serde_json::from_str::<Damping>(&json).unwrap(), explicit);
}
