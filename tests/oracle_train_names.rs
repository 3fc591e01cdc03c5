//! `train` and `reproduce` take the follow-up code's schedule names through the oracle's one parser, and
//! `--init-from FILE --names PRESET` starts from an exported checkpoint as it was saved.
//!
//! Independent routes: the schedule names are checked against the oracle configuration's parse of the same
//! word (the serde aliases on `Schedule`) and against the command line's spec.json; the renamed initial weights
//! are written by this test's own loops (PyTorch and flax layouts, the flax kernels transposed by hand) and
//! compared with the file read under our own names.

use std::path::PathBuf;
use std::process::Command;

use dualprop::experiments::checkpoint::{load_weights, load_weights_named};
use dualprop::experiments::spec::parse_schedule;
use dualprop::oracle::OracleConfig;
use dualprop::reference::{Activation, Init, Loss, Network, Schedule};
use dualprop::store::TensorSet;

fn oracle_schedule(name: &str) -> Schedule {
    let json = format!(
        r#"{{"method":"dp_plus","alpha":0.5,"beta":0.5,"K":2,"activation":"relu","schedule":"{name}"}}"#
    );
    OracleConfig::from_json(json.as_bytes()).unwrap().schedule
}

#[test]
fn one_parser_for_every_schedule_name() {
    let aliases = [
        ("fwbwK", Schedule::UpDown),
        ("fwK", Schedule::ForwardOnly),
        ("bwK", Schedule::BackwardOnly),
        ("oddeven", Schedule::OddEven),
        ("evenodd", Schedule::EvenOdd),
    ];
    for (name, schedule) in aliases {
        assert_eq!(parse_schedule(name), Ok(schedule), "{name}");
        assert_eq!(oracle_schedule(name), schedule, "{name}");
    }
    for schedule in Schedule::ALL {
        let serde_name = serde_json::to_value(schedule).unwrap();
        assert_eq!(parse_schedule(serde_name.as_str().unwrap()), Ok(schedule));
    }
    for (cli, schedule) in [
        ("up-down", Schedule::UpDown),
        ("forward", Schedule::ForwardOnly),
        ("backward", Schedule::BackwardOnly),
        ("odd-even", Schedule::OddEven),
        ("even-odd", Schedule::EvenOdd),
    ] {
        assert_eq!(parse_schedule(cli), Ok(schedule));
    }
    let e = parse_schedule("fwbw").unwrap_err();
    assert!(e.contains("fwbwK"), "{e}");
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "dualprop-train-names-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A seeded 784-8-10 network written under `name(k) = (weight, bias, transpose)`.
fn write_renamed(
    path: &std::path::Path,
    name: impl Fn(usize) -> (String, String, bool),
) -> Network<f32> {
    let net = Network::<f32>::init(
        &[784, 8, 10],
        Activation::Relu,
        Loss::LeastSquares,
        Init::LecunNormal,
        5,
    )
    .unwrap();
    let mut set = TensorSet::default();
    for (k, layer) in net.layers.iter().enumerate() {
        let (w, b, transpose) = name(k);
        let (r, c) = (layer.w.rows(), layer.w.cols());
        if transpose {
            let t: Vec<f32> = (0..c)
                .flat_map(|j| (0..r).map(move |i| (i, j)))
                .map(|(i, j)| layer.w.get(i, j))
                .collect();
            set.put(w, vec![c, r], &t);
        } else {
            set.put(w, vec![r, c], layer.w.as_slice());
        }
        set.put(b, vec![layer.b.len()], &layer.b);
    }
    set.write_atomic(path).unwrap();
    net
}

#[test]
fn init_from_exported_checkpoints_through_a_preset() {
    let dir = temp("lib");
    let widths = [784, 8, 10];
    let ours = dir.join("ours.safetensors");
    let net = write_renamed(&ours, |k| (format!("W.{k}"), format!("b.{k}"), false));
    assert_eq!(load_weights::<f32>(&ours, &widths).unwrap(), net);
    let torch = dir.join("torch.safetensors");
    write_renamed(&torch, |k| {
        (
            format!("{}.weight", 2 * k),
            format!("{}.bias", 2 * k),
            false,
        )
    });
    assert_eq!(
        load_weights_named::<f32>(&torch, &widths, Some("torch-sequential")).unwrap(),
        net
    );
    let flax = dir.join("flax.safetensors");
    write_renamed(&flax, |k| {
        (
            format!("params/d{k:02}/kernel"),
            format!("params/d{k:02}/bias"),
            true,
        )
    });
    assert_eq!(
        load_weights_named::<f32>(&flax, &widths, Some("flax")).unwrap(),
        net
    );
    // Without the map the exported file is refused, naming the first missing tensor.
    let e = load_weights::<f32>(&flax, &widths).unwrap_err();
    assert!(e.to_string().contains("missing tensor W.0"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The command line: `train --schedule fwbwK --init-from torch.safetensors --names torch-sequential` runs and
/// records our schedule name and the map in spec.json (a 784-8-10 net on 100 images of the embedded subset).
#[test]
fn train_command_takes_aliases_and_name_maps() {
    let dir = temp("cli");
    let torch = dir.join("torch.safetensors");
    write_renamed(&torch, |k| {
        (
            format!("{}.weight", 2 * k),
            format!("{}.bias", 2 * k),
            false,
        )
    });
    let out = dir.join("run");
    let status = Command::new(env!("CARGO_BIN_EXE_dualprop"))
        .args([
            "train",
            "--schedule",
            "fwbwK",
            "-K",
            "2",
            "--widths",
            "784,8,10",
            "--epochs",
            "1",
        ])
        .args([
            "--train-subset",
            "100",
            "--quiet",
            "--names",
            "torch-sequential",
            "--init-from",
        ])
        .arg(&torch)
        .arg("--out")
        .arg(&out)
        .env_remove("DUALPROP_MNIST")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("spec.json")).unwrap()).unwrap();
    assert_eq!(spec["schedule"], "up_down");
    assert_eq!(spec["init_names"], "torch-sequential");
    let _ = std::fs::remove_dir_all(&dir);
}
