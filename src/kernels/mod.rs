//! Fast f32/f64 kernels with the meaning of [`crate::reference`]: feed-forward, every dual-propagation variant's
//! inference sweep, the gradient estimates, back-propagation and Adam, batched and backed by faer.
//!
//! Layout: a batch is a block of columns. A state of width n for B samples is an `[n, B]` column-major matrix,
//! which is the same buffer as the reference's row-major `[B, n]` [`Matrix`](crate::reference::Matrix), so
//! conversion is a reinterpretation. Weights keep the reference's row-major `[out, in]` layout (faer takes the
//! strided view), so a [`Network`](crate::reference::Network) is used as it is.
//!
//! Every dense product goes through [`faer::linalg::matmul::matmul`]; the nudges, activations, means, differences
//! and the verdict's statistics are fused into one pass over each state ([`elementwise`]). All buffers live in a
//! [`Workspace`] sized once for the widths and the largest batch, so an inference or training step allocates
//! nothing. The variants differ in one place, as in the reference: [`Method::hidden_rule`] and
//! [`Config::output_rule`] are read, never re-stated.
//!
//! Each kernel names its reference twin:
//!
//! | kernel | reference |
//! | --- | --- |
//! | [`dense::forward`] | [`Network::forward`](crate::reference::Network::forward) |
//! | [`inference::infer`] | [`reference::infer`](crate::reference::infer) |
//! | [`gradient::dual_gradient`] | [`reference::dual_gradient`](crate::reference::dual_gradient) |
//! | [`gradient::backprop`] | [`reference::backprop`](crate::reference::backprop) |
//! | [`adam::update`] | [`AdamState::update`](crate::reference::AdamState::update) |
//! | [`Trainer::step`] | [`reference::train_step`](crate::reference::train_step) |
//!
//! See `docs/kernels.md` for the design (caching of products, exact early exit, tolerances).
//!
//! [`Method::hidden_rule`]: crate::reference::Method::hidden_rule
//! [`Config::output_rule`]: crate::reference::Config::output_rule

// The kernels spell out `x = x + y` as the reference does (its Scalar has no `+=`), so the two read alike.
#![allow(clippy::assign_op_pattern)]

pub mod adam;
pub mod dense;
pub mod elementwise;
pub mod gradient;
pub mod inference;
mod start;
pub mod trainer;
pub mod workspace;

pub use inference::KernelInference;
pub use trainer::{infer_batch, infer_batch_with, Trainer};
pub use workspace::Workspace;

use crate::store::StoredFloat;

/// The float types the kernels run in: `f32` and `f64` (the types faer computes in; f16 and bf16 are answered with
/// [`FloatType::kernels_unsupported`](crate::reference::FloatType::kernels_unsupported)). Both can be stored, so a
/// training run's checkpoints need no further bound.
pub trait KernelFloat: StoredFloat + faer::traits::RealField + Copy {
    /// The bit pattern, widened to 64 bits (used for the exact "nothing changed" test).
    fn bits(self) -> u64;
    /// The bit pattern of |x|. For IEEE floats these integers are ordered as the magnitudes, infinities and NaNs
    /// above every finite value, so a running integer max gives the largest |x| and detects non-finite values
    /// in one vectorisable operation.
    fn abs_bits(self) -> u64;
    /// The float whose |x| has these bits.
    fn from_abs_bits(bits: u64) -> Self;
    /// `abs_bits` of infinity: at or above it a value is not finite.
    const INFINITY_BITS: u64;
    /// `bits` of -0.
    const NEG_ZERO_BITS: u64;
}

impl KernelFloat for f32 {
    #[inline(always)]
    fn bits(self) -> u64 {
        self.to_bits() as u64
    }
    #[inline(always)]
    fn abs_bits(self) -> u64 {
        (self.to_bits() & 0x7fff_ffff) as u64
    }
    fn from_abs_bits(bits: u64) -> Self {
        f32::from_bits(bits as u32)
    }
    const INFINITY_BITS: u64 = 0x7f80_0000;
    const NEG_ZERO_BITS: u64 = 0x8000_0000;
}

impl KernelFloat for f64 {
    #[inline(always)]
    fn bits(self) -> u64 {
        self.to_bits()
    }
    #[inline(always)]
    fn abs_bits(self) -> u64 {
        self.to_bits() & 0x7fff_ffff_ffff_ffff
    }
    fn from_abs_bits(bits: u64) -> Self {
        f64::from_bits(bits)
    }
    const INFINITY_BITS: u64 = 0x7ff0_0000_0000_0000;
    const NEG_ZERO_BITS: u64 = 0x8000_0000_0000_0000;
}

/// Tuning knobs shared by every kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelOptions {
    /// Threads for faer's matrix multiply and the Adam update (1 = sequential).
    pub threads: usize,
    /// Stop an inference as soon as a whole iteration leaves every state bitwise unchanged
    /// (results are bitwise identical either way; see [`inference`]).
    pub early_exit: bool,
    /// With threads > 1: split each product into row blocks run as rayon tasks ([`dense::Exec::RowTasks`]; the
    /// default) instead of faer's `Par::rayon(threads)`. Both give bitwise the same results; the row blocks were
    /// the faster in every measured run on the 2-core machine (docs/performance.md, docs/performance-tried.md).
    pub row_tasks: bool,
    /// Opt-in: stop an inference after the first iteration that moves no state by more than this many ulps of
    /// the feed-forward scale ([`stop_tolerance`](crate::checks::tolerance::stop_tolerance)), and judge it
    /// `Converged { exact: false }` (converged within that tolerance). For iterations that settle within a few
    /// ulps but never bitwise (original DP); the result is then not bitwise that of all K iterations, but within
    /// tolerance x q / (1 - q) of it for an iteration contracting at rate q (see [`inference`]). `None`: run
    /// all K (or stop at an exact fixed point only).
    pub stop_within_ulps: Option<u32>,
}

impl Default for KernelOptions {
    fn default() -> Self {
        Self {
            threads: 2,
            early_exit: true,
            row_tasks: true,
            stop_within_ulps: None,
        }
    }
}

impl KernelOptions {
    /// How the dense products use the threads.
    pub fn par(&self) -> dense::Exec {
        if self.threads <= 1 {
            dense::Exec::Faer(faer::Par::Seq)
        } else if self.row_tasks {
            dense::Exec::RowTasks
        } else {
            dense::Exec::Faer(faer::Par::rayon(self.threads))
        }
    }
}
