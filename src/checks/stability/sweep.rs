//! Stability as a sweep (docs/stability.md, section 10, "The sweep"): over weight scale x method x alpha x activation on small
//! seeded networks, the verdict of K inference passes against the loop gain the theory predicts, and per
//! (method, alpha, activation, seed) the scale at which each crosses its threshold.
//!
//! The network family of one case is He-normal weights (zero biases) times a scale s applied to every layer. For
//! each s on a geometric grid the sweep records the outcome of [`infer_with`] after K passes and a predicted loop
//! gain ([`predict`]); then it finds, by a scan of the grid and bisection inside the first interval that changes,
//! - the observed divergence boundary: the smallest s whose run ends diverged or non-finite;
//! - the observed settling boundary: the smallest s whose run does not end converged (exactly or to rounding);
//! - the predicted boundary: the smallest s whose predicted gain reaches 1;
//! - for DP+ with ReLU at alpha in (0, 1), the sufficient boundary: the smallest s at which the global comparison
//!   bound rho(C_global) of Section 4.3 reaches 1 (below it the pass is a contraction everywhere).
//!
//! A crossing is the first one along the grid: where an outcome is not monotone in s (ReLU), the cells show it.
//! "Section n" refers to docs/stability.md (the sweep is its section 10); equation numbers are the paper's.

use rand::{Rng, SeedableRng};

use crate::checks::tolerance::{rounding, LOOP_GAIN_FLOOR};
use crate::error::{Error, Result};
use crate::reference::activation::Activation;
use crate::reference::inference::{infer_with, InferOptions, Verdict};
use crate::reference::loss::Loss;
use crate::reference::matrix::Matrix;
use crate::reference::method::{Config, Method, OutputRule, Schedule};
use crate::reference::network::{Init, Network};
use crate::reference::state::DualState;

use super::loop_gain::loop_gain_estimate;
use super::original_dp::original_dp_identity_gain;
use super::relu_bound::dp_plus_relu_bound;

/// What a run of K passes did: [`Verdict`] without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// [`Verdict::Converged`]: one more pass changes no state beyond the fixed-point tolerance.
    Converged,
    /// [`Verdict::Bounded`] at a rounding-level cycle, converged up to rounding: the residual is within
    /// [`rounding`] for the network's widths and depth (a contracting run just above the verdict's 16-ulp
    /// fixed-point tolerance, Section 8), or the loop gain of the next pass at the final state is below
    /// [`LOOP_GAIN_FLOOR`] (the pass is one-shot up to rounding and what moves is the rounding it re-injects each
    /// pass; with large layer gains that noise is amplified past [`rounding`], which assumes gains O(1)).
    Rounding,
    /// [`Verdict::Bounded`] beyond rounding: finite and within the growth bound, but not at a fixed point.
    Bounded,
    /// [`Verdict::Diverged`]: a state exceeded the growth bound.
    Diverged,
    /// [`Verdict::NonFinite`]: a state became NaN or infinite.
    NonFinite,
}

impl Outcome {
    /// The outcome of a verdict; `rounding_cycle` says whether a [`Verdict::Bounded`] run ended in a
    /// rounding-level cycle ([`Outcome::Rounding`]).
    pub fn of(verdict: &Verdict, rounding_cycle: bool) -> Self {
        match verdict {
            Verdict::Converged { .. } => Outcome::Converged,
            Verdict::Bounded { .. } if rounding_cycle => Outcome::Rounding,
            Verdict::Bounded { .. } => Outcome::Bounded,
            Verdict::Diverged { .. } => Outcome::Diverged,
            Verdict::NonFinite { .. } => Outcome::NonFinite,
        }
    }

    /// Diverged or non-finite.
    pub fn failed(self) -> bool {
        matches!(self, Outcome::Diverged | Outcome::NonFinite)
    }

    /// Converged, exactly or up to rounding.
    pub fn settled(self) -> bool {
        matches!(self, Outcome::Converged | Outcome::Rounding)
    }

    /// One-letter label for the cell grid: C, R, B, D, N.
    pub fn letter(self) -> char {
        match self {
            Outcome::Converged => 'C',
            Outcome::Rounding => 'R',
            Outcome::Bounded => 'B',
            Outcome::Diverged => 'D',
            Outcome::NonFinite => 'N',
        }
    }
}

/// Where a predicted loop gain comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GainSource {
    /// Zero by construction, for every network: the mean the up sweep passes on is the feed-forward activation
    /// (Section 3: DP+ (Eq. 8) at alpha in {0, 1}, the Eq. 21 variants at every alpha; DP+ with f = identity at
    /// every alpha, where zbar = alpha (a + abar b) + abar (a - alpha b) = a), whatever the output rule.
    Zero,
    /// Original DP (Eq. 3), identity activations: G = |2 alpha - 1| c_alpha lambda_max(S), exact for every state
    /// (Section 2.2, [`original_dp_identity_gain`]).
    IdentityClosedForm,
    /// No closed form: [`loop_gain_estimate`] of the next pass at the state after the first pass (Section 8), as
    /// the snapshot table's "loop gain at state" at K = 1.
    FirstPassEstimate,
}

impl GainSource {
    /// The source for a configuration and hidden activation. The closed forms are derived for the up-down
    /// schedule (Section 1), and section 2.2's for original DP's exact output rule; anything else is estimated.
    pub fn for_config(cfg: &Config, activation: Activation) -> Self {
        if cfg.schedule != Schedule::UpDown {
            return GainSource::FirstPassEstimate;
        }
        let extreme = cfg.alpha == 0.0 || cfg.alpha == 1.0;
        match cfg.method {
            Method::DpPlus if extreme || activation == Activation::Identity => GainSource::Zero,
            Method::Eq21 | Method::Eq21Printed => GainSource::Zero,
            Method::OriginalDp
                if activation == Activation::Identity
                    && cfg.output_rule() == OutputRule::OriginalExact =>
            {
                GainSource::IdentityClosedForm
            }
            _ => GainSource::FirstPassEstimate,
        }
    }

    /// Short label for the table.
    pub fn label(self) -> &'static str {
        match self {
            GainSource::Zero => "0 (Sec. 3)",
            GainSource::IdentityClosedForm => "closed form (Sec. 2.2)",
            GainSource::FirstPassEstimate => "estimator, pass 1",
        }
    }
}

/// The sweep's grid and fixed settings. [`SweepSpec::small`] runs in the default `cargo test`,
/// [`SweepSpec::full`] is opt-in.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpec {
    /// Layer widths, input first.
    pub widths: Vec<usize>,
    /// Seeds of the He-normal weights; the batch of seed `s` is drawn with seed `s + 1000`.
    pub seeds: Vec<u64>,
    /// Samples per batch: x and y standard normal.
    pub batch: usize,
    /// Nudging strength (the paper's 1/2; original DP's exact output needs (1 - alpha) beta < 1).
    pub beta: f64,
    /// Inference passes K of each run.
    pub iterations: usize,
    /// Methods swept.
    pub methods: Vec<Method>,
    /// alpha values swept.
    pub alphas: Vec<f64>,
    /// Hidden activations swept (the output layer is linear, least squares).
    pub activations: Vec<Activation>,
    /// Weight scales s of the grid, increasing.
    pub scales: Vec<f64>,
    /// Bisection stops when hi / lo - 1 is at most this.
    pub resolution: f64,
    /// Power-iteration steps of [`loop_gain_estimate`].
    pub estimator_steps: usize,
}

impl SweepSpec {
    /// Geometric grid from `lo` to `hi` with `per_octave` points per factor 2 (both ends included).
    pub fn geometric(lo: f64, hi: f64, per_octave: usize) -> Vec<f64> {
        let n = ((hi / lo).log2() * per_octave as f64).round() as usize;
        (0..=n)
            .map(|i| lo * 2f64.powf(i as f64 / per_octave as f64))
            .collect()
    }

    /// The sweep of the default `cargo test`: widths 8-16-16-16-4, one seed, DP+ and original DP, the five
    /// alphas, identity, ReLU and tanh, s in [1/4, 4] at 2 points per octave, K = 100, bisection to 1%.
    pub fn small() -> Self {
        Self {
            widths: vec![8, 16, 16, 16, 4],
            seeds: vec![1],
            batch: 4,
            beta: 0.5,
            iterations: 100,
            methods: vec![Method::DpPlus, Method::OriginalDp],
            alphas: vec![0.0, 0.25, 0.5, 0.75, 1.0],
            activations: vec![Activation::Identity, Activation::Relu, Activation::Tanh],
            scales: Self::geometric(0.25, 4.0, 2),
            resolution: 1e-2,
            estimator_steps: 60,
        }
    }

    /// The opt-in sweep: three seeds, Eq. 21 added, 4 points per octave, K = 200, bisection to 0.1%.
    pub fn full() -> Self {
        Self {
            seeds: vec![1, 2, 3],
            iterations: 200,
            methods: vec![Method::DpPlus, Method::OriginalDp, Method::Eq21],
            scales: Self::geometric(0.25, 4.0, 4),
            resolution: 1e-3,
            estimator_steps: 100,
            ..Self::small()
        }
    }

    /// The network of a case at weight scale `scale`: He-normal (seed), zero biases, every W times `scale`.
    pub fn network(&self, activation: Activation, seed: u64, scale: f64) -> Result<Network<f64>> {
        let mut net = Network::<f64>::init(
            &self.widths,
            activation,
            Loss::LeastSquares,
            Init::HeNormal,
            seed,
        )?;
        for l in net.layers.iter_mut() {
            l.w = l.w.scale(scale);
        }
        Ok(net)
    }

    /// The batch of a seed: x and y standard normal, drawn with seed `seed + 1000`.
    pub fn data(&self, seed: u64) -> (Matrix<f64>, Matrix<f64>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed + 1000);
        let mut normal = || rng.sample::<f64, _>(rand_distr::StandardNormal);
        let inw = self.widths.first().copied().unwrap_or(0);
        let outw = self.widths.last().copied().unwrap_or(0);
        let x = Matrix::from_fn(self.batch, inw, |_, _| normal());
        let y = Matrix::from_fn(self.batch, outw, |_, _| normal());
        (x, y)
    }

    /// The configuration of a case: the paper's up-down schedule, the method's own output rule, K passes.
    pub fn config(&self, method: Method, alpha: f64) -> Config {
        Config::new(method, alpha, self.beta, self.iterations)
    }

    /// Every case of the sweep, in table order (method, alpha, activation, seed).
    pub fn cases(&self) -> Vec<Case> {
        let mut out = Vec::new();
        for &method in &self.methods {
            for &alpha in &self.alphas {
                for &activation in &self.activations {
                    for &seed in &self.seeds {
                        out.push(Case {
                            method,
                            alpha,
                            activation,
                            seed,
                        });
                    }
                }
            }
        }
        out
    }
}

/// One family of runs over the weight scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Case {
    /// The method.
    pub method: Method,
    /// alpha.
    pub alpha: f64,
    /// Hidden activation.
    pub activation: Activation,
    /// Weight seed.
    pub seed: u64,
}

/// The predicted loop gain of one pass for `cfg` on `net` with batch (x, y), from the source
/// [`GainSource::for_config`] names.
pub fn predict(
    net: &Network<f64>,
    cfg: &Config,
    x: &Matrix<f64>,
    y: &Matrix<f64>,
    estimator_steps: usize,
) -> Result<f64> {
    match GainSource::for_config(cfg, net.activation) {
        GainSource::Zero => Ok(0.0),
        GainSource::IdentityClosedForm => Ok(original_dp_identity_gain(net, cfg.alpha, cfg.beta)),
        GainSource::FirstPassEstimate => {
            let one = Config {
                iterations: 1,
                ..*cfg
            };
            let first = infer_with(net, &one, x, y, InferOptions::default())?;
            Ok(loop_gain_estimate(net, &one, x, y, &first.states, estimator_steps)?.gain)
        }
    }
}

/// The observed outcome of K passes from the feed-forward states; the run stops at the growth bound. A bounded
/// run is judged a rounding-level cycle ([`Outcome::Rounding`]) by its residual or, failing that, by
/// [`loop_gain_estimate`] at the final state with `estimator_steps` steps.
pub fn observe(
    net: &Network<f64>,
    cfg: &Config,
    x: &Matrix<f64>,
    y: &Matrix<f64>,
    estimator_steps: usize,
) -> Result<Outcome> {
    let run = infer_with(net, cfg, x, y, InferOptions::default())?;
    let rounding_cycle = match run.verdict {
        Verdict::Bounded { residual } => {
            let max_width = net.widths().into_iter().max().unwrap_or(0);
            residual <= rounding::<f64>(max_width, net.depth())
                || loop_gain_estimate(net, cfg, x, y, &run.states, estimator_steps)?.gain
                    < LOOP_GAIN_FLOOR
        }
        _ => false,
    };
    Ok(Outcome::of(&run.verdict, rounding_cycle))
}

/// The global DP+ comparison bound rho(C_global) (Section 4.3) for ReLU at alpha in (0, 1); None elsewhere.
pub fn sufficient_bound(net: &Network<f64>, cfg: &Config, x: &Matrix<f64>) -> Option<f64> {
    if cfg.method != Method::DpPlus || !(cfg.alpha > 0.0 && cfg.alpha < 1.0) {
        return None;
    }
    dp_plus_relu_bound(net, cfg, &DualState::feed_forward(net, x)).map(|b| b.global)
}

/// Where a predicate on the weight scale first holds along the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Crossing {
    /// It holds already at the smallest scale of the grid.
    Below(f64),
    /// It fails at `lo` and holds at `hi` (hi / lo - 1 <= the resolution; both are on the grid or bisection
    /// points, and it fails at every grid point below `lo`).
    Between {
        /// Largest scale known to fail.
        lo: f64,
        /// Smallest scale known to hold.
        hi: f64,
    },
    /// It holds at no grid point up to the largest scale.
    Beyond(f64),
}

impl Crossing {
    /// The crossing for known values on the grid, bisecting (geometric midpoints) inside the first interval where
    /// the predicate turns true until hi / lo - 1 <= `resolution`.
    pub fn find(
        grid: &[f64],
        on_grid: &[bool],
        resolution: f64,
        mut holds: impl FnMut(f64) -> Result<bool>,
    ) -> Result<Self> {
        let Some(first) = on_grid.iter().position(|&h| h) else {
            return Ok(Crossing::Beyond(grid.last().copied().unwrap_or(0.0)));
        };
        if first == 0 {
            return Ok(Crossing::Below(grid[0]));
        }
        let (mut lo, mut hi) = (grid[first - 1], grid[first]);
        while hi / lo - 1.0 > resolution {
            let mid = (lo * hi).sqrt();
            if holds(mid)? {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(Crossing::Between { lo, hi })
    }

    /// The bracket's upper end (the smallest scale known to hold), if there is a bracket.
    pub fn hi(self) -> Option<f64> {
        match self {
            Crossing::Between { hi, .. } => Some(hi),
            _ => None,
        }
    }

    /// Rounded to 3 significant digits (geometric midpoint of the bracket), "< s" or "> s" at the grid's ends.
    pub fn label(self) -> String {
        match self {
            Crossing::Below(s) => format!("< {}", sig3(s)),
            Crossing::Between { lo, hi } => sig3((lo * hi).sqrt()),
            Crossing::Beyond(s) => format!("> {}", sig3(s)),
        }
    }
}

/// 3 significant digits in plain notation (the sweep's scales and gains are between 1e-3 and 1e3).
pub fn sig3(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}")
}

/// One grid point of a case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellResult {
    /// Weight scale s.
    pub scale: f64,
    /// Outcome of K passes.
    pub outcome: Outcome,
    /// Predicted loop gain ([`predict`]).
    pub gain: f64,
    /// rho(C_global) where [`sufficient_bound`] applies.
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
    let cfg = spec.config(case.method, case.alpha);
    let (x, y) = spec.data(case.seed);
    let net_at = |s: f64| spec.network(case.activation, case.seed, s);
    let mut cells = Vec::with_capacity(spec.scales.len());
    for &scale in &spec.scales {
        let net = net_at(scale)?;
        cells.push(CellResult {
            scale,
            outcome: observe(&net, &cfg, &x, &y, spec.estimator_steps)?,
            gain: predict(&net, &cfg, &x, &y, spec.estimator_steps)?,
            sufficient: sufficient_bound(&net, &cfg, &x),
        });
    }
    let outcome_at =
        |s: f64| -> Result<Outcome> { observe(&net_at(s)?, &cfg, &x, &y, spec.estimator_steps) };
    let grid: Vec<f64> = cells.iter().map(|c| c.scale).collect();
    let diverges = Crossing::find(
        &grid,
        &cells.iter().map(|c| c.outcome.failed()).collect::<Vec<_>>(),
        spec.resolution,
        |s| Ok(outcome_at(s)?.failed()),
    )?;
    let unsettled = Crossing::find(
        &grid,
        &cells
            .iter()
            .map(|c| !c.outcome.settled())
            .collect::<Vec<_>>(),
        spec.resolution,
        |s| Ok(!outcome_at(s)?.settled()),
    )?;
    let predicted = Crossing::find(
        &grid,
        &cells
            .iter()
            .map(|c| reaches_one(c.gain))
            .collect::<Vec<_>>(),
        spec.resolution,
        |s| {
            Ok(reaches_one(predict(
                &net_at(s)?,
                &cfg,
                &x,
                &y,
                spec.estimator_steps,
            )?))
        },
    )?;
    let sufficient = if cells.iter().all(|c| c.sufficient.is_some()) {
        Some(Crossing::find(
            &grid,
            &cells
                .iter()
                .map(|c| c.sufficient.is_some_and(|g| g >= 1.0))
                .collect::<Vec<_>>(),
            spec.resolution,
            |s| Ok(sufficient_bound(&net_at(s)?, &cfg, &x).is_some_and(|g| g >= 1.0)),
        )?)
    } else {
        None
    };
    let gain_at = |s: f64| predict(&net_at(s)?, &cfg, &x, &y, spec.estimator_steps);
    let gain_at_divergence = match diverges {
        Crossing::Between { lo, hi } => Some((gain_at(lo)?, gain_at(hi)?)),
        _ => None,
    };
    Ok(CaseResult {
        case,
        gain_at_divergence,
        source: GainSource::for_config(&cfg, case.activation),
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

fn activation_name(a: Activation) -> String {
    match a {
        Activation::Identity => "identity".into(),
        Activation::Relu => "ReLU".into(),
        Activation::Tanh => "tanh".into(),
        other => format!("{other:?}"),
    }
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::DpPlus => "DP+",
        Method::OriginalDp => "original DP",
        Method::Eq21 => "Eq. 21",
        Method::Eq21Printed => "Eq. 21 printed",
        Method::OriginalDpDampened => "dampened original DP",
    }
}

/// The boundary table (markdown), one row per (method, alpha, activation), seeds separated by " / ":
/// the observed divergence and settling boundaries, the predicted one, the predicted gain at the observed
/// divergence (the bracket's upper end), the sufficient boundary where it applies, and the cells' outcomes along
/// the grid (C converged, R converged to rounding, B bounded, D diverged, N non-finite). Scales and gains to 3
/// significant digits.
pub fn boundary_table(results: &[CaseResult]) -> String {
    let mut out = String::from(
        "| method | alpha | f | gain from | diverges from s = | not converged from s = | predicted G >= 1 from s = | predicted G at observed divergence | rho(C_global) >= 1 from s = | outcomes along the grid |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut i = 0;
    while i < results.len() {
        let head = results[i].case;
        let group: Vec<&CaseResult> = results[i..]
            .iter()
            .take_while(|r| {
                r.case.method == head.method
                    && r.case.alpha == head.alpha
                    && r.case.activation == head.activation
            })
            .collect();
        i += group.len();
        let join = |f: &dyn Fn(&CaseResult) -> String| {
            group.iter().map(|r| f(r)).collect::<Vec<_>>().join(" / ")
        };
        let sufficient = if group.iter().all(|r| r.sufficient.is_none()) {
            "-".to_string()
        } else {
            join(&|r| r.sufficient.map_or("-".into(), Crossing::label))
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            method_name(head.method),
            head.alpha,
            activation_name(head.activation),
            group[0].source.label(),
            join(&|r| r.diverges.label()),
            join(&|r| r.unsettled.label()),
            join(&|r| r.predicted.label()),
            join(&|r| r.gain_at_divergence.map_or("-".into(), |(_, hi)| sig3(hi))),
            sufficient,
            join(&|r| r.cells.iter().map(|c| c.outcome.letter()).collect()),
        ));
    }
    out
}
