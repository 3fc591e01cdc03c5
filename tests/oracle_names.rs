//! Name maps read exported checkpoints without renaming: a PyTorch `nn.Sequential` state_dict, a flattened flax
//! params tree (kernel [in, out]) and a user's JSON map give back the committed case bit for bit; bad maps give
//! typed errors naming the tensor.
//!
//! Independent route: each foreign layout is written by hand here (the renaming and the transpose done by this
//! test's own loops), and the map's result is compared with the committed case file as read directly.

use std::path::Path;

use dualprop::oracle::name_map::{NameMap, Preset, Role};
use dualprop::oracle::{vectors, Case};
use dualprop::store::{Tensor, TensorSet};
use dualprop::Error;

fn committed() -> TensorSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let [case, _, _] = vectors::paths(&dir, "dp_plus_ahalf_k30_tanh_f64");
    TensorSet::read(&case).unwrap()
}

/// [r, c] -> [c, r], written out element by element.
fn transposed(t: &Tensor) -> Tensor {
    let (r, c) = (t.shape[0], t.shape[1]);
    let mut data = vec![0.0; r * c];
    for i in 0..r {
        for j in 0..c {
            data[j * r + i] = t.data[i * c + j];
        }
    }
    Tensor::new(t.dtype, vec![c, r], data)
}

/// The committed case with its layers renamed by `name(k) -> (weight, bias, transpose)`.
fn exported(name: impl Fn(usize) -> (String, String, bool)) -> TensorSet {
    let case = committed();
    let mut out = TensorSet::default();
    for (key, t) in &case.tensors {
        let renamed = key
            .strip_prefix("W.")
            .map(|k| {
                let (w, _, tr) = name(k.parse().unwrap());
                (w, if tr { transposed(t) } else { t.clone() })
            })
            .or_else(|| {
                key.strip_prefix("b.")
                    .map(|k| (name(k.parse().unwrap()).1, t.clone()))
            })
            .unwrap_or_else(|| (key.clone(), t.clone()));
        out.tensors.insert(renamed.0, renamed.1);
    }
    out
}

fn read_back(set: &TensorSet, map: &NameMap) -> Case {
    Case::from_tensors(&map.apply(set, Role::Case).unwrap()).unwrap()
}

fn expected() -> Case {
    Case::from_tensors(&committed()).unwrap()
}

#[test]
fn torch_sequential_state_dict_skipping_activation_indices() {
    // nn.Sequential(Linear, Tanh, Linear, Tanh, Linear): the Linear layers are modules 0, 2, 4.
    let set = exported(|k| {
        (
            format!("{}.weight", 2 * k),
            format!("{}.bias", 2 * k),
            false,
        )
    });
    assert_eq!(
        read_back(&set, &NameMap::Preset(Preset::TorchSequential)),
        expected()
    );
    // Nested in a model (`self.net = nn.Sequential(...)`), with indices past 9 (10 < 2 as text).
    let set = exported(|k| {
        let i = [3, 7, 12][k];
        (format!("net.{i}.weight"), format!("net.{i}.bias"), false)
    });
    assert_eq!(
        read_back(&set, &NameMap::from_arg("torch-sequential").unwrap()),
        expected()
    );
}

#[test]
fn flax_params_with_the_follow_up_codes_layer_names() {
    // The follow-up code's MLP: the first Dense `d00` inside an nn.Sequential (`layers_0`), then `d01`, `d02`.
    let prefix = |k: usize| match k {
        0 => "params/layers_0/d00".to_string(),
        k => format!("params/d{k:02}"),
    };
    let set = exported(|k| {
        (
            format!("{}/kernel", prefix(k)),
            format!("{}/bias", prefix(k)),
            true,
        )
    });
    assert_eq!(
        read_back(&set, &NameMap::from_arg("flax").unwrap()),
        expected()
    );
    // flax's automatic names with a '.' separator, ordered as numbers.
    let set = exported(|k| {
        let i = [1, 2, 10][k];
        (format!("Dense_{i}.kernel"), format!("Dense_{i}.bias"), true)
    });
    assert_eq!(read_back(&set, &NameMap::Preset(Preset::Flax)), expected());
}

#[test]
fn json_map_with_a_transpose() {
    let set = exported(|k| match k {
        1 => ("enc.kernel".into(), "enc.b".into(), true),
        k => (format!("layer{k}.w"), format!("layer{k}.b"), false),
    });
    let map = NameMap::from_json(
        br#"{"W.0": "layer0.w", "b.0": "layer0.b", "W.1": {"name": "enc.kernel", "transpose": true},
             "b.1": "enc.b", "W.2": "layer2.w", "b.2": {"name": "layer2.b"}}"#,
    )
    .unwrap();
    assert_eq!(read_back(&set, &map), expected());
}

#[test]
fn a_candidate_preset_maps_gradients() {
    let mut set = TensorSet::default();
    set.tensors.insert(
        "0.weight".into(),
        Tensor::new(
            dualprop::reference::FloatType::F32,
            vec![2, 3],
            vec![0.0; 6],
        ),
    );
    set.tensors.insert(
        "0.bias".into(),
        Tensor::new(dualprop::reference::FloatType::F32, vec![2], vec![0.0; 2]),
    );
    let out = NameMap::Preset(Preset::TorchSequential)
        .apply(&set, Role::Candidate)
        .unwrap();
    assert_eq!(
        out.tensors.keys().collect::<Vec<_>>(),
        ["grad_W.0", "grad_b.0"]
    );
}

fn name_map_error(r: Result<impl std::fmt::Debug, Error>, needle: &str) {
    match r {
        Err(Error::Format(msg)) => {
            assert!(msg.starts_with("name map"), "{msg}");
            assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
        }
        other => panic!("expected a name-map error containing {needle:?}, got {other:?}"),
    }
}

#[test]
fn bad_maps_are_typed_errors() {
    let torch = exported(|k| {
        (
            format!("{}.weight", 2 * k),
            format!("{}.bias", 2 * k),
            false,
        )
    });
    name_map_error(NameMap::from_arg("pytorch"), "neither a preset");
    name_map_error(
        NameMap::from_json(br#"{"W.0": "0.weight", "W.1": "0.weight"}"#),
        "ambiguous: W.0 and W.1 are both mapped",
    );
    name_map_error(
        NameMap::from_json(br#"{"W.0": "0.weight", "W.0": "2.weight"}"#),
        "ambiguous: W.0 is given twice",
    );
    name_map_error(NameMap::from_json(b"[1, 2]"), "not a JSON object");
    let missing = NameMap::from_json(br#"{"W.0": "0.wieght"}"#).unwrap();
    name_map_error(
        missing.apply(&torch, Role::Case),
        "\"0.wieght\", which the file does not hold",
    );
    // Two Sequentials in one model: `encoder.0` and `decoder.0` carry the same number.
    let mut two = torch.clone();
    let w = two.tensors["0.weight"].clone();
    let b = two.tensors["0.bias"].clone();
    two.tensors.insert("decoder.0.weight".into(), w);
    two.tensors.insert("decoder.0.bias".into(), b);
    name_map_error(
        NameMap::Preset(Preset::TorchSequential).apply(&two, Role::Case),
        "ambiguous: preset torch-sequential cannot order layers",
    );
    // The flax preset on a PyTorch layout renamed to kernels: the transpose makes the shapes not fit.
    let not_transposed = exported(|k| (format!("d{k:02}/kernel"), format!("d{k:02}/bias"), false));
    name_map_error(
        NameMap::Preset(Preset::Flax).apply(&not_transposed, Role::Case),
        "a wrong transpose?",
    );
    // A layer without bias, and a transpose asked of a vector.
    let mut no_bias = torch.clone();
    no_bias.tensors.remove("2.bias");
    name_map_error(
        NameMap::Preset(Preset::TorchSequential).apply(&no_bias, Role::Case),
        "2.weight has no bias",
    );
    let vector = NameMap::from_json(br#"{"b.0": {"name": "0.bias", "transpose": true}}"#).unwrap();
    name_map_error(vector.apply(&torch, Role::Case), "only rank 2 transposes");
    name_map_error(
        NameMap::Preset(Preset::Flax).apply(&torch, Role::Case),
        "preset flax found no layer",
    );
}
