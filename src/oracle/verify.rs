//! `verify`: compares another implementation's output tensors with the oracle's, tensor by tensor, and when the
//! candidate gives its states, evaluates the KKT and fixed-point residuals of those states to name the equation
//! it violates.

use serde::Serialize;

use crate::checks::fixed_point::{fixed_point_residuals, fixed_point_residuals_of_state};
use crate::checks::kkt::{kkt_report, KktReport};
use crate::checks::tolerance::{deviation, tensor_tolerance, TensorTolerance, SAFETY};
use crate::error::{Error, Result};
use crate::oracle::case::{matrix, Case};
use crate::oracle::compute::{run_in, Summary};
use crate::oracle::condition::FullPrecisionCondition;
use crate::oracle::config::OracleConfig;
use crate::oracle::names;
use crate::reference::inference::infer_exact;
use crate::reference::{DualState, FloatType, Inference, Matrix, Method, Network, OutputRule};
use crate::store::TensorSet;

use crate::oracle::half::{is_half, HalfRuns};
pub use crate::oracle::outcome::Outcome;
use crate::oracle::outcome::{feed_forward_scale, judge};
use crate::reference::problem::Problem;

/// Deviation of one candidate tensor from the oracle (f64).
#[derive(Debug, Clone, Serialize)]
pub struct TensorCheck {
    /// The tensor's name in the oracle's naming (e.g. `z_plus.1`, `grad_W.0`).
    pub name: String,
    /// max |candidate - oracle| over the tensor, absolute.
    pub max_abs: f64,
    /// max |candidate - oracle| / max |oracle| over the tensor.
    pub max_relative: f64,
    /// Flat (row-major) index of the largest deviation.
    pub worst_index: usize,
    /// The same index per dimension ([row, col] of a matrix).
    pub worst_position: Vec<usize>,
    /// The paper's layer of a state (`z_plus.k`: k), or the weight layer of a gradient (`grad_W.k`: k, feeding
    /// layer k + 1).
    pub layer: Option<usize>,
    /// The candidate's value at the worst index.
    pub candidate_value: f64,
    /// The oracle's value at the worst index.
    pub oracle_value: f64,
    /// The relative tolerance this tensor is held to, with what it was derived from.
    pub tolerance: TensorTolerance,
    /// Whether `max_relative` is within `tolerance.relative`.
    pub agrees: bool,
}

/// One equation's residual on the candidate's states against the same residual on the oracle's states.
#[derive(Debug, Clone, Serialize)]
pub struct EquationCheck {
    /// Layer k, 1-based (1..=L).
    pub layer: usize,
    /// The condition's wording, e.g. "Eq. 10 (+)" or "fixed point of Eq. 8".
    pub equation: String,
    /// The candidate's largest absolute residual of this condition on this layer.
    pub candidate: f64,
    /// The same residual on the oracle's own states (the rounding floor it is compared with).
    pub oracle: f64,
    /// Allowed excess of the candidate's residual over the oracle's (absolute).
    pub tolerance: f64,
    /// Whether the candidate's residual exceeds the oracle's by more than `tolerance`, or is NaN where the
    /// oracle's is not.
    pub violated: bool,
}

/// What `dualprop verify` prints.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// One line for people: the outcome, how many tensors agree, and which deviate (worst first).
    pub summary: String,
    /// The verdict, one word; see [`Outcome`] for the exit codes.
    pub outcome: Outcome,
    /// Why the outcome is not `agrees`, in words (empty when it is).
    pub reasons: Vec<String>,
    /// Every tensor agrees and no equation is violated (true for `both_diverge` when the tensors agree).
    pub agrees: bool,
    /// "layer k: equation" for every violated equation (empty when the states were not given or all hold).
    pub violated_equations: Vec<String>,
    /// Names of the tensors that deviate beyond tolerance.
    pub deviating_tensors: Vec<String>,
    /// Every compared tensor, in the candidate's order.
    pub tensors: Vec<TensorCheck>,
    /// Every condition checked on the candidate's states (empty when the states were not given).
    pub equations: Vec<EquationCheck>,
    /// Candidate tensors not compared (residual tensors: they are recomputed from the states instead).
    pub ignored: Vec<String>,
    /// Oracle tensors the candidate did not give.
    pub not_given: Vec<String>,
    /// The agreement rule in words, as printed in reports.
    pub tolerance_rule: &'static str,
    /// Why some check was skipped or weakened (e.g. the reference could not run in f32).
    pub notes: Vec<String>,
    /// The oracle's own run (configuration, widths, verdict, residuals), recomputed in f64.
    pub oracle: Summary,
}

const TOLERANCE_RULE: &str = "a tensor agrees when max|c - o| / max|o| <= max(floor, 16 * condition * eps_T), \
    T = the candidate tensor's float type, floor = 4 (max width + 4) depth eps_T (checks::tolerance::rounding), \
    condition = the larger of the reference's own f32-vs-f64 relative spread on that \
    tensor in f32 epsilons and its measured input condition (the largest relative change of the f64 tensor per \
    unit relative perturbation of every weight, bias, input and target, 8 random sign patterns of size 1e-8), \
    at least 1; an equation is violated when its residual on the candidate's states exceeds \
    the residual on the oracle's states by more than the largest state tolerance times the state scale times \
    (1 + beta + the largest absolute row or column sum of any W); for f16 and bf16 tensors the condition is the \
    reference's own spread between that type and f64 in its epsilons and the floor is sqrt((max width + 4) depth) \
    eps_T / 2 (checks::tolerance::probabilistic_rounding)";
// The rule above prints the safety factor.
const _: () = assert!(SAFETY == 16.0);

/// Verifies `candidate` against the oracle for `case` under `cfg` (always recomputed in f64, the judge).
pub fn verify(case: &Case, cfg: &OracleConfig, candidate: &TensorSet) -> Result<VerifyReport> {
    if candidate.tensors.is_empty() {
        return Err(Error::Format("the candidate file holds no tensors".into()));
    }
    let oracle = run_in::<f64>(case, cfg)?;
    let mut notes = Vec::new();
    let full_precision =
        FullPrecisionCondition::for_candidate(case, cfg, &oracle, candidate, &mut notes);
    let mut raised = Vec::new();
    let half_runs = HalfRuns::for_candidate(case, cfg, candidate, &mut notes);
    let max_width = oracle.summary.widths.iter().copied().max().unwrap_or(1);
    let mut tensors = Vec::new();
    let mut ignored = Vec::new();
    for (name, cand) in &candidate.tensors {
        if name.starts_with("kkt.") || name.starts_with("fixed_point.") {
            ignored.push(name.clone());
            continue;
        }
        let Some(truth) = oracle.tensors.tensors.get(name) else {
            return Err(Error::Format(format!(
                "unexpected tensor {name} in the candidate (see docs/oracle.md for the names)"
            )));
        };
        if cand.shape != truth.shape {
            return Err(Error::Shape {
                what: name.clone(),
                expected: as_pair(&truth.shape),
                got: as_pair(&cand.shape),
            });
        }
        let tolerance = if is_half(cand.dtype) {
            half_runs.tolerance(cand.dtype, name, &truth.data, max_width, case.depth())
        } else {
            let (condition, raised_by_inputs) = full_precision.of(name, &truth.data);
            if raised_by_inputs {
                raised.push(name.clone());
            }
            tensor_tolerance(cand.dtype, condition, max_width, case.depth())
        };
        let (max_abs, max_relative, worst_index) = deviation(&cand.data, &truth.data);
        tensors.push(TensorCheck {
            name: name.clone(),
            max_abs,
            max_relative,
            worst_index,
            worst_position: unravel(worst_index, &truth.shape),
            layer: name.rsplit('.').next().and_then(|k| k.parse().ok()),
            candidate_value: cand.data.get(worst_index).copied().unwrap_or(f64::NAN),
            oracle_value: truth.data.get(worst_index).copied().unwrap_or(f64::NAN),
            tolerance,
            agrees: max_relative <= tolerance.relative,
        });
    }
    if tensors.is_empty() {
        return Err(Error::Format(
            "the candidate holds only residual tensors: nothing to verify".into(),
        ));
    }
    if !raised.is_empty() {
        notes.push(format!(
            "the measured input condition exceeded 16 x the f32 spread on {raised:?}: their tolerance uses it"
        ));
    }
    let eps32 = FloatType::F32.epsilon();
    let unjudgeable: Vec<&str> = tensors
        .iter()
        .filter(|t| t.tolerance.measured_condition >= 1.0 / eps32)
        .map(|t| t.name.as_str())
        .collect();
    if !unjudgeable.is_empty() {
        notes.push(format!(
            "the reference in f32 kept no correct digit of {unjudgeable:?}: their tolerance for an f32 \
             candidate is vacuous"
        ));
    }
    half_runs.note_unjudgeable(&tensors, &mut notes);
    let not_given = oracle
        .tensors
        .tensors
        .keys()
        .filter(|n| !candidate.tensors.contains_key(*n))
        .filter(|n| !n.starts_with("kkt.") && !n.starts_with("fixed_point."))
        .cloned()
        .collect();
    let equations = match candidate_states(case, candidate)? {
        Some(states) if states_finite(&states) => check_equations(case, cfg, &states, &tensors)?,
        Some(_) => {
            notes.push(
                "the candidate's states hold NaN or infinity: no equation was checked".into(),
            );
            Vec::new()
        }
        None => {
            notes.push(
                "the candidate did not give every z_plus.k and z_minus.k: no equation was checked"
                    .into(),
            );
            Vec::new()
        }
    };
    let violated_equations: Vec<String> = equations
        .iter()
        .filter(|e| e.violated)
        .map(|e| format!("layer {}: {}", e.layer, e.equation))
        .collect();
    let deviating_tensors: Vec<String> = tensors
        .iter()
        .filter(|t| !t.agrees)
        .map(|t| t.name.clone())
        .collect();
    let agrees = violated_equations.is_empty() && deviating_tensors.is_empty();
    let (outcome, reasons) = judge(
        &oracle,
        candidate,
        &tensors,
        agrees,
        violated_equations.len(),
        cfg,
        feed_forward_scale(case, cfg)?,
    )?;
    let mut report = VerifyReport {
        summary: String::new(),
        outcome,
        reasons,
        agrees,
        violated_equations,
        deviating_tensors,
        tensors,
        equations,
        ignored,
        not_given,
        tolerance_rule: TOLERANCE_RULE,
        notes,
        oracle: oracle.summary,
    };
    report.summary = crate::oracle::report::summary_line(&report);
    Ok(report)
}

/// Row-major flat index to one index per dimension.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut out = vec![0; shape.len()];
    for (slot, &n) in out.iter_mut().zip(shape).rev() {
        *slot = flat % n.max(1);
        flat /= n.max(1);
    }
    out
}

fn as_pair(shape: &[usize]) -> (usize, usize) {
    match shape {
        [r, c] => (*r, *c),
        [n] => (*n, 1),
        _ => (shape.iter().product(), shape.len()),
    }
}

/// The candidate's states in f64, when it gives all of them (shapes already checked against the oracle's).
fn candidate_states(case: &Case, candidate: &TensorSet) -> Result<Option<DualState<f64>>> {
    let x = matrix::<f64>(&case.x)?;
    let mut state = DualState {
        plus: vec![x.clone()],
        minus: vec![x],
    };
    for k in 1..=case.depth() {
        let (Some(p), Some(m)) = (
            candidate.tensors.get(&names::z_plus(k)),
            candidate.tensors.get(&names::z_minus(k)),
        ) else {
            return Ok(None);
        };
        state.plus.push(matrix(p)?);
        state.minus.push(matrix(m)?);
    }
    Ok(Some(state))
}

fn states_finite(s: &DualState<f64>) -> bool {
    s.plus
        .iter()
        .chain(&s.minus)
        .all(|m| m.first_non_finite().is_none())
}

/// Name of the update whose fixed point layer k's states should be.
pub fn update_equation(cfg: &OracleConfig, k: usize, depth: usize) -> &'static str {
    if k == depth {
        return match cfg.reference().output_rule() {
            OutputRule::Eq16 => "fixed point of Eq. 16",
            OutputRule::Eq16FrozenGradient => "fixed point of Eq. 16 (frozen gradient convention)",
            OutputRule::OriginalExact => "fixed point of Eq. 3's output min/max",
            OutputRule::OriginalLinearized => "fixed point of original DP's linearized output",
            OutputRule::OriginalLinearizedFrozenGradient => {
                "fixed point of original DP's linearized output (frozen gradient convention)"
            }
        };
    }
    match cfg.method {
        Method::DpPlus => "fixed point of Eq. 8",
        Method::OriginalDp => "fixed point of Eq. 3's update",
        Method::OriginalDpDampened => "fixed point of Eq. 3's update dampened (follow-up code)",
        Method::Eq21 => "fixed point of Eq. 21 (settled sign)",
        Method::Eq21Printed => "fixed point of Eq. 21 (printed sign)",
    }
}

fn check_equations(
    case: &Case,
    cfg: &OracleConfig,
    states: &DualState<f64>,
    tensors: &[TensorCheck],
) -> Result<Vec<EquationCheck>> {
    let net: Network<f64> = case.network(cfg.activation, cfg.loss)?;
    let (x, y) = case.batch(&net)?;
    let rcfg = cfg.reference();
    let problem = Problem::new(&net, &rcfg, &x, &y)?;
    let truth: Inference<f64> = infer_exact(&problem)?;
    let scale = (1..=net.depth())
        .map(|k| truth.states.layer_max_abs(k))
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max);
    let state_tol = tensors
        .iter()
        .filter(|t| t.name.starts_with("z_"))
        .map(|t| t.tolerance.relative)
        .fold(0.0f64, f64::max);
    let tol = state_tol * scale * (1.0 + cfg.beta + largest_line_sum(&net));

    let mut out = Vec::new();
    // Both reports validate the states they are given: a non-finite state is an error, not a residual.
    let truth_kkt = kkt_report(&problem, &truth.states).ok();
    let cand_kkt = kkt_report(&problem, states).ok();
    if let (Some(c), Some(t)) = (&cand_kkt, &truth_kkt) {
        push_kkt(&mut out, c, t, tol);
    }
    let truth_fp = fixed_point_residuals(&problem, &truth);
    let Ok(cand_fp) = fixed_point_residuals_of_state(&problem, states) else {
        return Ok(out);
    };
    for (c, t) in cand_fp.iter().zip(&truth_fp) {
        let (cv, tv) = (c.plus.max(c.minus), t.plus.max(t.minus));
        out.push(EquationCheck {
            layer: c.layer,
            equation: update_equation(cfg, c.layer, net.depth()).into(),
            candidate: cv,
            oracle: tv,
            tolerance: tol,
            violated: exceeds(cv, tv, tol),
        });
    }
    Ok(out)
}

fn push_kkt(out: &mut Vec<EquationCheck>, cand: &KktReport, truth: &KktReport, tol: f64) {
    for (cl, tl) in cand.layers.iter().zip(&truth.layers) {
        for (ce, te) in cl.equations.iter().zip(&tl.equations) {
            out.push(EquationCheck {
                layer: cl.layer,
                equation: ce.equation.to_string(),
                candidate: ce.max_abs,
                oracle: te.max_abs,
                tolerance: tol,
                violated: exceeds(ce.max_abs, te.max_abs, tol),
            });
        }
    }
}

/// The candidate's residual is worse than the oracle's by more than `tol` (a NaN residual is always worse).
fn exceeds(candidate: f64, oracle: f64, tol: f64) -> bool {
    if candidate.is_nan() {
        return !oracle.is_nan();
    }
    candidate > oracle + tol
}

/// Largest absolute row or column sum of any weight matrix: bounds how much a state error grows through W or W^T.
fn largest_line_sum(net: &Network<f64>) -> f64 {
    let mut m = 0.0f64;
    for layer in &net.layers {
        let w: &Matrix<f64> = &layer.w;
        for i in 0..w.rows() {
            m = m.max(w.row(i).iter().map(|v| v.abs()).sum());
        }
        for j in 0..w.cols() {
            m = m.max((0..w.rows()).map(|i| w.get(i, j).abs()).sum());
        }
    }
    m
}
