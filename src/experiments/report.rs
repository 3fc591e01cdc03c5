//! docs/reproduction.md: Table 1 and Figures 1 and 2 from a sweep, with the budget, the command that
//! regenerated them, wall times, the estimate for the paper's full protocol, and comparisons computed from the
//! results (no hand-written numbers).

use crate::experiments::metrics::{EpochMetrics, RunResult, Status, VerdictCounts};
use crate::experiments::spec::{init_name, Algorithm};
use crate::experiments::table::{self, Published, Row};
use crate::reference::Init;

/// What the report needs besides the results.
pub struct ReportContext<'a> {
    /// The command line that produced the results.
    pub command: &'a str,
    /// Where the images came from (an MNIST directory or the embedded subset).
    pub data_source: &'a str,
    /// Training images used per epoch (after any limit).
    pub train_images: usize,
    /// Images held out for validation.
    pub validation_images: usize,
    /// Images in the test split.
    pub test_images: usize,
    /// The seeds every configuration ran with.
    pub seeds: &'a [u64],
    /// Epochs per run of the sweep's budget.
    pub epochs: usize,
    /// Relative paths (from the doc) of the figure files.
    pub figures: Vec<String>,
    /// Relative path (from the doc) of the per-epoch test-accuracy figure's PNG
    /// ([`crate::experiments::figures::accuracy`]), if drawn.
    pub accuracy_figure: Option<String>,
    /// Relative path (from the doc) of Figure 3's PNG and its summary table ([`crate::experiments::figures::fig3::summary`]),
    /// if drawn.
    pub fig3: Option<(String, String)>,
    /// Wall time of this invocation (runs skipped because they existed cost nothing here).
    pub session_seconds: f64,
    /// Runs the sweep asked for (configurations times seeds).
    pub runs_planned: usize,
    /// Planned runs without a result (report-only mode), with how far they got.
    pub unfinished: Vec<String>,
}

fn fmt_seconds(s: f64) -> String {
    if s >= 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s >= 60.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.1} s")
    }
}

/// Estimated wall time of the paper's protocol (5 seeds x 100 epochs of 540 steps), training steps only:
/// per configuration, the mean measured time per step of its runs; configurations whose runs all diverged
/// cost what they cost here (they stop at the divergence).
pub fn full_protocol_estimate(
    results: &[RunResult],
    metrics_of: &dyn Fn(&RunResult) -> Vec<EpochMetrics>,
) -> f64 {
    const STEPS: f64 = 5.0 * 100.0 * 540.0;
    table::rows(results)
        .iter()
        .map(|row| {
            let runs: Vec<&RunResult> = results
                .iter()
                .filter(|r| r.spec.algorithm == row.algorithm)
                .filter(|r| {
                    row.alpha.is_none_or(|a| r.spec.alpha == a)
                        && row.iterations.is_none_or(|k| r.spec.iterations == k)
                })
                .collect();
            if runs.iter().all(|r| r.status == Status::Diverged) {
                return 5.0 * runs.iter().map(|r| r.wall_seconds).sum::<f64>()
                    / runs.len().max(1) as f64;
            }
            let (secs, steps) = runs
                .iter()
                .flat_map(|r| metrics_of(r))
                .fold((0.0, 0usize), |(t, n), m| {
                    (t + m.epoch_seconds, n + m.steps)
                });
            STEPS * secs / steps.max(1) as f64
        })
        .sum()
}

fn comparisons(rows: &[Row]) -> String {
    let mut s = String::new();
    let find = |a: Algorithm, alpha: f64, k: usize| {
        rows.iter()
            .find(|r| r.algorithm == a && r.alpha == Some(alpha) && r.iterations == Some(k))
    };
    s += "### Checks computed from the results\n\n";
    if let Some(bp) = rows.iter().find(|r| r.algorithm == Algorithm::Backprop) {
        s += &format!(
            "Accuracies are compared at this budget with the paper's 100 epochs and 5 seeds; back-propagation, \
             the reference, reaches {} at the same budget.\n\n",
            bp.ours()
        );
    }
    for alpha in [0.0, 1.0] {
        if let (Some(k1), Some(k30)) = (
            find(Algorithm::DpPlus, alpha, 1),
            find(Algorithm::DpPlus, alpha, 30),
        ) {
            let same = k1.hashes_equal(k30);
            s += &format!(
                "- DP+ α = {alpha}: final weights with K = 30 are {} those with K = 1 (FNV-1a hashes of the weight bits per seed: K = 1 {:?}, K = 30 {:?}).\n",
                if same { "bitwise identical to" } else { "NOT bitwise identical to" },
                k1.weights_hashes,
                k30.weights_hashes
            );
        }
        if let Some(orig) = find(Algorithm::OriginalDp, alpha, 30) {
            s += &format!(
                "- Original DP α = {alpha}, K = 30: {} of {} seeds diverged{} (paper: X).\n",
                orig.divergences.len(),
                orig.seeds,
                orig.divergences.first().map_or(String::new(), |d| format!(
                    "; first: epoch {} step {}, {}",
                    d.epoch, d.step, d.reason
                ))
            );
        }
    }
    for r in rows {
        if let (Some(Published::Accuracy(pm, _)), Some((m, _))) =
            (r.published(), table::mean_std(&r.test))
        {
            if r.divergences.is_empty() {
                s += &format!(
                    "- {} α = {} K = {}: ours {:.2} vs paper {:.2} ({:+.2} points).\n",
                    r.algorithm.label(),
                    r.alpha.unwrap_or(f64::NAN),
                    r.iterations.unwrap_or(0),
                    m,
                    pm,
                    m - pm
                );
            }
        }
        if let (Some(Published::Accuracy(..)), false) = (r.published(), r.divergences.is_empty()) {
            s += &format!(
                "- {} α = {} K = {}: diverged here, the paper reports an accuracy.\n",
                r.algorithm.label(),
                r.alpha.unwrap_or(f64::NAN),
                r.iterations.unwrap_or(0)
            );
        }
        if let (Some(Published::X), true) = (r.published(), r.divergences.is_empty()) {
            s += &format!(
                "- {} α = {} K = {}: did NOT diverge here within the budget, the paper reports X.\n",
                r.algorithm.label(),
                r.alpha.unwrap_or(f64::NAN),
                r.iterations.unwrap_or(0)
            );
        }
    }
    s
}

/// The inference verdicts of the DP runs over all their epochs: counts and fractions of the steps.
fn verdict_summary(
    results: &[RunResult],
    runs_dir_metrics: &dyn Fn(&RunResult) -> Vec<crate::experiments::metrics::EpochMetrics>,
) -> String {
    let mut s = String::from("| run | steps | converged | bounded | diverged | non-finite | mean iterations run | X |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for r in results
        .iter()
        .filter(|r| r.spec.algorithm != Algorithm::Backprop)
    {
        let mut all = VerdictCounts::default();
        for e in runs_dir_metrics(r) {
            all.add(&e.verdicts);
        }
        let fr = all.fractions().unwrap_or([f64::NAN; 4]);
        let split = all.diverged + all.non_finite == all.failed;
        let counts = [
            all.converged,
            all.bounded,
            if split { all.diverged } else { all.failed },
            if split { all.non_finite } else { 0 },
        ];
        let cells: Vec<String> = counts
            .iter()
            .zip(fr)
            .map(|(c, f)| format!("{c} ({:.1}%)", 100.0 * f))
            .collect();
        s += &format!(
            "| {} | {} | {} | {:.2} | {} |\n",
            r.spec.id(),
            all.steps(),
            cells.join(" | "),
            all.mean_iterations_run,
            if table::is_x(r) { "X" } else { "no" }
        );
    }
    s
}

/// Test accuracy after every epoch, one row per run (a run's later epochs are blank once it stopped), so a reader
/// sees the curves behind the last-epoch table, not only its end point.
fn per_epoch(
    results: &[RunResult],
    runs_dir_metrics: &dyn Fn(&RunResult) -> Vec<EpochMetrics>,
) -> String {
    let curves: Vec<(String, Vec<EpochMetrics>)> = results
        .iter()
        .map(|r| (r.spec.id(), runs_dir_metrics(r)))
        .collect();
    let epochs = curves.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
    if epochs == 0 {
        return String::new();
    }
    let mut s = String::from("| run |");
    for e in 1..=epochs {
        s += &format!(" epoch {e} |");
    }
    s += "\n| --- |";
    s += &" --- |".repeat(epochs);
    s += "\n";
    for (id, metrics) in &curves {
        s += &format!("| {id} |");
        for e in 0..epochs {
            let cell = match metrics.get(e) {
                Some(m) => match m.test_accuracy {
                    Some(a) if m.divergence.is_none() => format!("{a:.2}"),
                    _ => "X".to_string(),
                },
                None => String::new(),
            };
            s += &format!(" {cell} |");
        }
        s += "\n";
    }
    s
}

/// The initialisation as a reader needs it: the command-line name and what it draws, or the file started from.
fn init_description(spec: &crate::experiments::spec::RunSpec) -> String {
    if let Some(path) = &spec.init_from {
        let name = path.file_name().unwrap_or(path.as_os_str());
        return format!("weights read from {}", name.to_string_lossy());
    }
    let what = match spec.init {
        Init::LecunNormal => {
            "flax's Dense default: W truncated normal with variance 1/fan_in, zero bias"
        }
        Init::NormalFanIn => "W normal with variance 1/fan_in, zero bias",
        Init::TorchDefault => {
            "PyTorch's Linear default: W and b uniform with variance 1/(3 fan_in)"
        }
        Init::XavierUniform => "W uniform with variance 2/(fan_in + fan_out), zero bias",
        Init::HeNormal => "W normal with variance 2/fan_in, zero bias",
    };
    format!("{} ({what})", init_name(spec.init))
}

/// The whole document.
pub fn document(
    ctx: &ReportContext,
    results: &[RunResult],
    metrics_of: &dyn Fn(&RunResult) -> Vec<crate::experiments::metrics::EpochMetrics>,
) -> String {
    let rows = table::rows(results);
    let first = results.first();
    let spec = first.map(|r| &r.spec);
    let total: f64 = results.iter().map(|r| r.wall_seconds).sum();
    let mut s = String::new();
    s += "# Reproduction of Table 1 and Figures 1 and 2\n\n";
    s += "Generated by `dualprop reproduce table1 ... --doc` (do not edit by hand; re-run the command below).\n\n";
    s += &format!("Command:\n\n```\n{}\n```\n\n", ctx.command);
    s += "## Protocol and budget\n\n";
    if let Some(spec) = spec {
        s += &format!(
            "- Data: {} — {} training images used, {} validation (the last 10% of the training file), {} test.\n",
            ctx.data_source, ctx.train_images, ctx.validation_images, ctx.test_images
        );
        s += &format!(
            "- Net: {:?}, ReLU hidden units, linear output, least-squares loss, β = {}.\n",
            spec.widths, spec.beta
        );
        s += &format!(
            "- Adam, learning rate {}, betas ({}, {}), ε = {}; batch {}; initialisation {}; {} precision; engine {:?}; schedule {:?}.\n",
            spec.adam.learning_rate, spec.adam.beta1, spec.adam.beta2, spec.adam.epsilon, spec.batch, init_description(spec), format!("{:?}", spec.precision).to_lowercase(), spec.engine, spec.schedule
        );
    }
    s += &format!(
        "- Budget: {} epochs per run, seeds {:?} (the paper: 100 epochs, 5 seeds). {} of {} planned runs have results.\n",
        ctx.epochs,
        ctx.seeds,
        results.len(),
        ctx.runs_planned
    );
    s += &format!(
        "- Wall time of the training runs: {} in total (this invocation: {}; a 2-core machine shared with other jobs, so times vary with its load).\n",
        fmt_seconds(total),
        fmt_seconds(ctx.session_seconds)
    );
    s += &format!(
        "- Estimated wall time of the paper's full protocol (5 seeds × 100 epochs × 540 steps of batch 100) on this machine under the same load, from the measured time per step of each configuration (the measured epoch times include the evaluation of the validation and test sets): {}.\n",
        fmt_seconds(full_protocol_estimate(results, metrics_of))
    );
    s += "- Accuracy: test accuracy after the last epoch; mean ± sample standard deviation over seeds. X: by the rule stated under the table, with each configuration's fractions of converged, bounded, diverged and non-finite steps.\n\n";
    if !ctx.unfinished.is_empty() {
        s += "- Runs NOT finished when this report was written (missing from the table):\n";
        for u in &ctx.unfinished {
            s += &format!("  - {u}\n");
        }
        s += "\n";
    }
    s += "## Table 1 (ours / paper)\n\n";
    s += &table::markdown(&rows);
    s += "\n";
    s += &comparisons(&rows);
    s += "\n### Inference verdicts per run\n\n";
    s += "Steps whose inference ended converged (one more pass moves no state by more than 16 ulps), bounded \
          (finite, but one more pass still moves the states), diverged (a state beyond the growth bound) or \
          non-finite (NaN or infinity in the states, loss or weights), with their fractions of the run's steps; a \
          run stops at its first diverged or non-finite step. Mean \
          iterations run: passes actually computed per step; the kernels stop as soon as a whole pass changes no \
          state bit, an exact early exit with bitwise-identical results.\n\n";
    s += &verdict_summary(results, metrics_of);
    let epochs = per_epoch(results, metrics_of);
    if !epochs.is_empty() {
        s += "\n### Test accuracy after each epoch (%)\n\n";
        s += "One row per run; X where the run stopped with a diverged or non-finite step in that epoch; blank after \
              a run's last epoch (capped runs stop early).\n\n";
        s += &epochs;
        if let Some(f) = &ctx.accuracy_figure {
            s += &format!(
                "\n![{f}]({f})\n\nThe same test accuracies against the epoch, one line per run (K = 1 solid, K = 30 dashed, back-propagation black; colours by method and α as in Figure 3); a run's line ends at its last epoch, and the legend says which runs were capped or stopped at an X; right, a zoom on the runs that reached the last epoch. SVG beside the PNG.\n"
            );
        }
    }
    if !ctx.figures.is_empty() {
        s += "\n## Figures 1 and 2 (DP+, K = 30, α ∈ {0, 1}, mean over seeds)\n\n";
        s += "Figure 1: angle between the DP+ and back-propagation gradients per layer (weights and bias of a layer together), on the same weights and batch, before each logged step.\n\n";
        for f in ctx.figures.iter().filter(|f| f.ends_with(".png")) {
            s += &format!("![{f}]({f})\n\n");
        }
        s += "Figure 2 (second image): top, L2 norm of the difference; bottom, both L2 norms (log10). SVG versions beside the PNGs.\n";
    }
    if let Some((f, summary)) = &ctx.fig3 {
        s += "\n## Figure 3 (beyond the paper): loop gain through training, K = 30\n\n";
        s += &format!(
            "Top: the loop gain of the inference iteration (the spectral radius of one pass's Jacobian, a finite-difference power iteration in f64 on the reference, `checks::stability::loop_gain_estimate`), on the weights and batch of a step before its update, estimated on the batch's first {} examples with {} power steps (a lower bound on the whole batch's gain: the examples do not interact, so the batch's Jacobian is block-diagonal), every `--loop-gain-every` steps and at any step whose inference failed (loop_gain.jsonl). Bottom: per epoch, the fraction of steps whose inference did not converge (bounded or failed; metrics.jsonl). Dashed verticals: the step where an original DP run first failed (its X). Seed 1 solid, other seeds dashed; α = 0 wide, α = 1 narrow.\n\n![{f}]({f})\n\n{summary}",
            crate::experiments::train::LOOP_GAIN_EXAMPLES,
            crate::experiments::train::LOOP_GAIN_POWER_STEPS
        );
    }
    s
}
