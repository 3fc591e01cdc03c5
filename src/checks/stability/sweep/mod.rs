//! Stability as a sweep (docs/stability.md, section 10, "The sweep"): over weight scale x method x alpha x activation on small
//! seeded networks, the verdict of K inference passes against the loop gain the theory predicts, and per
//! (method, alpha, activation, seed) the scale at which each crosses its threshold.
//!
//! The network family of one case is He-normal weights (zero biases) times a scale s applied to every layer. For
//! each s on a geometric grid the sweep records the outcome of [`infer_with`](crate::reference::inference::infer_with) after K passes and a predicted loop
//! gain ([`predict`]); then it finds, by a scan of the grid and bisection inside the first interval that changes,
//! - the observed divergence boundary: the smallest s whose run ends diverged or non-finite;
//! - the observed settling boundary: the smallest s whose run does not end converged (exactly or to rounding);
//! - the predicted boundary: the smallest s whose predicted gain reaches 1;
//! - for DP+ with ReLU at alpha in (0, 1), the sufficient boundary: the smallest s at which the global comparison
//!   bound rho(C_global) of Section 4.3 reaches 1 (below it the pass is a contraction everywhere).
//!
//! A crossing is the first one along the grid: where an outcome is not monotone in s (ReLU), the cells show it.
//! "Section n" refers to docs/stability.md (the sweep is its section 10); equation numbers are the paper's.

//!
//! Pieces: [`spec`] (the grid and the cases), [`outcome`] (one run's observed outcome and predicted gain),
//! [`crossing`] (grid scan and bisection), [`table`] (the Markdown table).

use crate::error::{Error, Result};
use crate::reference::matrix::Matrix;
use crate::reference::method::Config;

pub mod crossing;
pub mod outcome;
pub mod spec;
pub mod table;

pub use crossing::{sig3, Crossing};
pub use outcome::{predict, GainSource, Outcome, Probe};
pub use spec::{Case, SweepSpec};
pub use table::boundary_table;

/// One grid point of a case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellResult {
    /// Weight scale s.
    pub scale: f64,
    /// Outcome of K passes.
    pub outcome: Outcome,
    /// Predicted loop gain ([`Probe::gain`]).
    pub gain: f64,
    /// rho(C_global) where [`Probe::sufficient`] applies.
    pub sufficient: Option<f64>,
}

/// A case swept over the scale grid, with its crossings.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    /// The case.
    pub case: Case,
    /// Where the predicted gain comes from.
    pub source: GainSource,
    /// Every grid point, in increasing scale.
    pub cells: Vec<CellResult>,
    /// Observed: first scale whose run diverges or becomes non-finite.
    pub diverges: Crossing,
    /// Observed: first scale whose run does not end converged.
    pub unsettled: Crossing,
    /// Predicted: first scale whose predicted gain is at least 1.
    pub predicted: Crossing,
    /// DP+ with ReLU, alpha in (0, 1): first scale with rho(C_global) >= 1.
    pub sufficient: Option<Crossing>,
    /// The predicted gain at both ends of the observed divergence bracket (lo, hi), where there is one.
    pub gain_at_divergence: Option<(f64, f64)>,
}

/// A predicted gain at or above 1, or not a number (an estimate from a first pass that overflowed): the
/// prediction no longer says the pass contracts.
fn reaches_one(gain: f64) -> bool {
    gain >= 1.0 || gain.is_nan()
}

/// A case's inputs apart from the weight scale: the configuration and the batch of its seed.
struct CaseInputs<'a> {
    spec: &'a SweepSpec,
    case: Case,
    cfg: Config,
    x: Matrix<f64>,
    y: Matrix<f64>,
}

impl CaseInputs<'_> {
    /// `judge` applied to the case's network at weight scale `scale`.
    fn at<R>(&self, scale: f64, judge: impl FnOnce(Probe) -> Result<R>) -> Result<R> {
        let net = self
            .spec
            .network(self.case.activation, self.case.seed, scale)?;
        judge(Probe {
            net: &net,
            cfg: &self.cfg,
            x: &self.x,
            y: &self.y,
            estimator_steps: self.spec.estimator_steps,
        })
    }
}

/// Runs one case over the grid and locates its crossings.
pub fn run_case(spec: &SweepSpec, case: Case) -> Result<CaseResult> {
    let positive = spec.scales.first().is_some_and(|&s| s > 0.0);
    let increasing = spec.scales.windows(2).all(|w| w[0] < w[1]);
    if !positive || !increasing {
        return Err(Error::Unsupported(
            "the sweep's scales must be positive and increasing".into(),
        ));
    }
    // The bisection stops at hi / lo - 1 <= resolution: it must be positive (and finite) to stop.
    if spec.resolution.is_nan() || spec.resolution <= 0.0 || spec.resolution.is_infinite() {
        return Err(Error::Unsupported(format!(
            "the sweep's resolution {} must be finite and > 0",
            spec.resolution
        )));
    }
    let (x, y) = spec.data(case.seed);
    let inputs = CaseInputs {
        spec,
        case,
        cfg: spec.config(case.method, case.alpha),
        x,
        y,
    };
    let cells = spec
        .scales
        .iter()
        .map(|&scale| {
            inputs.at(scale, |p| {
                Ok(CellResult {
                    scale,
                    outcome: p.outcome()?,
                    gain: p.gain()?,
                    sufficient: p.sufficient(),
                })
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let grid: Vec<f64> = cells.iter().map(|c| c.scale).collect();
    // The first crossing of a predicate, known on the cells and judged afresh at bisection points.
    let crossing = |on_cell: &dyn Fn(&CellResult) -> bool,
                    at_scale: &dyn Fn(Probe) -> Result<bool>| {
        let on_grid: Vec<bool> = cells.iter().map(on_cell).collect();
        Crossing::find(&grid, &on_grid, spec.resolution, |s| inputs.at(s, at_scale))
    };
    let diverges = crossing(&|c| c.outcome.failed(), &|p| Ok(p.outcome()?.failed()))?;
    let unsettled = crossing(&|c| !c.outcome.settled(), &|p| Ok(!p.outcome()?.settled()))?;
    let predicted = crossing(&|c| reaches_one(c.gain), &|p| Ok(reaches_one(p.gain()?)))?;
    let sufficient = if cells.iter().all(|c| c.sufficient.is_some()) {
        let at_least_one = |g: Option<f64>| g.is_some_and(|g| g >= 1.0);
        Some(crossing(&|c| at_least_one(c.sufficient), &|p| {
            Ok(at_least_one(p.sufficient()))
        })?)
    } else {
        None
    };
    let gain_at = |s: f64| inputs.at(s, |p| p.gain());
    let gain_at_divergence = match diverges {
        Crossing::Between { lo, hi } => Some((gain_at(lo)?, gain_at(hi)?)),
        _ => None,
    };
    Ok(CaseResult {
        case,
        gain_at_divergence,
        source: GainSource::for_config(&inputs.cfg, case.activation),
        cells,
        diverges,
        unsettled,
        predicted,
        sufficient,
    })
}

/// Runs every case of the spec.
pub fn run_sweep(spec: &SweepSpec) -> Result<Vec<CaseResult>> {
    spec.cases()
        .into_iter()
        .map(|case| run_case(spec, case))
        .collect()
}
