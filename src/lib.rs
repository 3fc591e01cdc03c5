//! `dualprop`: a numerical reference for dual propagation (Høier and Zach, "A Lagrangian Perspective on Dual
//! Propagation"). Equation numbers in the docs are the paper's; docs/architecture.md draws the layers.
//!
//! The layers, from the bottom up (each module's own docs say more):
//! - [`reference`](mod@reference): the readable rules, generic over any [`reference::Scalar`] (f16, bf16, f32, f64 and the
//!   forward-mode [`reference::dual::Dual`]): activations, losses, the per-unit update rules of every variant
//!   (Eqs. 3, 8, 16, 21), inference schedules and verdicts, gradient estimates, back-propagation and Adam;
//! - [`checks`]: judges of any state, ours or another implementation's: KKT residuals (Eqs. 10, 11, 15, 19, 20
//!   and Eq. 3's stationarity), fixed-point residuals, objectives, a forward-mode derivative, gradient
//!   alignment, loop gains (docs/stability.md) and every tolerance with its reason;
//! - [`kernels`]: the fast faer-backed f32/f64 twins of inference, gradients and training, each tested against
//!   the reference;
//! - [`store`]: the one safetensors reader and writer (deterministic header, atomic write) used by oracle files,
//!   test vectors and checkpoints;
//! - [`oracle`]: reference states, gradients and residuals for a case given as named tensors, and `verify`, which
//!   judges another implementation's tensors;
//! - [`experiments`]: MNIST data, training runs with resume, sweeps, Table 1 and Figures 1-2;
//! - [`perf`]: the benchmark engine behind `dualprop perf` (round-robin timing, memory probe, peer, report);
//! - [`error`]: the one error type; every bad input is a typed [`Error`], never a panic.
//!
//! The command line (`dualprop train | reproduce | oracle | verify | perf`) is a thin binary over these modules.
//!
//! # Checking another implementation from Rust
//! Give the oracle a case (weights `W.{k}` [out, in], biases `b.{k}`, batch `x`, targets `y`), a configuration,
//! and the tensors your implementation produced under the oracle's names; `verify` says whether they agree and
//! names the violated equations when they do not.
//! ```
//! use dualprop::oracle::{run, verify, Case, OracleConfig};
//! use dualprop::store::TensorSet;
//!
//! // A 2-3-1 network and a batch of two, as another implementation would export them.
//! let mut tensors = TensorSet::default();
//! tensors.put("W.0", vec![3, 2], &[0.5f64, -0.2, 0.1, 0.3, -0.4, 0.2]);
//! tensors.put("b.0", vec![3], &[0.1f64, 0.0, -0.1]);
//! tensors.put("W.1", vec![1, 3], &[0.3f64, -0.5, 0.2]);
//! tensors.put("b.1", vec![1], &[0.05f64]);
//! tensors.put("x", vec![2, 2], &[1.0f64, -1.0, 0.5, 0.25]);
//! tensors.put("y", vec![2, 1], &[0.2f64, -0.1]);
//! let case = Case::from_tensors(&tensors)?;
//! let cfg = OracleConfig::from_json(
//!     br#"{"method": "dp_plus", "alpha": 0.0, "beta": 0.5, "iterations": 1, "activation": "tanh"}"#,
//! )?;
//!
//! // Here "the other implementation" is the oracle itself, so it agrees ...
//! let mine = run(&case, &cfg)?.tensors;
//! assert!(verify(&case, &cfg, &mine)?.agrees);
//!
//! // ... and a wrong z+ in the hidden layer is caught, with the equations it violates named.
//! let mut wrong = mine.clone();
//! let z = wrong.tensors.get_mut("z_plus.1").unwrap();
//! z.data[0] += 0.1;
//! let report = verify(&case, &cfg, &wrong)?;
//! assert!(!report.agrees);
//! assert!(report.deviating_tensors.contains(&"z_plus.1".to_string()));
//! assert!(!report.violated_equations.is_empty());
//! # Ok::<(), dualprop::Error>(())
//! ```
#![warn(missing_docs)]
#![allow(clippy::needless_range_loop)]

pub mod checks;
pub mod error;
pub mod experiments;
mod json_float;
pub mod kernels;
pub mod oracle;
pub mod perf;
#[cfg(feature = "python")]
mod python;
pub mod reference;
pub mod store;

pub use error::{Error, Result};
