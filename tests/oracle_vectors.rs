//! The committed vectors in tests/vectors must be exactly what the code computes (the reference is deterministic,
//! so the comparison is bitwise). Regenerate with `dualprop oracle --regenerate-vectors tests/vectors`.

use std::path::{Path, PathBuf};

use dualprop::oracle::{run, vectors, verify, Case, OracleConfig};
use dualprop::store::TensorSet;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// First difference between two tensor sets, bit for bit (the `producer` metadata entry names the crate version
/// and is not compared; the `config` entry is compared as a parsed configuration).
fn first_difference(expected: &TensorSet, actual: &TensorSet) -> Option<String> {
    let names = |s: &TensorSet| s.tensors.keys().cloned().collect::<Vec<_>>();
    if names(expected) != names(actual) {
        return Some(format!(
            "tensor names differ: {:?} vs {:?}",
            names(expected),
            names(actual)
        ));
    }
    for (name, e) in &expected.tensors {
        let a = &actual.tensors[name];
        if e.dtype != a.dtype || e.shape != a.shape {
            return Some(format!("{name}: dtype or shape differs"));
        }
        if let Some(i) = (0..e.data.len()).find(|&i| e.data[i].to_bits() != a.data[i].to_bits()) {
            return Some(format!(
                "{name}[{i}]: committed {:e}, computed {:e}",
                e.data[i], a.data[i]
            ));
        }
    }
    // The configuration is compared as the configuration it names, so a renamed spelling that reads back as
    // the same value (serde aliases such as `lagrangian_settled` for `eq21`) is not drift; every other entry
    // is compared byte for byte.
    let config = |s: &TensorSet| {
        s.metadata
            .get("config")
            .map(|json| OracleConfig::from_json(json.as_bytes()).expect("config metadata parses"))
    };
    if config(expected) != config(actual) {
        return Some("configuration metadata differs".to_string());
    }
    let strip = |s: &TensorSet| {
        let mut m = s.metadata.clone();
        m.remove("producer");
        m.remove("config");
        m
    };
    (strip(expected) != strip(actual)).then(|| "metadata differs".to_string())
}

#[test]
fn committed_vectors_match_the_code_bitwise() {
    let specs = vectors::specs();
    for spec in &specs {
        let [case_path, cfg_path, out_path] = vectors::paths(&dir(), spec.name);
        let case = Case::read(&case_path).unwrap();
        assert_eq!(
            case,
            vectors::make_case(spec),
            "{}: case drifted",
            spec.name
        );
        let cfg = OracleConfig::from_json(&std::fs::read(&cfg_path).unwrap()).unwrap();
        assert_eq!(cfg, spec.config, "{}: configuration drifted", spec.name);
        let expected = TensorSet::read(&out_path).unwrap();
        let actual = run(&case, &cfg).unwrap().tensors;
        if let Some(diff) = first_difference(&expected, &actual) {
            panic!(
                "{}: committed vector drifted from the code: {diff}\n(regenerate with \
                 `dualprop oracle --regenerate-vectors tests/vectors` if the change is intended)",
                spec.name
            );
        }
        // The writer is deterministic, so the committed bytes are reproduced exactly too.
        assert_eq!(
            std::fs::read(&case_path).unwrap(),
            case.to_tensors().to_bytes().unwrap()
        );
    }
    let files = std::fs::read_dir(dir())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_file())
        .count();
    assert_eq!(
        files,
        3 * specs.len(),
        "stray or missing files in tests/vectors"
    );
}

#[test]
fn drift_detection_sees_a_one_ulp_change() {
    let spec = &vectors::specs()[0];
    let [_, _, out_path] = vectors::paths(&dir(), spec.name);
    let expected = TensorSet::read(&out_path).unwrap();
    let mut changed = expected.clone();
    let t = changed.tensors.get_mut("z_minus.1").unwrap();
    t.data[0] = f64::from_bits(t.data[0].to_bits() + 1);
    assert!(first_difference(&expected, &expected).is_none());
    assert!(first_difference(&expected, &changed).is_some());
}

#[test]
fn committed_outputs_pass_verify_including_f32_ones() {
    for spec in &vectors::specs() {
        let [case_path, cfg_path, out_path] = vectors::paths(&dir(), spec.name);
        let case = Case::read(&case_path).unwrap();
        let cfg = OracleConfig::from_json(&std::fs::read(&cfg_path).unwrap()).unwrap();
        let report = verify(&case, &cfg, &TensorSet::read(&out_path).unwrap()).unwrap();
        assert!(
            report.agrees,
            "{}: {:?} {:?}",
            spec.name, report.deviating_tensors, report.violated_equations
        );
    }
}

#[test]
fn vectors_cover_the_required_grid() {
    use dualprop::reference::{Activation, FloatType, Method};
    let specs = vectors::specs();
    for m in Method::ALL {
        assert!(specs.iter().any(|s| s.config.method == m), "{m:?}");
    }
    for a in [0.0, 0.5, 1.0] {
        assert!(specs.iter().any(|s| s.config.alpha == a));
    }
    for k in [1, 30] {
        assert!(specs.iter().any(|s| s.config.iterations == k));
    }
    assert!(specs
        .iter()
        .any(|s| s.config.activation == Activation::Relu));
    assert!(specs
        .iter()
        .any(|s| s.config.activation == Activation::Tanh));
    assert!(specs.iter().any(|s| s.dtype == FloatType::F32));
    assert!(specs.iter().any(|s| s.dtype == FloatType::F64));
    assert!(specs.iter().any(|s| s.config.output.is_some()));
}
