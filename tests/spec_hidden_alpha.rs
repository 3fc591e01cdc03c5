//! `Config::hidden_alpha`: setting it to `alpha` changes nothing, bit for bit, and a bad value is a typed error
//! through the reference, the oracle's JSON and the command line.
//!
//! Independent routes: the plumbing property compares two runs of the same code whose only difference is where
//! the hidden layers' alpha comes from (the field or its default), so any place that reads the field
//! differently from `alpha` shows as a differing bit; the bad inputs are checked as the library's error values
//! and as the process's exit status and stderr.

mod kernels_common;

use dualprop::reference::Problem;
use std::path::Path;
use std::process::Command;

use dualprop::checks::kkt_report;
use dualprop::error::Error;
use dualprop::kernels::infer_batch;
use dualprop::oracle::{vectors, OracleConfig};
use dualprop::reference::scalar::to_f64;
use dualprop::reference::{dual_gradient, infer, Config, Loss, Matrix, Method};
use kernels_common::*;
use proptest::prelude::*;

/// Every variant, the follow-up code's dampened original DP too.
fn every_method() -> Vec<Method> {
    let mut all = Method::ALL.to_vec();
    all.push(Method::OriginalDpDampened);
    all
}

fn bits(m: &Matrix<f64>) -> Vec<u64> {
    m.as_slice().iter().map(|v| to_f64(*v).to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(200), ..ProptestConfig::default() })]

    /// hidden_alpha = Some(alpha) gives bitwise the results of None, for every method: reference states, verdict,
    /// gradient and KKT report, and the kernels' states and gradient.
    #[test]
    fn hidden_alpha_equal_to_alpha_changes_nothing(
        case in case(),
        method in prop::sample::select(every_method()),
    ) {
        let mut plain = case.clone();
        plain.cfg.method = method;
        // No filter: a configuration the new method refuses must be refused alike with the field set.
        let mut same = plain.clone();
        same.cfg.hidden_alpha = Some(plain.cfg.alpha);
        let (net, x, y) = problem::<f64>(&plain);
        let (a, b) = (&plain.cfg, &same.cfg);
        let (ra, rb) = (Problem::new(&net, a, &x, &y).and_then(|p| infer(&p)), Problem::new(&net, b, &x, &y).and_then(|p| infer(&p)));
        let (ra, rb) = match (ra, rb) {
            (Ok(ra), Ok(rb)) => (ra, rb),
            (ra, rb) => {
                prop_assert!(ra.is_err() && rb.is_err());
                prop_assert_eq!(format!("{:?}", ra.err()), format!("{:?}", rb.err()));
                return Ok(());
            }
        };
        prop_assert_eq!(&ra.verdict, &rb.verdict);
        for k in 0..=net.depth() {
            prop_assert_eq!(bits(&ra.states.plus[k]), bits(&rb.states.plus[k]));
            prop_assert_eq!(bits(&ra.states.minus[k]), bits(&rb.states.minus[k]));
        }
        let (ga, gb) = (dual_gradient(&net, a, &ra.states), dual_gradient(&net, b, &rb.states));
        for k in 0..net.depth() {
            prop_assert_eq!(bits(&ga.w[k]), bits(&gb.w[k]));
            let (ba, bb): (Vec<u64>, Vec<u64>) = (
                ga.b[k].iter().map(|v| v.to_bits()).collect(),
                gb.b[k].iter().map(|v| v.to_bits()).collect(),
            );
            prop_assert_eq!(ba, bb);
        }
        let (ka, kb) = (Problem::new(&net, a, &x, &y).and_then(|p| kkt_report(&p, &ra.states)), Problem::new(&net, b, &x, &y).and_then(|p| kkt_report(&p, &rb.states)));
        prop_assert_eq!(format!("{ka:?}"), format!("{kb:?}"));
        match (Problem::new(&net, a, &x, &y).and_then(|p| infer_batch(&p, true)), Problem::new(&net, b, &x, &y).and_then(|p| infer_batch(&p, true))) {
            (Ok(ka), Ok(kb)) => {
                prop_assert_eq!(&ka.verdict, &kb.verdict);
                for k in 0..=net.depth() {
                    prop_assert_eq!(bits(&ka.states.plus[k]), bits(&kb.states.plus[k]));
                    prop_assert_eq!(bits(&ka.states.minus[k]), bits(&kb.states.minus[k]));
                }
                for k in 0..net.depth() {
                    prop_assert_eq!(bits(&ka.gradient.w[k]), bits(&kb.gradient.w[k]));
                }
            }
            (ka, kb) => {
                prop_assert!(ka.is_err() && kb.is_err());
                prop_assert_eq!(format!("{:?}", ka.err()), format!("{:?}", kb.err()));
            }
        }
    }
}

/// The values refused: outside [0, 1], NaN and infinite.
const BAD: [f64; 5] = [1.5, -0.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];

fn names_hidden_alpha(e: &Error) -> bool {
    matches!(e, Error::Unsupported(m) if m.starts_with("hidden_alpha = "))
}

#[test]
fn bad_hidden_alpha_is_a_typed_error_of_the_reference() {
    for method in every_method() {
        for h in BAD {
            let cfg = Config::new(method, 0.5, 0.5, 3).with_hidden_alpha(h);
            let e = cfg.validate(Loss::LeastSquares).unwrap_err();
            assert!(names_hidden_alpha(&e), "{method:?} {h}: {e}");
        }
        for h in [0.0, 0.5, 1.0] {
            let cfg = Config::new(method, 0.5, 0.5, 3).with_hidden_alpha(h);
            assert!(cfg.validate(Loss::LeastSquares).is_ok(), "{method:?} {h}");
        }
    }
}

#[test]
fn bad_hidden_alpha_is_a_typed_error_of_the_oracle_json() {
    let base = r#""method":"original_dp","alpha":0.0,"beta":0.5,"K":3,"activation":"relu""#;
    for h in ["1.5", "-0.1", "1e400"] {
        let json = format!(r#"{{{base},"hidden_alpha":{h}}}"#);
        match OracleConfig::from_json(json.as_bytes()) {
            // 1e400 is out of f64's range: refused by the JSON reader.
            Err(Error::Format(m)) if h == "1e400" => assert!(m.contains("out of range"), "{m}"),
            Err(e) => assert!(names_hidden_alpha(&e), "{h}: {e}"),
            Ok(c) => panic!("{h} accepted: {c:?}"),
        }
    }
    // Absent means alpha, and the normalized JSON leaves it out (so existing configuration files are unchanged).
    let plain = OracleConfig::from_json(format!("{{{base}}}").as_bytes()).unwrap();
    assert_eq!(plain.hidden_alpha, None);
    assert!(!plain.to_json().contains("hidden_alpha"));
    let set =
        OracleConfig::from_json(format!(r#"{{{base},"hidden_alpha":0.5}}"#).as_bytes()).unwrap();
    assert_eq!(set.reference().hidden_alpha, Some(0.5));
    assert!(set.to_json().contains(r#""hidden_alpha":0.5"#));
}

/// Runs dualprop; returns (exit code, stderr).
fn dualprop(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dualprop"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_hidden_alpha_is_refused_by_the_command_line() {
    let vdir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let [case, config, expected] = vectors::paths(&vdir, "original_dp_ahalf_k30_relu_f64");
    let (case, config, expected) = (
        case.to_str().unwrap(),
        config.to_str().unwrap(),
        expected.to_str().unwrap(),
    );
    let verify = |h: &str| {
        dualprop(&[
            "verify",
            case,
            expected,
            "--config",
            config,
            "--hidden-alpha",
            h,
        ])
    };
    for h in ["1.5", "-0.1"] {
        let (code, err) = verify(h);
        assert_eq!(code, 2, "verify --hidden-alpha {h}: {err}");
        assert!(
            err.contains(&format!("hidden_alpha = {h} is outside [0, 1]")),
            "{err}"
        );
    }
    // NaN is no JSON number: the oracle's flag refuses it as a bad configuration.
    let (code, err) = verify("nan");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad configuration"), "{err}");
    // `train` validates its spec before loading any data.
    for h in ["1.5", "NaN"] {
        let (code, err) = dualprop(&[
            "train",
            "--method",
            "original-dp",
            "--hidden-alpha",
            h,
            "-q",
        ]);
        assert_ne!(code, 0, "train --hidden-alpha {h}: {err}");
        assert!(
            err.contains("hidden_alpha = "),
            "train --hidden-alpha {h}: {err}"
        );
    }
}
