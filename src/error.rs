//! Typed errors for every bad input. No public function of the crate panics on user data.

use thiserror::Error;

/// Everything that can be wrong with a network, a batch, a configuration or a file.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Error {
    #[error("the network has no layers")]
    EmptyNetwork,
    #[error("layer {layer} has zero width")]
    EmptyLayer { layer: usize },
    #[error("the batch is empty")]
    EmptyBatch,
    #[error("shape mismatch in {what}: expected {expected:?}, got {got:?}")]
    Shape {
        what: String,
        expected: (usize, usize),
        got: (usize, usize),
    },
    #[error("alpha = {0} is outside [0, 1]")]
    Alpha(f64),
    #[error("beta = {0} must be finite and > 0")]
    Beta(f64),
    #[error("the number of inference iterations must be at least 1")]
    Iterations,
    #[error("leaky ReLU slope = {0} must be finite and > 0 (the activation must stay invertible)")]
    LeakySlope(f64),
    #[error("non-finite value in {what} at flat index {index}")]
    NonFinite { what: String, index: usize },
    #[error(
        "original DP output is ill-posed: (1 - alpha) * beta = {0} >= 1, so the max over z^- in Eq. 3 does not exist"
    )]
    IllPosedOriginalOutput(f64),
    #[error("value {value} does not fit the float type {float}")]
    Unrepresentable { value: f64, float: &'static str },
    #[error("unsupported combination: {0}")]
    Unsupported(String),
    #[error("cannot read or write {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("malformed input: {0}")]
    Format(String),
}

impl Error {
    /// The error of a failed read or write of `path`: the one constructor for every file operation.
    pub fn io(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        Error::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
