//! The tensor store (src/store/): every float type round-trips bitwise, typed reads check dtype and shape, the
//! header is deterministic, and checkpoints written before the store (by `safetensors::serialize`, whose header
//! order follows a `HashMap`) still load.

use dualprop::experiments::checkpoint::{self, Position};
use dualprop::reference::scalar::{bf16, f16};
use dualprop::reference::{Activation, AdamState, FloatType, Init, Loss, Network};
use dualprop::store::{StoredFloat, TensorSet};
use dualprop::Error;

/// Values that exercise the codec: signed zeros, subnormals and overflow of the narrow types, infinities.
fn awkward() -> Vec<f64> {
    vec![
        0.0,
        -0.0,
        1.0,
        -2.5,
        1e-7,
        6.0e-8,
        65504.0,
        3.0e38,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ]
}

/// Second route: the bytes are decoded here with the types' own `from_le_bytes`, not with the store's codec.
fn direct(bytes: &[u8], name: &str, float: FloatType) -> Vec<f64> {
    let file = safetensors::SafeTensors::deserialize(bytes).unwrap();
    let data = file.tensor(name).unwrap().data().to_vec();
    match float {
        FloatType::F16 => data
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f64())
            .collect(),
        FloatType::Bf16 => data
            .chunks_exact(2)
            .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f64())
            .collect(),
        FloatType::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect(),
        FloatType::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect(),
    }
}

fn round_trip<T: StoredFloat>() {
    let values: Vec<T> = awkward().into_iter().map(|v| T::from(v).unwrap()).collect();
    let mut set = TensorSet::default();
    set.put("v", vec![2, 5], &values);
    set.metadata.insert("note".into(), "kept".into());
    let bytes = set.to_bytes().unwrap();
    let back = TensorSet::from_bytes(&bytes, "test").unwrap();
    assert_eq!(back, set, "{}", T::NAME);
    assert_eq!(back.to_bytes().unwrap(), bytes, "{}: not bitwise", T::NAME);
    let read: Vec<T> = back.get("v", &[2, 5]).unwrap();
    let bits = |v: &[T]| {
        v.iter()
            .map(|x| x.to_f64().unwrap().to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&read), bits(&values), "{}", T::NAME);
    let widened: Vec<f64> = values.iter().map(|x| x.to_f64().unwrap()).collect();
    assert_eq!(direct(&bytes, "v", T::FLOAT), widened, "{}", T::NAME);
}

#[test]
fn every_float_type_round_trips_bitwise() {
    round_trip::<f16>();
    round_trip::<bf16>();
    round_trip::<f32>();
    round_trip::<f64>();
}

#[test]
fn typed_reads_check_dtype_shape_and_presence() {
    let mut set = TensorSet::default();
    set.put("w", vec![2, 3], &[1.0f32; 6]);
    assert!(set.get::<f32>("w", &[2, 3]).is_ok());
    let refused = |r: Result<Vec<f64>, Error>, needle: &str| match r {
        Err(Error::Format(m)) => assert!(m.contains(needle), "{m:?} lacks {needle:?}"),
        other => panic!("expected a Format error with {needle:?}, got {other:?}"),
    };
    refused(
        set.get::<f64>("w", &[2, 3]),
        "tensor w is f32, expected f64",
    );
    match set.get::<f32>("w", &[3, 2]) {
        Err(Error::Format(m)) => assert!(m.contains("shape [2, 3], expected [3, 2]"), "{m}"),
        other => panic!("{other:?}"),
    }
    refused(set.get::<f64>("b", &[2]), "missing tensor b");
}

#[test]
fn equal_tensors_give_equal_bytes_whatever_the_insertion_order() {
    let (mut a, mut b) = (TensorSet::default(), TensorSet::default());
    for name in ["x", "W.1", "b.0", "W.0"] {
        a.put(name, vec![1], &[1.5f64]);
    }
    for name in ["W.0", "b.0", "W.1", "x"] {
        b.put(name, vec![1], &[1.5f64]);
    }
    assert_eq!(a.to_bytes().unwrap(), b.to_bytes().unwrap());
}

/// A checkpoint re-serialized the way it was written before the store (`safetensors::serialize`, header in
/// `HashMap` order) loads to the same network and Adam state, bit for bit.
#[test]
fn checkpoints_written_before_the_store_still_load() {
    let widths = [5, 4, 3];
    let net = Network::<f32>::init(
        &widths,
        Activation::Tanh,
        Loss::LeastSquares,
        Init::TorchDefault,
        3,
    )
    .unwrap();
    let mut adam = AdamState::new(&net);
    adam.t = 7;
    let pos = Position {
        epoch: 2,
        global_step: 14,
        wall_seconds: 1.25,
        metrics: Vec::new(),
    };
    let dir = std::env::temp_dir().join(format!("dualprop-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("checkpoint.safetensors");
    checkpoint::save(&path, &net, &adam, &pos).unwrap();
    let set = TensorSet::read(&path).unwrap();
    let raw: Vec<(String, Vec<usize>, Vec<u8>)> = set
        .tensors
        .iter()
        .map(|(name, t)| {
            let values: Vec<f32> = set.get(name, &t.shape).unwrap();
            let mut bytes = Vec::new();
            f32::to_le(&values, &mut bytes);
            (name.clone(), t.shape.clone(), bytes)
        })
        .collect();
    let views = raw.iter().map(|(name, shape, bytes)| {
        let view =
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .unwrap();
        (name.clone(), view)
    });
    let meta: std::collections::HashMap<String, String> =
        set.metadata.clone().into_iter().collect();
    let old = dir.join("old.safetensors");
    std::fs::write(&old, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
    let (net2, adam2, pos2) = checkpoint::load::<f32>(&old, &widths).unwrap();
    assert_eq!(
        checkpoint::weights_hash(&net2),
        checkpoint::weights_hash(&net)
    );
    assert_eq!(net2, net);
    assert_eq!(adam2, adam);
    assert_eq!(pos2, pos);
    // The run's float type is checked: an f32 checkpoint is refused for an f64 run, with a typed error.
    assert!(matches!(
        checkpoint::load::<f64>(&old, &widths),
        Err(Error::Format(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
