//! Claim 7 as a sweep (docs/stability.md, "The sweep"): weight scale x method x alpha x activation on small seeded
//! networks, the observed divergence boundary (K passes of `infer`) against the loop-gain prediction.
//!
//! Independent routes: the observation is the verdict of the reference's own inference run; the prediction is the
//! closed form of Section 2.2 (original DP, identity) derived on paper, zero by the cancellation of Section 3, or
//! the finite-difference estimator (elsewhere). The boundary table is an insta snapshot of computed values,
//! rounded to 3 significant digits: the reference sums in a fixed order and ReLU, identity and least squares call
//! no libm function, so those runs are bitwise reproducible; tanh calls libm, whose last bits could move a
//! bisection step only if a verdict sat within an ulp of its threshold.
//!
//! The small sweep ([`SweepSpec::small`]) runs in the default `cargo test` (about 3 s in the test profile); the full
//! one ([`SweepSpec::full`]: 3 seeds, Eq. 21, finer grid, K = 200) is opt-in:
//! `cargo test --test spec_stability_sweep -- --ignored --nocapture` (it prints the table of docs/stability.md).

use dualprop::checks::stability::sweep::{predict, sig3};
use dualprop::checks::stability::{
    boundary_table, loop_gain_estimate, run_case, run_sweep, CaseResult, Crossing, GainSource,
    SweepSpec,
};
use dualprop::checks::tolerance::rounding;
use dualprop::reference::method::DEFAULT_DIVERGENCE_GROWTH;
use dualprop::reference::Problem;
use dualprop::reference::{infer, Activation, Config, Method};

/// Allowance for how small the dominant mode's share of the first pass's deviation may be, relative to the
/// feed-forward scale: the K-pass verdict sees a gain G only through R^-1 G^K. Random seeded networks and data
/// put O(1/sqrt(width)) of a vector on any mode; 1e-3 leaves a wide margin.
const MODE_SHARE: f64 = 1e-3;

/// Section 2.2, read through K passes: a run that did not diverge had G^(K-1) MODE_SHARE <= growth bound, so the
/// gain at the observed divergence bracket's lower end is at most (bound / MODE_SHARE)^(1/(K-1)).
fn divergence_gain_ceiling(k: usize) -> f64 {
    (DEFAULT_DIVERGENCE_GROWTH / MODE_SHARE).powf(1.0 / (k - 1) as f64)
}

/// Section 2.2, read through K passes: a run with G < 1 that did not settle to rounding after K passes moved by
/// more than the rounding allowance, so MODE_SHARE^-1 G^K >= rounding: G >= (rounding x MODE_SHARE)^(1/K).
fn settling_gain_floor(spec: &SweepSpec) -> f64 {
    let width = spec.widths.iter().copied().max().unwrap();
    let r = rounding::<f64>(width, spec.widths.len() - 1);
    (r * MODE_SHARE).powf(1.0 / spec.iterations as f64)
}

fn bracket(c: Crossing, what: &str, r: &CaseResult) -> (f64, f64) {
    match c {
        Crossing::Between { lo, hi } => (lo, hi),
        other => panic!("{what}: expected a bracket, got {other:?} in {:?}", r.case),
    }
}

/// What the theory says each row of the table must show. Returns the number of rows each rule applied to.
fn assert_theory(spec: &SweepSpec, results: &[CaseResult]) -> [usize; 4] {
    let mut applied = [0usize; 4];
    for r in results {
        let case = r.case;
        let cfg = spec.config(case.method, case.alpha);
        let (x, y) = spec.data(case.seed);
        let gain = |s: f64| {
            predict(
                &spec.network(case.activation, case.seed, s).unwrap(),
                &cfg,
                &x,
                &y,
                spec.estimator_steps,
            )
            .unwrap()
        };
        match r.source {
            // Section 3: the mean is the feed-forward activation, the pass is one-shot: every run settles.
            GainSource::Zero => {
                applied[0] += 1;
                assert!(
                    r.cells.iter().all(|c| c.outcome.settled()),
                    "{case:?}: {:?}",
                    r.cells
                );
                assert!(matches!(r.predicted, Crossing::Beyond(_)), "{case:?}");
                if case.method == Method::DpPlus && (case.alpha == 0.0 || case.alpha == 1.0) {
                    // Bitwise one-shot (Section 3): K = 30 gives the states of K = 1 at every scale.
                    for c in &r.cells {
                        let net = spec.network(case.activation, case.seed, c.scale).unwrap();
                        let one = Problem::new(
                            &net,
                            &Config::new(case.method, case.alpha, spec.beta, 1),
                            &x,
                            &y,
                        )
                        .and_then(|p| infer(&p))
                        .unwrap();
                        let many = Problem::new(
                            &net,
                            &Config::new(case.method, case.alpha, spec.beta, 30),
                            &x,
                            &y,
                        )
                        .and_then(|p| infer(&p))
                        .unwrap();
                        assert!(one.states == many.states, "{case:?} at {}", c.scale);
                    }
                }
            }
            // Section 2.2: the map is affine with gain G; the K-pass verdicts bracket G = 1.
            GainSource::IdentityClosedForm if case.alpha != 0.5 => {
                applied[1] += 1;
                let (plo, phi) = bracket(r.predicted, "predicted", r);
                let (dlo, dhi) = bracket(r.diverges, "diverges", r);
                let (ulo, uhi) = bracket(r.unsettled, "unsettled", r);
                assert!(gain(plo) < 1.0 && gain(phi) >= 1.0, "{case:?}");
                // A diverging run has G > 1 (G < 1 keeps the states within a bounded multiple of the first pass's).
                assert!(gain(dhi) > 1.0, "{case:?}: G {} at {dhi}", gain(dhi));
                let ceiling = divergence_gain_ceiling(spec.iterations);
                assert!(
                    gain(dlo) <= ceiling,
                    "{case:?}: G {} at {dlo} > {ceiling}",
                    gain(dlo)
                );
                // A run that settled has G < 1; one that did not has G above the K-pass floor.
                assert!(gain(ulo) < 1.0, "{case:?}: G {} at {ulo}", gain(ulo));
                let floor = settling_gain_floor(spec);
                assert!(
                    gain(uhi) >= floor,
                    "{case:?}: G {} at {uhi} < {floor}",
                    gain(uhi)
                );
                assert!(ulo < phi && plo < dhi, "{case:?}: order {r:?}");
            }
            // Original DP at alpha = 1/2, identity: G = 0 (Section 2.2), every run settles.
            GainSource::IdentityClosedForm => {
                applied[1] += 1;
                assert!(r.cells.iter().all(|c| c.outcome.settled()), "{case:?}");
                assert!(matches!(r.predicted, Crossing::Beyond(_)), "{case:?}");
            }
            GainSource::FirstPassEstimate => {}
        }
        // tanh: hidden states lie in (-1, 1), so a_L and the output states stay within a fixed multiple of
        // ||W_{L-1}||_inf + |y|: no run can reach the growth bound 1e4 at these scales (s <= 4).
        if case.activation == Activation::Tanh {
            applied[2] += 1;
            assert!(r.cells.iter().all(|c| !c.outcome.failed()), "{case:?}");
            assert!(matches!(r.diverges, Crossing::Beyond(_)), "{case:?}");
        }
        // DP+ with ReLU at alpha in (0, 1): rho(C_global) < 1 makes the pass a contraction everywhere
        // (Section 4.3), so no run below the sufficient boundary diverges.
        if let Some(sufficient) = r.sufficient {
            applied[3] += 1;
            for c in &r.cells {
                if c.sufficient.unwrap() < 1.0 {
                    assert!(!c.outcome.failed(), "{case:?} at {}", c.scale);
                }
            }
            let s_lo = match sufficient {
                Crossing::Between { lo, .. } => lo,
                Crossing::Below(_) => 0.0,
                Crossing::Beyond(s) => s,
            };
            let d_hi = match r.diverges {
                Crossing::Between { hi, .. } => hi,
                Crossing::Below(s) => s,
                Crossing::Beyond(_) => f64::INFINITY,
            };
            assert!(
                s_lo < d_hi,
                "{case:?}: sufficient {sufficient:?} diverges {:?}",
                r.diverges
            );
        }
    }
    applied
}

/// The small sweep: the boundary table as a snapshot (computed, rounded to 3 significant digits) and the theory's
/// statements on every row where it makes one: zero gain => every run settles; original DP with identity
/// activations => the observed divergence and settling boundaries bracket the closed form's G = 1 to within what
/// K passes resolve; tanh => no divergence (saturation); DP+ with ReLU => no divergence below rho(C_global) = 1.
#[test]
fn small_sweep_boundaries() {
    let spec = SweepSpec::small();
    let results = run_sweep(&spec).unwrap();
    let table = boundary_table(&results);
    println!("{table}");
    let applied = assert_theory(&spec, &results);
    // Rows per rule in the small sweep: 6 DP+ at alpha in {0, 1} + 3 DP+ identity at alpha in (0, 1); 5 original
    // DP identity; 10 tanh; 3 DP+ ReLU at alpha in (0, 1).
    assert_eq!(applied, [9, 5, 10, 3]);
    insta::assert_snapshot!("small_sweep_boundaries", table);
}

/// Finding (recorded, not loosened): for original DP with ReLU the first-pass loop-gain estimate does not locate
/// the divergence boundary, in either direction. At alpha > 1/2 the iteration oscillates and ReLU clips the
/// downward half-wave (docs/stability.md, Section 6): runs stay bounded up to scales where the predicted gain is
/// 3.7 (alpha = 1) and 7.0 (alpha = 3/4). At alpha = 0 (monotone growth) units switch on as the states grow and the
/// gain rises: on this seed the run diverges where the predicted gain is still 0.96 (seeds 2 and 3 of the full
/// sweep diverge above it, at 1.2 and 1.4). Section 2.4 promises agreement only while no unit changes piece, which
/// these runs violate; the test asserts the departures on the small sweep's seed, so a change that made them
/// disappear would have to be looked at.
#[test]
fn relu_original_dp_boundary_departs_from_first_pass_prediction() {
    let spec = SweepSpec {
        methods: vec![Method::OriginalDp],
        alphas: vec![0.0, 0.75, 1.0],
        activations: vec![Activation::Relu],
        ..SweepSpec::small()
    };
    let results = run_sweep(&spec).unwrap();
    let gain_at_divergence: Vec<f64> = results
        .iter()
        .map(|r| r.gain_at_divergence.expect("a divergence bracket").1)
        .collect();
    println!(
        "predicted gain at the observed divergence, alpha 0, 3/4, 1: {}",
        gain_at_divergence
            .iter()
            .map(|&g| sig3(g))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(
        gain_at_divergence[0] < 1.0,
        "alpha 0: {gain_at_divergence:?}"
    );
    assert!(
        gain_at_divergence[1] > 2.0 && gain_at_divergence[2] > 2.0,
        "alpha 3/4, 1: {gain_at_divergence:?}"
    );
}

/// Two routes to the identity prediction: the closed form of Section 2.2 equals the finite-difference estimator of
/// the pass at the feed-forward state and after one pass (the map is affine, so its Jacobian is the same
/// everywhere), at scales on both sides of the boundary.
#[test]
fn identity_closed_form_matches_estimator_across_scales() {
    let spec = SweepSpec::small();
    let (x, y) = spec.data(1);
    for alpha in [0.0, 0.25, 0.75, 1.0] {
        for s in [0.4, 0.6, 0.9] {
            let net = spec.network(Activation::Identity, 1, s).unwrap();
            let cfg = Config::new(Method::OriginalDp, alpha, spec.beta, 1);
            let closed = predict(&net, &cfg, &x, &y, spec.estimator_steps).unwrap();
            let one = infer(&Problem::new(&net, &cfg, &x, &y).unwrap()).unwrap();
            let est = Problem::new(&net, &cfg, &x, &y)
                .and_then(|p| loop_gain_estimate(&p, &one.states, 200))
                .unwrap()
                .gain;
            // Estimator budget as in spec_stability.rs: finite differences in f64 (~2e-11) plus power iteration
            // on the spectrum of S (1e-4 relative for 200 steps on these small spectra).
            assert!(
                (est - closed).abs() <= 1e-4 * closed,
                "alpha {alpha} s {s}: est {est} closed {closed}"
            );
        }
    }
}

/// The full sweep (opt-in; 30 s in the test profile on an idle core, 81 s on the shared 2-core machine): the same
/// statements as the small sweep, and the table of docs/stability.md, section 10, which must equal its output.
#[test]
#[ignore]
fn full_sweep_boundaries() {
    let spec = SweepSpec::full();
    let t = std::time::Instant::now();
    let results = run_sweep(&spec).unwrap();
    let table = boundary_table(&results);
    println!("{table}");
    println!("full sweep: {:.1} s", t.elapsed().as_secs_f64());
    let applied = assert_theory(&spec, &results);
    println!("rules applied: {applied:?}");
    // Rows per rule: 18 DP+ at alpha in {0, 1} + 9 DP+ identity at alpha in (0, 1) + 45 Eq. 21; 15 original DP
    // identity; 45 tanh; 9 DP+ ReLU at alpha in (0, 1).
    assert_eq!(applied, [72, 15, 45, 9]);
    // The table in the docs is this computation's output, verbatim.
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/stability.md")).unwrap();
    assert!(
        docs.contains(&table),
        "docs/stability.md section 10 differs from the computed table printed above"
    );
}

/// Bad sweep settings are typed errors, not a bisection that never stops or a grid read out of order.
#[test]
fn bad_sweep_settings_are_errors() {
    let case = SweepSpec::small().cases()[0];
    for spec in [
        SweepSpec {
            resolution: 0.0,
            ..SweepSpec::small()
        },
        SweepSpec {
            resolution: f64::NAN,
            ..SweepSpec::small()
        },
        SweepSpec {
            scales: vec![1.0, 0.5],
            ..SweepSpec::small()
        },
        SweepSpec {
            scales: vec![],
            ..SweepSpec::small()
        },
        SweepSpec {
            scales: vec![0.0, 1.0],
            ..SweepSpec::small()
        },
        // Strictly increasing: a repeated scale is refused too.
        SweepSpec {
            scales: vec![0.5, 1.0, 1.0],
            ..SweepSpec::small()
        },
    ] {
        assert!(run_case(&spec, case).is_err(), "{spec:?}");
    }
}

/// The opt-in sweep is what its documentation (and docs/stability.md section 10's protocol) says: the small sweep's
/// networks with three seeds, Eq. 21 added, 4 grid points per octave over s in [1/4, 4], K = 200, bisection to
/// 0.1%, 100 power steps. Route: the documented settings written out (the full sweep itself runs only with
/// `--ignored`, so without this a changed setting would go unnoticed by the default `cargo test`).
#[test]
fn the_full_sweep_has_its_documented_settings() {
    let (full, small) = (SweepSpec::full(), SweepSpec::small());
    assert_eq!(full.seeds, vec![1, 2, 3]);
    assert_eq!(full.iterations, 200);
    assert_eq!(
        full.methods,
        vec![Method::DpPlus, Method::OriginalDp, Method::Eq21]
    );
    assert_eq!(
        full.scales.len(),
        17,
        "4 per octave over 4 octaves, both ends"
    );
    assert_eq!(
        (full.scales[0], full.scales[16], full.scales[4]),
        (0.25, 4.0, 0.5)
    );
    assert_eq!(full.resolution, 1e-3);
    assert_eq!(full.estimator_steps, 100);
    assert_eq!(
        (
            &full.widths,
            full.batch,
            full.beta,
            &full.alphas,
            &full.activations
        ),
        (
            &small.widths,
            small.batch,
            small.beta,
            &small.alphas,
            &small.activations
        )
    );
    assert_eq!(small.scales.len(), 9, "2 per octave");
}

/// The crossing's bisection, against its closed form: on the grid [1, 2, 4] with the predicate s >= 1.5, geometric
/// bisection of [1, 2] halves log(hi / lo) each step, so it stops at the first bracket with hi / lo - 1 <= 1%:
/// hi / lo = 2^(1/128) (2^(1/64) - 1 = 1.09% is still above), with lo < 1.5 <= hi. At the grid's ends: Below and
/// Beyond. Route: the arithmetic of the bisection written out.
#[test]
fn the_crossing_bisects_to_its_resolution() {
    let c = Crossing::find(&[1.0, 2.0, 4.0], &[false, true, true], 1e-2, |s| {
        Ok(s >= 1.5)
    })
    .unwrap();
    let Crossing::Between { lo, hi } = c else {
        panic!("{c:?}");
    };
    assert!(lo < 1.5 && 1.5 <= hi, "{lo} {hi}");
    let steps = ((hi / lo).log2() * 128.0).round();
    assert_eq!(steps, 1.0, "hi / lo = 2^(1/128): {}", hi / lo);
    assert_eq!(
        Crossing::find(&[1.0, 2.0], &[true, true], 1e-2, |_| Ok(true)).unwrap(),
        Crossing::Below(1.0)
    );
    assert_eq!(
        Crossing::find(&[1.0, 2.0], &[false, false], 1e-2, |_| Ok(false)).unwrap(),
        Crossing::Beyond(2.0)
    );
}

/// The table's numbers: 3 significant digits in plain notation (`sig3`), and zero, infinities and NaN printed as
/// Rust prints them (log10 has no value to round there). Route: the strings written out.
#[test]
fn scales_print_with_three_significant_digits() {
    for (v, text) in [
        (1234.5, "1234"),
        (123.45, "123"),
        (1.2345, "1.23"),
        (0.012345, "0.0123"),
        (-2.5, "-2.50"),
        (0.0, "0"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "NaN"),
    ] {
        assert_eq!(sig3(v), text, "{v}");
    }
}

/// Which prediction each configuration gets, as `GainSource`'s documentation states it (written out here): zero
/// for DP+ at alpha in {0, 1} or with identity units and for the Eq. 21 variants at every alpha; the closed form
/// for original DP with identity units and its exact output rule; an estimate for everything else, and always for
/// another schedule than up-down or a hidden alpha apart from the output's.
#[test]
fn gain_sources_are_as_documented() {
    use dualprop::reference::{OutputRule, Schedule};
    let source = |method, alpha, activation, edit: &dyn Fn(&mut Config)| {
        let mut cfg = Config::new(method, alpha, 0.5, 10);
        edit(&mut cfg);
        GainSource::for_config(&cfg, activation)
    };
    let none = |_: &mut Config| {};
    let (relu, identity) = (Activation::Relu, Activation::Identity);
    assert_eq!(source(Method::DpPlus, 0.0, relu, &none), GainSource::Zero);
    assert_eq!(source(Method::DpPlus, 1.0, relu, &none), GainSource::Zero);
    assert_eq!(
        source(Method::DpPlus, 0.5, identity, &none),
        GainSource::Zero
    );
    assert_eq!(
        source(Method::DpPlus, 0.5, relu, &none),
        GainSource::FirstPassEstimate
    );
    for method in [Method::Eq21, Method::Eq21Printed] {
        assert_eq!(
            source(method, 0.5, relu, &none),
            GainSource::Zero,
            "{method:?}"
        );
    }
    assert_eq!(
        source(Method::OriginalDp, 0.0, identity, &none),
        GainSource::IdentityClosedForm
    );
    assert_eq!(
        source(Method::OriginalDp, 0.0, relu, &none),
        GainSource::FirstPassEstimate
    );
    let linearized = |c: &mut Config| c.output = Some(OutputRule::Eq16);
    assert_eq!(
        source(Method::OriginalDp, 0.0, identity, &linearized),
        GainSource::FirstPassEstimate
    );
    let forward = |c: &mut Config| c.schedule = Schedule::ForwardOnly;
    assert_eq!(
        source(Method::DpPlus, 0.0, relu, &forward),
        GainSource::FirstPassEstimate
    );
    let hidden = |c: &mut Config| c.hidden_alpha = Some(0.5);
    assert_eq!(
        source(Method::DpPlus, 0.0, relu, &hidden),
        GainSource::FirstPassEstimate
    );
}
