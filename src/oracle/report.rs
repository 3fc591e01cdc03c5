//! Reports people read: the one-line summary that heads `verify`'s JSON and the `--format text` rendering.

use std::fmt::Write;

use crate::oracle::verify::{Outcome, TensorCheck, VerifyReport};

/// "agrees: 19 of 19 tensors" or "disagrees: 17 of 19 tensors agree; 2 deviate: z_plus.3 (...), ...; 1 equation
/// violated: layer 1: Eq. 11". Deviating tensors are listed worst first.
pub fn summary_line(r: &VerifyReport) -> String {
    let n = r.tensors.len();
    let ok = r.tensors.iter().filter(|t| t.agrees).count();
    let mut line = match r.outcome {
        Outcome::Agrees => format!("agrees: {ok} of {n} tensors"),
        _ => format!("{}: {ok} of {n} tensors agree", r.outcome.name()),
    };
    let mut deviating: Vec<&TensorCheck> = r.tensors.iter().filter(|t| !t.agrees).collect();
    deviating.sort_by(|a, b| ratio(b).total_cmp(&ratio(a)));
    if !deviating.is_empty() {
        let mut listed = deviating
            .iter()
            .take(SHOWN)
            .map(|t| {
                format!(
                    "{} (rel. {:.2e} > {:.2e}, worst at {})",
                    t.name,
                    t.max_relative,
                    t.tolerance.relative,
                    position(t)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        if deviating.len() > SHOWN {
            let _ = write!(listed, " and {} more", deviating.len() - SHOWN);
        }
        let _ = write!(line, "; {} deviate: {listed}", deviating.len());
    }
    if !r.violated_equations.is_empty() {
        let n = r.violated_equations.len();
        let mut listed = r.violated_equations[..n.min(SHOWN)].join(", ");
        if n > SHOWN {
            let _ = write!(listed, " and {} more", n - SHOWN);
        }
        let plural = if n == 1 { "" } else { "s" };
        let _ = write!(line, "; {n} equation{plural} violated: {listed}");
    }
    if matches!(
        r.outcome,
        Outcome::BothDiverge | Outcome::CandidateOverflowed
    ) {
        if let Some(reason) = r.reasons.first() {
            let _ = write!(line, "; {reason}");
        }
    }
    line
}

/// Deviating tensors and violated equations named in the summary line (the rest are counted).
const SHOWN: usize = 3;

/// Deviation over tolerance (how badly a tensor misses; infinite for NaN or infinity).
fn ratio(t: &TensorCheck) -> f64 {
    t.max_relative / t.tolerance.relative
}

/// "[row, col] of layer k" for a tensor's worst entry.
fn position(t: &TensorCheck) -> String {
    let index = t
        .worst_position
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let weights = t.name.contains("grad_");
    match t.layer {
        Some(k) if weights => format!("[{index}] of weight layer {k}"),
        Some(k) => format!("[{index}] of layer {k}"),
        None => format!("[{index}]"),
    }
}

/// The whole report for people (`dualprop verify --format text`): the summary line, the reasons, one line per
/// tensor, one per equation (candidate and oracle residual), the notes and the tolerance rule.
pub fn text(r: &VerifyReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", r.summary);
    for reason in &r.reasons {
        let _ = writeln!(s, "  - {reason}");
    }
    let _ = writeln!(
        s,
        "\ntensors (relative deviation max|c - o| / max|o| against the tolerance):"
    );
    let width = r.tensors.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for t in &r.tensors {
        let _ = write!(
            s,
            "  {:<width$}  {:>9.2e} {} {:>9.2e}  {}",
            t.name,
            t.max_relative,
            if t.agrees { "<=" } else { "> " },
            t.tolerance.relative,
            if t.agrees { "ok" } else { "DEVIATES" },
        );
        if !t.agrees {
            let _ = write!(
                s,
                "  worst at {}: candidate {:e}, oracle {:e}",
                position(t),
                t.candidate_value,
                t.oracle_value
            );
        }
        let _ = writeln!(s);
    }
    if !r.not_given.is_empty() {
        let _ = writeln!(s, "  not given: {}", r.not_given.join(", "));
    }
    if !r.equations.is_empty() {
        let _ = writeln!(
            s,
            "\nequations (largest absolute residual on the candidate's and the oracle's states):"
        );
        for e in &r.equations {
            let _ = writeln!(
                s,
                "  layer {} {:<48} candidate {:>9.2e}  oracle {:>9.2e}  allowed excess {:>9.2e}  {}",
                e.layer,
                e.equation,
                e.candidate,
                e.oracle,
                e.tolerance,
                if e.violated { "VIOLATED" } else { "ok" }
            );
        }
    }
    for note in &r.notes {
        let _ = writeln!(s, "note: {note}");
    }
    let _ = writeln!(
        s,
        "oracle: {} after {} passes{}",
        r.oracle.verdict.label(),
        r.oracle.iterations_run,
        r.oracle
            .divergence
            .map_or(String::new(), |d| format!(", {}", d.describe()))
    );
    let _ = writeln!(s, "rule: {}", r.tolerance_rule);
    s
}
