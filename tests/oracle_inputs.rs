//! Bad inputs to the oracle give typed errors, never a panic: malformed files, missing or extra tensors, wrong
//! ranks, shapes or dtypes, NaN and infinity, unreadable files, and bad configurations.

use std::collections::BTreeMap;

use dualprop::oracle::{Case, ComputeFloat, OracleConfig};
use dualprop::reference::FloatType;
use dualprop::store::{Tensor, TensorSet};
use dualprop::Error;

fn t(shape: &[usize], fill: f64) -> Tensor {
    let n = shape.iter().product();
    Tensor::new(
        FloatType::F64,
        shape.to_vec(),
        (0..n).map(|i| fill + 0.01 * i as f64).collect(),
    )
}

/// A valid 3 -> 4 -> 2 case with batch 2.
fn good() -> TensorSet {
    let mut s = TensorSet::default();
    s.tensors.insert("W.0".into(), t(&[4, 3], 0.1));
    s.tensors.insert("b.0".into(), t(&[4], 0.0));
    s.tensors.insert("W.1".into(), t(&[2, 4], -0.2));
    s.tensors.insert("b.1".into(), t(&[2], 0.0));
    s.tensors.insert("x".into(), t(&[2, 3], 0.5));
    s.tensors.insert("y".into(), t(&[2, 2], 0.0));
    s
}

fn cfg() -> OracleConfig {
    OracleConfig::from_json(
        br#"{"method":"dp_plus","alpha":0.5,"beta":0.5,"iterations":3,"activation":"relu"}"#,
    )
    .unwrap()
}

/// Parses bytes as a case and builds the network and batch: the whole reading path of `dualprop oracle`.
fn read_case(bytes: &[u8]) -> Result<(), Error> {
    let set = TensorSet::from_bytes(bytes, "case")?;
    let case = Case::from_tensors(&set)?;
    dualprop::oracle::run(&case, &cfg()).map(|_| ())
}

fn edited(f: impl FnOnce(&mut BTreeMap<String, Tensor>)) -> Vec<u8> {
    let mut s = good();
    f(&mut s.tensors);
    s.to_bytes().unwrap()
}

fn format_error(r: Result<(), Error>, needle: &str) {
    match r {
        Err(Error::Format(msg)) => assert!(msg.contains(needle), "{msg:?} lacks {needle:?}"),
        other => panic!("expected a Format error containing {needle:?}, got {other:?}"),
    }
}

#[test]
fn the_good_case_runs() {
    read_case(&good().to_bytes().unwrap()).unwrap();
}

#[test]
fn malformed_bytes() {
    format_error(read_case(b""), "not a safetensors file");
    format_error(read_case(&[0xff; 7]), "not a safetensors file");
    format_error(read_case(&u64::MAX.to_le_bytes()), "not a safetensors file");
    let mut not_json = 8u64.to_le_bytes().to_vec();
    not_json.extend(b"{nojson}");
    format_error(read_case(&not_json), "not a safetensors file");
    // A valid header whose data is cut short.
    let mut truncated = good().to_bytes().unwrap();
    truncated.truncate(truncated.len() - 5);
    format_error(read_case(&truncated), "not a safetensors file");
    // Offsets pointing past the data.
    let header = br#"{"x":{"dtype":"F64","shape":[1,1],"data_offsets":[0,800]}}"#;
    let mut bad = (header.len() as u64).to_le_bytes().to_vec();
    bad.extend(header);
    bad.extend([0u8; 8]);
    format_error(read_case(&bad), "not a safetensors file");
}

#[test]
fn wrong_dtypes() {
    let data = [0u8; 8];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::I64, vec![1], &data).unwrap();
    let bytes = safetensors::serialize([("W.0", view)], None).unwrap();
    format_error(read_case(&bytes), "dtype I64; only the float types");
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F8_E4M3, vec![2, 2], &data[..4])
            .unwrap();
    let bytes = safetensors::serialize([("x", view)], None).unwrap();
    format_error(read_case(&bytes), "dtype F8_E4M3; only the float types");
    let mixed = edited(|s| {
        let w = s.get_mut("W.0").unwrap();
        w.dtype = FloatType::F32;
    });
    format_error(read_case(&mixed), "a case has one dtype");
}

/// A case stored in a half type is read exactly (every f16 and bf16 value widens to f64 without rounding) and
/// computed in its own type on request, the output stored in that type. Second route: the file's bytes are
/// decoded here with `half` directly and compared with what the store read.
#[test]
fn half_precision_cases_round_trip_and_run() {
    for dtype in [FloatType::F16, FloatType::Bf16] {
        let mut set = good();
        for t in set.tensors.values_mut() {
            t.dtype = dtype;
        }
        let bytes = set.to_bytes().unwrap();
        let back = TensorSet::from_bytes(&bytes, "case").unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        for (name, t) in &back.tensors {
            let raw = file.tensor(name).unwrap();
            let direct: Vec<f64> = raw
                .data()
                .chunks_exact(2)
                .map(|c| match dtype {
                    FloatType::F16 => half::f16::from_le_bytes([c[0], c[1]]).to_f64(),
                    _ => half::bf16::from_le_bytes([c[0], c[1]]).to_f64(),
                })
                .collect();
            assert_eq!(t.dtype, dtype);
            assert_eq!(t.data, direct, "{name}");
        }
        assert_eq!(back.to_bytes().unwrap(), bytes, "{dtype}: not bitwise");
        let case = Case::from_tensors(&back).unwrap();
        assert_eq!(case.dtype, dtype);
        let mut own = cfg();
        own.float = ComputeFloat::Case;
        let run = dualprop::oracle::run(&case, &own).unwrap();
        assert_eq!(run.summary.computed_in, dtype.name());
        assert!(run.tensors.tensors["z_plus.2"].dtype == dtype);
        dualprop::oracle::run(&case, &cfg()).unwrap();
    }
}

#[test]
fn missing_and_extra_tensors() {
    format_error(
        read_case(&edited(|s| drop(s.remove("W.0")))),
        "missing tensor W.0",
    );
    format_error(
        read_case(&edited(|s| drop(s.remove("b.1")))),
        "missing tensor b.1",
    );
    format_error(
        read_case(&edited(|s| drop(s.remove("x")))),
        "missing tensor x",
    );
    format_error(
        read_case(&edited(|s| drop(s.remove("y")))),
        "missing tensor y",
    );
    format_error(
        read_case(&edited(|s| {
            drop(s.insert("z_plus.1".into(), t(&[2, 4], 0.0)))
        })),
        "unexpected tensor z_plus.1",
    );
    // A gap in the layer list: W.2 without W.1 is not a layer of this network.
    format_error(
        read_case(&edited(|s| {
            let w = s.remove("W.1").unwrap();
            s.insert("W.2".into(), w);
        })),
        "unexpected tensor W.2",
    );
    format_error(
        read_case(&TensorSet::default().to_bytes().unwrap()),
        "missing tensor W.0",
    );
}

#[test]
fn wrong_ranks_and_shapes() {
    format_error(
        read_case(&edited(|s| drop(s.insert("W.0".into(), t(&[12], 0.1))))),
        "expected rank 2",
    );
    format_error(
        read_case(&edited(|s| drop(s.insert("b.0".into(), t(&[4, 1], 0.1))))),
        "expected rank 1",
    );
    let shape = |r: Result<(), Error>, what: &str| match r {
        Err(Error::Shape { what: w, .. }) => assert_eq!(w, what),
        other => panic!("expected a Shape error for {what}, got {other:?}"),
    };
    shape(
        read_case(&edited(|s| drop(s.insert("W.1".into(), t(&[2, 5], 0.1))))),
        "W.1",
    );
    shape(
        read_case(&edited(|s| drop(s.insert("b.0".into(), t(&[3], 0.1))))),
        "b.0",
    );
    shape(
        read_case(&edited(|s| drop(s.insert("x".into(), t(&[2, 4], 0.1))))),
        "x",
    );
    shape(
        read_case(&edited(|s| drop(s.insert("y".into(), t(&[3, 2], 0.1))))),
        "y",
    );
    assert_eq!(
        read_case(&edited(|s| drop(s.insert("x".into(), t(&[0, 3], 0.1))))),
        Err(Error::EmptyBatch)
    );
    assert!(matches!(
        read_case(&edited(|s| {
            s.insert("W.0".into(), t(&[0, 3], 0.1));
            s.insert("b.0".into(), t(&[0], 0.1));
        })),
        Err(Error::EmptyLayer { .. } | Error::Shape { .. })
    ));
}

#[test]
fn nan_and_infinity() {
    for (name, value) in [
        ("W.0", f64::NAN),
        ("b.1", f64::INFINITY),
        ("x", f64::NEG_INFINITY),
        ("y", f64::NAN),
    ] {
        let r = read_case(&edited(|s| s.get_mut(name).unwrap().data[1] = value));
        assert_eq!(
            r,
            Err(Error::NonFinite {
                what: name.into(),
                index: 1
            }),
            "{name}"
        );
    }
}

#[test]
fn unreadable_files() {
    let missing = std::path::Path::new("/nonexistent/case.safetensors");
    assert!(matches!(Case::read(missing), Err(Error::Io { .. })));
    let dir = std::env::temp_dir();
    assert!(matches!(Case::read(&dir), Err(Error::Io { .. })));
}

#[test]
fn failed_writes_leave_no_file() {
    let dir = std::env::temp_dir().join(format!("dualprop-oracle-write-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The target is a non-empty directory: the rename fails after the temporary file was written.
    let target = dir.join("out.safetensors");
    std::fs::create_dir_all(target.join("occupied")).unwrap();
    let r = good().write_atomic(&target);
    assert!(matches!(r, Err(Error::Io { .. })), "{r:?}");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("out.safetensors")],
        "a temporary file was left"
    );
    let r = good().write_atomic(&dir.join("no/such/dir/out.safetensors"));
    assert!(matches!(r, Err(Error::Io { .. })));
    // A successful write round-trips exactly.
    let ok = dir.join("ok.safetensors");
    good().write_atomic(&ok).unwrap();
    assert_eq!(TensorSet::read(&ok).unwrap(), good());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_configurations() {
    let parse = |s: &str| OracleConfig::from_json(s.as_bytes());
    let base = r#""method":"dp_plus","beta":0.5,"iterations":3,"activation":"relu""#;
    assert!(matches!(parse("not json"), Err(Error::Format(_))));
    assert!(matches!(parse("[1, 2]"), Err(Error::Format(_))));
    assert!(matches!(parse(&format!("{{{base}}}")), Err(Error::Format(m)) if m.contains("alpha")));
    assert!(
        matches!(parse(&format!(r#"{{{base},"alpha":0.5,"alhpa":1}}"#)), Err(Error::Format(m)) if m.contains("alhpa"))
    );
    assert!(matches!(
        parse(&format!(r#"{{{base},"alpha":"0.5"}}"#)),
        Err(Error::Format(_))
    ));
    assert!(matches!(
        parse(&format!(r#"{{{base},"alpha":1e400}}"#)),
        Err(Error::Format(_))
    ));
    assert_eq!(
        parse(&format!(r#"{{{base},"alpha":1.5}}"#)),
        Err(Error::Alpha(1.5))
    );
    assert_eq!(
        parse(&format!(r#"{{{base},"alpha":-0.0}}"#)).map(|c| c.alpha),
        Ok(-0.0)
    );
    let cfgs = |extra: &str| parse(&format!(r#"{{"alpha":0,"activation":"relu",{extra}}}"#));
    assert_eq!(
        cfgs(r#""method":"dp_plus","beta":0,"iterations":1"#),
        Err(Error::Beta(0.0))
    );
    assert_eq!(
        cfgs(r#""method":"dp_plus","beta":1,"iterations":0"#),
        Err(Error::Iterations)
    );
    assert!(matches!(
        cfgs(r#""method":"dp_plus","beta":1,"iterations":-1"#),
        Err(Error::Format(_))
    ));
    assert!(matches!(
        cfgs(r#""method":"dp++","beta":1,"iterations":1"#),
        Err(Error::Format(_))
    ));
    assert_eq!(
        cfgs(r#""method":"original_dp","beta":2,"iterations":1"#),
        Err(Error::IllPosedOriginalOutput(2.0))
    );
    assert!(matches!(
        cfgs(r#""method":"original_dp","beta":0.5,"iterations":1,"loss":"softmax_cross_entropy""#),
        Err(Error::Unsupported(_))
    ));
    assert_eq!(
        parse(
            r#"{"method":"dp_plus","alpha":0,"beta":1,"K":1,"activation":{"leaky_relu":{"slope":0}}}"#
        ),
        Err(Error::LeakySlope(0.0))
    );
    // Flags override the file, and "K" is an alias of "iterations".
    let c = OracleConfig::from_parts(
        Some(br#"{"method":"dp_plus","alpha":0,"beta":0.5,"K":1,"activation":"relu"}"#),
        &[
            ("iterations", "30".into()),
            ("method", "original_dp".into()),
        ],
    )
    .unwrap();
    assert_eq!(
        (c.iterations, c.method),
        (30, dualprop::reference::Method::OriginalDp)
    );
}

#[test]
fn overflowing_states_give_a_failed_verdict_not_an_error() {
    let mut s = good();
    for v in &mut s.tensors.get_mut("W.0").unwrap().data {
        *v *= 1e300;
    }
    for v in &mut s.tensors.get_mut("W.1").unwrap().data {
        *v *= 1e300;
    }
    let case = Case::from_tensors(&s).unwrap();
    let run = dualprop::oracle::run(&case, &cfg()).unwrap();
    assert!(run.summary.verdict.failed(), "{:?}", run.summary.verdict);
    assert!(run.summary.kkt.is_none());
    // The output can still be written and read back, and verify judges it (it agrees with itself).
    let bytes = run.tensors.to_bytes().unwrap();
    let back = TensorSet::from_bytes(&bytes, "out").unwrap();
    let report = dualprop::oracle::verify(&case, &cfg(), &back).unwrap();
    assert!(report.agrees, "{:?}", report.deviating_tensors);
}
