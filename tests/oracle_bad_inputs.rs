//! Bad inputs to `dualprop verify` and `dualprop oracle`, run through the command line: each gives its documented
//! exit code and message, and none panics. docs/oracle.md's "Bad inputs" table is this test's output
//! (`cargo test --test oracle_bad_inputs -- --nocapture` prints it).
//!
//! Independent route: the process's exit status and stderr, as a user sees them, not the library's error values.

use std::path::{Path, PathBuf};
use std::process::Command;

use dualprop::oracle::vectors;
use dualprop::reference::FloatType;
use dualprop::store::{Tensor, TensorSet};

const VECTOR: &str = "dp_plus_ahalf_k30_tanh_f64";

struct Files {
    dir: PathBuf,
    case: PathBuf,
    config: PathBuf,
    expected: PathBuf,
}

fn files(test: &str) -> Files {
    let dir =
        std::env::temp_dir().join(format!("dualprop-bad-inputs-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let vdir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let [case, config, expected] = vectors::paths(&vdir, VECTOR);
    Files {
        dir,
        case,
        config,
        expected,
    }
}

impl Files {
    /// Writes `set` edited by `f` under `name` in the temporary directory.
    fn edited(&self, from: &Path, name: &str, f: impl FnOnce(&mut TensorSet)) -> PathBuf {
        let mut set = TensorSet::read(from).unwrap();
        f(&mut set);
        let path = self.dir.join(name);
        set.write_atomic(&path).unwrap();
        path
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// Runs dualprop; returns (exit code, the first line of stderr, or stdout's first line when stderr is empty).
fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dualprop"))
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert!(
        !stderr.contains("panicked") && !stdout.contains("panicked"),
        "{args:?} panicked: {stderr}"
    );
    let line = if stderr.trim().is_empty() {
        stdout.lines().next().unwrap_or("").to_string()
    } else {
        stderr.lines().next().unwrap_or("").to_string()
    };
    (
        out.status.code().expect("exited, not killed by a signal"),
        line,
    )
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn to_dtype(set: &mut TensorSet, float: FloatType) {
    for t in set.tensors.values_mut() {
        let rounded = Tensor::new(float, t.shape.clone(), t.data.clone());
        // Round through the store so the values are exactly the stored ones.
        let mut one = TensorSet::default();
        one.tensors.insert("t".into(), rounded);
        *t = TensorSet::from_bytes(&one.to_bytes().unwrap(), "t")
            .unwrap()
            .tensors["t"]
            .clone();
    }
}

/// A safetensors file with one I32 tensor named `x` (the store refuses non-float dtypes).
fn integer_file() -> Vec<u8> {
    let header = br#"{"x":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut head = header.to_vec();
    head.resize(head.len().next_multiple_of(8), b' ');
    let mut out = (head.len() as u64).to_le_bytes().to_vec();
    out.extend(head);
    out.extend(7i32.to_le_bytes());
    out
}

#[test]
fn bad_inputs_give_their_exit_code_and_message() {
    let f = files("table");
    let (case, cfg, expected) = (p(&f.case), p(&f.config), p(&f.expected));
    let bf16_case = f.edited(&f.case, "case_bf16.safetensors", |s| {
        to_dtype(s, FloatType::Bf16)
    });
    let bf16_case_nan = f.edited(&bf16_case, "case_bf16_nan.safetensors", |s| {
        s.tensors.get_mut("W.1").unwrap().data[4] = f64::NAN;
    });
    let f16_cand = f.edited(&f.expected, "cand_f16.safetensors", |s| {
        to_dtype(s, FloatType::F16)
    });
    let f16_cand_nan = f.edited(&f16_cand, "cand_f16_nan.safetensors", |s| {
        s.tensors.get_mut("z_plus.2").unwrap().data[0] = f64::NAN;
    });
    let mixed_case = f.edited(&f.case, "case_mixed.safetensors", |s| {
        let t = s.tensors.get_mut("W.0").unwrap();
        t.dtype = FloatType::F32;
    });
    let mixed_cand = f.edited(&f.expected, "cand_mixed.safetensors", |s| {
        s.tensors.get_mut("z_plus.1").unwrap().dtype = FloatType::Bf16;
        s.tensors.get_mut("grad_W.0").unwrap().dtype = FloatType::F32;
    });
    let no_y = f.edited(&f.case, "case_no_y.safetensors", |s| {
        s.tensors.remove("y");
    });
    let wrong_shape = f.edited(&f.expected, "cand_shape.safetensors", |s| {
        let t = s.tensors.get_mut("grad_W.1").unwrap();
        t.shape.reverse();
    });
    let unknown_name = f.edited(&f.expected, "cand_unknown.safetensors", |s| {
        let t = s.tensors["z_plus.1"].clone();
        s.tensors.insert("z_plus.9".into(), t);
    });
    let torch = f.edited(&f.case, "torch.safetensors", |s| {
        for k in 0..3 {
            let w = s.tensors.remove(&format!("W.{k}")).unwrap();
            let b = s.tensors.remove(&format!("b.{k}")).unwrap();
            s.tensors.insert(format!("{}.weight", 2 * k), w);
            s.tensors.insert(format!("{}.bias", 2 * k), b);
        }
    });
    let torch_two = f.edited(&torch, "torch_two.safetensors", |s| {
        let (w, b) = (s.tensors["0.weight"].clone(), s.tensors["0.bias"].clone());
        s.tensors.insert("decoder.0.weight".into(), w);
        s.tensors.insert("decoder.0.bias".into(), b);
    });
    let flax_untransposed = f.edited(&torch, "flax_untransposed.safetensors", |s| {
        for k in 0..3 {
            let w = s.tensors.remove(&format!("{}.weight", 2 * k)).unwrap();
            let b = s.tensors.remove(&format!("{}.bias", 2 * k)).unwrap();
            s.tensors.insert(format!("params/d{k:02}/kernel"), w);
            s.tensors.insert(format!("params/d{k:02}/bias"), b);
        }
    });
    let ambiguous_map = f.write(
        "ambiguous.json",
        br#"{"W.0": "0.weight", "W.1": "0.weight"}"#,
    );
    let missing_map = f.write(
        "missing.json",
        br#"{"W.0": "0.weight", "b.0": "0.bias", "W.1": "2.weight", "b.1": "2.bias", "W.2": "4.wieght", "b.2": "4.bias"}"#,
    );
    let not_json_map = f.write("not_json.json", b"W.0 = 0.weight");
    let garbage = f.write("garbage.safetensors", b"this is not a safetensors file");
    let integer = f.write("integer.safetensors", &integer_file());
    let missing_file = f.dir.join("does_not_exist.safetensors");
    let out = f.dir.join("out.safetensors");

    let v = |extra: &[&str], c: &str, cand: &str| -> (i32, String) {
        let mut args = vec!["verify", c, cand, "--config", cfg, "--format", "text"];
        args.extend_from_slice(extra);
        run(&args)
    };
    // (what, (exit, line), expected exit, expected substring)
    let rows: Vec<(&str, (i32, String), i32, &str)> = vec![
        (
            "bf16 case with a NaN in W.1",
            v(&[], p(&bf16_case_nan), expected),
            2,
            "non-finite value in W.1 at flat index 4",
        ),
        (
            "f16 candidate with a NaN in z_plus.2",
            v(&[], case, p(&f16_cand_nan)),
            1,
            "disagrees",
        ),
        (
            "f16 candidate (oracle's output rounded to f16), f64 case",
            v(&[], case, p(&f16_cand)),
            0,
            "agrees",
        ),
        (
            "bf16 case, f64 candidate",
            v(&[], p(&bf16_case), expected),
            1,
            "disagrees",
        ),
        (
            "case mixing f32 (W.0) and f64",
            v(&[], p(&mixed_case), expected),
            2,
            "a case has one dtype",
        ),
        (
            "candidate mixing bf16, f32 and f64 tensors",
            v(&[], case, p(&mixed_cand)),
            0,
            "agrees",
        ),
        (
            "case without y",
            v(&[], p(&no_y), expected),
            2,
            "missing tensor y",
        ),
        (
            "candidate grad_W.1 transposed",
            v(&[], case, p(&wrong_shape)),
            2,
            "shape mismatch in grad_W.1",
        ),
        (
            "candidate with an unknown tensor z_plus.9",
            v(&[], case, p(&unknown_name)),
            2,
            "unexpected tensor z_plus.9",
        ),
        (
            "unknown preset --names pytorch",
            v(&["--names", "pytorch"], p(&torch), expected),
            2,
            "is neither a preset",
        ),
        (
            "JSON map with two of ours on one of theirs",
            v(&["--names", p(&ambiguous_map)], p(&torch), expected),
            2,
            "ambiguous: W.0 and W.1",
        ),
        (
            "torch-sequential on two Sequentials (0.weight, decoder.0.weight)",
            v(&["--names", "torch-sequential"], p(&torch_two), expected),
            2,
            "ambiguous: preset torch-sequential",
        ),
        (
            "JSON map naming a tensor the file lacks",
            v(&["--names", p(&missing_map)], p(&torch), expected),
            2,
            "which the file does not hold",
        ),
        (
            "map file that is not JSON",
            v(&["--names", p(&not_json_map)], p(&torch), expected),
            2,
            "not a JSON object",
        ),
        (
            "flax preset on kernels stored [out, in]",
            v(&["--names", "flax"], p(&flax_untransposed), expected),
            2,
            "a wrong transpose?",
        ),
        (
            "torch-sequential state_dict without --names",
            v(&[], p(&torch), expected),
            2,
            "missing tensor W.0",
        ),
        (
            "torch-sequential state_dict with --names torch-sequential",
            v(&["--names", "torch-sequential"], p(&torch), expected),
            0,
            "agrees",
        ),
        (
            "case file that does not exist",
            v(&[], p(&missing_file), expected),
            2,
            "cannot read or write",
        ),
        (
            "case file of text",
            v(&[], p(&garbage), expected),
            2,
            "not a safetensors file",
        ),
        (
            "candidate that is a directory",
            v(&[], case, p(&f.dir)),
            2,
            "cannot read or write",
        ),
        (
            "candidate with an I32 tensor",
            v(&[], case, p(&integer)),
            2,
            "only the float types",
        ),
        (
            "alpha = 1.5",
            v(&["--alpha", "1.5"], case, expected),
            2,
            "alpha = 1.5 is outside [0, 1]",
        ),
        (
            "alpha = -0.1",
            v(&["--alpha", "-0.1"], case, expected),
            2,
            "outside [0, 1]",
        ),
        (
            "hidden_alpha = 1.5",
            v(&["--hidden-alpha", "1.5"], case, expected),
            2,
            "hidden_alpha = 1.5 is outside [0, 1]",
        ),
        (
            "hidden_alpha = nan",
            v(&["--hidden-alpha", "nan"], case, expected),
            2,
            "bad configuration",
        ),
        (
            "beta = 0",
            v(&["--beta", "0"], case, expected),
            2,
            "beta = 0 must be finite and > 0",
        ),
        (
            "beta = -1",
            v(&["--beta", "-1"], case, expected),
            2,
            "must be finite and > 0",
        ),
        (
            "beta = nan",
            v(&["--beta", "nan"], case, expected),
            2,
            "bad configuration",
        ),
        ("K = 0", v(&["-K", "0"], case, expected), 2, "at least 1"),
        (
            "oracle --names flax on a torch layout",
            run(&[
                "oracle",
                p(&torch),
                "--config",
                cfg,
                "--names",
                "flax",
                "--out",
                p(&out),
            ]),
            2,
            "preset flax found no layer",
        ),
    ];
    println!("| input | exit | message (first line of stderr, or of the report) |");
    println!("| --- | --- | --- |");
    let dir = f.dir.display().to_string();
    for (what, (code, line), want_code, needle) in &rows {
        let shown = line.replace(&dir, "$TMP");
        println!("| {what} | {code} | `{shown}` |");
        assert_eq!(code, want_code, "{what}: {line}");
        assert!(line.contains(needle), "{what}: {line:?} lacks {needle:?}");
    }
    assert!(!out.exists(), "a failed oracle run wrote its output");
    let _ = std::fs::remove_dir_all(&f.dir);
}

/// A reader that closes stdout early (`dualprop oracle ... | head -1`) does not make dualprop panic (`println!`
/// does on a broken pipe; found while writing docs/oracle.md's examples).
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let f = files("pipe");
    let out = f.dir.join("pipe_out.safetensors");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dualprop"))
        .args([
            "oracle",
            p(&f.case),
            "--config",
            p(&f.config),
            "--out",
            p(&out),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let result = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    let _ = std::fs::remove_dir_all(&f.dir);
}
