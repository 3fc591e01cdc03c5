//! A case: one network and one batch, read from named tensors `W.{k}` [out, in], `b.{k}` \[out\] (k = 0..L-1,
//! PyTorch's layer list), `x` [batch, in] and `y` [batch, out]. Every name must be present, no other name may be.

use crate::error::{Error, Result};
use crate::reference::scalar::{from_f64, FloatType, Scalar};
use crate::reference::{Activation, Layer, Loss, Matrix, Network};
use crate::store::{Tensor, TensorSet};

/// The tensors of a case, checked for names, ranks, dtype and finiteness (shape chaining is checked when the
/// network is built).
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// (W_k, b_k) for k = 0..L-1, each W as (rows, cols, row-major values).
    pub layers: Vec<(Tensor, Tensor)>,
    /// The input batch x, shape [batch, in].
    pub x: Tensor,
    /// The targets y, shape [batch, out].
    pub y: Tensor,
    /// The dtype shared by all of the case's tensors.
    pub dtype: FloatType,
}

impl Case {
    /// Reads a case from parsed tensors.
    pub fn from_tensors(set: &TensorSet) -> Result<Self> {
        let t = &set.tensors;
        let mut depth = 0;
        while t.contains_key(&format!("W.{depth}")) {
            depth += 1;
        }
        if depth == 0 {
            return Err(Error::Format("missing tensor W.0 (no layers)".into()));
        }
        let get = |name: &str, rank: usize| -> Result<Tensor> {
            let tensor = t
                .get(name)
                .ok_or_else(|| Error::Format(format!("missing tensor {name}")))?;
            if tensor.shape.len() != rank {
                return Err(Error::Format(format!(
                    "tensor {name} has shape {:?}; expected rank {rank}",
                    tensor.shape
                )));
            }
            if let Some(index) = tensor.first_non_finite() {
                return Err(Error::NonFinite {
                    what: name.into(),
                    index,
                });
            }
            Ok(tensor.clone())
        };
        let mut layers = Vec::with_capacity(depth);
        for k in 0..depth {
            layers.push((get(&format!("W.{k}"), 2)?, get(&format!("b.{k}"), 1)?));
        }
        let (x, y) = (get("x", 2)?, get("y", 2)?);
        let expected: std::collections::BTreeSet<String> = (0..depth)
            .flat_map(|k| [format!("W.{k}"), format!("b.{k}")])
            .chain(["x".into(), "y".into()])
            .collect();
        if let Some(extra) = t.keys().find(|n| !expected.contains(*n)) {
            return Err(Error::Format(format!(
                "unexpected tensor {extra} in the case (expected W.0..W.{}, b.0..b.{}, x, y)",
                depth - 1,
                depth - 1
            )));
        }
        let dtype = x.dtype;
        if let Some((name, other)) = t.iter().find(|(_, v)| v.dtype != dtype) {
            return Err(Error::Format(format!(
                "tensor {name} is {} but x is {}: a case has one dtype",
                other.dtype.name(),
                dtype.name()
            )));
        }
        Ok(Self {
            layers,
            x,
            y,
            dtype,
        })
    }

    /// Reads and checks a case file.
    pub fn read(path: &std::path::Path) -> Result<Self> {
        Self::from_tensors(&TensorSet::read(path)?)
    }

    /// Number of weight layers L.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// The network in float type `T` (shapes chained and checked by [`Network::new`]).
    pub fn network<T: Scalar>(&self, activation: Activation, loss: Loss) -> Result<Network<T>> {
        let mut layers = Vec::with_capacity(self.depth());
        for (w, b) in &self.layers {
            layers.push(Layer {
                w: matrix(w)?,
                b: convert(&b.data)?,
            });
        }
        Network::new(layers, activation, loss)
    }

    /// The batch (x, y) in float type `T`, checked against the network.
    pub fn batch<T: Scalar>(&self, net: &Network<T>) -> Result<(Matrix<T>, Matrix<T>)> {
        let (x, y) = (matrix(&self.x)?, matrix(&self.y)?);
        net.validate_batch(&x, &y)?;
        Ok((x, y))
    }

    /// The case as tensors again (for writing committed vectors).
    pub fn to_tensors(&self) -> TensorSet {
        let mut set = TensorSet::default();
        for (k, (w, b)) in self.layers.iter().enumerate() {
            set.tensors.insert(format!("W.{k}"), w.clone());
            set.tensors.insert(format!("b.{k}"), b.clone());
        }
        set.tensors.insert("x".into(), self.x.clone());
        set.tensors.insert("y".into(), self.y.clone());
        set
    }
}

fn convert<T: Scalar>(values: &[f64]) -> Result<Vec<T>> {
    values.iter().map(|&v| from_f64(v)).collect()
}

/// A rank-2 tensor as a matrix in `T`.
pub fn matrix<T: Scalar>(t: &Tensor) -> Result<Matrix<T>> {
    Matrix::from_vec(t.shape[0], t.shape[1], convert(&t.data)?)
}
