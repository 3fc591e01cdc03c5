//! Figure 3 (beyond the paper): the loop gain of the inference iteration (loop_gain.jsonl) and the fraction of
//! steps whose inference did not converge (metrics.jsonl, per epoch) against the training step, for original DP
//! and DP+ at K = 30, with the step where each original DP run first failed marked. Drawn from a run directory's
//! saved files only, so it can be regenerated from disk.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_err, method_color, panel, png, Series};
use crate::error::Result;
use crate::experiments::metrics::{EpochMetrics, LoopGainRecord, RunResult, Status};
use crate::experiments::spec::Algorithm;

/// The curves of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct GainRun {
    /// Original DP or DP+.
    pub algorithm: Algorithm,
    /// The run's alpha.
    pub alpha: f64,
    /// The run's seed.
    pub seed: u64,
    /// (global step, loop gain) of every record, in step order.
    pub gains: Vec<(usize, f64)>,
    /// The fraction of the epoch's steps whose inference did not converge, at the epoch's first and last global
    /// step (a step function over the run).
    pub non_converged: Vec<(usize, f64)>,
    /// The global step of the run's first failed step (its X), if any.
    pub first_failure: Option<usize>,
}

impl GainRun {
    /// The curves of a finished run from its result and its two logs.
    pub fn new(result: &RunResult, gains: &[LoopGainRecord], metrics: &[EpochMetrics]) -> Self {
        let mut end = 0;
        let non_converged = metrics
            .iter()
            .filter(|m| m.steps > 0)
            .flat_map(|m| {
                let start = end + 1;
                end += m.steps;
                let v = &m.verdicts;
                let f = (v.bounded + v.failed) as f64 / m.steps as f64;
                [(start, f), (end, f)]
            })
            .collect();
        let mut gains: Vec<(usize, f64)> = gains.iter().map(|r| (r.global_step, r.gain)).collect();
        gains.sort_by_key(|p| p.0);
        Self {
            algorithm: result.spec.algorithm,
            alpha: result.spec.alpha,
            seed: result.spec.seed,
            gains,
            non_converged,
            first_failure: match result.status {
                Status::Diverged => result.divergence.as_ref().map(|d| d.global_step),
                Status::Completed => None,
            },
        }
    }

    fn label(&self) -> String {
        format!(
            "{} α={} seed {}",
            match self.algorithm {
                Algorithm::OriginalDp => "original DP",
                _ => "DP+",
            },
            self.alpha,
            self.seed
        )
    }

    /// One colour per (method, alpha), as in every figure.
    fn color(&self) -> RGBColor {
        method_color(self.algorithm, self.alpha)
    }
}

/// Figure 3 as a Markdown table, one row per run: how many loop-gain records, their smallest, median and largest
/// gain, how many exceed 1 (an iteration that does not contract there), and the first failed step.
pub fn summary(runs: &[GainRun]) -> String {
    let mut s = String::from(
        "| run | records | loop gain min / median / max | records with gain > 1 | first failed step |\n| --- | --- | --- | --- | --- |\n",
    );
    for r in runs {
        let mut g: Vec<f64> = r.gains.iter().map(|p| p.1).collect();
        g.sort_by(f64::total_cmp);
        let range = match (g.first(), g.last()) {
            (Some(lo), Some(hi)) => format!("{lo:.3} / {:.3} / {hi:.3}", g[g.len() / 2]),
            _ => "—".into(),
        };
        s += &format!(
            "| {} | {} | {range} | {} | {} |\n",
            r.label(),
            g.len(),
            g.iter().filter(|&&v| v > 1.0).count(),
            r.first_failure.map_or("none".into(), |x| x.to_string())
        );
    }
    s
}

/// Each run's curve (seed 1 solid, other seeds dashed; alpha = 0 wide, alpha = 1 narrow; its points marked if
/// `markers`), a line at `reference` if given, and a vertical line at
/// each original DP run's first failure spanning the curves' range.
fn series(
    runs: &[GainRun],
    curve: impl Fn(&GainRun) -> &Vec<(usize, f64)>,
    reference: Option<(f64, &str)>,
    markers: bool,
) -> Vec<Series> {
    let mut out: Vec<Series> = runs
        .iter()
        .map(|r| Series {
            label: r.label(),
            color: r.color(),
            dashed: r.seed != 1,
            // alpha = 0 wider, so that it shows under alpha = 1 where the two coincide.
            width: if r.alpha == 0.0 { 6 } else { 2 },
            markers,
            points: curve(r).iter().map(|&(s, v)| (s as f64, v)).collect(),
        })
        .collect();
    let finite = || {
        out.iter()
            .flat_map(|s| s.points.iter())
            .filter(|p| p.1.is_finite())
    };
    let (mut lo, mut hi) = finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
        (a.min(p.1), b.max(p.1))
    });
    let x_max = finite().map(|p| p.0).fold(1.0, f64::max);
    if let Some((y, _)) = reference {
        (lo, hi) = (lo.min(y), hi.max(y));
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let mut extra = Vec::new();
    if let Some((y, label)) = reference {
        extra.push(Series {
            label: label.into(),
            color: RGBColor(128, 128, 128),
            dashed: true,
            width: 2,
            markers: false,
            points: vec![(1.0, y), (x_max, y)],
        });
    }
    for r in runs.iter().filter(|r| r.algorithm == Algorithm::OriginalDp) {
        if let Some(step) = r.first_failure {
            extra.push(Series {
                label: format!("{} first fails: step {step}", r.label()),
                color: r.color(),
                dashed: true,
                width: 2,
                markers: false,
                points: vec![(step as f64, lo), (step as f64, hi)],
            });
        }
    }
    out.extend(extra);
    out
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, runs: &[GainRun]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(draw_err)?;
    let areas = root.split_evenly((2, 1));
    let failures = runs.iter().filter(|r| r.first_failure.is_some()).count();
    let title = format!(
        "Loop gain of the inference iteration, K = 30 ({})",
        match failures {
            0 => "no original DP run failed".to_string(),
            n => format!("{n} original DP run(s) failed: dashed verticals"),
        }
    );
    panel(
        &areas[0],
        &title,
        "loop gain (4 examples)",
        &series(runs, |r| &r.gains, Some((1.0, "gain = 1")), true),
    )?;
    panel(
        &areas[1],
        "Fraction of steps whose inference did not converge (per epoch)",
        "non-converged fraction",
        &series(runs, |r| &r.non_converged, None, false),
    )?;
    root.present().map_err(draw_err)
}

/// Figure 3 of some runs.
struct GainFigure<'a>(&'a [GainRun]);

impl png::Figure for GainFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        draw(root, self.0)
    }
}

/// Writes `fig3.png` and `fig3.svg` into `out`; returns the paths.
pub fn write(runs: &[GainRun], out: &Path) -> Result<Vec<PathBuf>> {
    png::write_into(&GainFigure(runs), (1100, 800), out, "fig3")
}
