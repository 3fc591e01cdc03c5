//! The outcome of `verify` (agrees, disagrees, both diverge, candidate overflowed) and the reasons given with it:
//! on diverging cases the oracle runs all K passes, so the candidate is judged by how its growth compares.

use serde::Serialize;

use crate::error::Result;
use crate::oracle::case::Case;
use crate::oracle::compute::OracleRun;
use crate::oracle::config::OracleConfig;
use crate::oracle::verify::TensorCheck;
use crate::reference::scalar::{to_f64, FloatType};
use crate::reference::{DualState, Network, Verdict};
use crate::store::TensorSet;

/// The verdict of `verify`, one word (JSON field `outcome`) with its exit code of `dualprop verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every tensor agrees and no equation is violated; the oracle's run does not diverge (exit 0).
    Agrees,
    /// The candidate deviates; `reasons` says how (exit 1).
    Disagrees,
    /// The oracle diverges (its states cross the growth bound, or overflow f64) and the candidate diverges with it:
    /// every tensor agrees within the tolerance measured on this expansive iteration, or both overflowed (exit 3).
    BothDiverge,
    /// The candidate holds NaN or infinity only where the f64 oracle is finite but beyond the range of the
    /// candidate's float type, and every other tensor agrees (exit 4).
    CandidateOverflowed,
}

impl Outcome {
    /// Exit code of `dualprop verify` (2 is unusable input).
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Agrees => 0,
            Outcome::Disagrees => 1,
            Outcome::BothDiverge => 3,
            Outcome::CandidateOverflowed => 4,
        }
    }

    /// The outcome's JSON spelling, as the summary line starts.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Agrees => "agrees",
            Outcome::Disagrees => "disagrees",
            Outcome::BothDiverge => "both_diverge",
            Outcome::CandidateOverflowed => "candidate_overflowed",
        }
    }
}

/// Names the outcome: agreement, divergence of both, the candidate's overflow, or how it disagrees.
pub(super) fn judge(
    oracle: &OracleRun,
    candidate: &TensorSet,
    tensors: &[TensorCheck],
    agrees: bool,
    violated: usize,
    cfg: &OracleConfig,
    ff_scale: f64,
) -> Result<(Outcome, Vec<String>)> {
    let verdict = &oracle.summary.verdict;
    let divergence = oracle.summary.divergence;
    let oracle_overflowed = matches!(verdict, Verdict::NonFinite { .. });
    let candidate_non_finite = tensors
        .iter()
        .filter(|t| t.max_abs.is_infinite())
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>();
    let growth = |set: &TensorSet| -> f64 {
        set.tensors
            .iter()
            .filter(|(n, _)| n.starts_with("z_"))
            .flat_map(|(_, t)| &t.data)
            .fold(
                0.0f64,
                |m, v| if v.is_nan() { f64::NAN } else { m.max(v.abs()) },
            )
            / ff_scale
    };
    let cand_growth = growth(candidate);
    let bound = cfg.reference().divergence_growth;

    if oracle_overflowed {
        // The f64 oracle itself overflowed: nothing finite to compare with.
        return Ok(
            if !candidate_non_finite.is_empty() || !cand_growth.is_finite() {
                (
                    Outcome::BothDiverge,
                    vec![format!(
                        "both overflow: the oracle's states ({}) and the candidate's",
                        verdict.label()
                    )],
                )
            } else {
                (
                Outcome::Disagrees,
                vec![format!(
                    "the oracle's states overflow f64 ({}) while the candidate's stay finite (largest state {:.3e} x the feed-forward scale)",
                    verdict.label(),
                    cand_growth
                )],
            )
            },
        );
    }
    if agrees {
        return Ok(match divergence {
            Some(d) => (Outcome::BothDiverge, vec![format!("both diverge: the oracle is {}; the candidate agrees with it within the measured amplification", d.describe())]),
            None => (Outcome::Agrees, Vec::new()),
        });
    }
    // Overflow of the candidate's type where the oracle is finite but out of that type's range.
    if !candidate_non_finite.is_empty() {
        let justified = tensors.iter().all(|t| {
            if t.agrees {
                return true;
            }
            let Some(truth) = oracle.tensors.tensors.get(&t.name) else {
                return false;
            };
            let dtype = candidate.tensors[&t.name].dtype;
            let peak = truth.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            t.max_abs.is_infinite() && peak > largest_finite(dtype)
        });
        if justified {
            return Ok((
                Outcome::CandidateOverflowed,
                vec![format!(
                    "the candidate holds NaN or infinity in {candidate_non_finite:?} where the f64 oracle is finite but beyond the candidate type's range{}",
                    divergence.map_or(String::new(), |d| format!(" (the oracle is {})", d.describe()))
                )],
            ));
        }
    }
    let mut reasons = Vec::new();
    let gives_states = candidate.tensors.keys().any(|n| n.starts_with("z_"));
    match divergence {
        Some(d) if !gives_states => reasons.push(format!(
            "the oracle is {}; the candidate gives no states, so its growth cannot be compared",
            d.describe()
        )),
        Some(d) if !cand_growth.is_finite() => reasons.push(format!(
            "the candidate's states hold NaN or infinity within the range of their type; the oracle is {}",
            d.describe()
        )),
        Some(d) if cand_growth <= bound => reasons.push(format!(
            "the candidate's states stay within the growth bound ({cand_growth:.3e} x the feed-forward scale after {} passes) where the oracle is {}",
            d.passes,
            d.describe()
        )),
        Some(d) => {
            let span = d.passes.saturating_sub(d.from_pass).max(1) as f64;
            let implied = d
                .growth_per_pass
                .map(|r| r * (cand_growth / d.final_growth).powf(1.0 / span));
            reasons.push(format!(
                "the candidate diverges at another rate: its states reach {cand_growth:.3e} x the feed-forward scale after {} passes against the oracle's {:.3e} (implied growth {} per pass; the oracle is {})",
                d.passes,
                d.final_growth,
                implied.map_or("unmeasured".into(), |r| format!("x{r:.3}")),
                d.describe()
            ));
        }
        None if !cand_growth.is_finite() || cand_growth > bound => reasons.push(format!(
            "the candidate's states diverge ({cand_growth:.3e} x the feed-forward scale) where the oracle's do not ({})",
            verdict.label()
        )),
        None => {}
    }
    let deviating = tensors.iter().filter(|t| !t.agrees).count();
    if deviating > 0 {
        reasons.push(format!(
            "{deviating} of {} tensors deviate beyond their tolerance (see tensors)",
            tensors.len()
        ));
    }
    if violated > 0 {
        reasons.push(format!(
            "the candidate's states violate {violated} equation residuals by more than the allowed excess (see equations)"
        ));
    }
    Ok((Outcome::Disagrees, reasons))
}

/// The scale the growth bound is relative to, as in inference: max(1, largest feed-forward state of layers 1..L).
pub(super) fn feed_forward_scale(case: &Case, cfg: &OracleConfig) -> Result<f64> {
    let net: Network<f64> = case.network(cfg.activation, cfg.loss)?;
    let (x, _) = case.batch(&net)?;
    let ff = DualState::feed_forward(&net, &x);
    Ok((1..=net.depth())
        .map(|k| ff.layer_max_abs(k))
        .fold(1.0, f64::max))
}

/// Largest finite value of a float type.
fn largest_finite(t: FloatType) -> f64 {
    crate::with_float!(t, T => to_f64(<T as num_traits::Float>::max_value()))
}
