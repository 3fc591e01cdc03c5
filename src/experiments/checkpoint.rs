//! Checkpoints: one safetensors file holding the weights and Adam moments (in the run's float type), with the
//! training position (epoch, step, Adam step count, wall time) and the metrics so far as JSON metadata.
//! The shuffling order of epoch e is a function of (seed, e) only, so the epoch number is the RNG position.
//! Files go through the crate's one tensor store ([`crate::store`]): sorted header, typed reads that check dtype
//! and shape, and an atomic write (temporary file, fsync, rename), so an interrupted write never leaves a broken
//! checkpoint.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiments::metrics::EpochMetrics;
use crate::oracle::name_map::{NameMap, Role};
use crate::reference::scalar::from_f64;
use crate::reference::{Activation, AdamState, Gradients, Layer, Loss, Matrix, Network};
use crate::store::{StoredFloat, TensorSet};

/// Format tag stored in the metadata.
pub const FORMAT: &str = "dualprop-checkpoint-1";

/// Training position stored with the tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Epochs completed.
    pub epoch: usize,
    /// Steps completed over all epochs.
    pub global_step: usize,
    /// Wall time of all epochs so far.
    pub wall_seconds: f64,
    /// Every epoch's metrics line so far; a resume rewrites metrics.jsonl from it.
    pub metrics: Vec<EpochMetrics>,
}

/// Named tensors (name, shape, values) of a network and its Adam state.
fn tensors<T: StoredFloat>(net: &Network<T>, adam: &AdamState<T>) -> TensorSet {
    let mut set = TensorSet::default();
    let mut put_grads = |prefix: &str, g: &Gradients<T>| {
        for (k, (w, b)) in g.w.iter().zip(&g.b).enumerate() {
            set.put(
                format!("{prefix}W.{k}"),
                vec![w.rows(), w.cols()],
                w.as_slice(),
            );
            set.put(format!("{prefix}b.{k}"), vec![b.len()], b);
        }
    };
    let params = Gradients {
        w: net.layers.iter().map(|l| l.w.clone()).collect(),
        b: net.layers.iter().map(|l| l.b.clone()).collect(),
    };
    put_grads("net.", &params);
    put_grads("adam.m.", &adam.m);
    put_grads("adam.v.", &adam.v);
    set
}

fn json<S: Serialize>(value: &S) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Format(e.to_string()))
}

/// Writes a checkpoint atomically ([`crate::store::write_atomic`]).
pub fn save<T: StoredFloat>(
    path: &Path,
    net: &Network<T>,
    adam: &AdamState<T>,
    pos: &Position,
) -> Result<()> {
    let mut set = tensors(net, adam);
    let meta = &mut set.metadata;
    meta.insert("format".to_string(), FORMAT.to_string());
    meta.insert("adam_t".to_string(), adam.t.to_string());
    meta.insert("activation".to_string(), json(&net.activation)?);
    meta.insert("loss".to_string(), json(&net.loss)?);
    meta.insert("position".to_string(), json(pos)?);
    set.write_atomic(path)
}

/// Reads a checkpoint written by [`save`] for a network of the given widths.
pub fn load<T: StoredFloat>(
    path: &Path,
    widths: &[usize],
) -> Result<(Network<T>, AdamState<T>, Position)> {
    let bad = |what: String| Error::Format(format!("checkpoint {}: {what}", path.display()));
    let in_file = |e: Error| match e {
        Error::Format(what) => bad(what),
        other => other,
    };
    let set = TensorSet::read(path).map_err(in_file)?;
    let meta = &set.metadata;
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(bad(format!(
            "format is {:?}, expected {FORMAT}",
            meta.get("format")
        )));
    }
    let get_json = |key: &str| -> Result<&String> {
        meta.get(key).ok_or_else(|| bad(format!("missing {key}")))
    };
    let pos: Position =
        serde_json::from_str(get_json("position")?).map_err(|e| bad(e.to_string()))?;
    let t: u64 = get_json("adam_t")?
        .parse()
        .map_err(|e| bad(format!("adam_t: {e}")))?;
    let activation =
        serde_json::from_str(get_json("activation")?).map_err(|e| bad(e.to_string()))?;
    let loss = serde_json::from_str(get_json("loss")?).map_err(|e| bad(e.to_string()))?;
    let read_grads = |prefix: &str| -> Result<Gradients<T>> {
        let mut g = Gradients {
            w: vec![],
            b: vec![],
        };
        for (k, pair) in widths.windows(2).enumerate() {
            let (n_in, n_out) = (pair[0], pair[1]);
            let w = set.get(&format!("{prefix}W.{k}"), &[n_out, n_in]);
            g.w.push(Matrix::from_vec(n_out, n_in, w.map_err(in_file)?)?);
            let b = set.get(&format!("{prefix}b.{k}"), &[n_out]);
            g.b.push(b.map_err(in_file)?);
        }
        Ok(g)
    };
    let params = read_grads("net.")?;
    let layers = params
        .w
        .into_iter()
        .zip(params.b)
        .map(|(w, b)| Layer { w, b })
        .collect();
    let net = Network::new(layers, activation, loss)?;
    let adam = AdamState {
        m: read_grads("adam.m.")?,
        v: read_grads("adam.v.")?,
        t,
    };
    Ok((net, adam, pos))
}

/// Initial weights from a safetensors file with the oracle's tensor names: `W.{k}` \[out, in\] and `b.{k}` \[out\]
/// for k = 0..L-1 (any float dtype; values are rounded to nearest in `T`), ReLU hidden units and the
/// least-squares loss as in every run. Refuses a missing or extra layer, another shape and non-finite values.
pub fn load_weights<T: StoredFloat>(path: &Path, widths: &[usize]) -> Result<Network<T>> {
    load_weights_named(path, widths, None)
}

/// [`load_weights`] from a file read through a name map (`names`: a preset or a JSON map file, see
/// [`NameMap::from_arg`]), e.g. a PyTorch or flax checkpoint as exported.
pub fn load_weights_named<T: StoredFloat>(
    path: &Path,
    widths: &[usize],
    names: Option<&str>,
) -> Result<Network<T>> {
    let bad = |what: String| Error::Format(format!("initial weights {}: {what}", path.display()));
    let set = TensorSet::read(path)?;
    let set = match names {
        Some(arg) => NameMap::from_arg(arg)?.apply(&set, Role::Case)?,
        None => set,
    };
    let depth = widths.len().saturating_sub(1);
    if set.tensors.contains_key(&format!("W.{depth}")) {
        return Err(bad(format!(
            "holds W.{depth}, more layers than the {depth} of widths {widths:?}"
        )));
    }
    let tensor = |name: String, shape: &[usize]| -> Result<Vec<T>> {
        let t = set
            .tensors
            .get(&name)
            .ok_or_else(|| bad(format!("missing tensor {name}")))?;
        if t.shape != shape {
            return Err(bad(format!(
                "tensor {name} has shape {:?}, expected {shape:?}",
                t.shape
            )));
        }
        t.data.iter().map(|&v| from_f64::<T>(v)).collect()
    };
    let mut layers = Vec::with_capacity(depth);
    for (k, pair) in widths.windows(2).enumerate() {
        let (n_in, n_out) = (pair[0], pair[1]);
        let w = tensor(format!("W.{k}"), &[n_out, n_in])?;
        layers.push(Layer {
            w: Matrix::from_vec(n_out, n_in, w)?,
            b: tensor(format!("b.{k}"), &[n_out])?,
        });
    }
    Network::new(layers, Activation::Relu, Loss::LeastSquares)
}

/// FNV-1a hash of every weight and bias, in the checkpoint's byte order: equal hashes mean equal bits.
pub fn weights_hash<T: StoredFloat>(net: &Network<T>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = Vec::new();
    for layer in &net.layers {
        buf.clear();
        T::to_le(layer.w.as_slice(), &mut buf);
        T::to_le(&layer.b, &mut buf);
        for &byte in &buf {
            h ^= byte as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}
