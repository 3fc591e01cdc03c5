//! Typed errors for every bad input. No public function of the crate panics on user data.

use thiserror::Error;

/// Everything that can be wrong with a network, a batch, a configuration or a file.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Error {
    /// The network has no weight layers (fewer than two widths).
    #[error("the network has no layers")]
    EmptyNetwork,
    /// A layer of width zero.
    #[error("layer {layer} has zero width")]
    EmptyLayer {
        /// Index into the widths [in, h1, ..., out]: 0 is the input layer.
        layer: usize,
    },
    /// A batch with no samples.
    #[error("the batch is empty")]
    EmptyBatch,
    /// A tensor whose (rows, cols) differ from what the network or batch requires; a vector is (len, 1).
    #[error("shape mismatch in {what}: expected {expected:?}, got {got:?}")]
    Shape {
        /// What was checked, usually a tensor's name (`W.0`, `x`).
        what: String,
        /// The required (rows, cols).
        expected: (usize, usize),
        /// The (rows, cols) given.
        got: (usize, usize),
    },
    /// The weight alpha of zbar = alpha z+ + (1 - alpha) z- (Eq. 6) outside [0, 1].
    #[error("alpha = {0} is outside [0, 1]")]
    Alpha(f64),
    /// The nudging strength beta (Eq. 3; the loss is beta/2 ||z - y||^2) not finite and positive.
    #[error("beta = {0} must be finite and > 0")]
    Beta(f64),
    /// Zero inference iterations requested (one iteration sweeps up and down the layers).
    #[error("the number of inference iterations must be at least 1")]
    Iterations,
    /// A leaky-ReLU negative slope that is not finite and positive.
    #[error("leaky ReLU slope = {0} must be finite and > 0 (the activation must stay invertible)")]
    LeakySlope(f64),
    /// States whose layer 0 is not the problem's input x (z_0^+ = z_0^- = x is clamped, Eq. 3).
    #[error("{what} is not the clamped input x: first difference at flat index {index}")]
    ClampedInput {
        /// The state tensor's name (`z_plus.0` or `z_minus.0`).
        what: String,
        /// Row-major index of the first element that differs from x (0-based).
        index: usize,
    },
    /// A NaN or infinity in an input tensor.
    #[error("non-finite value in {what} at flat index {index}")]
    NonFinite {
        /// The tensor's name.
        what: String,
        /// Row-major index of the first non-finite element (0-based).
        index: usize,
    },
    /// Original DP's output problem has no maximiser: (1 - alpha) beta >= 1 (Eq. 3).
    #[error(
        "original DP output is ill-posed: (1 - alpha) * beta = {0} >= 1, so the max over z^- in Eq. 3 does not exist"
    )]
    IllPosedOriginalOutput(f64),
    /// A value outside the range of the requested float type.
    #[error("value {value} does not fit the float type {float}")]
    Unrepresentable {
        /// The value, in f64.
        value: f64,
        /// The float type's name (`f16`, `bf16`, `f32`, `f64`).
        float: &'static str,
    },
    /// A combination of options the crate does not implement (for example a half type in the kernels).
    #[error("unsupported combination: {0}")]
    Unsupported(String),
    /// A failed file operation; build it with [`Error::io`].
    #[error("cannot read or write {path}: {reason}")]
    Io {
        /// The file or directory.
        path: String,
        /// The operating system's or parser's message.
        reason: String,
    },
    /// A file or configuration whose contents do not parse or lack a required entry.
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

/// The crate's result type, with [`Error`](enum@Error) as its error.
pub type Result<T> = std::result::Result<T, Error>;
