//! Checkpoints: one safetensors file holding the weights and Adam moments (in the run's float type), with the
//! training position (epoch, step, Adam step count, wall time) and the metrics so far as JSON metadata.
//! The shuffling order of epoch e is a function of (seed, e) only, so the epoch number is the RNG position.
//! Files are written to a temporary name and renamed, so an interrupted write never leaves a broken checkpoint.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiments::metrics::EpochMetrics;
use crate::reference::{AdamState, Gradients, Layer, Matrix, Network, Scalar};

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
    pub metrics: Vec<EpochMetrics>,
}

/// A float type a checkpoint can hold.
pub trait CheckpointFloat: Scalar {
    const DTYPE: Dtype;
    fn to_le(values: &[Self], out: &mut Vec<u8>);
    fn from_le(bytes: &[u8]) -> Vec<Self>;
}

impl CheckpointFloat for f32 {
    const DTYPE: Dtype = Dtype::F32;
    fn to_le(values: &[Self], out: &mut Vec<u8>) {
        values
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    }
    fn from_le(bytes: &[u8]) -> Vec<Self> {
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }
}

impl CheckpointFloat for f64 {
    const DTYPE: Dtype = Dtype::F64;
    fn to_le(values: &[Self], out: &mut Vec<u8>) {
        values
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    }
    fn from_le(bytes: &[u8]) -> Vec<Self> {
        bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect()
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Named tensors (name, shape, values) of a network and its Adam state.
fn tensors<T: Scalar>(net: &Network<T>, adam: &AdamState<T>) -> Vec<(String, Vec<usize>, Vec<T>)> {
    let mut out = Vec::new();
    let mut push_grads = |prefix: &str, g: &Gradients<T>| {
        for (k, (w, b)) in g.w.iter().zip(&g.b).enumerate() {
            out.push((
                format!("{prefix}W.{k}"),
                vec![w.rows(), w.cols()],
                w.as_slice().to_vec(),
            ));
            out.push((format!("{prefix}b.{k}"), vec![b.len()], b.clone()));
        }
    };
    let params = Gradients {
        w: net.layers.iter().map(|l| l.w.clone()).collect(),
        b: net.layers.iter().map(|l| l.b.clone()).collect(),
    };
    push_grads("net.", &params);
    push_grads("adam.m.", &adam.m);
    push_grads("adam.v.", &adam.v);
    out
}

/// Writes a checkpoint atomically.
pub fn save<T: CheckpointFloat>(
    path: &Path,
    net: &Network<T>,
    adam: &AdamState<T>,
    pos: &Position,
) -> Result<()> {
    let named = tensors(net, adam);
    let bytes: Vec<Vec<u8>> = named
        .iter()
        .map(|(_, _, v)| {
            let mut b = Vec::with_capacity(v.len() * 8);
            T::to_le(v, &mut b);
            b
        })
        .collect();
    let views = named
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), b)| {
            TensorView::new(T::DTYPE, shape.clone(), b)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::Format(format!("checkpoint tensor {name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    meta.insert("adam_t".to_string(), adam.t.to_string());
    meta.insert(
        "activation".to_string(),
        serde_json::to_string(&net.activation).unwrap_or_default(),
    );
    meta.insert(
        "loss".to_string(),
        serde_json::to_string(&net.loss).unwrap_or_default(),
    );
    meta.insert(
        "position".to_string(),
        serde_json::to_string(pos).map_err(|e| Error::Format(e.to_string()))?,
    );
    let data = safetensors::tensor::serialize(views, Some(meta)).map_err(|e| io_err(path, e))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data).map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
}

/// Reads a checkpoint written by [`save`] for a network of the given widths.
pub fn load<T: CheckpointFloat>(
    path: &Path,
    widths: &[usize],
) -> Result<(Network<T>, AdamState<T>, Position)> {
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    let bad = |what: String| Error::Format(format!("checkpoint {}: {what}", path.display()));
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
    let meta = header
        .metadata()
        .clone()
        .ok_or_else(|| bad("no metadata".into()))?;
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
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let read = |name: String, shape: Vec<usize>| -> Result<Vec<T>> {
        let view = st.tensor(&name).map_err(|e| bad(format!("{name}: {e}")))?;
        if view.dtype() != T::DTYPE {
            return Err(bad(format!(
                "{name} is {:?}, the run uses {:?}",
                view.dtype(),
                T::DTYPE
            )));
        }
        if view.shape() != shape.as_slice() {
            return Err(bad(format!(
                "{name} has shape {:?}, expected {shape:?}",
                view.shape()
            )));
        }
        Ok(T::from_le(view.data()))
    };
    let read_grads = |prefix: &str| -> Result<Gradients<T>> {
        let mut g = Gradients {
            w: vec![],
            b: vec![],
        };
        for (k, pair) in widths.windows(2).enumerate() {
            let (n_in, n_out) = (pair[0], pair[1]);
            g.w.push(Matrix::from_vec(
                n_out,
                n_in,
                read(format!("{prefix}W.{k}"), vec![n_out, n_in])?,
            )?);
            g.b.push(read(format!("{prefix}b.{k}"), vec![n_out])?);
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

/// FNV-1a hash of every weight and bias, in the checkpoint's byte order: equal hashes mean equal bits.
pub fn weights_hash<T: CheckpointFloat>(net: &Network<T>) -> String {
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
