//! Scaling (opt-in, `dualprop perf --scaling`): the step time of back-propagation and DP+ K=1 against the hidden
//! width (batch 100) and against the batch (width 1000), f32, ours and the JAX peer's interleaved round by round,
//! beside a cost model: the products' flops at the GEMM rate measured at the paper's shapes, plus the
//! memory-bound terms (Adam, the weights each product reads, the state passes) at the bandwidth Adam reaches on
//! the paper's network. Writes Markdown, JSON, PNG and SVG.
//!
//! Pieces: [`measure`] (the rates and the interleaved timing of every point), `table` (the Markdown),
//! `figure` (the plot); this module holds the report, its points and the cost model.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiments::figures::png::write_png_and_svg;

use super::peer::Peer;
use super::workload::EstimatorId;

mod figure;
pub mod measure;
mod table;

pub use measure::run;

/// Hidden widths of the width sweep (batch [`PAPER_BATCH`](super::workload::PAPER_BATCH)).
pub const WIDTHS: [usize; 5] = [256, 512, 1024, 2048, 4096];
/// Batches of the batch sweep (the paper's widths).
pub const BATCHES: [usize; 4] = [1, 10, 100, 1000];
/// The estimators swept.
pub const SWEPT: [EstimatorId; 2] = [EstimatorId::BackPropagation, EstimatorId::DpPlusK1];
/// Timed rounds per point after one warm-up round (the sweep stays within a few minutes).
pub const ROUNDS: usize = 3;

/// Passes over a [width, batch] state array the cost model assumes per hidden or output unit and sample: for
/// back-propagation, the feed-forward writes a and z, the backward pass reads a and writes e, the gradient
/// reads e and z (6); for DP+ K=1 the same feed-forward and gradient reads of the two nudged states (6), plus
/// the sweep's fused updates, which read a and the feedback and write z+ and z- on the way up and again on the
/// way down (8). A model's assumption, not a measurement.
pub fn state_passes(id: EstimatorId) -> f64 {
    match id {
        EstimatorId::BackPropagation => 6.0,
        _ => 14.0,
    }
}

/// Which sweep a point belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    /// Hidden width varies.
    Width,
    /// Batch varies.
    Batch,
}

/// One shape of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The sweep it belongs to.
    pub axis: Axis,
    /// The network's widths.
    pub widths: Vec<usize>,
    /// Samples per step.
    pub batch: usize,
    /// Multiply-adds of each estimator's step (ours, counted by the kernels).
    pub macs: BTreeMap<EstimatorId, u64>,
    /// Our median step, seconds.
    pub ours_s: BTreeMap<EstimatorId, f64>,
    /// The JAX twin's median step (same rounds), seconds.
    pub jax_s: BTreeMap<EstimatorId, f64>,
    /// The cost model's step, seconds.
    pub model_s: BTreeMap<EstimatorId, f64>,
}

impl Point {
    /// The value on the sweep's axis (hidden width or batch).
    pub fn x(&self) -> usize {
        match self.axis {
            Axis::Width => self.widths[1],
            Axis::Batch => self.batch,
        }
    }
}

/// The rates the cost model uses, measured at the start of the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// faer's products at the paper's shapes (best of the rounds), GFLOP/s.
    pub gemm_gflops: f64,
    /// Adam's update on the paper's network: 7 values per parameter over its best time, GB/s.
    pub bandwidth_gbs: f64,
}

/// The cost model of one step: products at the GEMM rate, plus Adam's 7 values per parameter, one read of each
/// product's weights and [`state_passes`] over the states, at the bandwidth (f32).
pub fn model_s(id: EstimatorId, widths: &[usize], batch: usize, macs: u64, r: &Rates) -> f64 {
    let bytes = 4.0;
    let p: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
    let weight_reads = (macs as f64 / batch as f64) * bytes;
    let states: usize = widths[1..].iter().sum();
    let memory =
        7.0 * p as f64 * bytes + weight_reads + state_passes(id) * (states * batch) as f64 * bytes;
    2.0 * macs as f64 / (r.gemm_gflops * 1e9) + memory / (r.bandwidth_gbs * 1e9)
}

/// A sweep's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingReport {
    /// When it ran (UTC).
    pub date: String,
    /// The 1-minute load average at the start and the end.
    pub load: (String, String),
    /// Threads of our kernels.
    pub threads: usize,
    /// Timed rounds per point.
    pub rounds: usize,
    /// What the cost model used.
    pub rates: Rates,
    /// What became of the peer.
    pub peer: Peer,
    /// Every point, the width sweep first.
    pub points: Vec<Point>,
}

impl ScalingReport {
    /// Writes `<stem>.md`, `.json`, `.png` and `.svg` (stem: a path without extension); returns the paths.
    pub fn write(&self, stem: &Path) -> Result<Vec<PathBuf>> {
        if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let with = |ext: &str| stem.with_extension(ext);
        let (md, json, png, svg) = (with("md"), with("json"), with("png"), with("svg"));
        let name = png
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().to_string());
        std::fs::write(&md, self.to_markdown(&name)).map_err(|e| Error::io(&md, e))?;
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Format(e.to_string()))?;
        std::fs::write(&json, text + "\n").map_err(|e| Error::io(&json, e))?;
        write_png_and_svg(self, (1100, 460), &png, &svg)?;
        Ok(vec![md, json, png, svg])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Route: the model worked out by hand for a 2-2-2 network at batch 1: 8 multiply-adds = 16 flops at
    /// 1 GFLOP/s = 16 ns; bytes 7 x 8 x 4 (Adam) + 8 x 4 (weights) + 6 x 4 x 4 (states) = 352 at 1 GB/s = 352 ns.
    #[test]
    fn model_adds_products_and_traffic() {
        let r = Rates {
            gemm_gflops: 1.0,
            bandwidth_gbs: 1.0,
        };
        let t = model_s(EstimatorId::BackPropagation, &[2, 2, 2], 1, 8, &r);
        assert!((t - 368e-9).abs() < 1e-15, "{t}");
    }
}
