//! `dualprop`: a numerical reference for dual propagation (Høier and Zach, "A Lagrangian Perspective on Dual
//! Propagation"). Equation numbers in the docs are the paper's.
//!
//! - [`reference`]: the readable, generic update rules (Eqs. 3, 8, 16, 21), inference schedules and gradients.
//! - [`checks`]: KKT and fixed-point residuals, objectives (Eqs. 3, 7), gradient alignment, tolerances.
#![allow(clippy::needless_range_loop)]

pub mod checks;
pub mod cli;
pub mod error;
pub mod experiments;
pub mod kernels;
pub mod oracle;
#[cfg(feature = "python")]
mod python;
pub mod reference;

pub use error::{Error, Result};
