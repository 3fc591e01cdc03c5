//! A sweep's results read back from its output directory: which runs finished (and how far the others got), the
//! curves the figures draw, and the figures of a report written beside it. What `dualprop reproduce` does after (or
//! instead of, with `--report-only`) training.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::experiments::figures::accuracy::{self, AccuracyRun};
use crate::experiments::figures::fig3::{self, GainRun};
use crate::experiments::figures::{self, AlphaCurves};
use crate::experiments::metrics::{
    AlignmentRecord, EpochMetrics, LoopGainRecord, RunProgress, RunResult,
};
use crate::experiments::spec::{Algorithm, RunSpec};
use crate::experiments::sweep::{run_dir, TABLE1_ALPHAS};
use crate::experiments::train::{read_jsonl, read_result, RunFiles};

/// Alignment curves of the DP+ K = 30 runs among `results`, per alpha.
pub fn alignment_curves(out: &Path, results: &[RunResult]) -> Result<Vec<AlphaCurves>> {
    let mut all = Vec::new();
    for alpha in TABLE1_ALPHAS {
        let per_seed = results
            .iter()
            .filter(|r| {
                r.spec.algorithm == Algorithm::DpPlus
                    && r.spec.iterations == 30
                    && r.spec.alpha == alpha
            })
            .map(|r| {
                read_jsonl::<AlignmentRecord>(&RunFiles::new(&run_dir(out, &r.spec)).alignment)
            })
            .collect::<Result<Vec<_>>>()?;
        let per_seed: Vec<_> = per_seed.into_iter().filter(|s| !s.is_empty()).collect();
        if !per_seed.is_empty() {
            all.push(figures::average(alpha, &per_seed));
        }
    }
    Ok(all)
}

/// Figure 3's curves: the original DP and DP+ runs among `results` that logged their loop gain.
pub fn loop_gain_runs(out: &Path, results: &[RunResult]) -> Result<Vec<GainRun>> {
    let mut runs = Vec::new();
    for r in results {
        let files = RunFiles::new(&run_dir(out, &r.spec));
        let gains = read_jsonl::<LoopGainRecord>(&files.loop_gain)?;
        if gains.is_empty() || r.spec.algorithm == Algorithm::Eq21 {
            continue;
        }
        runs.push(GainRun::new(r, &gains, &read_jsonl(&files.metrics)?));
    }
    Ok(runs)
}

/// The per-epoch test-accuracy curves of the runs among `results` that logged an epoch (metrics.jsonl).
pub fn accuracy_runs(out: &Path, results: &[RunResult]) -> Result<Vec<AccuracyRun>> {
    let mut runs = Vec::new();
    for r in results {
        let metrics: Vec<EpochMetrics> =
            read_jsonl(&RunFiles::new(&run_dir(out, &r.spec)).metrics)?;
        if !metrics.is_empty() {
            runs.push(AccuracyRun::new(&r.spec, &metrics));
        }
    }
    Ok(runs)
}

/// Results of the runs that finished, and a description of the others (how far they got).
pub fn finished_runs(specs: &[RunSpec], out: &Path) -> Result<(Vec<RunResult>, Vec<String>)> {
    let (mut done, mut open) = (Vec::new(), Vec::new());
    for spec in specs {
        let dir = run_dir(out, spec);
        match read_result(&dir)? {
            Some(r) if r.spec.same_run(spec) => done.push(r),
            _ => {
                let files = RunFiles::new(&dir);
                let how_far = std::fs::read_to_string(&files.progress)
                    .ok()
                    .and_then(|t| serde_json::from_str::<RunProgress>(&t).ok())
                    .map_or("not started or no progress recorded".to_string(), |p| {
                        format!(
                            "reached epoch {} step {}/{} (global step {}) after {:.0} s, last verdict {}, no divergence until then",
                            p.epoch,
                            p.step,
                            p.steps_per_epoch,
                            p.global_step,
                            p.wall_seconds,
                            p.verdict.unwrap_or_else(|| "none".into())
                        )
                    });
                open.push(format!("{}: {how_far}", spec.id()));
            }
        }
    }
    Ok((done, open))
}

/// The per-epoch metrics of one finished run (empty when its metrics.jsonl cannot be read).
pub fn epoch_metrics(out: &Path, r: &RunResult) -> Vec<EpochMetrics> {
    read_jsonl(&RunFiles::new(&run_dir(out, &r.spec)).metrics).unwrap_or_default()
}

/// The figures a report shows, written into its `figures/` directory, with the paths the report links.
#[derive(Debug, Default)]
pub struct ReportFigures {
    /// Figures 1 and 2 (PNG and SVG), relative to the report.
    pub alignment: Vec<String>,
    /// The accuracy curves' PNG, relative to the report.
    pub accuracy: Option<String>,
    /// Figure 3's PNG, relative to the report, and its summary table.
    pub fig3: Option<(String, String)>,
}

/// Writes the figures of a report whose directory is `doc_dir` into `doc_dir/figures`.
pub fn write_report_figures(
    doc_dir: &Path,
    curves: &[AlphaCurves],
    gain_runs: &[GainRun],
    accuracy_runs: &[AccuracyRun],
) -> Result<ReportFigures> {
    let fig_dir: PathBuf = doc_dir.join("figures");
    let mut out = ReportFigures::default();
    if !gain_runs.is_empty() {
        fig3::write(gain_runs, &fig_dir)?;
        out.fig3 = Some(("figures/fig3.png".to_string(), fig3::summary(gain_runs)));
    }
    if !accuracy_runs.is_empty() {
        accuracy::write(accuracy_runs, &fig_dir)?;
        out.accuracy = Some(format!("figures/{}.png", accuracy::FILE_STEM));
    }
    if !curves.is_empty() {
        for which in [1, 2] {
            for p in figures::write(which, curves, &fig_dir)? {
                out.alignment.push(format!(
                    "figures/{}",
                    p.file_name().unwrap_or_default().to_string_lossy()
                ));
            }
        }
    }
    Ok(out)
}

/// The command line as a report shows it: the program as `dualprop`, absolute paths among the arguments relative
/// to the working directory.
pub fn command_line(args: impl Iterator<Item = String>) -> String {
    args.enumerate()
        .map(|(i, a)| {
            if i == 0 {
                "dualprop".to_string()
            } else {
                relative(&a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An absolute path among the arguments, written relative to the working directory (the repository, when the
/// report goes to docs/), so that the report names no machine's directories; anything else unchanged.
fn relative(arg: &str) -> String {
    let path = Path::new(arg);
    let Ok(cwd) = std::env::current_dir() else {
        return arg.to_string();
    };
    if !path.is_absolute() {
        return arg.to_string();
    }
    let (a, b): (Vec<_>, Vec<_>) = (path.components().collect(), cwd.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return arg.to_string();
    }
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &a[common..] {
        rel.push(c);
    }
    let text = rel.display().to_string();
    if text.is_empty() {
        ".".into()
    } else {
        text
    }
}
