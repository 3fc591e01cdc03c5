//! Inference: K iterations of a schedule from the feed-forward states, with a trajectory and a verdict.

use serde::{Deserialize, Serialize};

use crate::checks::tolerance::fixed_point_tolerance;
use crate::error::Result;
use crate::reference::damping::{Damping, MAX_EXPLICIT_DAMPING};
use crate::reference::matrix::Matrix;
use crate::reference::method::{Config, Method};
use crate::reference::network::Network;
use crate::reference::problem::Problem;
use crate::reference::scalar::{from_f64, to_f64, Scalar};
use crate::reference::state::DualState;
use crate::reference::update::update_layer;

/// Per-iteration record of an inference run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationRecord {
    /// 1-based iteration index.
    pub iteration: usize,
    /// max |z| over both states, per layer 1..=L.
    pub layer_max_abs: Vec<f64>,
    /// max |z| over all layers divided by the feed-forward scale.
    pub growth: f64,
    /// Largest change of any state during this iteration.
    pub change: f64,
}

/// How an inference run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// After `iterations` passes (0: the feed-forward state already was one) the states are a fixed point of the
    /// schedule: one more pass changes no state by more than [`fixed_point_tolerance`] (`exact`: by no bit). In
    /// the kernels, also a run stopped by `KernelOptions::stop_within_ulps` = N: converged within N ulps.
    Converged {
        /// The last pass (1-based) whose change exceeded the tolerance; 0 when none did.
        iterations: usize,
        /// Whether one more pass reproduces every state bit for bit.
        exact: bool,
    },
    /// All K passes ran and stayed finite and bounded, but one more pass still moves the states by `residual`
    /// (relative to the feed-forward scale). A contracting run that ends in a rounding-level cycle just above
    /// [`fixed_point_tolerance`] lands here too: compare `residual` with `checks::tolerance::rounding`.
    Bounded {
        /// Largest state change of one more pass, divided by the feed-forward scale.
        residual: f64,
    },
    /// At `iteration`, layer `layer` exceeded `bound` = growth bound x feed-forward scale.
    Diverged {
        /// 1-based iteration.
        iteration: usize,
        /// 1-based layer, 1..=L.
        layer: usize,
        /// Largest |z| over both states of that layer.
        max_abs: f64,
        /// The growth bound times the feed-forward scale (the largest feed-forward |z_k|, k >= 1, at least 1).
        bound: f64,
    },
    /// At `iteration`, layer `layer` held a NaN or an infinity.
    NonFinite {
        /// 1-based iteration; K + 1 when only the fixed-point probe pass overflowed.
        iteration: usize,
        /// 1-based layer, 1..=L.
        layer: usize,
    },
}

impl Verdict {
    /// True when the run ended in divergence or non-finite values.
    pub fn failed(&self) -> bool {
        matches!(self, Verdict::Diverged { .. } | Verdict::NonFinite { .. })
    }

    /// Short label for tables: "converged@i", "bounded", "diverged@i", "non-finite@i".
    pub fn label(&self) -> String {
        match self {
            Verdict::Converged { iterations, .. } => format!("converged@{iterations}"),
            Verdict::Bounded { .. } => "bounded".into(),
            Verdict::Diverged { iteration, .. } => format!("diverged@{iteration}"),
            Verdict::NonFinite { iteration, .. } => format!("non-finite@{iteration}"),
        }
    }
}

/// Result of [`infer`].
#[derive(Debug, Clone, PartialEq)]
pub struct Inference<T> {
    /// The states z^+ and z^- of every layer after the last pass run.
    pub states: DualState<T>,
    /// The feed-forward states the run started from (z_0..z_L).
    pub feed_forward: Vec<Matrix<T>>,
    /// One record per pass run, in order.
    pub trajectory: Vec<IterationRecord>,
    /// How the run ended.
    pub verdict: Verdict,
    /// beta l'(a_L) at the feed-forward prediction (used by the frozen-gradient output convention).
    pub frozen_gradient: Matrix<T>,
}

/// One pass of the schedule over all layers.
pub fn iterate<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    state: &mut DualState<T>,
    y: &Matrix<T>,
    frozen_g: &Matrix<T>,
) {
    for k in cfg.schedule.layer_order(net.depth()) {
        update_layer(net, cfg, state, k, y, frozen_g);
    }
}

/// `cfg` with its damping weights computed once (for dampened original DP with a computed damping and at most
/// [`MAX_EXPLICIT_DAMPING`] hidden layers), so that K passes do not recompute K spectral norms per layer. The
/// updates read the same values either way (with more hidden layers they recompute them, slowly).
pub fn resolve_damping<T: Scalar>(net: &Network<T>, cfg: &Config) -> Result<Config> {
    let computed = !matches!(cfg.damping(), Damping::Explicit(_));
    if cfg.method == Method::OriginalDpDampened
        && computed
        && net.depth().saturating_sub(1) <= MAX_EXPLICIT_DAMPING
    {
        return Ok(cfg.with_damping(cfg.damping().resolve(net)?));
    }
    Ok(*cfg)
}

/// How an inference run treats the growth bound ([`Config::divergence_growth`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InferOptions {
    /// Stop at the first pass whose states exceed the growth bound (training's early stop; the default). When
    /// false the run computes all K passes unless a state becomes NaN or infinite, and the bound only names the
    /// verdict ([`Verdict::Diverged`] from the first pass that crossed it): the oracle's exact K passes.
    pub stop_at_growth_bound: bool,
}

impl Default for InferOptions {
    fn default() -> Self {
        Self {
            stop_at_growth_bound: true,
        }
    }
}

impl InferOptions {
    /// All K passes whenever the states stay finite (what the oracle and `verify` compute).
    pub fn exact() -> Self {
        Self {
            stop_at_growth_bound: false,
        }
    }
}

/// Runs K iterations from the feed-forward states (delta = 0), the paper's initialisation, and judges the run;
/// stops at the growth bound (see [`InferOptions`]).
pub fn infer<T: Scalar>(problem: &Problem<T>) -> Result<Inference<T>> {
    infer_with(problem, InferOptions::default())
}

/// All K passes unless a state becomes NaN or infinite ([`InferOptions::exact`]).
pub fn infer_exact<T: Scalar>(problem: &Problem<T>) -> Result<Inference<T>> {
    infer_with(problem, InferOptions::exact())
}

/// [`infer`] with explicit options.
pub fn infer_with<T: Scalar>(problem: &Problem<T>, opts: InferOptions) -> Result<Inference<T>> {
    let (net, x, y) = (problem.net(), problem.x(), problem.y());
    let cfg = &resolve_damping(net, problem.cfg())?;
    let mut state = DualState::feed_forward(net, x);
    let feed_forward = state.plus.clone();
    let depth = net.depth();
    let frozen_gradient = net
        .loss
        .weighted_gradient(&feed_forward[depth], y, from_f64(cfg.beta)?);
    let scale = (1..=depth)
        .map(|k| to_f64(feed_forward[k].max_abs()))
        .fold(1.0, f64::max);
    let (trajectory, verdict) = run_passes(net, cfg, &mut state, y, &frozen_gradient, opts, scale);
    Ok(Inference {
        states: state,
        feed_forward,
        trajectory,
        verdict,
        frozen_gradient,
    })
}

/// The K passes of [`infer_with`] from `state`, then the probe pass; returns the record of each pass and the
/// verdict. `scale` is the feed-forward scale the growth bound and the residuals are relative to.
fn run_passes<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    state: &mut DualState<T>,
    y: &Matrix<T>,
    frozen_gradient: &Matrix<T>,
    opts: InferOptions,
    scale: f64,
) -> (Vec<IterationRecord>, Verdict) {
    let depth = net.depth();
    let mut trajectory = Vec::with_capacity(cfg.iterations);
    let bound = cfg.divergence_growth * scale;
    // Exact runs: the first pass that crossed the growth bound (the verdict), computed on to pass K.
    let mut first_crossing = None;
    for iteration in 1..=cfg.iterations {
        let before = state.clone();
        iterate(net, cfg, state, y, frozen_gradient);
        let layer_max_abs: Vec<f64> = (1..=depth)
            .map(|k| to_f64(state.layer_max_abs(k)))
            .collect();
        let change = to_f64(state.max_change(&before));
        let peak = layer_max_abs.iter().cloned().fold(0.0, f64::max);
        trajectory.push(IterationRecord {
            iteration,
            growth: peak / scale,
            layer_max_abs: layer_max_abs.clone(),
            change,
        });
        match judge_iteration(state, iteration, &layer_max_abs, bound) {
            Some(v @ Verdict::Diverged { .. }) if !opts.stop_at_growth_bound => {
                first_crossing.get_or_insert(v);
            }
            Some(verdict) => return (trajectory, verdict),
            None => {}
        }
    }
    if let Some(verdict) = first_crossing {
        return (trajectory, verdict);
    }
    // Probe pass: is the final state a fixed point? Find the first iteration from which nothing moved.
    let mut probe = state.clone();
    iterate(net, cfg, &mut probe, y, frozen_gradient);
    let residual = to_f64(probe.max_change(state)) / scale;
    let tol = fixed_point_tolerance::<T>();
    let verdict = if residual <= tol {
        let settled = trajectory
            .iter()
            .rposition(|r| r.change / scale > tol)
            .map_or(0, |i| i + 1);
        Verdict::Converged {
            iterations: settled,
            exact: probe == *state,
        }
    } else if residual.is_finite() {
        Verdict::Bounded { residual }
    } else {
        Verdict::NonFinite {
            iteration: cfg.iterations + 1,
            layer: (1..=depth)
                .find(|&k| probe.layer_max_abs(k).is_nan() || probe.layer_max_abs(k).is_infinite())
                .unwrap_or(depth),
        }
    };
    (trajectory, verdict)
}

fn judge_iteration<T: Scalar>(
    state: &DualState<T>,
    iteration: usize,
    layer_max_abs: &[f64],
    bound: f64,
) -> Option<Verdict> {
    for k in 1..=state.depth() {
        if state.plus[k].first_non_finite().is_some() || state.minus[k].first_non_finite().is_some()
        {
            return Some(Verdict::NonFinite {
                iteration,
                layer: k,
            });
        }
    }
    for (i, &m) in layer_max_abs.iter().enumerate() {
        if m > bound {
            return Some(Verdict::Diverged {
                iteration,
                layer: i + 1,
                max_abs: m,
                bound,
            });
        }
    }
    None
}

/// Measured growth factor per pass of a diverging run: (growth at the last pass / growth at pass `from`)^(1 / the
/// passes in between), or the last pass's ratio to the one before when `from` is the last pass. `None` when the
/// trajectory is too short or a growth is not finite and positive.
pub fn growth_per_pass(trajectory: &[IterationRecord], from: usize) -> Option<f64> {
    let last = trajectory.last()?;
    let start = if from >= last.iteration {
        last.iteration.checked_sub(1)?
    } else {
        from
    };
    let g0 = if start == 0 {
        1.0
    } else {
        trajectory.get(start - 1)?.growth
    };
    let rate = (last.growth / g0).powf(1.0 / (last.iteration - start) as f64);
    (g0 > 0.0 && rate.is_finite() && rate > 0.0).then_some(rate)
}
