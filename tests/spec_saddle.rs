//! Specification, claim 1' (Eq. 14's well-posedness; proofs/OutputSaddle.v): Eq. 16 always solves Eq. 15, but it is
//! the saddle point Eq. 14 asks for (min over z_L^+, max over z_L^-) only when abar lambda <= 2, lambda the largest
//! curvature of the beta-weighted loss (beta for least squares, beta / 2 for softmax cross-entropy). Independent
//! route: the value of the objective itself (`ObjectivePoint::eq7_value`, whose output terms are Eq. 14), probed
//! around Eq. 16's states, against the verdict of `checks::output_saddle` (which reads only alpha, beta and the loss).

mod common;

use common::*;
use dualprop::checks::{kkt_report, output_saddle, tolerance, ObjectivePoint, Saddle};
use dualprop::reference::update::update_layer;
use dualprop::reference::Problem;
use dualprop::reference::*;

/// A DP+ state whose output layer holds Eq. 16 for the current a_L (one pass, then the output update again), and
/// Eq. 14's value there.
fn at_eq16(c: &Case<f64>, cfg: &Config) -> DualState<f64> {
    let mut inf = infer(&Problem::new(&c.net, cfg, &c.x, &c.y).unwrap()).unwrap();
    let depth = c.net.depth();
    update_layer(
        &c.net,
        cfg,
        &mut inf.states,
        depth,
        &c.y,
        &inf.frozen_gradient,
    );
    inf.states
}

fn objective(c: &Case<f64>, cfg: &Config, s: &DualState<f64>) -> f64 {
    ObjectivePoint {
        net: &c.net,
        alpha: cfg.alpha,
        beta: cfg.beta,
        state: s,
        y: &c.y,
    }
    .eq7_value()
    .expect("identity activations: every inverse exists")
}

/// J(z_L^+ + t e, z_L^-) - J(Eq. 16) (plus = true) or J(z_L^+, z_L^- + t e) - J(Eq. 16), e the unit vector of
/// output entry `i` (row-major over the batch).
fn probe(c: &Case<f64>, cfg: &Config, s: &DualState<f64>, plus: bool, i: usize, t: f64) -> f64 {
    let depth = c.net.depth();
    let mut moved = s.clone();
    let z = if plus {
        &mut moved.plus[depth]
    } else {
        &mut moved.minus[depth]
    };
    z.as_mut_slice()[i] += t;
    objective(c, cfg, &moved) - objective(c, cfg, s)
}

/// Rounding of one evaluation of the objective: its terms are sums over the batch and the widest layer of products
/// of states of size `scale`.
fn value_rounding(c: &Case<f64>, scale: f64) -> f64 {
    let n = max_width(&c.net) * c.x.rows();
    4.0 * tolerance::rounding::<f64>(n, c.net.depth()) * scale * scale
}

/// Least squares: the verdict on both sides of abar beta = 2, and the objective's curvature in one output entry
/// (the exact second difference of a quadratic) equal to alpha (alpha beta + 2) in z^+ and abar (abar beta - 2) in
/// z^- (`curvature_plus`, `curvature_minus`); where the verdict says saddle, no probe of z^- raises J and no probe of
/// z^+ lowers it; where it says not a saddle, a probe of z^- raises J by the closed form.
#[test]
fn least_squares_saddle_iff_abar_beta_at_most_two() {
    let c = case(&[3, 5, 4], 2, Activation::Identity, Loss::LeastSquares, 5);
    let rows = [
        (0.5, 3.9, Saddle::Strict),
        (0.5, 4.0, Saddle::Degenerate),
        (0.5, 4.1, Saddle::NotASaddle),
        (0.25, 2.6, Saddle::Strict),
        (0.25, 2.7, Saddle::NotASaddle),
        (1.0, 10.0, Saddle::Degenerate),
        (0.0, 1.9, Saddle::Degenerate),
        (0.0, 2.0, Saddle::Degenerate),
        (0.0, 2.1, Saddle::NotASaddle),
    ];
    for (alpha, beta, verdict) in rows {
        let cfg = Config::new(Method::DpPlus, alpha, beta, 1);
        assert_eq!(
            output_saddle(&cfg, Loss::LeastSquares),
            Some(verdict),
            "alpha {alpha} beta {beta}"
        );
        let s = at_eq16(&c, &cfg);
        let report = kkt_report(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap(), &s).unwrap();
        assert_eq!(report.output_saddle, Some(verdict));
        let abar = 1.0 - alpha;
        let scale = 1.0 + s.layer_max_abs(c.net.depth()) + 10.0;
        let tol = value_rounding(&c, scale);
        for i in 0..s.plus[c.net.depth()].as_slice().len() {
            for t in [1e-2, 0.3, 1.0, 10.0] {
                let (up, dn) = (
                    probe(&c, &cfg, &s, true, i, t),
                    probe(&c, &cfg, &s, true, i, -t),
                );
                let (um, dm) = (
                    probe(&c, &cfg, &s, false, i, t),
                    probe(&c, &cfg, &s, false, i, -t),
                );
                let curv_plus = (up + dn) / (t * t);
                let curv_minus = (um + dm) / (t * t);
                let ctol = 2.0 * tol / (t * t);
                assert!(
                    (curv_plus - alpha * (alpha * beta + 2.0)).abs() <= ctol,
                    "z+ curvature {curv_plus}"
                );
                assert!(
                    (curv_minus - abar * (abar * beta - 2.0)).abs() <= ctol,
                    "z- curvature {curv_minus}"
                );
                // The min over z+ holds in every case (the curvature is >= 0).
                assert!(
                    up >= -tol && dn >= -tol,
                    "alpha {alpha} beta {beta}: z+ probe lowered J"
                );
                match verdict {
                    Saddle::Strict | Saddle::Degenerate => {
                        assert!(
                            um <= tol && dm <= tol,
                            "alpha {alpha} beta {beta}: z- probe raised J by {um}, {dm}"
                        )
                    }
                    Saddle::NotASaddle if t >= 0.3 => {
                        let rise = 0.5 * abar * (abar * beta - 2.0) * t * t;
                        assert!(rise > 100.0 * tol, "probe too small to show the rise");
                        assert!(
                            um >= rise - tol,
                            "alpha {alpha} beta {beta} t {t}: rose {um}, not {rise}"
                        );
                    }
                    Saddle::NotASaddle => {}
                }
            }
        }
    }
}

/// Softmax cross-entropy: the Hessian of beta l is beta (diag(p) - p p^T), whose top eigenvalue beta / 2 is reached
/// with two classes of equal probability, along (1, -1). With the output bias set so that a_L has equal logits, the
/// z^- curvature along that direction is abar (abar beta / 2 - 2): negative below abar beta = 4 (Strict: every probe
/// lowers J), positive above (NotASaddle: J rises). Central second differences of the objective, step 1e-3.
#[test]
fn cross_entropy_saddle_iff_abar_beta_at_most_four() {
    let mut c = case(
        &[3, 4, 2],
        1,
        Activation::Identity,
        Loss::SoftmaxCrossEntropy,
        9,
    );
    // Equal logits at the feed-forward prediction: a_L = (m, m).
    let ff = c.net.forward(&c.x);
    let depth = c.net.depth();
    let a = &ff[depth];
    let shift = a.get(0, 0) - a.get(0, 1);
    c.net.layers[depth - 1].b[1] += shift;
    for (alpha, beta, verdict) in [
        (0.5, 7.6, Saddle::Strict),
        (0.5, 8.4, Saddle::NotASaddle),
        (0.0, 3.8, Saddle::Degenerate),
        (0.0, 4.2, Saddle::NotASaddle),
    ] {
        let cfg = Config::new(Method::DpPlus, alpha, beta, 1);
        assert_eq!(
            output_saddle(&cfg, Loss::SoftmaxCrossEntropy),
            Some(verdict)
        );
        let s = at_eq16(&c, &cfg);
        let abar = 1.0 - alpha;
        let h = 1e-3;
        let moved = |t: f64| {
            let mut m = s.clone();
            m.minus[depth].as_mut_slice()[0] += t;
            m.minus[depth].as_mut_slice()[1] -= t;
            objective(&c, &cfg, &m) - objective(&c, &cfg, &s)
        };
        // Along e = (1, -1) (|e|^2 = 2): second difference = 2 x the curvature abar (abar beta / 2 - 2).
        let curv = (moved(h) + moved(-h)) / (2.0 * h * h);
        let want = abar * (abar * beta / 2.0 - 2.0);
        // O(h^2) Taylor remainder and rounding / h^2 (J ~ 1, eps ~ 2e-16): both far below the 0.1 margin.
        assert!(
            (curv - want).abs() <= 1e-3 * (1.0 + want.abs()),
            "alpha {alpha} beta {beta}: {curv} vs {want}"
        );
        match verdict {
            Saddle::NotASaddle => assert!(
                moved(0.1) > 0.0,
                "alpha {alpha} beta {beta}: Eq. 16 is a max"
            ),
            _ => assert!(moved(0.1) < 0.0 && moved(-0.1) < 0.0),
        }
    }
}

/// The verdict is reported only for DP+ (Eq. 14 is DP+'s output problem), and a report without it reads back from
/// older JSON (the field is optional).
#[test]
fn saddle_verdict_only_for_dp_plus_and_backward_compatible() {
    for m in [Method::OriginalDp, Method::Eq21, Method::Eq21Printed] {
        assert_eq!(
            output_saddle(&Config::new(m, 0.5, 0.5, 1), Loss::LeastSquares),
            None
        );
    }
    let c = case(&[3, 4, 2], 2, Activation::Tanh, Loss::LeastSquares, 1);
    let cfg = Config::new(Method::Eq21, 0.5, 0.5, 1);
    let inf = infer(&Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap()).unwrap();
    let report = kkt_report(
        &Problem::new(&c.net, &cfg, &c.x, &c.y).unwrap(),
        &inf.states,
    )
    .unwrap();
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("output_saddle"), "{json}");
    let dp = Config::new(Method::DpPlus, 1.0, 0.5, 1);
    let inf = infer(&Problem::new(&c.net, &dp, &c.x, &c.y).unwrap()).unwrap();
    let report = kkt_report(&Problem::new(&c.net, &dp, &c.x, &c.y).unwrap(), &inf.states).unwrap();
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("\"output_saddle\":\"degenerate\""), "{json}");
    let old: dualprop::checks::KktReport =
        serde_json::from_str(&json.replace(",\"output_saddle\":\"degenerate\"", "")).unwrap();
    assert_eq!(old.output_saddle, None);
}
