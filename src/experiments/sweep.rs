//! Table 1's grid and sweeps over it: runs are trained one after another into `<out>/runs/<id>`, and runs
//! whose result.json already exists (same spec and epochs) are skipped, so a sweep can be stopped and re-run.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::experiments::data::Mnist;
use crate::experiments::metrics::{RunResult, Status};
use crate::experiments::progress::Progress;
use crate::experiments::spec::{Algorithm, RunSpec};
use crate::experiments::train::{self, RunOptions};

/// Table 1's inference iterations.
pub const TABLE1_ITERATIONS: [usize; 2] = [1, 30];
/// Table 1's alphas (fully asymmetric nudging).
pub const TABLE1_ALPHAS: [f64; 2] = [0.0, 1.0];

/// The grid of Table 1 for each seed, seed after seed (so a partial sweep gives whole tables for the first
/// seeds): back-propagation, {DP+, original DP} x alpha {0, 1} at K = 1, DP+ at K = 30, and last the costly
/// original DP at K = 30 (no early exit), whose epochs `costly_epochs` and total steps `costly_steps`
/// may cap. `base` supplies everything
/// else; alignment is logged only in the DP+ K = 30 runs (Figures 1 and 2), the loop gain (`base.loop_gain_every`)
/// only in the K = 30 runs of both methods (Figure 3).
pub fn table1_specs(
    base: &RunSpec,
    seeds: &[u64],
    alignment_every: usize,
    costly_epochs: Option<usize>,
    costly_steps: Option<usize>,
) -> Vec<RunSpec> {
    let mut specs = Vec::new();
    for &seed in seeds {
        let mut bp = base.clone();
        bp.algorithm = Algorithm::Backprop;
        bp.seed = seed;
        bp.alignment_every = 0;
        bp.loop_gain_every = 0;
        specs.push(bp);
        let grid = [
            (Algorithm::DpPlus, 1),
            (Algorithm::OriginalDp, 1),
            (Algorithm::DpPlus, 30),
            (Algorithm::OriginalDp, 30),
        ];
        for (algorithm, iterations) in grid {
            for &alpha in &TABLE1_ALPHAS {
                let mut s = base.clone();
                s.algorithm = algorithm;
                s.alpha = alpha;
                s.iterations = iterations;
                s.seed = seed;
                s.alignment_every = if algorithm == Algorithm::DpPlus && iterations == 30 {
                    alignment_every
                } else {
                    0
                };
                if iterations == 1 {
                    s.loop_gain_every = 0;
                }
                if algorithm == Algorithm::OriginalDp && iterations > 1 {
                    s.epochs = costly_epochs.unwrap_or(s.epochs).min(s.epochs);
                    s.max_steps = costly_steps;
                }
                specs.push(s);
            }
        }
    }
    specs
}

/// The runs of Figures 1 and 2: DP+ with K = 30 at alpha in {0, 1}, with alignment logging.
pub fn figure_specs(base: &RunSpec, seeds: &[u64], alignment_every: usize) -> Vec<RunSpec> {
    table1_specs(base, seeds, alignment_every, None, None)
        .into_iter()
        .filter(|s| s.algorithm == Algorithm::DpPlus && s.iterations == 30)
        .collect()
}

/// Directory of a run inside a sweep's output directory.
pub fn run_dir(out: &Path, spec: &RunSpec) -> PathBuf {
    out.join("runs").join(spec.id())
}

/// Trains every run that has no result yet; returns all results in the order of `specs`.
pub fn sweep(
    specs: &[RunSpec],
    data: &Mnist,
    out: &Path,
    opts: &RunOptions,
    progress: &Progress,
) -> Result<Vec<RunResult>> {
    let overall = progress.bar(specs.len() as u64, "runs", "sweep".into());
    let mut results = Vec::with_capacity(specs.len());
    for spec in specs {
        let dir = run_dir(out, spec);
        let result = crate::with_float!(
            spec.precision,
            kernels T => train::run::<T>(spec, data, &dir, opts, progress)
        )?;
        let summary = match (&result.status, &result.divergence, &result.last) {
            (Status::Diverged, Some(d), _) => format!(
                "X (diverged at epoch {} step {}: {})",
                d.epoch, d.step, d.reason
            ),
            (_, _, Some(m)) => format!("test {:.2}%", m.test_accuracy.unwrap_or(f64::NAN)),
            _ => "no epoch completed".into(),
        };
        progress.log(&format!(
            "[{}/{}] {}: {summary} ({:.1} s)",
            results.len() + 1,
            specs.len(),
            spec.id(),
            result.wall_seconds
        ));
        overall.inc(1);
        results.push(result);
    }
    overall.finish_and_clear();
    Ok(results)
}
