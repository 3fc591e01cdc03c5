//! Exact K passes on diverging original-DP cases: the oracle computes all K passes while its states stay finite,
//! `verify` accepts an implementation that does the same (outcome `both_diverge`), says when the candidate only
//! overflowed its own float type (`candidate_overflowed`), and rejects, with the reason, a candidate that diverges
//! at another rate or stays bounded where the oracle diverges. Training's early stop is unchanged.

use dualprop::reference::Problem;
use std::path::Path;
use std::process::Command;

use dualprop::oracle::{run, vectors, verify, Case, ComputeFloat, OracleConfig, Outcome};
use dualprop::reference::inference::{infer_exact, InferOptions};
use dualprop::reference::{infer, Activation, FloatType, Method, Verdict};
use dualprop::store::{Tensor, TensorSet};

const K: usize = 30;

/// The committed vector `original_dp_ahalf_k30_relu_f64`'s case with every weight scaled by `scale`: at 2 with the
/// identity activation original DP's asymmetric iteration is expansive (about x6 per pass at alpha = 1, x18 at
/// alpha = 0; measured by the oracle itself), at 3 and alpha = 0 its states pass f32's range (3e55 after 30 passes).
fn diverging_case(scale: f64) -> Case {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let [case, _, _] = vectors::paths(&dir, "original_dp_ahalf_k30_relu_f64");
    let mut case = Case::read(&case).unwrap();
    for (w, _) in &mut case.layers {
        w.data.iter_mut().for_each(|v| *v *= scale);
    }
    case
}

fn config(alpha: f64) -> OracleConfig {
    OracleConfig::from_json(
        format!(
            r#"{{"method":"original_dp","alpha":{alpha},"beta":0.5,"K":{K},"activation":"identity"}}"#
        )
        .as_bytes(),
    )
    .unwrap()
}

/// The reference's own output in `float` (all K passes), as a candidate.
fn reference_output(case: &Case, cfg: &OracleConfig, float: FloatType) -> TensorSet {
    let mut c = *cfg;
    c.float = ComputeFloat::Fixed(float);
    let mut set = run(case, &c).unwrap().tensors;
    set.tensors
        .retain(|n, _| !n.starts_with("kkt.") && !n.starts_with("fixed_point."));
    set
}

/// Route: the reference's early-stopping run and its exact run, compared pass by pass: the exact run is the
/// early-stopping one continued, with the same verdict, and the default options still stop (training's X).
#[test]
fn exact_runs_continue_past_the_growth_bound_and_training_still_stops() {
    let case = diverging_case(2.0);
    let cfg = config(1.0);
    let net = case.network::<f64>(Activation::Identity, cfg.loss).unwrap();
    let (x, y) = case.batch(&net).unwrap();
    let rcfg = cfg.reference();
    assert!(InferOptions::default().stop_at_growth_bound);
    let stopped = infer(&Problem::new(&net, &rcfg, &x, &y).unwrap()).unwrap();
    let exact = infer_exact(&Problem::new(&net, &rcfg, &x, &y).unwrap()).unwrap();
    let Verdict::Diverged { iteration, .. } = stopped.verdict else {
        panic!("expected divergence, got {:?}", stopped.verdict);
    };
    assert!(iteration < K);
    assert_eq!(stopped.trajectory.len(), iteration);
    assert_eq!(exact.verdict, stopped.verdict);
    assert_eq!(exact.trajectory.len(), K);
    assert_eq!(exact.trajectory[..iteration], stopped.trajectory[..]);
    assert!(exact
        .states
        .plus
        .iter()
        .all(|m| m.first_non_finite().is_none()));
}

/// Route: the reference's own all-K-passes output in f64 and in f32 (computed separately from the f64 judge) is
/// what a correct independent implementation produces; both are accepted as diverging with the oracle, and the
/// summary gives the growth per pass that the trajectory shows.
#[test]
fn a_candidate_running_all_passes_is_reported_as_both_diverging() {
    for (scale, alpha) in [(2.0, 1.0), (2.0, 0.0), (1.5, 1.0)] {
        let case = diverging_case(scale);
        let cfg = config(alpha);
        for float in [FloatType::F64, FloatType::F32] {
            if float == FloatType::F32 && scale == 2.0 {
                continue; // the gradients pass f32's range there: see the overflow test
            }
            let report = verify(&case, &cfg, &reference_output(&case, &cfg, float)).unwrap();
            assert_eq!(
                report.outcome,
                Outcome::BothDiverge,
                "scale {scale} alpha {alpha} {float}: {}",
                report.summary
            );
            assert!(report.agrees, "{}", report.summary);
            assert_eq!(report.outcome.exit_code(), 3);
            // The numbers docs/oracle.md quotes (`-- --nocapture`).
            let states = report.tensors.iter().filter(|t| t.name.starts_with("z_"));
            let (lo, hi, tol) = states.fold((f64::MAX, 0.0f64, 0.0f64), |(lo, hi, tol), t| {
                let c = t.tolerance.measured_condition;
                (lo.min(c), hi.max(c), tol.max(t.tolerance.relative))
            });
            println!(
                "scale {scale} alpha {alpha} {float}: states' condition {lo:.1} to {hi:.1} eps_f32, \
                 largest state tolerance {tol:.2e}"
            );
            let d = report.oracle.divergence.expect("a divergence record");
            assert_eq!((d.passes, report.oracle.iterations_run), (K, K));
            assert!(d.growth_per_pass.unwrap() > 1.0, "{d:?}");
            assert!(
                report.summary.starts_with("both_diverge: "),
                "{}",
                report.summary
            );
        }
    }
}

/// Route: the f64 oracle's output rounded to f32 by the cast (not computed in f32): entries beyond f32's range
/// become infinite, as in any f32 implementation, and verify names that instead of listing deviations.
#[test]
fn overflow_of_the_candidate_type_is_its_own_outcome() {
    let case = diverging_case(3.0);
    let cfg = config(0.0);
    let mut cand = reference_output(&case, &cfg, FloatType::F64);
    for t in cand.tensors.values_mut() {
        let data = t.data.iter().map(|&v| v as f32 as f64).collect();
        *t = Tensor::new(FloatType::F32, t.shape.clone(), data);
    }
    let report = verify(&case, &cfg, &cand).unwrap();
    assert_eq!(
        report.outcome,
        Outcome::CandidateOverflowed,
        "{}",
        report.summary
    );
    assert_eq!(report.outcome.exit_code(), 4);
    assert!(report.reasons[0].contains("beyond the candidate type's range"));
    // The same infinities where the oracle is within f32's range are a plain disagreement.
    let mut cand = reference_output(&case, &cfg, FloatType::F64);
    cand.tensors.get_mut("z_plus.1").unwrap().data[0] = f64::INFINITY;
    let report = verify(&case, &cfg, &cand).unwrap();
    assert_eq!(report.outcome, Outcome::Disagrees, "{}", report.summary);
}

/// Route: candidates computed by the reference on a different problem (another beta, another method), so their
/// growth is measured independently of the oracle's: each is rejected with the reason in words.
#[test]
fn other_rates_and_bounded_candidates_are_rejected_with_the_reason() {
    let case = diverging_case(2.0);
    let cfg = config(1.0);
    let mut faster = cfg;
    faster.beta = 0.9;
    let report = verify(
        &case,
        &cfg,
        &reference_output(&case, &faster, FloatType::F64),
    )
    .unwrap();
    assert_eq!(report.outcome, Outcome::Disagrees);
    assert!(
        report.reasons[0].contains("diverges at another rate"),
        "{:?}",
        report.reasons
    );

    // Without states there is no growth to compare: the reason says so instead of guessing.
    let mut gradients_only = reference_output(&case, &faster, FloatType::F64);
    gradients_only.tensors.retain(|n, _| n.contains("grad_"));
    let report = verify(&case, &cfg, &gradients_only).unwrap();
    assert_eq!(report.outcome, Outcome::Disagrees);
    assert!(
        report.reasons[0].contains("gives no states"),
        "{:?}",
        report.reasons
    );

    let mut bounded = cfg;
    bounded.method = Method::DpPlus;
    bounded.output = None;
    let report = verify(
        &case,
        &cfg,
        &reference_output(&case, &bounded, FloatType::F64),
    )
    .unwrap();
    assert_eq!(report.outcome, Outcome::Disagrees);
    assert!(
        report.reasons[0].contains("stay within the growth bound"),
        "{:?}",
        report.reasons
    );
    assert!(
        report.summary.starts_with("disagrees: "),
        "{}",
        report.summary
    );
}

/// Route: the command line, as a user runs it: exit code 3 and the text report's summary line first.
#[test]
fn the_command_line_exits_3_when_both_diverge() {
    let tmp = std::env::temp_dir().join(format!("dualprop-diverging-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let case = diverging_case(2.0);
    let cfg = config(1.0);
    let (case_path, cand_path, cfg_path) = (
        tmp.join("case.safetensors"),
        tmp.join("cand.safetensors"),
        tmp.join("cfg.json"),
    );
    case.to_tensors().write_atomic(&case_path).unwrap();
    reference_output(&case, &cfg, FloatType::F64)
        .write_atomic(&cand_path)
        .unwrap();
    std::fs::write(&cfg_path, cfg.to_json()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dualprop"))
        .arg("verify")
        .args([&case_path, &cand_path])
        .arg("--config")
        .arg(&cfg_path)
        .args(["--format", "text"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.starts_with("both_diverge: 18 of 18 tensors agree"),
        "{text}"
    );
    std::fs::remove_dir_all(&tmp).ok();
}
