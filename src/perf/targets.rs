//! The performance targets: one table of (metric, threshold, reason), judged on a run's measurements.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::measurement::Mode;
use super::report::FloatReport;
use super::workload::EstimatorId;

/// What a target measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// One step's time over another's, in the same thread mode (x).
    StepRatio {
        /// The step measured.
        of: EstimatorId,
        /// The step it is compared with.
        over: EstimatorId,
    },
    /// A step's GFLOP/s (its products' multiply-adds over the whole step's time) as a share of the best GEMM
    /// rate measured in the run: faer's roofline in its best thread mode, or XLA's products at the same shapes
    /// when the peer ran (%).
    GemmShare {
        /// The step measured.
        of: EstimatorId,
    },
    /// The reference's DP+ inference time over the kernel's at the same batch (x; measured in the default mode
    /// only).
    ReferenceSpeedup {
        /// Inference iterations.
        k: usize,
    },
    /// Our step over a JAX twin's, the median of the per-round ratios (x; when the peer ran).
    PeerRatio {
        /// Our step.
        of: EstimatorId,
        /// The estimator whose JAX twin it is compared with.
        over: EstimatorId,
    },
}

impl Metric {
    /// Which side of the threshold meets a target on this metric: a time ratio should be small, a share of the
    /// GEMM rate or a speed-up large.
    pub fn bound(self) -> Bound {
        match self {
            Metric::StepRatio { .. } | Metric::PeerRatio { .. } => Bound::AtMost,
            Metric::GemmShare { .. } | Metric::ReferenceSpeedup { .. } => Bound::AtLeast,
        }
    }
}

/// Which side of the threshold meets the target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// The measured value may be at most the threshold.
    AtMost,
    /// The measured value must be at least the threshold.
    AtLeast,
}

/// One target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// What is measured (it says which side of the threshold meets the target: [`Metric::bound`]).
    pub metric: Metric,
    /// The threshold, in the metric's unit.
    pub threshold: f64,
    /// Why this threshold.
    pub reason: &'static str,
}

/// The targets of issue 13, in the order of the report's table (each thread mode repeats the ones that apply to
/// it).
pub const TARGETS: [Target; 11] = [
    Target {
        metric: Metric::StepRatio { of: EstimatorId::DpPlusK1, over: EstimatorId::BackPropagation },
        threshold: 1.05,
        reason: "a DP+ K=1 step executes the same dense products as a back-propagation step; only its \
                 elementwise work (dual states, the fused layer updates of one sweep) is extra",
    },
    Target {
        metric: Metric::StepRatio { of: EstimatorId::DpPlusK30, over: EstimatorId::DpPlusK1 },
        threshold: 1.1,
        reason: "at alpha = 0 the second sweep reproduces the first bitwise, so the exact early exit stops it",
    },
    Target {
        metric: Metric::StepRatio { of: EstimatorId::DpPlusK30Alpha1, over: EstimatorId::DpPlusK1 },
        threshold: 1.1,
        reason: "as at alpha = 0: at alpha = 1 the mean state is the feed-forward one and the sweep settles at once",
    },
    Target {
        metric: Metric::GemmShare { of: EstimatorId::DpPlusK1 },
        threshold: 80.0,
        reason: "the dense products dominate a step; the memory-bound Adam pass and the elementwise work \
                 should not take more than a fifth of it",
    },
    Target {
        metric: Metric::ReferenceSpeedup { k: 1 },
        threshold: 20.0,
        reason: "the kernels exist to be fast: the reference is a plain triple loop written to be read",
    },
    Target {
        metric: Metric::ReferenceSpeedup { k: 30 },
        threshold: 20.0,
        reason: "as at K=1; the exact early exit and cached products should widen the gap",
    },
    Target {
        metric: Metric::PeerRatio { of: EstimatorId::DpPlusK1, over: EstimatorId::BackPropagation },
        threshold: 1.0,
        reason: "a DP+ K=1 step costs what back-propagation costs, so it should not lose to a mature \
                 compiler's back-propagation step on the same machine",
    },
    Target {
        metric: Metric::PeerRatio { of: EstimatorId::DpPlusK1, over: EstimatorId::BackPropagation },
        threshold: 0.9,
        reason: "stretch: the same, with a margin",
    },
    Target {
        metric: Metric::PeerRatio { of: EstimatorId::BackPropagation, over: EstimatorId::BackPropagation },
        threshold: 0.95,
        reason: "the same step with the same products: a hand-scheduled kernel should beat a general compiler",
    },
    Target {
        metric: Metric::PeerRatio { of: EstimatorId::DpPlusK30AlphaHalf, over: EstimatorId::DpPlusK30AlphaHalf },
        threshold: 0.8,
        reason: "the peer runs the same 30 sweeps in a jit-compiled fori_loop; ours fuse each layer's \
                 elementwise work into one pass and reuse products the sweep has not changed",
    },
    Target {
        metric: Metric::PeerRatio { of: EstimatorId::OriginalDpK30, over: EstimatorId::OriginalDpK30 },
        threshold: 0.8,
        reason: "as for DP+ at alpha = 1/2",
    },
];

/// One target as measured in one float type and thread mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetResult {
    /// The target in words, as the table shows it.
    pub target: String,
    /// The float type.
    pub float: String,
    /// The thread mode.
    pub mode: Mode,
    /// The threshold, in the metric's unit.
    pub threshold: f64,
    /// The measured value, in the metric's unit.
    pub measured: f64,
    /// The measured value as the table shows it.
    pub shown: String,
    /// Whether the target was met.
    pub met: bool,
    /// Why this threshold.
    pub reason: String,
}

impl Target {
    /// The target in words; `mode` names a thread mode other than the default.
    pub fn describe(&self, mode: Option<&str>) -> String {
        let m = mode.map_or(String::new(), |l| format!(" ({l})"));
        let t = self.threshold;
        match self.metric {
            Metric::StepRatio { of, over } => {
                format!("{} step <= {t}x {} step{m}", of.label(), over.label())
            }
            Metric::GemmShare { of } => {
                format!("{} step >= {t}% of the best GEMM rate{m}", of.label())
            }
            Metric::ReferenceSpeedup { k } => {
                format!("kernel >= {t}x the reference (DP+ K={k}, same batch){m}")
            }
            Metric::PeerRatio { of, over } => {
                format!("{} step{m} <= {t}x JAX's {} step", of.label(), over.label())
            }
        }
    }

    /// The measured value and how the table shows it, if this run measured it.
    pub fn measure(&self, r: &FloatReport, mode: Mode) -> Option<(f64, String)> {
        match self.metric {
            Metric::StepRatio { of, over } => {
                let ratio = r.step(mode, of)?.time.median_s / r.step(mode, over)?.time.median_s;
                Some((ratio, format!("{ratio:.2}x")))
            }
            Metric::GemmShare { of } => {
                let pct = 100.0 * r.step(mode, of)?.gflops() / r.best_gemm_gflops()?;
                Some((pct, format!("{pct:.0}%")))
            }
            Metric::ReferenceSpeedup { k } if mode == Mode::Default => {
                let t = r.inference.get(&k)?;
                let speed = t.reference_s / t.kernel_same_batch_s;
                Some((speed, format!("{speed:.0}x")))
            }
            Metric::ReferenceSpeedup { .. } => None,
            Metric::PeerRatio { of, over } => {
                let spread = r.peer_ratio(mode, of, over)?;
                Some((spread.median, spread.shown()))
            }
        }
    }

    /// Whether `measured` meets the target.
    pub fn met(&self, measured: f64) -> bool {
        match self.metric.bound() {
            Bound::AtMost => measured <= self.threshold,
            Bound::AtLeast => measured >= self.threshold,
        }
    }
}

/// Every target that this run measured: by float type, then thread mode, then the table's order.
pub fn judge(floats: &BTreeMap<String, FloatReport>) -> Vec<TargetResult> {
    let mut out = Vec::new();
    for (float, r) in floats {
        for &mode in r.modes.keys() {
            for target in &TARGETS {
                let Some((measured, shown)) = target.measure(r, mode) else {
                    continue;
                };
                out.push(TargetResult {
                    target: target.describe(mode.label()),
                    float: float.clone(),
                    mode,
                    threshold: target.threshold,
                    measured,
                    shown,
                    met: target.met(measured),
                    reason: target.reason.to_string(),
                });
            }
        }
    }
    out
}
