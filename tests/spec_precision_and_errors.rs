//! Specification, part 3 (claim 8): the same generic code in f32, f64 and half precision agrees within the
//! rounding of the narrower type; every bad input gets its documented error, never a panic.

mod common;

use common::*;
use dualprop::checks::stability::loop_gain_estimate;
use dualprop::checks::{fixed_point_residuals_of_state, kkt_report, tolerance};
use dualprop::oracle::condition::SignPerturbation;
use dualprop::reference::*;
use dualprop::Error;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

fn run<T: Scalar>(c: &Case<T>, cfg: &Config) -> (Inference<T>, Gradients<T>) {
    let inf = infer(&Problem::new(&c.net, cfg, &c.x, &c.y).unwrap()).unwrap();
    let g = dual_gradient(&c.net, cfg, &inf.states);
    (inf, g)
}

/// Widens a gradient to f64 for comparison.
fn widen<T: Scalar>(g: &Gradients<T>) -> Gradients<f64> {
    Gradients {
        w: g.w
            .iter()
            .map(|m| Matrix::from_fn(m.rows(), m.cols(), |i, j| m.get(i, j).to_f64().unwrap()))
            .collect(),
        b: g.b
            .iter()
            .map(|b| b.iter().map(|v| v.to_f64().unwrap()).collect())
            .collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(32)))]

    /// f32 against f64: identity and tanh (no kink to flip), DP+ and the settled Eq. 21, K <= 3, beta in
    /// [0.05, 5]. The bound is T's rounding of the states times their amplification into the gradient: at least
    /// 1 + 1/beta (delta = z+ - z- cancels states of size ~1 down to ~beta), and the measured condition of the
    /// gradient (`gradient_condition`) where that is larger: a small output error |a - y| << |a| cancels further.
    /// The a-priori factor alone was not a bound: a case with condition 574 at beta = 0.05 (factor 21) exceeded
    /// it 1.9 times (the case is kept in the regression file). The bound must stay below 0.1, so that a zero or
    /// sign-flipped gradient still fails.
    #[test]
    fn f32_agrees_with_f64(
        (widths, batch, seed) in arb_shape(), tanh in any::<bool>(), settled in any::<bool>(),
        alpha in 0.0f64..=1.0, beta in 0.05f64..5.0, k in 1usize..=3,
    ) {
        let act = if tanh { Activation::Tanh } else { Activation::Identity };
        let method = if settled { Method::Eq21 } else { Method::DpPlus };
        let c64 = case(&widths, batch, act, Loss::LeastSquares, seed);
        let c32 = convert::<f32>(&c64);
        let cfg = Config::new(method, alpha, beta, k);
        let (_, g64) = run(&c64, &cfg);
        let (inf32, g32) = run(&c32, &cfg);
        prop_assert!(!inf32.verdict.failed());
        let err = gradient_relative_error(&widen(&g32), &g64);
        let amplification = (1.0 + 1.0 / beta).max(gradient_condition(&c64, &cfg));
        let tol = tolerance::rounding::<f32>(max_width(&c32.net), c32.net.depth()) * amplification;
        prop_assert!(tol < 0.1, "bound {tol} cannot reject a wrong gradient");
        prop_assert!(err <= tol, "f32 vs f64 gradient: {err} > {tol}");
    }
}

/// Condition of the DP+ gradient of `c` (f64): the largest relative change of the gradient per unit relative
/// perturbation of every weight, bias, input and target, over 4 random sign patterns of size 1e-8 (small enough to
/// stay linear, large enough to be far above f64's rounding), drawn as `verify`'s measured input condition draws them.
fn gradient_condition(c: &Case<f64>, cfg: &Config) -> f64 {
    let (_, g) = run(c, cfg);
    let h = 1e-8;
    let mut signs = SignPerturbation::new(h);
    let mut worst = 0.0f64;
    for _ in 0..4 {
        let mut p = c.clone();
        for l in &mut p.net.layers {
            signs.apply(l.w.as_mut_slice());
            signs.apply(&mut l.b);
        }
        signs.apply(p.x.as_mut_slice());
        signs.apply(p.y.as_mut_slice());
        let (_, gp) = run(&p, cfg);
        worst = worst.max(gradient_relative_error(&gp, &g) / h);
    }
    worst
}

/// Cosine between two gradients over all parameters (NaN when either is zero).
fn cosine(a: &Gradients<f64>, b: &Gradients<f64>) -> f64 {
    let flat = |g: &Gradients<f64>| -> Vec<f64> {
        g.w.iter()
            .zip(&g.b)
            .flat_map(|(w, b)| w.as_slice().iter().chain(b).copied().collect::<Vec<_>>())
            .collect()
    };
    let (a, b) = (flat(a), flat(b));
    let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (norm(&a) * norm(&b))
}

/// Half precision runs the same generic code: on small identity networks (DP+, alpha = beta = 1/2, K = 2) the f16
/// and bf16 gradients are within `tolerance::probabilistic_rounding` of f64's (the unit roundoff times the measured
/// condition of the gradient, `gradient_condition`), and their cosine with back-propagation's (an independent route:
/// identity DP+ equals BP exactly, claim 2) is above the floor that relative error implies. Both bounds stay below 1
/// (bf16 at most ~0.06 relative, cosine above ~0.998), so a zero or sign-flipped gradient fails them; the
/// worst-case `rounding` bound used before was 2.8 relative for bf16 and 0.35 for f16 (planted faults: docs/spec.md).
#[test]
fn half_precision_agrees_with_f64() {
    let cfg = Config::new(Method::DpPlus, 0.5, 0.5, 2);
    let mut worst = 0.0f64;
    for seed in 0..16 {
        let c64 = case(
            &[4, 6, 5, 3],
            3,
            Activation::Identity,
            Loss::LeastSquares,
            seed,
        );
        let (_, g64) = run(&c64, &cfg);
        let (_, bp) = backprop(&c64.net, &c64.x, &c64.y);
        let condition = gradient_condition(&c64, &cfg);
        let mut check = |g: Gradients<f64>, tol: f64, name: &str| {
            assert!(
                tol < 0.1,
                "{name} seed {seed}: bound {tol} cannot reject a wrong gradient"
            );
            let err = gradient_relative_error(&g, &g64);
            assert!(
                err <= tol,
                "{name} seed {seed}: relative error {err} > {tol}"
            );
            let (cos, floor) = (cosine(&g, &bp), tolerance::cosine_floor(tol));
            assert!(
                cos >= floor - 1e-12,
                "{name} seed {seed}: cosine with BP {cos} < {floor}"
            );
            worst = worst.max(err / tol);
        };
        let c16 = convert::<half::f16>(&c64);
        let (_, g16) = run(&c16, &cfg);
        let tol16 = tolerance::probabilistic_rounding::<half::f16>(
            max_width(&c16.net),
            c16.net.depth(),
            condition,
        );
        check(widen(&g16), tol16, "f16");
        let cb = convert::<half::bf16>(&c64);
        let (_, gb) = run(&cb, &cfg);
        let tolb = tolerance::probabilistic_rounding::<half::bf16>(
            max_width(&cb.net),
            cb.net.depth(),
            condition,
        );
        check(widen(&gb), tolb, "bf16");
    }
    println!("worst relative error / bound: {worst:.2}");
}

/// Half precision overflows long before f64: original DP past its stability threshold ends as data (Diverged or
/// NonFinite with the iteration), not as a panic or a silent NaN.
#[test]
fn half_precision_divergence_is_reported() {
    let c64 = scaled(
        case(
            &[4, 8, 8, 8, 3],
            2,
            Activation::Identity,
            Loss::LeastSquares,
            3,
        ),
        4.0,
    );
    let c16 = convert::<half::f16>(&c64);
    let inf = Problem::new(
        &c16.net,
        &Config::new(Method::OriginalDp, 1.0, 0.5, 30),
        &c16.x,
        &c16.y,
    )
    .and_then(|p| infer(&p))
    .unwrap();
    assert!(inf.verdict.failed(), "{:?}", inf.verdict);
}

fn tiny() -> Case<f64> {
    case(&[3, 4, 2], 2, Activation::Relu, Loss::LeastSquares, 7)
}

fn infer_err(c: &Case<f64>, cfg: Config) -> Error {
    Problem::new(&c.net, &cfg, &c.x, &c.y)
        .and_then(|p| infer(&p))
        .unwrap_err()
}

/// Every documented error, one bad input at a time.
#[test]
fn bad_inputs_give_typed_errors() {
    let c = tiny();
    let ok = Config::new(Method::DpPlus, 0.5, 0.5, 1);
    for alpha in [-0.1, 1.1, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(infer_err(&c, Config { alpha, ..ok }), Error::Alpha(_)),
            "alpha {alpha}"
        );
    }
    for beta in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(infer_err(&c, Config { beta, ..ok }), Error::Beta(_)),
            "beta {beta}"
        );
    }
    assert_eq!(
        infer_err(
            &c,
            Config {
                iterations: 0,
                ..ok
            }
        ),
        Error::Iterations
    );
    // The growth bound must be finite and above 1 (a bound at or below the feed-forward scale would call every run
    // diverged).
    for divergence_growth in [1.0, 0.5, -1.0, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(
                infer_err(&c, Config { divergence_growth, ..ok }),
                Error::Unsupported(m) if m.starts_with("divergence growth bound")
            ),
            "growth bound {divergence_growth}"
        );
    }
    // Original DP's exact output needs abar beta < 1 (the max over z- of Eq. 3 exists only then).
    let ill = Config::new(Method::OriginalDp, 0.0, 1.0, 1);
    assert_eq!(infer_err(&c, ill), Error::IllPosedOriginalOutput(1.0));
    assert!(matches!(
        infer_err(&c, Config::new(Method::OriginalDp, 0.5, 2.5, 1)),
        Error::IllPosedOriginalOutput(_)
    ));
    // ... and has a closed form only for least squares.
    let mut ce = c.clone();
    ce.net.loss = Loss::SoftmaxCrossEntropy;
    assert!(matches!(
        infer_err(&ce, Config::new(Method::OriginalDp, 0.5, 0.5, 1)),
        Error::Unsupported(_)
    ));

    let bad_x = Matrix::zeros(2, 4);
    assert!(matches!(
        Problem::new(&c.net, &ok, &bad_x, &c.y).and_then(|p| infer(&p)),
        Err(Error::Shape { .. })
    ));
    let bad_y = Matrix::zeros(3, 2);
    assert!(matches!(
        Problem::new(&c.net, &ok, &c.x, &bad_y).and_then(|p| infer(&p)),
        Err(Error::Shape { .. })
    ));
    assert_eq!(
        Problem::new(&c.net, &ok, &Matrix::zeros(0, 3), &Matrix::zeros(0, 2))
            .and_then(|p| infer(&p)),
        Err(Error::EmptyBatch)
    );
    let mut nan_x = c.x.clone();
    nan_x.set(1, 2, f64::NAN);
    assert!(matches!(
        Problem::new(&c.net, &ok, &nan_x, &c.y).and_then(|p| infer(&p)),
        Err(Error::NonFinite { index: 5, .. })
    ));
    let mut inf_y = c.y.clone();
    inf_y.set(0, 0, f64::INFINITY);
    assert!(matches!(
        Problem::new(&c.net, &ok, &c.x, &inf_y).and_then(|p| infer(&p)),
        Err(Error::NonFinite { .. })
    ));

    let mut nan_w = c.clone();
    nan_w.net.layers[1].w.set(0, 0, f64::NAN);
    assert!(matches!(infer_err(&nan_w, ok), Error::NonFinite { what, .. } if what == "W.1"));
    let mut inf_b = c.clone();
    inf_b.net.layers[0].b[3] = f64::NEG_INFINITY;
    assert!(matches!(infer_err(&inf_b, ok), Error::NonFinite { what, index: 3 } if what == "b.0"));
    let mut short_b = c.clone();
    short_b.net.layers[0].b.pop();
    assert!(matches!(infer_err(&short_b, ok), Error::Shape { .. }));

    let layers = c.net.layers.clone();
    assert!(matches!(
        Network::new(
            vec![layers[1].clone(), layers[0].clone()],
            Activation::Relu,
            Loss::LeastSquares
        ),
        Err(Error::Shape { .. })
    ));
    assert_eq!(
        Network::<f64>::new(vec![], Activation::Relu, Loss::LeastSquares),
        Err(Error::EmptyNetwork)
    );
    assert_eq!(
        Network::<f64>::init(
            &[3, 0, 2],
            Activation::Relu,
            Loss::LeastSquares,
            Init::TorchDefault,
            0
        ),
        Err(Error::EmptyLayer { layer: 1 })
    );
    assert_eq!(
        Network::<f64>::init(
            &[3],
            Activation::Relu,
            Loss::LeastSquares,
            Init::TorchDefault,
            0
        ),
        Err(Error::EmptyNetwork)
    );
    assert_eq!(
        Network::<f64>::new(
            layers,
            Activation::LeakyRelu { slope: 0.0 },
            Loss::LeastSquares
        ),
        Err(Error::LeakySlope(0.0))
    );
    // The problem is validated once, before any check runs: a bad configuration or targets are its errors.
    let state = DualState::feed_forward(&c.net, &c.x);
    assert!(matches!(
        Problem::new(&c.net, &Config { alpha: 2.0, ..ok }, &c.x, &c.y),
        Err(Error::Alpha(_))
    ));
    assert!(matches!(
        Problem::new(&c.net, &ok, &c.x, &bad_y),
        Err(Error::Shape { .. })
    ));
    // The checks validate the states they are given against the problem: layer 0 must be the clamped x on both
    // sides (z_0^+ = z_0^- = x), or the residuals would judge another problem. Planted: one element of z_0^- off.
    let problem = Problem::new(&c.net, &ok, &c.x, &c.y).unwrap();
    for plus_side in [true, false] {
        let mut moved = state.clone();
        let z0 = if plus_side {
            &mut moved.plus[0]
        } else {
            &mut moved.minus[0]
        };
        z0.set(1, 2, z0.get(1, 2) + 0.5);
        let name = if plus_side { "z_plus.0" } else { "z_minus.0" };
        let clamped = |r: Error| matches!(r, Error::ClampedInput { ref what, index } if what == name && index == 5);
        assert!(
            clamped(kkt_report(&problem, &moved).unwrap_err()),
            "{name}: kkt_report"
        );
        assert!(
            clamped(fixed_point_residuals_of_state(&problem, &moved).unwrap_err()),
            "{name}: fixed_point_residuals_of_state"
        );
        assert!(
            clamped(loop_gain_estimate(&problem, &moved, 4).unwrap_err()),
            "{name}: loop gain"
        );
    }
    assert!(kkt_report(&problem, &state).is_ok());
    // A state missing a layer on one side only (z^+ complete, z^- short, or the reverse) is a shape error.
    for plus_side in [false, true] {
        let mut missing = state.clone();
        if plus_side {
            missing.plus.pop();
        } else {
            missing.minus.pop();
        }
        assert!(
            matches!(
                kkt_report(&problem, &missing),
                Err(Error::Shape { ref what, .. }) if what == "number of state layers"
            ),
            "z^{} short",
            if plus_side { "+" } else { "-" }
        );
    }
    // The loop-gain estimator reads states from elsewhere: a wrong layer shape or a non-finite state is an error,
    // not a panic or a NaN gain.
    let mut short = state.clone();
    short.minus[1] = Matrix::zeros(2, 3);
    assert!(matches!(
        loop_gain_estimate(&problem, &short, 4),
        Err(Error::Shape { what, .. }) if what == "z_minus.1"
    ));
    let mut nan_state = state.clone();
    nan_state.plus[2].set(0, 1, f64::NAN);
    assert!(matches!(
        loop_gain_estimate(&problem, &nan_state, 4),
        Err(Error::NonFinite { what, .. }) if what == "z_plus.2"
    ));
}

/// Each initialisation draws what its documentation states, checked by the moments of wide layers (no comparison
/// with earlier draws): Var W = 1/(3 fan_in) (PyTorch's uniform), 2/(fan_in + fan_out) (Xavier uniform), 2/fan_in
/// (He), 1/fan_in (LeCun's truncated normal, rescaled; and the plain normal), the sample variance within 3% (its
/// standard error at 10^5 draws is about 0.3%), the mean within 5 standard errors of 0, the uniform draws inside
/// their bound and reaching 99% of it, the truncated normal inside 2 / `TRUNCATED_NORMAL_STD` standard deviations.
/// Biases: PyTorch's uniform in the same bound (reaching half of it, mean within 5 standard errors of 0), zero for the
/// others. An empty layer is named by its index (input 0, hidden k). Independent route: the moments of the stated distributions, worked out.
#[test]
fn initialisations_have_their_stated_moments() {
    let widths = [300usize, 500, 200];
    for init in [
        Init::TorchDefault,
        Init::XavierUniform,
        Init::HeNormal,
        Init::LecunNormal,
        Init::NormalFanIn,
    ] {
        let net =
            Network::<f64>::init(&widths, Activation::Tanh, Loss::LeastSquares, init, 7).unwrap();
        for (k, layer) in net.layers.iter().enumerate() {
            let (n_in, n_out) = (widths[k] as f64, widths[k + 1] as f64);
            let (var, bound) = match init {
                Init::TorchDefault => (1.0 / (3.0 * n_in), Some(1.0 / n_in.sqrt())),
                Init::XavierUniform => (2.0 / (n_in + n_out), Some((6.0 / (n_in + n_out)).sqrt())),
                Init::HeNormal => (2.0 / n_in, None),
                Init::LecunNormal => (
                    1.0 / n_in,
                    Some(2.0 / n_in.sqrt() / network::TRUNCATED_NORMAL_STD),
                ),
                Init::NormalFanIn => (1.0 / n_in, None),
            };
            let w = layer.w.as_slice();
            let n = w.len() as f64;
            let mean = w.iter().sum::<f64>() / n;
            let sample_var = w.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
            let what = format!("{init:?} layer {k}");
            assert_eq!(layer.w.shape(), (widths[k + 1], widths[k]), "{what}");
            assert!(mean.abs() <= 5.0 * (var / n).sqrt(), "{what}: mean {mean}");
            assert!(
                (sample_var / var - 1.0).abs() <= 0.03,
                "{what}: variance {sample_var} vs {var}"
            );
            let largest = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if let Some(bound) = bound {
                assert!(largest <= bound, "{what}: |w| {largest} > {bound}");
                let reach = if init == Init::LecunNormal { 0.9 } else { 0.99 };
                assert!(
                    largest >= reach * bound,
                    "{what}: |w| reaches only {largest} of {bound}"
                );
            }
            let largest_b = layer.b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert_eq!(layer.b.len(), widths[k + 1]);
            if init == Init::TorchDefault {
                let bound = 1.0 / n_in.sqrt();
                assert!(
                    largest_b <= bound && largest_b >= 0.5 * bound,
                    "{what}: |b| {largest_b}, bound {bound}"
                );
                // Uniform on [-bound, bound]: mean 0, standard deviation bound / sqrt 3.
                let nb = layer.b.len() as f64;
                let mean_b = layer.b.iter().sum::<f64>() / nb;
                assert!(
                    mean_b.abs() <= 5.0 * bound / (3.0 * nb).sqrt(),
                    "{what}: mean bias {mean_b}"
                );
            } else {
                assert_eq!(largest_b, 0.0, "{what}: bias");
            }
        }
    }
    for (widths, layer) in [
        (&[0usize, 3][..], 0),
        (&[3, 0, 2][..], 1),
        (&[3, 2, 0][..], 2),
    ] {
        assert_eq!(
            Network::<f64>::init(
                widths,
                Activation::Relu,
                Loss::LeastSquares,
                Init::HeNormal,
                0
            ),
            Err(Error::EmptyLayer { layer }),
            "{widths:?}"
        );
    }
    // The same numbering for explicit layers (`Network::new`, as an oracle case builds them): W_1 without rows
    // leaves layer 2 empty.
    let layers = vec![
        Layer {
            w: Matrix::zeros(2, 3),
            b: vec![0.0; 2],
        },
        Layer {
            w: Matrix::zeros(0, 2),
            b: vec![],
        },
    ];
    assert_eq!(
        Network::<f64>::new(layers, Activation::Relu, Loss::LeastSquares),
        Err(Error::EmptyLayer { layer: 2 })
    );
}

/// The parameter after Adam steps t = 1 and t = 2 from zero moments, written out: the bias corrections make the
/// moment estimates exact there, m_hat = g1, v_hat = g1^2 at t = 1 and m_hat = (b1 g1 + g2) / (1 + b1),
/// v_hat = (b2 g1^2 + g2^2) / (1 + b2) at t = 2 (PyTorch's formulation, p -= lr m_hat / (sqrt(v_hat) + eps)).
fn adam_closed_form(cfg: &AdamConfig, p0: f64, g1: f64, g2: Option<f64>) -> f64 {
    let (b1, b2, lr, eps) = (cfg.beta1, cfg.beta2, cfg.learning_rate, cfg.epsilon);
    let p1 = p0 - lr * g1 / (g1.abs() + eps);
    match g2 {
        None => p1,
        Some(g2) => {
            let m_hat = (b1 * g1 + g2) / (1.0 + b1);
            let v_hat = (b2 * g1 * g1 + g2 * g2) / (1.0 + b2);
            p1 - lr * m_hat / (v_hat.sqrt() + eps)
        }
    }
}

/// Every parameter of `after` against the closed form from `before` with gradients `g1` (and `g2`): 8 ulps of
/// |p| + lr (1 + 1/(1 - b1) + 1/(1 - b2)), since the recurrences form 1 - b and 1 - b^t with a rounding eps relative
/// to 1, which the moment estimates divide by.
fn assert_adam_steps(
    cfg: &AdamConfig,
    before: &Network<f64>,
    after: &Network<f64>,
    g1: &Gradients<f64>,
    g2: Option<&Gradients<f64>>,
) {
    for k in 0..before.depth() {
        let params = |n: &Network<f64>| -> Vec<f64> {
            n.layers[k]
                .w
                .as_slice()
                .iter()
                .chain(&n.layers[k].b)
                .copied()
                .collect()
        };
        let grads = |g: &Gradients<f64>| -> Vec<f64> {
            g.w[k].as_slice().iter().chain(&g.b[k]).copied().collect()
        };
        let (p0, p, first) = (params(before), params(after), grads(g1));
        let second = g2.map(grads);
        for i in 0..p0.len() {
            let want = adam_closed_form(cfg, p0[i], first[i], second.as_ref().map(|s| s[i]));
            let cancel = 1.0 + 1.0 / (1.0 - cfg.beta1) + 1.0 / (1.0 - cfg.beta2);
            let tol = 8.0 * f64::EPSILON * (p0[i].abs() + cfg.learning_rate * cancel);
            assert!(
                (p[i] - want).abs() <= tol,
                "layer {k} parameter {i}: {} vs closed form {want}",
                p[i]
            );
        }
    }
}

/// Adam (`AdamState::update`) on every weight and bias of a network: two steps with arbitrary gradients equal the
/// closed form of [`adam_closed_form`], and the step count advances. Independent route: the closed forms (the
/// library's own unit test of `AdamStep` runs only with `--lib`).
#[test]
fn adam_first_two_steps_match_closed_forms() {
    let c = tiny();
    let cfg = AdamConfig {
        learning_rate: 1e-2,
        ..AdamConfig::default()
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut draw = |net: &Network<f64>| Gradients {
        w: net
            .layers
            .iter()
            .map(|l| Matrix::from_fn(l.w.rows(), l.w.cols(), |_, _| rng.random_range(-2.0..2.0)))
            .collect(),
        b: net
            .layers
            .iter()
            .map(|l| l.b.iter().map(|_| rng.random_range(-2.0..2.0)).collect())
            .collect(),
    };
    let (g1, g2) = (draw(&c.net), draw(&c.net));
    let mut net = c.net.clone();
    let mut state = AdamState::new(&net);
    state.update(&cfg, &mut net, &g1);
    assert_eq!(state.t, 1);
    assert_adam_steps(&cfg, &c.net, &net, &g1, None);
    state.update(&cfg, &mut net, &g2);
    assert_eq!(state.t, 2);
    assert_adam_steps(&cfg, &c.net, &net, &g1, Some(&g2));
}

/// One reference training step (`train_step`): with back-propagation it reports the feed-forward mean loss (least
/// squares written out), no verdict and no iterations, and moves every parameter by Adam's first step with the
/// back-propagated gradient; with a DP estimator it runs K passes and uses `dual_gradient`; when the inference
/// fails (a growth bound just above 1, crossed on the first pass) it reports the verdict and the passes run and
/// leaves the weights unchanged. Independent route: the loss and Adam's first step written out.
#[test]
fn train_step_uses_its_estimator_and_skips_failed_inferences() {
    let c = tiny();
    let cfg = AdamConfig {
        learning_rate: 1e-2,
        ..AdamConfig::default()
    };
    let z = c.net.forward(&c.x);
    let (out, y) = (z[c.net.depth()].as_slice(), c.y.as_slice());
    let loss = out
        .iter()
        .zip(y)
        .map(|(a, t)| 0.5 * (a - t) * (a - t))
        .sum::<f64>()
        / c.x.rows() as f64;

    let mut net = c.net.clone();
    let mut state = AdamState::new(&net);
    let step = train_step(&mut net, &Estimator::Backprop, &cfg, &mut state, &c.x, &c.y).unwrap();
    assert!(
        (step.loss - loss).abs() <= 8.0 * f64::EPSILON * loss,
        "loss {} vs {loss}",
        step.loss
    );
    assert_eq!((step.verdict, step.iterations_run), (None, 0));
    assert_adam_steps(&cfg, &c.net, &net, &backprop(&c.net, &c.x, &c.y).1, None);

    let dp = Config::new(Method::DpPlus, 0.5, 0.5, 3);
    let mut net = c.net.clone();
    let mut state = AdamState::new(&net);
    let step = train_step(&mut net, &Estimator::Dual(dp), &cfg, &mut state, &c.x, &c.y).unwrap();
    let inf = infer(&Problem::new(&c.net, &dp, &c.x, &c.y).unwrap()).unwrap();
    assert_eq!(
        (step.verdict, step.iterations_run),
        (Some(inf.verdict.clone()), 3)
    );
    assert_adam_steps(
        &cfg,
        &c.net,
        &net,
        &dual_gradient(&c.net, &dp, &inf.states),
        None,
    );

    let tight = Config {
        divergence_growth: 1.0 + 1e-12,
        ..Config::new(Method::DpPlus, 0.5, 5.0, 5)
    };
    let inf = infer(&Problem::new(&c.net, &tight, &c.x, &c.y).unwrap()).unwrap();
    assert!(inf.verdict.failed(), "{:?}", inf.verdict);
    let mut net = c.net.clone();
    let mut state = AdamState::new(&net);
    let step = train_step(
        &mut net,
        &Estimator::Dual(tight),
        &cfg,
        &mut state,
        &c.x,
        &c.y,
    )
    .unwrap();
    assert_eq!(
        (step.verdict, step.iterations_run),
        (Some(inf.verdict), inf.trajectory.len())
    );
    assert_eq!(
        (net, state.t),
        (c.net.clone(), 0),
        "a failed inference must not update the weights"
    );
}

/// The float types as named and measured: each name reads back (`FromStr`, Display), an unknown name is a typed
/// error, the unit roundoff is the type's 2^-(mantissa bits) (f64 2^-52, f32 2^-23, f16 2^-10, bf16 2^-7), and a
/// configuration value that overflows the type is refused as unrepresentable (65504 is f16's largest finite value,
/// 1e6 overflows it), while an infinite value stays infinite. Independent route: the IEEE formats' parameters.
#[test]
fn float_types_are_named_and_measured() {
    use dualprop::reference::scalar::{from_f64, FloatType};
    for (t, name, bits) in [
        (FloatType::F64, "f64", 52),
        (FloatType::F32, "f32", 23),
        (FloatType::F16, "f16", 10),
        (FloatType::Bf16, "bf16", 7),
    ] {
        assert_eq!((t.name(), t.to_string().as_str()), (name, name));
        assert_eq!(name.parse::<FloatType>().unwrap(), t);
        assert_eq!(t.epsilon(), 2f64.powi(-bits), "{name}");
    }
    assert!(matches!("f8".parse::<FloatType>(), Err(Error::Format(_))));
    assert_eq!(tolerance::eps::<f64>(), 2f64.powi(-52));
    assert_eq!(f64::from(from_f64::<half::f16>(65504.0).unwrap()), 65504.0);
    assert!(matches!(
        from_f64::<half::f16>(1e6),
        Err(Error::Unrepresentable { float: "f16", .. })
    ));
    assert!(from_f64::<f32>(f64::INFINITY).unwrap().is_infinite());
    assert_eq!(from_f64::<f64>(0.1).unwrap(), 0.1);
}

/// NaN is never hidden by a maximum: `Matrix::max_abs` is NaN when any element is (first, middle or last), the
/// largest |x| otherwise and 0 when empty; and a pass whose states become NaN (DP+ at alpha = 0 with beta = 1e308
/// and targets 10 away from the outputs: g = beta l'(a) overflows and z^- = a + 0 g is NaN) is recorded with a NaN
/// change and a NaN largest |z| on the output layer, and judged NonFinite at that pass. Independent route: IEEE
/// arithmetic worked out.
#[test]
fn nan_is_never_hidden_by_a_maximum() {
    let m = |v: Vec<f64>| Matrix::from_vec(1, v.len(), v).unwrap();
    assert_eq!(m(vec![1.0, -3.0, 2.0]).max_abs(), 3.0);
    assert_eq!(Matrix::<f64>::zeros(0, 3).max_abs(), 0.0);
    for at in 0..3 {
        let mut v = vec![1.0, -3.0, 2.0];
        v[at] = f64::NAN;
        assert!(m(v).max_abs().is_nan(), "NaN at {at}");
    }
    let c = tiny();
    let depth = c.net.depth();
    let far = Matrix::from_fn(c.y.rows(), c.y.cols(), |_, _| 10.0);
    let cfg = Config::new(Method::DpPlus, 0.0, 1e308, 3);
    let inf = infer(&Problem::new(&c.net, &cfg, &c.x, &far).unwrap()).unwrap();
    assert!(
        matches!(inf.verdict, Verdict::NonFinite { iteration: 1, .. }),
        "{:?}",
        inf.verdict
    );
    assert!(inf.states.minus[depth]
        .as_slice()
        .iter()
        .all(|v| v.is_nan()));
    let first = &inf.trajectory[0];
    assert!(first.change.is_nan(), "{first:?}");
    assert!(first.layer_max_abs[depth - 1].is_nan(), "{first:?}");
}

/// A layer that overflows on one side only is judged non-finite, not merely diverged: a 1-1 network (W = 1, b = 0),
/// x = 1e308, y = 0, DP+ at alpha = 1, beta = 1, so a = 1e308 and g = beta (a - y) = 1e308 are finite, Eq. 16
/// gives z^+ = a - abar g = a - 0 g = 1e308 (finite) and z^- = a + alpha g = 2e308, which overflows to +inf.
/// Route: IEEE arithmetic worked out (the largest f64 is 1.798e308).
#[test]
fn a_one_sided_overflow_is_judged_non_finite() {
    let net = Network::new(
        vec![Layer {
            w: Matrix::from_vec(1, 1, vec![1.0]).unwrap(),
            b: vec![0.0],
        }],
        Activation::Identity,
        Loss::LeastSquares,
    )
    .unwrap();
    let x = Matrix::from_vec(1, 1, vec![1e308]).unwrap();
    let y = Matrix::from_vec(1, 1, vec![0.0]).unwrap();
    let cfg = Config::new(Method::DpPlus, 1.0, 1.0, 1);
    let run = infer(&Problem::new(&net, &cfg, &x, &y).unwrap()).unwrap();
    assert_eq!(run.states.plus[1].get(0, 0), 1e308, "z+ stays finite");
    assert_eq!(run.states.minus[1].get(0, 0), f64::INFINITY, "z- overflows");
    assert_eq!(
        run.verdict,
        Verdict::NonFinite {
            iteration: 1,
            layer: 1
        }
    );
}

/// Each method's short name (tables, error messages, `--method`) is the spelling the derived parsers accept: the
/// experiments' clap value names for the variants `train` runs, and the serde name with `-` for `_` (the
/// configuration files' spelling) for every variant but DP+, whose serde name is `dp_plus` and CLI name `dp+`. Two
/// derived routes against the hand-written match in `Method::name`.
#[test]
fn method_names_are_the_spellings_the_parsers_accept() {
    use clap::ValueEnum;
    use dualprop::experiments::spec::Algorithm;
    for (algorithm, method) in [
        (Algorithm::DpPlus, Method::DpPlus),
        (Algorithm::OriginalDp, Method::OriginalDp),
        (Algorithm::Eq21, Method::Eq21),
    ] {
        let value = algorithm.to_possible_value().unwrap();
        assert_eq!(value.get_name(), method.name());
    }
    for method in [
        Method::OriginalDp,
        Method::Eq21,
        Method::Eq21Printed,
        Method::OriginalDpDampened,
    ] {
        let serde_name = serde_json::to_string(&method).unwrap();
        assert_eq!(
            serde_name.trim_matches('"').replace('_', "-"),
            method.name()
        );
    }
}

/// Every tolerance of `checks::tolerance` is the formula its documentation derives, evaluated at worked values in the
/// test. Route: the IEEE epsilons (2^-52, 2^-23, 2^-10, 2^-7) and each doc comment's formula written out by hand;
/// where the result is exact in binary it is compared exactly. This pins the documented derivations (a changed
/// factor would widen or narrow every check that uses it without any other test noticing, since a looser bound
/// passes); whether each bound is tight enough is measured where it is used (docs/spec.md, tolerance column).
#[test]
fn tolerances_are_their_documented_formulas() {
    use dualprop::checks::tolerance::*;
    let (e64, e32) = (2f64.powi(-52), 2f64.powi(-23));
    assert_eq!(eps::<f64>(), e64);
    assert_eq!(eps::<f32>(), e32);
    assert_eq!(eps::<half::f16>(), 2f64.powi(-10));
    assert_eq!(eps::<half::bf16>(), 2f64.powi(-7));

    // 4 (n + 4) depth eps, depth at least 1.
    assert_eq!(rounding::<f64>(6, 3), 4.0 * 10.0 * 3.0 * e64);
    assert_eq!(rounding::<f64>(6, 0), 4.0 * 10.0 * e64);
    assert_eq!(
        rounding_in(FloatType::F16, 2, 2),
        4.0 * 6.0 * 2.0 * 2f64.powi(-10)
    );
    assert_eq!(derivative_agreement::<f32>(5), 4.0 * 9.0 * e32);
    // 16 ulps; `ulps` x eps; 16 x condition x eps.
    assert_eq!(fixed_point_tolerance::<f64>(), 16.0 * e64);
    assert_eq!(stop_tolerance::<f32>(64), 64.0 * e32);
    assert_eq!(
        evaluation_order_margin(3.0, FloatType::F32),
        16.0 * 3.0 * e32
    );

    // The oracle's tensor tolerance: condition = spread / eps_f32 clamped to [1, 1/eps_f32] (1/eps_f32 when not
    // finite), relative = max(rounding floor, 16 condition eps_T).
    let floor = 4.0 * 14.0 * 2.0 * e64;
    let t = tensor_tolerance(FloatType::F64, 0.0, 10, 2);
    assert_eq!(
        (t.float, t.measured_condition, t.floor, t.relative),
        ("f64", 1.0, floor, floor)
    );
    let t = tensor_tolerance(FloatType::F64, 1e3 * e32, 10, 2);
    assert_eq!(t.measured_condition, 1e3);
    assert_eq!(t.relative, 16.0 * 1e3 * e64);
    for spread in [10.0, f64::INFINITY, f64::NAN] {
        let t = tensor_tolerance(FloatType::F32, spread, 10, 2);
        assert_eq!(t.measured_condition, 1.0 / e32, "spread {spread}");
        assert_eq!(t.relative, 16.0, "spread {spread}: f32 keeps no digit");
    }

    // Kernels against the reference: 2 U (n + 4) u M for the states, 2 tol M (1 + B u) / beta for the gradients,
    // and Eq. 3's exact output amplifies by 1 / (1 - abar beta).
    assert_eq!(
        kernel_state_agreement::<f64>(7, 5, 3.0),
        2.0 * 7.0 * 9.0 * (e64 / 2.0) * 3.0
    );
    let g = kernel_gradient_agreement::<f64>(1e-12, 2.0, 4, 0.5);
    let want = 2.0 * 1e-12 * 2.0 * (1.0 + 4.0 * e64 / 2.0) / 0.5;
    assert!((g - want).abs() <= 2.0 * e64 * want, "{g} vs {want}");
    // The batch's roundings made visible: f32, B = 2^22, so B u = 2^22 x 2^-24 = 1/4 (every factor exact).
    assert_eq!(
        kernel_gradient_agreement::<f32>(2f64.powi(-20), 2.0, 1 << 22, 0.5),
        2.0 * 2f64.powi(-20) * 2.0 * 1.25 / 0.5
    );
    let exact = Config {
        output: Some(method::OutputRule::OriginalExact),
        ..Config::new(Method::OriginalDp, 0.25, 0.5, 3)
    };
    assert_eq!(output_amplification(&exact), 1.6, "1 / (1 - 0.75 x 0.5)");
    // Original DP's own default output rule is the exact one; every linear rule has slope 1.
    assert_eq!(
        output_amplification(&Config::new(Method::OriginalDp, 0.25, 0.5, 3)),
        1.6
    );
    let linearized = Config {
        output: Some(method::OutputRule::OriginalLinearized),
        ..exact
    };
    assert_eq!(output_amplification(&linearized), 1.0);
    assert_eq!(
        output_amplification(&Config::new(Method::DpPlus, 0.25, 0.8, 3)),
        1.0
    );

    // sqrt((n + 4) depth) u condition, u = eps / 2; cos >= sqrt(1 - r^2) (the 3-4-5 triangle), 0 from r = 1 on.
    assert_eq!(
        probabilistic_rounding::<half::f16>(5, 4, 2.0),
        6.0 * 2f64.powi(-11) * 2.0
    );
    assert_eq!(cosine_floor(0.6), 0.8);
    assert_eq!(cosine_floor(0.0), 1.0);
    assert_eq!(cosine_floor(2.0), 0.0);

    // (largest |c - o|, that over the largest finite |o| (1 when all are 0), its index); equal non-finite values
    // agree, any other non-finite value is an infinite deviation.
    let nan = f64::NAN;
    let (inf, ninf) = (f64::INFINITY, f64::NEG_INFINITY);
    assert_eq!(
        deviation(&[1.0, 2.5, nan, inf], &[1.0, 2.0, nan, inf]),
        (0.5, 0.25, 1)
    );
    assert_eq!(deviation(&[0.0, 0.25], &[0.0, 0.0]), (0.25, 0.25, 1));
    // A tie names its first index (the report's worst position is the first where the maximum occurs).
    assert_eq!(deviation(&[1.0, 2.0, 3.0], &[0.0, 2.0, 2.0]), (1.0, 0.5, 0));
    for (c, o) in [(inf, 1.0), (ninf, inf), (nan, 1.0), (1.0, nan)] {
        assert_eq!(deviation(&[0.0, c], &[0.0, o]).0, inf, "{c} vs {o}");
        assert_eq!(deviation(&[0.0, c], &[0.0, o]).2, 1, "{c} vs {o}");
    }
}
