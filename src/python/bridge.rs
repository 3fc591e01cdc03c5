//! The one place the Python bindings touch the crate: arrays in and out as plain (dtype, shape, values), the
//! case and configuration built with the oracle's own readers, `oracle::compute::run` and `oracle::verify::verify`
//! called unchanged, and each [`crate::Error`] sorted into the Python exception it becomes. Nothing here knows
//! pyo3, so a change to the oracle's types is adapted in this file alone.

use crate::error::Error;
use crate::oracle::case::Case;
use crate::oracle::compute;
use crate::oracle::config::OracleConfig;
use crate::reference::damping::DampingValues;
use crate::reference::scalar::FloatType;
use crate::store::{Tensor, TensorSet};

/// An array as it crosses the boundary: its float type, shape, and values in row-major (C) order
/// (whatever the memory order of the numpy array it came from).
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub f32: bool,
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

/// Which Python exception a failure becomes (the classes are in `mod.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Shape,
    NonFinite,
    IllPosed,
    Unsupported,
    Config,
    Format,
    Unrepresentable,
    Other,
}

/// A failure with its message (the crate's own message where there is one).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let kind = match &e {
            Error::Shape { .. }
            | Error::EmptyNetwork
            | Error::EmptyLayer { .. }
            | Error::EmptyBatch
            | Error::ClampedInput { .. } => Kind::Shape,
            Error::NonFinite { .. } => Kind::NonFinite,
            Error::IllPosedOriginalOutput(_) => Kind::IllPosed,
            Error::Unsupported(_) => Kind::Unsupported,
            Error::Alpha(_) | Error::Beta(_) | Error::Iterations | Error::LeakySlope(_) => {
                Kind::Config
            }
            Error::Unrepresentable { .. } => Kind::Unrepresentable,
            Error::Format(_) => Kind::Format,
            Error::Io { .. } => Kind::Other,
        };
        Failure::new(kind, e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Failure>;

/// Parses and validates a configuration given as JSON (the format of `--config`, docs/oracle.md); returns it
/// with the crate's checks passed, and its normalized JSON (defaults filled in).
pub fn config(json: &str) -> Result<(OracleConfig, String)> {
    let cfg = OracleConfig::from_json(json.as_bytes()).map_err(|e| match e {
        // A configuration that does not parse (unknown field, misspelt method) is a configuration error.
        Error::Format(m) => Failure::new(Kind::Config, m),
        other => other.into(),
    })?;
    let normalized = cfg.to_json();
    Ok((cfg, normalized))
}

/// Checks explicit damping weights L_k with the crate's own constructor, so that a bad weight (negative, not
/// finite, too many) fails as `Error::Unsupported` as it does for a Rust caller, not as the JSON parser's wrapping
/// of it (JSON has no NaN to carry).
pub fn damping_values(values: &[f64]) -> Result<()> {
    DampingValues::new(values)?;
    Ok(())
}

fn tensor(a: Array) -> Tensor {
    let dtype = if a.f32 {
        FloatType::F32
    } else {
        FloatType::F64
    };
    Tensor::new(dtype, a.shape, a.data)
}

/// Rank each argument must have, checked here so that a wrong rank is a shape error naming the Python argument.
fn check_rank(argument: &str, a: &Array, rank: usize, meaning: &str) -> Result<()> {
    if a.shape.len() == rank {
        return Ok(());
    }
    Err(Failure::new(
        Kind::Shape,
        format!(
            "{argument} has shape {:?}; expected {rank} dimensions {meaning}",
            a.shape
        ),
    ))
}

/// The case from PyTorch-ordered layers (weights[k] is W.k, [out, in]; biases[k] is b.k), checked by the
/// oracle's case reader (names, non-finite values, one float type; shapes chain when the network is built).
pub fn case(weights: Vec<Array>, biases: Vec<Array>, x: Array, y: Array) -> Result<Case> {
    let mut set = TensorSet::default();
    for (k, w) in weights.into_iter().enumerate() {
        check_rank(&format!("weights[{k}]"), &w, 2, "[out, in]")?;
        set.tensors.insert(format!("W.{k}"), tensor(w));
    }
    for (k, b) in biases.into_iter().enumerate() {
        check_rank(&format!("biases[{k}]"), &b, 1, "[out]")?;
        set.tensors.insert(format!("b.{k}"), tensor(b));
    }
    check_rank("x", &x, 2, "[batch, in]")?;
    check_rank("y", &y, 2, "[batch, out]")?;
    set.tensors.insert("x".into(), tensor(x));
    set.tensors.insert("y".into(), tensor(y));
    Ok(Case::from_tensors(&set)?)
}

/// One named output tensor.
pub struct Named {
    pub name: String,
    pub array: Array,
}

/// The oracle's tensors and its summary as JSON (what `dualprop oracle` prints).
pub struct OracleOutput {
    pub tensors: Vec<Named>,
    pub summary_json: String,
    /// `kkt.{k}.equations` and the other metadata of the output file.
    pub metadata: Vec<(String, String)>,
}

/// Runs the oracle as the command line does. States and gradients are returned in the case's float type
/// (computed in the configuration's `float`, then rounded to nearest if that is wider); residuals stay f64.
pub fn oracle(case: &Case, cfg: &OracleConfig) -> Result<OracleOutput> {
    let run = compute::run(case, cfg)?;
    let summary_json = serde_json::to_string(&run.summary)
        .map_err(|e| Failure::new(Kind::Other, format!("cannot serialize the summary: {e}")))?;
    let metadata = run.tensors.metadata.into_iter().collect();
    let case_f32 = case.dtype == FloatType::F32;
    let tensors = run
        .tensors
        .tensors
        .into_iter()
        .map(|(name, t)| {
            let residual = name.starts_with("kkt.") || name.starts_with("fixed_point.");
            let f32 = if residual {
                t.dtype == FloatType::F32
            } else {
                case_f32
            };
            Named {
                name,
                array: Array {
                    f32,
                    shape: t.shape,
                    data: t.data,
                },
            }
        })
        .collect();
    Ok(OracleOutput {
        tensors,
        summary_json,
        metadata,
    })
}

/// Verifies a candidate (oracle tensor names to arrays, each in its own float type) and returns the report as
/// JSON (what `dualprop verify` prints).
pub fn verify(case: &Case, cfg: &OracleConfig, candidate: Vec<Named>) -> Result<String> {
    let mut set = TensorSet::default();
    for Named { name, array } in candidate {
        set.tensors.insert(name, tensor(array));
    }
    let report = crate::oracle::verify::verify(case, cfg, &set)?;
    serde_json::to_string(&report)
        .map_err(|e| Failure::new(Kind::Other, format!("cannot serialize the report: {e}")))
}
