//! One oracle run: reference inference (Eqs. 3, 8, 16, 21 per the method), the dual gradient estimate,
//! back-propagation, KKT and fixed-point residuals, and gradient alignment, as named tensors and a summary.

use serde::Serialize;

use crate::checks::alignment::{alignment, LayerAlignment};
use crate::checks::fixed_point::{fixed_point_residuals, LayerFixedPoint};
use crate::checks::kkt::{kkt_report, KktReport};
use crate::error::Result;
use crate::oracle::case::Case;
use crate::oracle::config::OracleConfig;
use crate::oracle::names;
use crate::reference::inference::{growth_per_pass, infer_exact, IterationRecord};
use crate::reference::problem::Problem;
use crate::reference::scalar::{to_f64, FloatType, Scalar};
use crate::reference::{backprop, dual_gradient, Gradients, Matrix, Verdict};
use crate::store::{StoredFloat, Tensor, TensorSet};

/// What `dualprop oracle` prints (and `verify` embeds).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The configuration the run used.
    pub config: OracleConfig,
    /// Float type the reference ran in.
    pub computed_in: &'static str,
    /// Layer widths [in, h1, ..., out].
    pub widths: Vec<usize>,
    /// Batch size B (rows of x).
    pub batch: usize,
    /// How the run ended. The oracle computes all K passes while the states stay finite: `diverged` names the
    /// first pass whose states crossed the growth bound, and the states are those after pass K (see `divergence`).
    pub verdict: Verdict,
    /// Inference iterations actually run (fewer than K only when a state became NaN or infinite).
    pub iterations_run: usize,
    /// For a diverging run: from which pass and layer, and the measured growth per pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub divergence: Option<Divergence>,
    /// Mean unweighted loss of the feed-forward pass.
    pub loss: f64,
    /// KKT residuals of the final states; `None` when the states hold NaN or infinity (see `verdict`).
    pub kkt: Option<KktReport>,
    /// Fixed-point residual of each layer's update, k = 1..=L.
    pub fixed_point: Vec<LayerFixedPoint>,
    /// Alignment of the dual estimate with back-propagation, per weight layer.
    pub alignment: Vec<LayerAlignment>,
}

/// How a diverging run grew: the growth bound only names the verdict, the states are computed on to pass K.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Divergence {
    /// First pass whose states exceeded the growth bound.
    pub from_pass: usize,
    /// Layer (1..L) that exceeded it first.
    pub layer: usize,
    /// Measured growth factor per pass from `from_pass` to the last pass run (`null` when not measurable).
    pub growth_per_pass: Option<f64>,
    /// Largest state over the feed-forward scale after the last pass run.
    pub final_growth: f64,
    /// Passes run (K unless a state became NaN or infinite).
    pub passes: usize,
}

impl Divergence {
    /// The divergence of a run, if its verdict is `diverged`.
    pub fn of(verdict: &Verdict, trajectory: &[IterationRecord]) -> Option<Self> {
        let Verdict::Diverged {
            iteration, layer, ..
        } = *verdict
        else {
            return None;
        };
        Some(Self {
            from_pass: iteration,
            layer,
            growth_per_pass: growth_per_pass(trajectory, iteration),
            final_growth: trajectory.last().map_or(f64::NAN, |r| r.growth),
            passes: trajectory.len(),
        })
    }

    /// One line for reports: "diverging from pass i at layer l, growth x r per pass (G after K passes)".
    pub fn describe(&self) -> String {
        let rate = self
            .growth_per_pass
            .map_or("unmeasured".to_string(), |r| format!("x{r:.3}"));
        format!(
            "diverging from pass {} at layer {}, growth {rate} per pass ({:.3e} x the feed-forward scale after {} passes)",
            self.from_pass, self.layer, self.final_growth, self.passes
        )
    }
}

/// Output tensors (named as in [`names`]) and the summary.
#[derive(Debug, Clone)]
pub struct OracleRun {
    /// States, dual and back-propagation gradients in the compute type; KKT and fixed-point residuals in f64.
    pub tensors: TensorSet,
    /// The run's summary, also written as JSON.
    pub summary: Summary,
}

/// The float type the run uses for a case.
pub fn compute_float(cfg: &OracleConfig, case: &Case) -> FloatType {
    cfg.float.resolve(case.dtype)
}

/// Runs the oracle in the configured float type.
pub fn run(case: &Case, cfg: &OracleConfig) -> Result<OracleRun> {
    crate::with_float!(compute_float(cfg, case), T => run_in::<T>(case, cfg))
}

/// Runs the oracle in `T`; the state and gradient tensors are stored in `T`.
pub(crate) fn run_in<T: StoredFloat>(case: &Case, cfg: &OracleConfig) -> Result<OracleRun> {
    let net = case.network::<T>(cfg.activation, cfg.loss)?;
    let (x, y) = case.batch(&net)?;
    let rcfg = cfg.reference();
    // All K passes while the states stay finite: a user's implementation does not stop at our growth bound.
    let problem = Problem::new(&net, &rcfg, &x, &y)?;
    let inference = infer_exact(&problem)?;
    let estimate = dual_gradient(&net, &rcfg, &inference.states);
    let (loss, bp) = backprop(&net, &x, &y);
    // The checks refuse non-finite states (a failed run, see the verdict): then there is no KKT report.
    let kkt = if inference.verdict.failed() && has_non_finite(&inference.states) {
        None
    } else {
        Some(kkt_report(&problem, &inference.states)?)
    };
    let fixed_point = fixed_point_residuals(&problem, &inference);
    let align = alignment(&estimate, &bp);

    let mut set = TensorSet::default();
    let mut put =
        |name: String, m: &Matrix<T>| set.put(name, vec![m.rows(), m.cols()], m.as_slice());
    for k in 1..=net.depth() {
        put(names::z_plus(k), &inference.states.plus[k]);
        put(names::z_minus(k), &inference.states.minus[k]);
    }
    put_gradients(&mut set, &estimate, "");
    put_gradients(&mut set, &bp, names::BACKPROP_PREFIX);
    for layer in kkt.iter().flat_map(|r| &r.layers) {
        let values = layer
            .equations
            .iter()
            .map(|e| e.max_abs)
            .collect::<Vec<_>>();
        let labels = layer
            .equations
            .iter()
            .map(|e| e.equation.wording())
            .collect::<Vec<_>>();
        set.metadata.insert(
            names::kkt_labels(layer.layer),
            serde_json::to_string(&labels).unwrap_or_default(),
        );
        // Residuals are reported in f64 whatever the compute type: they are measurements, not states.
        set.tensors.insert(
            names::kkt(layer.layer),
            Tensor::new(FloatType::F64, vec![values.len()], values),
        );
    }
    for fp in &fixed_point {
        set.tensors.insert(
            names::fixed_point(fp.layer),
            Tensor::new(FloatType::F64, vec![2], vec![fp.plus, fp.minus]),
        );
    }
    set.metadata.insert("config".into(), cfg.to_json());
    set.metadata.insert(
        "verdict".into(),
        serde_json::to_string(&inference.verdict).unwrap_or_default(),
    );
    set.metadata.insert(
        "producer".into(),
        format!("dualprop {} oracle", env!("CARGO_PKG_VERSION")),
    );

    let summary = Summary {
        config: *cfg,
        computed_in: T::NAME,
        widths: net.widths(),
        batch: x.rows(),
        verdict: inference.verdict.clone(),
        iterations_run: inference.trajectory.len(),
        divergence: Divergence::of(&inference.verdict, &inference.trajectory),
        loss: to_f64(loss),
        kkt,
        fixed_point,
        alignment: align,
    };
    Ok(OracleRun {
        tensors: set,
        summary,
    })
}

fn has_non_finite<T: Scalar>(s: &crate::reference::DualState<T>) -> bool {
    s.plus
        .iter()
        .chain(&s.minus)
        .any(|m| m.first_non_finite().is_some())
}

fn put_gradients<T: StoredFloat>(set: &mut TensorSet, g: &Gradients<T>, prefix: &str) {
    for (k, (w, b)) in g.w.iter().zip(&g.b).enumerate() {
        let name_w = format!("{prefix}{}", names::grad_w(k));
        set.put(name_w, vec![w.rows(), w.cols()], w.as_slice());
        set.put(format!("{prefix}{}", names::grad_b(k)), vec![b.len()], b);
    }
}
