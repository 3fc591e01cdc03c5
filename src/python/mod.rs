//! Python bindings (feature `python`): the native module `dualprop._native` under the pure-Python package in
//! `src/python/dualprop/`, built by maturin (`pyproject.toml`). This file is pyo3 glue only: numpy arrays are
//! read into [`bridge::Array`] while attached to the interpreter, the oracle runs detached (the GIL released),
//! results go back as numpy arrays and JSON. Everything that touches the crate's types is in [`bridge`].

mod bridge;

use numpy::ndarray::{ArrayD, IxDyn};
use numpy::prelude::*;
use numpy::{PyArrayDyn, PyUntypedArray};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use bridge::{Array, Failure, Kind, Named};

create_exception!(
    dualprop,
    DualpropError,
    PyValueError,
    "Base class of every error dualprop reports about its input (a ValueError)."
);
create_exception!(
    dualprop,
    ShapeError,
    DualpropError,
    "Shapes that do not chain, a wrong number of dimensions, an empty batch or layer, or a candidate tensor \
     whose shape differs from the oracle's."
);
create_exception!(
    dualprop,
    NonFiniteError,
    DualpropError,
    "NaN or infinity in an input; the message names the tensor and the flat index."
);
create_exception!(
    dualprop,
    IllPosedError,
    DualpropError,
    "An ill-posed problem: original DP's exact output needs (1 - alpha) * beta < 1 (Eq. 3's max must exist)."
);
create_exception!(
    dualprop,
    UnsupportedError,
    DualpropError,
    "A combination the reference does not implement (e.g. Eq. 3's exact output with cross-entropy)."
);
create_exception!(
    dualprop,
    ConfigError,
    DualpropError,
    "A configuration value out of range (alpha, beta, iterations, leaky slope) or an unknown field or name."
);
create_exception!(
    dualprop,
    FormatError,
    DualpropError,
    "Malformed input: a dtype other than float32/float64, mixed float types in a case, missing or unknown \
     tensor names."
);
create_exception!(
    dualprop,
    UnrepresentableError,
    DualpropError,
    "A value that does not fit the float type the oracle computes in."
);

fn raise(f: Failure) -> PyErr {
    match f.kind {
        Kind::Shape => ShapeError::new_err(f.message),
        Kind::NonFinite => NonFiniteError::new_err(f.message),
        Kind::IllPosed => IllPosedError::new_err(f.message),
        Kind::Unsupported => UnsupportedError::new_err(f.message),
        Kind::Config => ConfigError::new_err(f.message),
        Kind::Format => FormatError::new_err(f.message),
        Kind::Unrepresentable => UnrepresentableError::new_err(f.message),
        Kind::Other => DualpropError::new_err(f.message),
    }
}

/// Copies a float32 or float64 numpy array (any memory order) into row-major f64 values.
fn read_array(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<Array> {
    let borrow = |e: numpy::BorrowError| DualpropError::new_err(format!("{name}: {e}"));
    if let Ok(a) = obj.cast::<PyArrayDyn<f64>>() {
        let r = a.try_readonly().map_err(borrow)?;
        let v = r.as_array();
        return Ok(Array {
            f32: false,
            shape: v.shape().to_vec(),
            data: v.iter().copied().collect(),
        });
    }
    if let Ok(a) = obj.cast::<PyArrayDyn<f32>>() {
        let r = a.try_readonly().map_err(borrow)?;
        let v = r.as_array();
        return Ok(Array {
            f32: true,
            shape: v.shape().to_vec(),
            data: v.iter().map(|&x| f64::from(x)).collect(),
        });
    }
    let what = match obj.cast::<PyUntypedArray>() {
        Ok(a) => format!("an array of dtype {}", a.dtype()),
        Err(_) => format!("a {}", obj.get_type().name()?),
    };
    Err(FormatError::new_err(format!(
        "{name} is {what}; only float32 and float64 numpy arrays are accepted"
    )))
}

fn read_list(name: &str, items: &[Bound<'_, PyAny>]) -> PyResult<Vec<Array>> {
    items
        .iter()
        .enumerate()
        .map(|(k, a)| read_array(&format!("{name}[{k}]"), a))
        .collect()
}

fn to_numpy<'py>(py: Python<'py>, a: Array) -> PyResult<Bound<'py, PyAny>> {
    let shape = IxDyn(&a.shape);
    let bad = |e: numpy::ndarray::ShapeError| DualpropError::new_err(e.to_string());
    Ok(if a.f32 {
        let data = a.data.iter().map(|&v| v as f32).collect();
        ArrayD::from_shape_vec(shape, data)
            .map_err(bad)?
            .into_pyarray(py)
            .into_any()
    } else {
        ArrayD::from_shape_vec(shape, a.data)
            .map_err(bad)?
            .into_pyarray(py)
            .into_any()
    })
}

/// A case's arrays, copied out of Python so the oracle can run without the GIL.
struct Inputs {
    weights: Vec<Array>,
    biases: Vec<Array>,
    x: Array,
    y: Array,
}

impl Inputs {
    fn case(self) -> bridge::Result<crate::oracle::Case> {
        bridge::case(self.weights, self.biases, self.x, self.y)
    }
}

/// The parsed configuration and the case's arrays, as `oracle` and `verify` both take them.
fn read_inputs(
    config: &str,
    weights: &[Bound<'_, PyAny>],
    biases: &[Bound<'_, PyAny>],
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
) -> PyResult<(crate::oracle::OracleConfig, Inputs)> {
    let (cfg, _) = bridge::config(config).map_err(raise)?;
    let inputs = Inputs {
        weights: read_list("weights", weights)?,
        biases: read_list("biases", biases)?,
        x: read_array("x", x)?,
        y: read_array("y", y)?,
    };
    Ok((cfg, inputs))
}

/// Validates a configuration (JSON, the `--config` format) and returns it normalized, defaults filled in.
#[pyfunction]
fn check_config(config: &str) -> PyResult<String> {
    bridge::config(config).map(|(_, json)| json).map_err(raise)
}

/// Checks explicit damping weights L_1..L_{L-1} (`Config(damping={"explicit": [...]})`).
#[pyfunction]
fn check_damping(values: Vec<f64>) -> PyResult<()> {
    bridge::damping_values(&values).map_err(raise)
}

/// Runs the oracle: returns (tensors by name, summary JSON, metadata).
#[pyfunction]
fn oracle<'py>(
    py: Python<'py>,
    weights: Vec<Bound<'py, PyAny>>,
    biases: Vec<Bound<'py, PyAny>>,
    x: Bound<'py, PyAny>,
    y: Bound<'py, PyAny>,
    config: &str,
) -> PyResult<(Bound<'py, PyDict>, String, Bound<'py, PyDict>)> {
    let (cfg, inputs) = read_inputs(config, &weights, &biases, &x, &y)?;
    let out = py
        .detach(move || inputs.case().and_then(|case| bridge::oracle(&case, &cfg)))
        .map_err(raise)?;
    let tensors = PyDict::new(py);
    for Named { name, array } in out.tensors {
        tensors.set_item(name, to_numpy(py, array)?)?;
    }
    let metadata = PyDict::new(py);
    for (k, v) in out.metadata {
        metadata.set_item(k, v)?;
    }
    Ok((tensors, out.summary_json, metadata))
}

/// Verifies a candidate (tensor name -> array) against the oracle: returns the report as JSON.
#[pyfunction]
fn verify<'py>(
    py: Python<'py>,
    weights: Vec<Bound<'py, PyAny>>,
    biases: Vec<Bound<'py, PyAny>>,
    x: Bound<'py, PyAny>,
    y: Bound<'py, PyAny>,
    candidate: Bound<'py, PyDict>,
    config: &str,
) -> PyResult<String> {
    let (cfg, inputs) = read_inputs(config, &weights, &biases, &x, &y)?;
    let mut given = Vec::with_capacity(candidate.len());
    for (key, value) in candidate.iter() {
        let name: String = key.extract()?;
        let array = read_array(&format!("candidate[{name:?}]"), &value)?;
        given.push(Named { name, array });
    }
    py.detach(move || {
        inputs
            .case()
            .and_then(|case| bridge::verify(&case, &cfg, given))
    })
    .map_err(raise)
}

/// The native half of the `dualprop` package; use it through `import dualprop`.
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("DualpropError", py.get_type::<DualpropError>())?;
    m.add("ShapeError", py.get_type::<ShapeError>())?;
    m.add("NonFiniteError", py.get_type::<NonFiniteError>())?;
    m.add("IllPosedError", py.get_type::<IllPosedError>())?;
    m.add("UnsupportedError", py.get_type::<UnsupportedError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("FormatError", py.get_type::<FormatError>())?;
    m.add(
        "UnrepresentableError",
        py.get_type::<UnrepresentableError>(),
    )?;
    m.add_function(wrap_pyfunction!(check_config, m)?)?;
    m.add_function(wrap_pyfunction!(check_damping, m)?)?;
    m.add_function(wrap_pyfunction!(oracle, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
