//! `verify` accepts what the reference computes (also in f32), rejects wrong implementations naming the violated
//! equation, and its tolerance is neither vacuous nor tighter than rounding. Also: the public-code output
//! conventions, and the command line's exit codes.

use std::path::{Path, PathBuf};
use std::process::Command;

use dualprop::oracle::{run, vectors, verify, Case, ComputeFloat, OracleConfig, VerifyReport};
use dualprop::reference::{FloatType, Method, OutputRule};
use dualprop::store::TensorSet;
use dualprop::Error;

fn vector(name: &str) -> (Case, OracleConfig, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let [case, cfg, out] = vectors::paths(&dir, name);
    (
        Case::read(&case).unwrap(),
        OracleConfig::from_json(&std::fs::read(cfg).unwrap()).unwrap(),
        out,
    )
}

/// The oracle's own output for `cfg`, computed in f64.
fn output(case: &Case, cfg: &OracleConfig) -> TensorSet {
    let mut c = *cfg;
    c.float = ComputeFloat::Fixed(FloatType::F64);
    run(case, &c).unwrap().tensors
}

fn violates(report: &VerifyReport, equation: &str) -> bool {
    report
        .violated_equations
        .iter()
        .any(|e| e.contains(equation))
}

#[test]
fn swapped_alpha_is_caught_as_eq10_and_eq8() {
    let (case, mut cfg, _) = vector("dp_plus_ahalf_k30_tanh_f64");
    cfg.alpha = 0.0;
    // Original DP's hidden rule (alpha and abar swapped on the feedback) with DP+'s output rule.
    let mut wrong = cfg;
    wrong.method = Method::OriginalDp;
    wrong.output = Some(OutputRule::Eq16);
    let report = verify(&case, &cfg, &output(&case, &wrong)).unwrap();
    assert!(!report.agrees);
    assert!(
        violates(&report, "Eq. 10 (+)"),
        "{:?}",
        report.violated_equations
    );
    assert!(violates(&report, "fixed point of Eq. 8"));
    // At alpha = 1/2 the swap changes nothing in the hidden layers (the paper's remark after Prop. 3.1).
    cfg.alpha = 0.5;
    wrong.alpha = 0.5;
    let report = verify(&case, &cfg, &output(&case, &wrong)).unwrap();
    assert!(report.agrees, "{:?}", report.deviating_tensors);
}

#[test]
fn printed_eq21_sign_is_caught_as_eq20() {
    let (case, cfg, _) = vector("eq21_ahalf_k30_tanh_f64");
    let mut wrong = cfg;
    wrong.method = Method::Eq21Printed;
    let report = verify(&case, &cfg, &output(&case, &wrong)).unwrap();
    assert!(!report.agrees);
    assert!(
        violates(&report, "Eq. 20 multiplier"),
        "{:?}",
        report.violated_equations
    );
}

#[test]
fn tolerance_is_neither_vacuous_nor_below_rounding() {
    let (case, cfg, _) = vector("dp_plus_ahalf_k30_tanh_f64");
    let good = output(&case, &cfg);
    let report = verify(&case, &cfg, &good).unwrap();
    let tol = report
        .tensors
        .iter()
        .find(|t| t.name == "z_plus.2")
        .unwrap()
        .tolerance
        .relative;
    assert!(tol < 1e-9, "an f64 tolerance of {tol} would be vacuous");
    let scale = good.tensors["z_plus.2"]
        .data
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    for (factor, agrees) in [(0.25, true), (4.0, false)] {
        let mut c = good.clone();
        c.tensors.get_mut("z_plus.2").unwrap().data[3] += factor * tol * scale;
        let r = verify(&case, &cfg, &c).unwrap();
        assert_eq!(r.agrees, agrees, "perturbation of {factor} x tolerance");
        if !agrees {
            assert_eq!(r.deviating_tensors, vec!["z_plus.2".to_string()]);
        }
    }
}

#[test]
fn reference_in_f32_passes_against_the_f64_oracle() {
    for name in [
        "dp_plus_ahalf_k30_tanh_f64",
        "original_dp_ahalf_k30_relu_f64",
    ] {
        let (case, cfg, _) = vector(name);
        let mut in_f32 = cfg;
        in_f32.float = ComputeFloat::Fixed(FloatType::F32);
        let candidate = run(&case, &in_f32).unwrap().tensors;
        let report = verify(&case, &cfg, &candidate).unwrap();
        assert!(report.agrees, "{name}: {:?}", report.deviating_tensors);
        // `agrees` alone cannot fail here: the tolerance comes from the spread between the reference in f32 and in
        // f64, which is what is being judged (a wrong f32 path widens its own tolerance). So each tensor is also held
        // to the floor, `rounding::<f32>` at the widest layer and the depth, which the f32 run does not enter
        // (measured: at most 0.04 of it on these two cases).
        for t in &report.tensors {
            assert!(
                t.max_relative <= t.tolerance.floor,
                "{name} {}: f32 deviates {} > rounding {}",
                t.name,
                t.max_relative,
                t.tolerance.floor
            );
        }
        // ... and an f32 candidate is held to f32's epsilon, not f64's.
        assert!(report.tensors.iter().all(|t| t.tolerance.float == "f32"));
    }
}

#[test]
fn non_finite_candidate_values_disagree() {
    let (case, cfg, _) = vector("dp_plus_a0_k1_relu_f64");
    let mut c = output(&case, &cfg);
    c.tensors.get_mut("grad_W.1").unwrap().data[0] = f64::NAN;
    let report = verify(&case, &cfg, &c).unwrap();
    assert!(!report.agrees);
    assert_eq!(report.deviating_tensors, vec!["grad_W.1".to_string()]);
}

#[test]
fn unusable_candidates_are_errors() {
    let (case, cfg, _) = vector("dp_plus_a0_k1_relu_f64");
    let good = output(&case, &cfg);
    let mut extra = good.clone();
    let z = extra.tensors["z_plus.1"].clone();
    extra.tensors.insert("z_plus.9".into(), z);
    assert!(matches!(verify(&case, &cfg, &extra), Err(Error::Format(m)) if m.contains("z_plus.9")));
    let mut shape = good.clone();
    shape.tensors.get_mut("grad_b.0").unwrap().shape = vec![2, 3];
    assert!(
        matches!(verify(&case, &cfg, &shape), Err(Error::Shape { what, .. }) if what == "grad_b.0")
    );
    assert!(matches!(
        verify(&case, &cfg, &TensorSet::default()),
        Err(Error::Format(_))
    ));
    let mut only_residuals = TensorSet::default();
    only_residuals
        .tensors
        .insert("kkt.1".into(), good.tensors["kkt.1"].clone());
    assert!(matches!(
        verify(&case, &cfg, &only_residuals),
        Err(Error::Format(_))
    ));
    // Only gradients given: compared, but no equation can be checked.
    let mut grads = good.clone();
    grads.tensors.retain(|n, _| n.contains("grad"));
    let r = verify(&case, &cfg, &grads).unwrap();
    assert!(r.agrees && r.equations.is_empty() && !r.notes.is_empty());
}

#[test]
fn public_code_conventions_agree_only_where_the_mean_state_does_not_move() {
    let (case, cfg, _) = vector("dp_plus_ahalf_k30_tanh_f64");
    for alpha in [0.0, 0.5, 1.0] {
        let mut paper = cfg;
        paper.alpha = alpha;
        let mut frozen = paper;
        frozen.output = Some(OutputRule::Eq16FrozenGradient);
        let (a, b) = (output(&case, &paper), output(&case, &frozen));
        let same = a.tensors["z_plus.3"] == b.tensors["z_plus.3"]
            && a.tensors["grad_W.0"] == b.tensors["grad_W.0"];
        assert_eq!(same, alpha != 0.5, "alpha = {alpha}");
    }
    let (case, cfg, _) = vector("original_dp_ahalf_k30_relu_f64");
    let mut linearized = cfg;
    linearized.output = Some(OutputRule::OriginalLinearized);
    let report = verify(&case, &cfg, &output(&case, &linearized)).unwrap();
    assert!(!report.agrees);
}

fn dualprop(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dualprop"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn command_line_exit_codes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let name = "dp_plus_a0_k1_relu_f64";
    let [case, cfg, expected] = vectors::paths(&dir, name);
    let (case, cfg, expected) = (
        case.to_str().unwrap(),
        cfg.to_str().unwrap(),
        expected.to_str().unwrap(),
    );
    let tmp = std::env::temp_dir().join(format!("dualprop-cli-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let out = tmp.join("out.safetensors");
    let out_s = out.to_str().unwrap();

    let (code, stdout, _) = dualprop(&["oracle", case, "--config", cfg, "--out", out_s]);
    assert_eq!(code, 0);
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["verdict"]["verdict"], "converged");
    assert_eq!(summary["alignment"].as_array().unwrap().len(), 3);

    assert_eq!(dualprop(&["verify", case, out_s, "--config", cfg]).0, 0);
    assert_eq!(dualprop(&["verify", case, expected, "--config", cfg]).0, 0);
    // Flags override the file: the same output checked as if alpha were 1 disagrees.
    let (code, stdout, _) = dualprop(&["verify", case, out_s, "--config", cfg, "--alpha", "1"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("\"agrees\": false"));
    // Unusable input: exit 2 with a message, and no output file.
    let (code, _, stderr) = dualprop(&["verify", case, cfg, "--config", cfg]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a safetensors file"), "{stderr}");
    let bad_out = tmp.join("never.safetensors");
    let (code, _, stderr) = dualprop(&[
        "oracle",
        case,
        "--config",
        cfg,
        "--alpha",
        "2",
        "--out",
        bad_out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("alpha"), "{stderr}");
    assert!(!bad_out.exists());
    std::fs::remove_dir_all(&tmp).unwrap();
}
