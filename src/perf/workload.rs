//! What is measured: the paper's network and batch, seeded inputs, and the estimators of the performance table,
//! each under a stable name (the report's key; no estimator is ever found by its position).

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::checks::tolerance::STOP_WITHIN_ULPS;
use crate::error::Result;
use crate::kernels::{KernelFloat, KernelOptions};
use crate::reference::scalar::c;
use crate::reference::{Activation, Config, Estimator, Init, Loss, Method, Network};

use super::peer::Twin;

/// The paper's MNIST network (Table 1).
pub const PAPER_WIDTHS: [usize; 6] = [784, 1000, 1000, 1000, 1000, 10];
/// The paper's batch size.
pub const PAPER_BATCH: usize = 100;

/// The paper's network with PyTorch's default initialisation, seeded.
pub fn paper_network<T: KernelFloat>(widths: &[usize], seed: u64) -> Result<Network<T>> {
    Network::init(
        widths,
        Activation::Relu,
        Loss::LeastSquares,
        Init::TorchDefault,
        seed,
    )
}

/// A seeded MNIST-like batch: pixels uniform in [0, 1], one-hot targets (row-major `[batch, width]`).
pub fn batch<T: KernelFloat>(widths: &[usize], batch: usize, seed: u64) -> (Vec<T>, Vec<T>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (n_in, n_out) = (widths[0], widths[widths.len() - 1]);
    let x = (0..batch * n_in)
        .map(|_| c::<T>(rng.random_range(0.0..1.0)))
        .collect();
    let mut y = vec![T::zero(); batch * n_out];
    for b in 0..batch {
        y[b * n_out + rng.random_range(0..n_out)] = T::one();
    }
    (x, y)
}

/// The estimators of the performance table (alpha = 0 unless named, beta = 1/2 as in Table 1), in the table's
/// order.
/// The serde name is the report's key; [`EstimatorId::label`] is the table's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimatorId {
    /// Exact back-propagation.
    BackPropagation,
    /// DP+ with one inference iteration.
    DpPlusK1,
    /// DP+ with 30 inference iterations.
    DpPlusK30,
    /// DP+ with 30 inference iterations at alpha = 1.
    DpPlusK30Alpha1,
    /// DP+ with 30 inference iterations at alpha = 1/2 (no exact fixed point to stop at: all 30 run).
    DpPlusK30AlphaHalf,
    /// Original DP with 30 inference iterations.
    OriginalDpK30,
    /// Original DP with at most 30 inference iterations, stopped once an iteration moves no state by more than
    /// [`STOP_WITHIN_ULPS`] ulps (`KernelOptions::stop_within_ulps`).
    OriginalDpK30Stopped,
}

impl EstimatorId {
    /// Every estimator, in the table's order.
    pub const ALL: [EstimatorId; 7] = [
        Self::BackPropagation,
        Self::DpPlusK1,
        Self::DpPlusK30,
        Self::DpPlusK30Alpha1,
        Self::DpPlusK30AlphaHalf,
        Self::OriginalDpK30,
        Self::OriginalDpK30Stopped,
    ];

    /// The wording of the tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::BackPropagation => "back-propagation",
            Self::DpPlusK1 => "DP+ K=1",
            Self::DpPlusK30 => "DP+ K=30",
            Self::DpPlusK30Alpha1 => "DP+ K=30, alpha = 1",
            Self::DpPlusK30AlphaHalf => "DP+ K=30, alpha = 1/2",
            Self::OriginalDpK30 => "original DP K=30",
            Self::OriginalDpK30Stopped => "original DP K=30, stopped within 64 ulps",
        }
    }

    /// The report's key (the serde name), as the memory probe's command line spells it.
    pub fn key(self) -> &'static str {
        match self {
            Self::BackPropagation => "back_propagation",
            Self::DpPlusK1 => "dp_plus_k1",
            Self::DpPlusK30 => "dp_plus_k30",
            Self::DpPlusK30Alpha1 => "dp_plus_k30_alpha1",
            Self::DpPlusK30AlphaHalf => "dp_plus_k30_alpha_half",
            Self::OriginalDpK30 => "original_dp_k30",
            Self::OriginalDpK30Stopped => "original_dp_k30_stopped",
        }
    }

    /// The estimator with its key, if any.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|id| id.key() == key)
    }

    /// The dual variant's configuration (None for back-propagation); beta = 1/2 throughout.
    pub fn config(self) -> Option<Config> {
        let (method, alpha, k) = match self {
            Self::BackPropagation => return None,
            Self::DpPlusK1 => (Method::DpPlus, 0.0, 1),
            Self::DpPlusK30 => (Method::DpPlus, 0.0, 30),
            Self::DpPlusK30Alpha1 => (Method::DpPlus, 1.0, 30),
            Self::DpPlusK30AlphaHalf => (Method::DpPlus, 0.5, 30),
            Self::OriginalDpK30 | Self::OriginalDpK30Stopped => (Method::OriginalDp, 0.0, 30),
        };
        Some(Config::new(method, alpha, 0.5, k))
    }

    /// What a training step of this row runs.
    pub fn estimator(self) -> Estimator {
        self.config().map_or(Estimator::Backprop, Estimator::Dual)
    }

    /// The JAX peer's twin of this row (`benches/peers/jax_peer.py`), for the rows the targets compare with
    /// JAX: back-propagation, DP+ K=1, DP+ K=30 at alpha = 1/2 and original DP K=30.
    pub fn twin(self) -> Option<Twin> {
        let estimator = match self {
            Self::BackPropagation => "back_propagation",
            Self::DpPlusK1 | Self::DpPlusK30AlphaHalf => "dp_plus",
            Self::OriginalDpK30 => "original_dp",
            _ => return None,
        };
        let cfg = self.config();
        Some(Twin {
            estimator,
            alpha: cfg.map_or(0.0, |c| c.alpha),
            beta: cfg.map_or(0.5, |c| c.beta),
            k: cfg.map_or(1, |c| c.iterations),
        })
    }

    /// The kernels' options of this row, from the run's own (only the stopped row changes them).
    pub fn options(self, base: KernelOptions) -> KernelOptions {
        match self {
            Self::OriginalDpK30Stopped => KernelOptions {
                stop_within_ulps: Some(STOP_WITHIN_ULPS),
                ..base
            },
            _ => base,
        }
    }
}

/// Multiply-adds of one back-propagation training step: forward and weight gradients over every layer, the
/// backward products over every layer but the first (B (3P - P_1), P the weight count).
pub fn backprop_macs(widths: &[usize], batch: usize) -> u64 {
    let p: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
    let p1 = widths[0] * widths[1];
    (batch * (3 * p - p1)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Route: the serde name (what the JSON report writes) against the hand-written key the probe uses.
    #[test]
    fn keys_are_the_serde_names() {
        for id in EstimatorId::ALL {
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{}\"", id.key()));
            assert_eq!(EstimatorId::from_key(id.key()), Some(id));
        }
    }

    /// Route: the label written by hand against the tolerance it names.
    #[test]
    fn the_stopped_label_names_its_tolerance() {
        let label = EstimatorId::OriginalDpK30Stopped.label();
        assert!(label.ends_with(&format!("within {STOP_WITHIN_ULPS} ulps")));
    }

    /// Route: the paper's network counted by hand (P = 784,000 + 3,000,000 + 10,000; P_1 = 784,000).
    #[test]
    fn backprop_macs_of_the_paper_network() {
        assert_eq!(
            backprop_macs(&PAPER_WIDTHS, PAPER_BATCH),
            100 * (3 * 3_794_000 - 784_000)
        );
    }
}
