//! The oracle: reference results for a case given as named tensors, and a verifier for other implementations.
//!
//! Naming contract (see docs/oracle.md): a case holds `W.{k}` [out, in] and `b.{k}` \[out\] for k = 0..L-1 (the
//! index of PyTorch's layer list), `x` [batch, in] and `y` [batch, out], all of one float type (f16, bf16, f32 or f64). The oracle writes
//! `z_plus.{k}`, `z_minus.{k}` for the paper's layers k = 1..L, `grad_W.{k}`, `grad_b.{k}` and
//! `bp_grad_W.{k}`, `bp_grad_b.{k}` for k = 0..L-1, `kkt.{k}` and `fixed_point.{k}` for k = 1..L.

pub mod case;
pub mod compute;
pub mod condition;
pub mod config;
pub mod half;
pub mod name_map;
pub mod names;
pub mod outcome;
pub mod report;
pub mod vectors;
pub mod verify;

pub use case::Case;
pub use compute::{run, OracleRun, Summary};
pub use config::{ComputeFloat, OracleConfig};
pub use verify::{verify, Outcome, VerifyReport};
