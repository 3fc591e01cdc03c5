//! Named tensors in safetensors files: read (f32 or f64, any other dtype refused), write, and atomic file output.
//!
//! Values are held as `f64` whatever the file's dtype: f32 -> f64 is exact, and the writer rounds back
//! to the dtype it is asked for, so a round trip through this module is lossless.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};

use crate::error::{Error, Result};

/// The float types a case or an output file may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FloatType {
    F32,
    F64,
}

impl FloatType {
    pub fn name(self) -> &'static str {
        match self {
            FloatType::F32 => "f32",
            FloatType::F64 => "f64",
        }
    }

    /// The dtype's name in a safetensors header.
    fn dtype_name(self) -> &'static str {
        match self {
            FloatType::F32 => "F32",
            FloatType::F64 => "F64",
        }
    }

    fn size(self) -> usize {
        match self {
            FloatType::F32 => 4,
            FloatType::F64 => 8,
        }
    }
}

/// One tensor: its file dtype, shape and values in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub dtype: FloatType,
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Tensor {
    pub fn new(dtype: FloatType, shape: Vec<usize>, data: Vec<f64>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Self { dtype, shape, data }
    }

    /// Index of the first NaN or infinity, if any.
    pub fn first_non_finite(&self) -> Option<usize> {
        self.data.iter().position(|v| !v.is_finite())
    }

    /// Little-endian bytes in the tensor's dtype (f64 -> f32 rounds to nearest).
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() * self.dtype.size());
        for &v in &self.data {
            match self.dtype {
                FloatType::F32 => out.extend_from_slice(&(v as f32).to_le_bytes()),
                FloatType::F64 => out.extend_from_slice(&v.to_le_bytes()),
            }
        }
        out
    }
}

/// A set of named tensors plus the file's free-form string metadata (`__metadata__`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TensorSet {
    pub tensors: BTreeMap<String, Tensor>,
    pub metadata: BTreeMap<String, String>,
}

impl TensorSet {
    /// Parses safetensors bytes; refuses dtypes other than F32/F64 and malformed headers, never panics.
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
        let bytes = std::fs::read(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Serializes to safetensors bytes. Written here rather than with `safetensors::serialize`, whose header
    /// order follows a `HashMap`: this header lists `__metadata__` and the tensors in sorted order, so the same
    /// tensors always give the same bytes (committed vectors do not churn).
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
                    "dtype": t.dtype.dtype_name(),
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

    /// Writes atomically: a temporary file in the same directory, flushed, then renamed over `path`.
    pub fn write_atomic(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }
}

/// Writes `bytes` to `path` through a temporary sibling and a rename, so a failure leaves no partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
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
    let bytes = view.data();
    let (dtype, data) = match view.dtype() {
        Dtype::F32 => (
            FloatType::F32,
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                .collect::<Vec<_>>(),
        ),
        Dtype::F64 => (
            FloatType::F64,
            bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        other => {
            return Err(format!(
                "tensor {name} has dtype {other:?}; only F32 and F64 are accepted"
            ))
        }
    };
    if data.len() != shape.iter().product::<usize>() {
        return Err(format!(
            "tensor {name}: {} values for shape {shape:?}",
            data.len()
        ));
    }
    Ok(Tensor::new(dtype, shape, data))
}
