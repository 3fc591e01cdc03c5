//! Reports people read: `verify`'s one-line summary, the worst index and layer of each deviating tensor, the
//! candidate's and the oracle's residual per equation in the text rendering, and a JSON report that only ever
//! gains fields.

use std::path::Path;

use dualprop::oracle::report::text;
use dualprop::oracle::{run, vectors, verify, Case, ComputeFloat, OracleConfig, Outcome};
use dualprop::reference::{FloatType, Method, OutputRule};
use dualprop::store::TensorSet;

fn vector(name: &str) -> (Case, OracleConfig) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let [case, cfg, _] = vectors::paths(&dir, name);
    (
        Case::read(&case).unwrap(),
        OracleConfig::from_json(&std::fs::read(cfg).unwrap()).unwrap(),
    )
}

fn output(case: &Case, cfg: &OracleConfig) -> TensorSet {
    let mut c = *cfg;
    c.float = ComputeFloat::Fixed(FloatType::F64);
    run(case, &c).unwrap().tensors
}

/// DP+ at alpha = 0 judged against original DP's hidden rule with DP+'s output (the swapped-alpha mistake).
fn swapped() -> (Case, OracleConfig, TensorSet) {
    let (case, cfg) = vector("dp_plus_a0_k1_relu_f64");
    let mut wrong = cfg;
    wrong.method = Method::OriginalDp;
    wrong.output = Some(OutputRule::Eq16);
    let cand = output(&case, &wrong);
    (case, cfg, cand)
}

/// Route: counts from the report's own tensor list against the line's numbers.
#[test]
fn the_summary_line_counts_and_names_the_worst() {
    let (case, cfg) = vector("dp_plus_ahalf_k30_tanh_f64");
    let report = verify(&case, &cfg, &output(&case, &cfg)).unwrap();
    let n = report.tensors.len();
    assert_eq!(report.outcome, Outcome::Agrees);
    assert_eq!(report.summary, format!("agrees: {n} of {n} tensors"));
    assert!(report.reasons.is_empty());

    let (case, cfg, cand) = swapped();
    let report = verify(&case, &cfg, &cand).unwrap();
    let bad = report.tensors.iter().filter(|t| !t.agrees).count();
    assert!(bad > 3, "{}", report.summary);
    let head = format!(
        "disagrees: {} of {n} tensors agree; {bad} deviate: ",
        n - bad
    );
    assert!(report.summary.starts_with(&head), "{}", report.summary);
    assert!(report.summary.contains(&format!("and {} more", bad - 3)));
    assert!(report
        .summary
        .contains("equations violated: layer 1: Eq. 10 (+)"));
    assert!(!report.summary.contains('\n'));
}

/// Route: the worst entry located again from the raw tensors (flat index, shape, values) by the test.
#[test]
fn each_tensor_gives_its_worst_position_layer_and_values() {
    let (case, cfg, cand) = swapped();
    let report = verify(&case, &cfg, &cand).unwrap();
    let truth = output(&case, &cfg);
    for t in &report.tensors {
        let o = &truth.tensors[&t.name];
        let c = &cand.tensors[&t.name];
        let cols = if o.shape.len() == 2 { o.shape[1] } else { 1 };
        let expected = if o.shape.len() == 2 {
            vec![t.worst_index / cols, t.worst_index % cols]
        } else {
            vec![t.worst_index]
        };
        assert_eq!(t.worst_position, expected, "{}", t.name);
        assert_eq!(t.candidate_value, c.data[t.worst_index], "{}", t.name);
        assert_eq!(t.oracle_value, o.data[t.worst_index], "{}", t.name);
        let k: usize = t.name.rsplit('.').next().unwrap().parse().unwrap();
        assert_eq!(t.layer, Some(k));
        assert_eq!(
            (t.candidate_value - t.oracle_value).abs(),
            t.max_abs,
            "{}",
            t.name
        );
    }
}

/// Route: the text is checked against the structured report it renders.
#[test]
fn the_text_report_leads_with_the_summary_and_shows_both_residuals() {
    let (case, cfg, cand) = swapped();
    let report = verify(&case, &cfg, &cand).unwrap();
    let rendered = text(&report);
    assert_eq!(rendered.lines().next(), Some(report.summary.as_str()));
    let e = report.equations.iter().find(|e| e.violated).unwrap();
    let line = rendered
        .lines()
        .find(|l| l.contains(&e.equation) && l.contains("VIOLATED"))
        .unwrap();
    assert!(
        line.contains(&format!("candidate {:>9.2e}", e.candidate)),
        "{line}"
    );
    assert!(
        line.contains(&format!("oracle {:>9.2e}", e.oracle)),
        "{line}"
    );
    assert!(rendered.contains("DEVIATES  worst at ["));
}

/// Route: the field names of the JSON report before this change, listed by hand.
#[test]
fn the_json_report_keeps_every_earlier_field() {
    let (case, cfg, cand) = swapped();
    let json = serde_json::to_value(verify(&case, &cfg, &cand).unwrap()).unwrap();
    for key in [
        "agrees",
        "violated_equations",
        "deviating_tensors",
        "tensors",
        "equations",
        "ignored",
        "not_given",
        "tolerance_rule",
        "notes",
        "oracle",
        "summary",
        "outcome",
        "reasons",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert_eq!(json["outcome"], "disagrees");
    for key in [
        "name",
        "max_abs",
        "max_relative",
        "worst_index",
        "tolerance",
        "agrees",
    ] {
        assert!(json["tensors"][0].get(key).is_some(), "tensors[].{key}");
    }
    for key in [
        "layer",
        "equation",
        "candidate",
        "oracle",
        "tolerance",
        "violated",
    ] {
        assert!(json["equations"][0].get(key).is_some(), "equations[].{key}");
    }
}
