//! The one tensor store: named tensors in safetensors files, used by the oracle's cases and outputs, the
//! committed test vectors and the training checkpoints.
//!
//! - Values are held as `f64` with the dtype they are stored in ([`Tensor`]): every stored type widens to f64
//!   exactly and the writer rounds back to the tensor's dtype, so a round trip is bitwise.
//! - The header lists `__metadata__` and the tensors in sorted order, so equal tensors give equal bytes
//!   (`safetensors::serialize` orders its header by a `HashMap`).
//! - Typed access checks dtype and shape: [`TensorSet::get`], [`TensorSet::put`].
//! - Files are written atomically ([`write_atomic`]: a temporary sibling, fsync, rename).

pub mod codec;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use safetensors::tensor::TensorView;

pub use codec::StoredFloat;

use crate::error::{Error, Result};
use crate::reference::scalar::{to_f64, FloatType};

/// One tensor: its stored dtype, shape and values in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// The float type the values are stored in; the writer rounds them to it.
    pub dtype: FloatType,
    /// Dimensions, outermost first (e.g. [out, in] for a weight).
    pub shape: Vec<usize>,
    /// The values in row-major order, widened to f64 exactly.
    pub data: Vec<f64>,
}

impl Tensor {
    /// A tensor of f64 values to be stored in `dtype`; the length must equal the shape's product.
    pub fn new(dtype: FloatType, shape: Vec<usize>, data: Vec<f64>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Self { dtype, shape, data }
    }

    /// A tensor of `T` values, stored in `T`.
    pub fn of<T: StoredFloat>(shape: Vec<usize>, values: &[T]) -> Self {
        Self::new(T::FLOAT, shape, values.iter().map(|&v| to_f64(v)).collect())
    }

    /// Index of the first NaN or infinity, if any.
    pub fn first_non_finite(&self) -> Option<usize> {
        self.data.iter().position(|v| !v.is_finite())
    }

    /// Little-endian bytes in the tensor's dtype (f64 values round to nearest).
    fn bytes(&self) -> Vec<u8> {
        crate::with_float!(self.dtype, T => {
            let values: Vec<T> = self.data.iter().map(|&v| narrow(v)).collect();
            let mut out = Vec::new();
            T::to_le(&values, &mut out);
            out
        })
    }
}

/// `v` rounded to `T` (NaN stays NaN, overflow goes to infinity, as a cast does).
fn narrow<T: StoredFloat>(v: f64) -> T {
    T::from(v).unwrap_or_else(T::nan)
}

/// A set of named tensors plus the file's free-form string metadata (`__metadata__`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TensorSet {
    /// The tensors by name; a `BTreeMap`, so the header is written in sorted order.
    pub tensors: BTreeMap<String, Tensor>,
    /// The file's `__metadata__` strings (e.g. an oracle file's `config` and `verdict`).
    pub metadata: BTreeMap<String, String>,
}

impl TensorSet {
    /// Parses safetensors bytes; refuses non-float dtypes and malformed headers, never panics. `origin` names the
    /// source in error messages.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self> {
        let fmt = |reason: String| Error::Format(format!("{origin}: {reason}"));
        let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| fmt(format!("not a safetensors file ({e})")))?;
        let file = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| fmt(format!("not a safetensors file ({e})")))?;
        let mut set = TensorSet::default();
        if let Some(m) = meta.metadata() {
            set.metadata = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        }
        for (name, view) in file.iter() {
            let tensor = decode(name, &view).map_err(fmt)?;
            set.tensors.insert(name.to_string(), tensor);
        }
        Ok(set)
    }

    /// Reads and parses a file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Serializes to safetensors bytes with a sorted header (equal tensors, equal bytes).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut header = serde_json::Map::new();
        if !self.metadata.is_empty() {
            let meta: serde_json::Map<String, serde_json::Value> = self
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            header.insert("__metadata__".into(), serde_json::Value::Object(meta));
        }
        let mut data = Vec::new();
        for (name, t) in &self.tensors {
            if t.shape.iter().product::<usize>() != t.data.len() {
                return Err(Error::Format(format!(
                    "tensor {name}: {} values for shape {:?}",
                    t.data.len(),
                    t.shape
                )));
            }
            let start = data.len();
            data.extend(t.bytes());
            header.insert(
                name.clone(),
                serde_json::json!({
                    "dtype": codec::dtype(t.dtype).to_string(),
                    "shape": t.shape,
                    "data_offsets": [start, data.len()],
                }),
            );
        }
        let mut head = serde_json::to_vec(&serde_json::Value::Object(header))
            .map_err(|e| Error::Format(format!("cannot serialize the header: {e}")))?;
        // The format pads the header with spaces to a multiple of 8 bytes.
        head.resize(head.len().next_multiple_of(8), b' ');
        let mut out = Vec::with_capacity(8 + head.len() + data.len());
        out.extend((head.len() as u64).to_le_bytes());
        out.extend(head);
        out.extend(data);
        Ok(out)
    }

    /// Writes the file atomically ([`write_atomic`]).
    pub fn write_atomic(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }

    /// Adds `values` of shape `shape` as tensor `name`, stored in `T`.
    pub fn put<T: StoredFloat>(
        &mut self,
        name: impl Into<String>,
        shape: Vec<usize>,
        values: &[T],
    ) {
        self.tensors.insert(name.into(), Tensor::of(shape, values));
    }

    /// Tensor `name` as `T` values, refusing a missing tensor, another dtype or another shape.
    pub fn get<T: StoredFloat>(&self, name: &str, shape: &[usize]) -> Result<Vec<T>> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| Error::Format(format!("missing tensor {name}")))?;
        if t.dtype != T::FLOAT {
            return Err(Error::Format(format!(
                "tensor {name} is {}, expected {}",
                t.dtype,
                T::FLOAT
            )));
        }
        if t.shape != shape {
            return Err(Error::Format(format!(
                "tensor {name} has shape {:?}, expected {shape:?}",
                t.shape
            )));
        }
        Ok(t.data.iter().map(|&v| narrow(v)).collect())
    }
}

/// Writes `bytes` to `path` through a temporary sibling that is flushed to disk (fsync) and then renamed over
/// `path`, so a failure or a crash leaves either the old file or the new one, never a partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e: std::io::Error| Error::io(path, e);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io(std::io::Error::other("the output path has no file name")))?;
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

fn decode(name: &str, view: &TensorView<'_>) -> std::result::Result<Tensor, String> {
    let shape = view.shape().to_vec();
    let Some(dtype) = codec::float_type(view.dtype()) else {
        return Err(format!(
            "tensor {name} has dtype {}; only the float types F16, BF16, F32 and F64 are accepted",
            view.dtype()
        ));
    };
    let data = crate::with_float!(dtype, T => T::from_le(view.data())
        .into_iter()
        .map(to_f64)
        .collect::<Vec<_>>());
    if data.len() != shape.iter().product::<usize>() {
        return Err(format!(
            "tensor {name}: {} values for shape {shape:?}",
            data.len()
        ));
    }
    Ok(Tensor::new(dtype, shape, data))
}
