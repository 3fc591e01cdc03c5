//! Table 1 from a sweep's results: mean +- sample standard deviation over seeds of the final-epoch test
//! accuracy, X for diverged runs (with where they diverged), the paper's published numbers beside ours,
//! back-propagation as a reference row. Written as Markdown and CSV.

use crate::experiments::metrics::{Divergence, RunResult, Status, VerdictCounts};
use crate::experiments::spec::Algorithm;
use crate::experiments::sweep::{TABLE1_ALPHAS, TABLE1_ITERATIONS};

/// When a run is X (the paper: "did not converge"), as printed beside the table.
pub const X_RULE: &str = "X (our rule): at least one training step whose inference diverged (a state beyond the \
growth bound) or went non-finite, or a non-finite loss, weights or prediction; the run stops at that step. The \
fractions of steps that converged, stayed bounded without converging, diverged or went non-finite are listed \
per configuration.";

/// The run is X by [`X_RULE`] (training ends such a run as diverged).
pub fn is_x(r: &RunResult) -> bool {
    r.status == Status::Diverged
}

/// A number the paper publishes in Table 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Published {
    /// Mean +- std of the test accuracy in percent over 5 seeds.
    Accuracy(f64, f64),
    /// "X": did not converge.
    X,
}

/// The paper's Table 1 (100 epochs, 5 seeds); back-propagation has no entry there. Only the paper's exact
/// configurations (alpha in {0, 1}, K in {1, 30}) have an entry: an alpha = 1/2 row has none.
pub fn published(algorithm: Algorithm, alpha: f64, iterations: usize) -> Option<Published> {
    use Published::*;
    let alpha = if alpha == 0.0 {
        0
    } else if alpha == 1.0 {
        1
    } else {
        return None;
    };
    match (algorithm, alpha, iterations) {
        (Algorithm::DpPlus, 0, 1) => Some(Accuracy(98.33, 0.10)),
        (Algorithm::DpPlus, 0, 30) => Some(Accuracy(98.36, 0.03)),
        (Algorithm::DpPlus, 1, 1) => Some(Accuracy(98.43, 0.08)),
        (Algorithm::DpPlus, 1, 30) => Some(Accuracy(98.46, 0.09)),
        (Algorithm::OriginalDp, 0, 1) => Some(Accuracy(98.50, 0.08)),
        (Algorithm::OriginalDp, 1, 1) => Some(Accuracy(97.92, 0.11)),
        (Algorithm::OriginalDp, _, 30) => Some(X),
        _ => None,
    }
}

/// One configuration aggregated over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The gradient estimator.
    pub algorithm: Algorithm,
    /// None for back-propagation.
    pub alpha: Option<f64>,
    /// Inference iterations K; None for back-propagation.
    pub iterations: Option<usize>,
    /// Runs found for this configuration (completed and diverged).
    pub seeds: usize,
    /// Final test accuracies in percent of the runs that completed.
    pub test: Vec<f64>,
    /// Final validation accuracies in percent of the runs that completed.
    pub validation: Vec<f64>,
    /// Where each diverged run diverged (the paper's X).
    pub divergences: Vec<Divergence>,
    /// Epochs requested by the runs' specification.
    pub epochs: usize,
    /// Wall time in seconds summed over the seeds.
    pub wall_seconds: f64,
    /// FNV-1a hash of each run's final weights, in the order the runs were found.
    pub weights_hashes: Vec<String>,
    /// Step at which capped runs stopped (see `RunSpec::max_steps`).
    pub capped_at: Vec<usize>,
    /// Inference verdicts summed over the seeds' steps (None if a run's result predates them).
    pub verdicts: Option<VerdictCounts>,
}

/// Mean and sample standard deviation (None for the std of a single value).
pub fn mean_std(xs: &[f64]) -> Option<(f64, Option<f64>)> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let std = (xs.len() > 1)
        .then(|| (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    Some((mean, std))
}

impl Row {
    /// The paper's Table 1 entry for this configuration, if it has one.
    pub fn published(&self) -> Option<Published> {
        published(self.algorithm, self.alpha?, self.iterations?)
    }

    /// "X (2/3 seeds, first at epoch 1 step 4)", or "98.10 ± 0.12" (n = number of seeds).
    pub fn ours(&self) -> String {
        if let Some(first) = self.divergences.iter().min_by_key(|d| d.global_step) {
            return format!(
                "X ({}/{} seeds, first at epoch {} step {})",
                self.divergences.len(),
                self.seeds,
                first.epoch,
                first.step
            );
        }
        match mean_std(&self.test) {
            None => "—".into(),
            Some((m, Some(s))) => format!("{m:.2} ± {s:.2}"),
            Some((m, None)) => format!("{m:.2} (1 seed)"),
        }
    }

    /// " [capped at step N]" or " [E epochs]" when this row's budget differs from the table's.
    pub fn budget_note(&self, table_epochs: usize) -> String {
        if let Some(step) = self.capped_at.iter().max() {
            format!(" [capped at step {step}]")
        } else if self.epochs != table_epochs {
            format!(" [{} epochs]", self.epochs)
        } else {
            String::new()
        }
    }

    /// The paper's entry as printed: "98.33 ± 0.10", "X", or "—" when it has none.
    pub fn paper(&self) -> String {
        match self.published() {
            Some(Published::Accuracy(m, s)) => format!("{m:.2} ± {s:.2}"),
            Some(Published::X) => "X".into(),
            None => "—".into(),
        }
    }

    /// Fractions of the steps (converged, bounded, diverged, non-finite) over all seeds.
    pub fn fractions(&self) -> Option<[f64; 4]> {
        self.verdicts.as_ref()?.fractions()
    }

    /// All seeds ended with the same weights hash (bitwise-identical final weights).
    pub fn hashes_equal(&self, other: &Row) -> bool {
        !self.weights_hashes.is_empty() && self.weights_hashes == other.weights_hashes
    }
}

/// Groups results by configuration, in Table 1's order (back-propagation first).
pub fn rows(results: &[RunResult]) -> Vec<Row> {
    let mut keys: Vec<(Algorithm, Option<f64>, Option<usize>)> =
        vec![(Algorithm::Backprop, None, None)];
    for &k in &TABLE1_ITERATIONS {
        for &a in &TABLE1_ALPHAS {
            for algo in [Algorithm::DpPlus, Algorithm::OriginalDp] {
                keys.push((algo, Some(a), Some(k)));
            }
        }
    }
    // Configurations outside the grid (other alphas or K) follow in order of appearance.
    for r in results {
        let key = key_of(r);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .filter_map(|key| {
            let runs: Vec<&RunResult> = results.iter().filter(|r| key_of(r) == key).collect();
            let first = runs.first()?;
            Some(Row {
                algorithm: key.0,
                alpha: key.1,
                iterations: key.2,
                seeds: runs.len(),
                test: runs
                    .iter()
                    .filter(|r| r.status == Status::Completed)
                    .filter_map(|r| r.last.as_ref()?.test_accuracy)
                    .collect(),
                validation: runs
                    .iter()
                    .filter(|r| r.status == Status::Completed)
                    .filter_map(|r| r.last.as_ref()?.validation_accuracy)
                    .collect(),
                divergences: runs.iter().filter_map(|r| r.divergence.clone()).collect(),
                epochs: first.spec.epochs,
                wall_seconds: runs.iter().map(|r| r.wall_seconds).sum(),
                weights_hashes: runs.iter().map(|r| r.weights_hash.clone()).collect(),
                capped_at: runs.iter().filter_map(|r| r.capped_at_step).collect(),
                verdicts: runs
                    .iter()
                    .try_fold(VerdictCounts::default(), |mut all, r| {
                        all.add(r.verdicts.as_ref()?);
                        Some(all)
                    }),
            })
        })
        .collect()
}

fn key_of(r: &RunResult) -> (Algorithm, Option<f64>, Option<usize>) {
    match r.spec.algorithm {
        Algorithm::Backprop => (Algorithm::Backprop, None, None),
        a => (a, Some(r.spec.alpha), Some(r.spec.iterations)),
    }
}

fn find(rows: &[Row], algorithm: Algorithm, alpha: f64, k: usize) -> Option<&Row> {
    rows.iter()
        .find(|r| r.algorithm == algorithm && r.alpha == Some(alpha) && r.iterations == Some(k))
}

/// The paper's layout, each cell "ours / paper", then back-propagation, then the long format.
pub fn markdown(rows: &[Row]) -> String {
    let max_epochs = rows.iter().map(|r| r.epochs).max().unwrap_or(0);
    let mut s = String::new();
    s += "| Iterations | α = 0, DP+ | α = 0, original DP | α = 1, DP+ | α = 1, original DP |\n";
    s += "| --- | --- | --- | --- | --- |\n";
    for &k in &TABLE1_ITERATIONS {
        s += &format!("| {k} |");
        for &a in &TABLE1_ALPHAS {
            for algo in [Algorithm::DpPlus, Algorithm::OriginalDp] {
                let cell = match find(rows, algo, a, k) {
                    Some(r) => format!(
                        " {}{} / paper {} |",
                        r.ours(),
                        r.budget_note(max_epochs),
                        r.paper()
                    ),
                    None => format!(
                        " not run / paper {} |",
                        published(algo, a, k).map_or("—".into(), |p| match p {
                            Published::Accuracy(m, s) => format!("{m:.2} ± {s:.2}"),
                            Published::X => "X".into(),
                        })
                    ),
                };
                s += &cell;
            }
        }
        s += "\n";
    }
    if let Some(bp) = rows.iter().find(|r| r.algorithm == Algorithm::Backprop) {
        s += &format!(
            "\nBack-propagation (reference, not in the paper's table): {}\n",
            bp.ours()
        );
    }
    s += "\nPer configuration (test and validation accuracy at the last epoch, mean ± sample std over seeds):\n\n";
    s += "| method | α | K | seeds | epochs | test % (ours) | validation % | paper | diverged | wall time (s, all seeds) |\n";
    s += "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
    for r in rows {
        let val = match mean_std(&r.validation) {
            Some((m, Some(sd))) => format!("{m:.2} ± {sd:.2}"),
            Some((m, None)) => format!("{m:.2}"),
            None => "—".into(),
        };
        let div = if r.divergences.is_empty() {
            "no".to_string()
        } else {
            r.divergences
                .iter()
                .map(|d| format!("epoch {} step {} ({})", d.epoch, d.step, d.reason))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let epochs = format!("{}{}", r.epochs, r.budget_note(r.epochs));
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} |\n",
            r.algorithm.label(),
            r.alpha.map_or("—".into(), |a| a.to_string()),
            r.iterations.map_or("—".into(), |k| k.to_string()),
            r.seeds,
            epochs,
            r.ours(),
            val,
            r.paper(),
            div,
            r.wall_seconds
        );
    }
    s += &format!("\n{X_RULE}\n\n");
    s += "| method | α | K | steps (all seeds) | converged | bounded | diverged | non-finite | X |\n";
    s += "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
    for r in rows.iter().filter(|r| r.algorithm != Algorithm::Backprop) {
        let pct = |i: usize| {
            r.fractions()
                .map_or("—".into(), |f| format!("{:.1}%", 100.0 * f[i]))
        };
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.algorithm.label(),
            r.alpha.map_or("—".into(), |a| a.to_string()),
            r.iterations.map_or("—".into(), |k| k.to_string()),
            r.verdicts
                .as_ref()
                .map_or("—".into(), |v| v.steps().to_string()),
            pct(0),
            pct(1),
            pct(2),
            pct(3),
            if r.divergences.is_empty() {
                "no".to_string()
            } else {
                format!("X ({}/{} seeds)", r.divergences.len(), r.seeds)
            }
        );
    }
    s
}

/// Header of the CSV file.
pub const CSV_HEADER: &str = "method,alpha,iterations,seeds,completed,diverged,test_mean,test_std,validation_mean,validation_std,ours,paper_mean,paper_std,paper,first_divergence_epoch,first_divergence_step,epochs,capped_at_step,wall_seconds,steps,converged_fraction,bounded_fraction,diverged_fraction,non_finite_fraction";

/// One line per configuration; empty fields where a value does not exist.
pub fn csv(rows: &[Row]) -> String {
    let f = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x:.4}"));
    let mut s = String::from(CSV_HEADER);
    s.push('\n');
    for r in rows {
        let (tm, ts) = mean_std(&r.test).map_or((None, None), |(m, s)| (Some(m), s));
        let (vm, vs) = mean_std(&r.validation).map_or((None, None), |(m, s)| (Some(m), s));
        let (pm, ps) = match r.published() {
            Some(Published::Accuracy(m, s)) => (Some(m), Some(s)),
            _ => (None, None),
        };
        let first = r.divergences.iter().min_by_key(|d| d.global_step);
        s += &[
            r.algorithm.name().to_string(),
            r.alpha.map_or(String::new(), |a| a.to_string()),
            r.iterations.map_or(String::new(), |k| k.to_string()),
            r.seeds.to_string(),
            r.test.len().to_string(),
            r.divergences.len().to_string(),
            f(tm),
            f(ts),
            f(vm),
            f(vs),
            if r.divergences.is_empty() {
                r.ours()
            } else {
                "X".into()
            },
            f(pm),
            f(ps),
            r.paper(),
            first.map_or(String::new(), |d| d.epoch.to_string()),
            first.map_or(String::new(), |d| d.step.to_string()),
            r.epochs.to_string(),
            r.capped_at
                .iter()
                .max()
                .map_or(String::new(), |c| c.to_string()),
            format!("{:.1}", r.wall_seconds),
            // Back-propagation has no inference, so no verdicts: empty.
            r.verdicts
                .as_ref()
                .filter(|v| v.steps() > 0)
                .map_or(String::new(), |v| v.steps().to_string()),
        ]
        .into_iter()
        .chain((0..4).map(|i| f(r.fractions().map(|fr| fr[i]))))
        .collect::<Vec<_>>()
        .join(",");
        s.push('\n');
    }
    s
}
