//! Specification, part 3 (claim 8): the same generic code in f32, f64 and half precision agrees within the
//! rounding of the narrower type; every bad input gets its documented error, never a panic.

mod common;

use common::*;
use dualprop::checks::{kkt_report, tolerance};
use dualprop::reference::*;
use dualprop::Error;
use proptest::prelude::*;

/// Relative tolerance for T against f64 on a gradient estimate: T's rounding of the states (see
/// `tolerance::rounding`), amplified by 1/beta because delta = z+ - z- cancels states of size ~1 down to ~beta.
fn agreement<T: Scalar>(net: &Network<T>, beta: f64) -> f64 {
    tolerance::rounding::<T>(max_width(net), net.depth()) * (1.0 + 1.0 / beta)
}

fn run<T: Scalar>(c: &Case<T>, cfg: &Config) -> (Inference<T>, Gradients<T>) {
    let inf = infer(&c.net, cfg, &c.x, &c.y).unwrap();
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

    /// f32 against f64 on well-conditioned cases: identity and tanh (no kink to flip), DP+ and the settled Eq. 21,
    /// K <= 3, beta in [0.05, 5].
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
        let tol = agreement(&c32.net, beta);
        prop_assert!(err <= tol, "f32 vs f64 gradient: {err} > {tol}");
    }
}

/// Half precision runs the same generic code: on small identity networks with beta >= 1/2, f16 agrees with f64 within
/// its rounding (eps = 2^-10), and bf16 (eps = 2^-7) within its own.
#[test]
fn half_precision_agrees_with_f64() {
    for seed in 0..16 {
        let c64 = case(
            &[4, 6, 5, 3],
            3,
            Activation::Identity,
            Loss::LeastSquares,
            seed,
        );
        let (_, g64) = run(&c64, &Config::new(Method::DpPlus, 0.5, 0.5, 2));
        let check = |g: Gradients<f64>, tol: f64, name: &str| {
            let err = gradient_relative_error(&g, &g64);
            assert!(err <= tol, "{name} seed {seed}: {err} > {tol}");
        };
        let c16 = convert::<half::f16>(&c64);
        let (_, g16) = run(&c16, &Config::new(Method::DpPlus, 0.5, 0.5, 2));
        check(widen(&g16), agreement(&c16.net, 0.5), "f16");
        let cb = convert::<half::bf16>(&c64);
        let (_, gb) = run(&cb, &Config::new(Method::DpPlus, 0.5, 0.5, 2));
        check(widen(&gb), agreement(&cb.net, 0.5), "bf16");
    }
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
    let inf = infer(
        &c16.net,
        &Config::new(Method::OriginalDp, 1.0, 0.5, 30),
        &c16.x,
        &c16.y,
    )
    .unwrap();
    assert!(inf.verdict.failed(), "{:?}", inf.verdict);
}

fn tiny() -> Case<f64> {
    case(&[3, 4, 2], 2, Activation::Relu, Loss::LeastSquares, 7)
}

fn infer_err(c: &Case<f64>, cfg: Config) -> Error {
    infer(&c.net, &cfg, &c.x, &c.y).unwrap_err()
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
        infer(&c.net, &ok, &bad_x, &c.y),
        Err(Error::Shape { .. })
    ));
    let bad_y = Matrix::zeros(3, 2);
    assert!(matches!(
        infer(&c.net, &ok, &c.x, &bad_y),
        Err(Error::Shape { .. })
    ));
    assert_eq!(
        infer(&c.net, &ok, &Matrix::zeros(0, 3), &Matrix::zeros(0, 2)),
        Err(Error::EmptyBatch)
    );
    let mut nan_x = c.x.clone();
    nan_x.set(1, 2, f64::NAN);
    assert!(matches!(
        infer(&c.net, &ok, &nan_x, &c.y),
        Err(Error::NonFinite { index: 5, .. })
    ));
    let mut inf_y = c.y.clone();
    inf_y.set(0, 0, f64::INFINITY);
    assert!(matches!(
        infer(&c.net, &ok, &c.x, &inf_y),
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
    // The checkers validate too.
    let state = DualState::feed_forward(&c.net, &c.x);
    assert!(matches!(
        kkt_report(&c.net, &Config { alpha: 2.0, ..ok }, &state, &c.y),
        Err(Error::Alpha(_))
    ));
    assert!(matches!(
        kkt_report(&c.net, &ok, &state, &bad_y),
        Err(Error::Shape { .. })
    ));
}
