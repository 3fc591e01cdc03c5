//! The dual-propagation variants, their output rules and the inference configuration.
//!
//! The variants differ in exactly one place, [`Method::hidden_rule`] and [`Method::output_rule`]:
//! every other piece of the reference (sweeps, gradients, checks) is shared.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reference::damping::Damping;
use crate::reference::loss::Loss;
use crate::reference::scalar::{c, Scalar};

/// A dual-propagation variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// DP+ (Eq. 7): hidden update Eq. 8, output update Eq. 16.
    DpPlus,
    /// Original DP (Eq. 3): alpha and abar swapped on the feedback, exact output min/max.
    OriginalDp,
    /// LeCun-Lagrangian variant (Eq. 20) with the update of Eq. 21 re-derived: (z+ - z-) and D at the next
    /// pre-activation. Named `eq21` everywhere; files written before the rename say `lagrangian_settled`.
    #[serde(alias = "lagrangian_settled")]
    Eq21,
    /// Eq. 21 with the sign as printed, (z- - z+): kept only to show that it violates Eq. 20.
    /// Named `eq21_printed` (CLI `eq21-printed`); older files say `lagrangian_printed`.
    #[serde(alias = "lagrangian_printed")]
    Eq21Printed,
    /// Original DP dampened as the follow-up code computes it (Rasmuskh/dualprop_icml_2024, `src/models.py`, class
    /// `cnn_dualprop_RAOVR_dampened_ff`; not in the paper): z = f((a +- c b + L_k z_prev) / (1 + L_k)), with L_k
    /// from [`Config::damping`]; its own output rule is [`OutputRule::OriginalLinearizedFrozenGradient`].
    /// Named `original_dp_dampened` (CLI `original-dp-dampened`); not in [`Method::ALL`].
    OriginalDpDampened,
}

/// Where the feedback enters a hidden unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// z = f(a + w b): the nudge is inside the activation (Eqs. 3 and 8).
    InsideActivation,
    /// z = f(a) + w b with b = W^T D delta: the nudge is added after the activation (Eq. 21).
    OutsideActivation,
}

/// How the two states of a hidden unit follow from its pre-activation a and feedback b:
/// z+ = . + plus * b, z- = . - minus * b, with the nudge placed as `placement` says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HiddenRule {
    /// Coefficient of b in z+ (abar for DP+, alpha for original DP).
    pub plus: f64,
    /// Coefficient of b in z-, subtracted (alpha for DP+, abar for original DP).
    pub minus: f64,
    /// Whether the nudge enters inside or after the activation.
    pub placement: Placement,
    /// Whether the feedback carries the next layer's derivative, b = W^T (D_{k+1} delta_{k+1}) (Eq. 20 variants).
    pub feedback_through_derivative: bool,
    /// Whether each state is averaged with its previous iterate before f, with the weight L_k of
    /// [`Config::damping`] (the follow-up code's dampened original DP; [`crate::reference::rules::hidden_dampened`]).
    pub damped: bool,
}

impl HiddenRule {
    /// (plus, minus) in `T`, as the per-unit rules ([`crate::reference::rules`]) take them.
    pub fn coefficients<T: Scalar>(&self) -> (T, T) {
        (c::<T>(self.plus), c::<T>(self.minus))
    }
}

/// How the output states z_L^+- follow from a_L (the output layer is linear).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputRule {
    /// Eq. 16: z+ = a - abar g, z- = a + alpha g, g = beta l'(a) at the current a_L.
    Eq16,
    /// Convention of some public DP+ code: Eq. 16 with g taken at the initial feed-forward prediction.
    Eq16FrozenGradient,
    /// Exact min/max of Eq. 3 (least squares only): z+ = (a + alpha beta y)/(1 + alpha beta),
    /// z- = (a - abar beta y)/(1 - abar beta); needs abar beta < 1.
    OriginalExact,
    /// Convention of some public original-DP code: z+ = a - alpha g, z- = a + abar g.
    OriginalLinearized,
    /// The follow-up code's dampened original DP (`cnn_dualprop_RAOVR_dampened_ff.infer_outputs`):
    /// [`OutputRule::OriginalLinearized`] with g taken at the initial feed-forward prediction.
    OriginalLinearizedFrozenGradient,
}

/// An output rule with its coefficients in `T`, resolved once per layer update; the per-unit maths is
/// [`rules::output_linear`](crate::reference::rules::output_linear) or
/// [`rules::output_exact`](crate::reference::rules::output_exact).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutputUnit<T> {
    /// z+ = a - plus g, z- = a + minus g, with g = beta l'(a_L) now, or at the feed-forward prediction (`frozen`).
    Linear {
        /// Coefficient of g in z+ = a - plus g (abar for Eq. 16).
        plus: T,
        /// Coefficient of g in z- = a + minus g (alpha for Eq. 16).
        minus: T,
        /// Whether g is held at the feed-forward prediction instead of the current a_L.
        frozen: bool,
    },
    /// Eq. 3's exact min/max with ab = alpha beta, bb = abar beta; reads the target y.
    Exact {
        /// alpha beta, the weight of y in z+ = (a + alpha beta y)/(1 + alpha beta).
        ab: T,
        /// abar beta, the weight of y in z- = (a - abar beta y)/(1 - abar beta); below 1.
        bb: T,
    },
}

impl OutputRule {
    /// The coefficients of each output rule (abar = 1 - alpha computed in `T`).
    pub fn unit<T: Scalar>(self, alpha: T, beta: T) -> OutputUnit<T> {
        let abar = T::one() - alpha;
        // Eq. 16 weights g by abar in z+ and alpha in z-; the original-DP linearisation swaps them.
        let linear = |eq16_weights: bool, frozen: bool| {
            let (plus, minus) = if eq16_weights {
                (abar, alpha)
            } else {
                (alpha, abar)
            };
            OutputUnit::Linear {
                plus,
                minus,
                frozen,
            }
        };
        match self {
            // Eq. 16: z+ = a - abar g, z- = a + alpha g.
            OutputRule::Eq16 => linear(true, false),
            OutputRule::Eq16FrozenGradient => linear(true, true),
            // Some public original-DP code: z+ = a - alpha g, z- = a + abar g.
            OutputRule::OriginalLinearized => linear(false, false),
            OutputRule::OriginalLinearizedFrozenGradient => linear(false, true),
            OutputRule::OriginalExact => OutputUnit::Exact {
                ab: alpha * beta,
                bb: abar * beta,
            },
        }
    }

    /// Whether g is held at the feed-forward prediction (the run computes it once, before the first pass).
    pub fn frozen_gradient(self) -> bool {
        matches!(
            self,
            OutputRule::Eq16FrozenGradient | OutputRule::OriginalLinearizedFrozenGradient
        )
    }
}

impl Method {
    /// The paper's variants, in report order ([`Method::OriginalDpDampened`], from the follow-up code, is not one).
    pub const ALL: [Method; 4] = [
        Method::DpPlus,
        Method::OriginalDp,
        Method::Eq21,
        Method::Eq21Printed,
    ];

    /// The one place where the hidden updates differ.
    ///
    /// Proved (proofs/): `OrigVsPlus.v` `half_hidden_updates_coincide`.
    pub fn hidden_rule(self, alpha: f64) -> HiddenRule {
        let abar = 1.0 - alpha;
        let (plus, minus, placement, through, damped) = match self {
            // Eq. 8: z+ = f(a + abar b), z- = f(a - alpha b).
            Method::DpPlus => (abar, alpha, Placement::InsideActivation, false, false),
            // Eq. 3's stationarity: z+ = f(a + alpha b), z- = f(a - abar b).
            Method::OriginalDp => (alpha, abar, Placement::InsideActivation, false, false),
            // Eq. 21 settled: z+ = f(a) + abar W^T D (z+ - z-), z- = f(a) - alpha W^T D (z+ - z-).
            Method::Eq21 => (abar, alpha, Placement::OutsideActivation, true, false),
            // Eq. 21 as printed: the feedback is (z- - z+), i.e. the sign is flipped.
            Method::Eq21Printed => (-abar, -alpha, Placement::OutsideActivation, true, false),
            // Eq. 3's update dampened: z+ = f((a + alpha b + L z+)/(1 + L)), z- = f((a - abar b + L z-)/(1 + L)).
            Method::OriginalDpDampened => (alpha, abar, Placement::InsideActivation, false, true),
        };
        HiddenRule {
            plus,
            minus,
            placement,
            feedback_through_derivative: through,
            damped,
        }
    }

    /// The output rule each variant uses unless told otherwise.
    pub fn output_rule(self) -> OutputRule {
        match self {
            Method::OriginalDp => OutputRule::OriginalExact,
            Method::OriginalDpDampened => OutputRule::OriginalLinearizedFrozenGradient,
            _ => OutputRule::Eq16,
        }
    }

    /// Short name used in tables and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Method::DpPlus => "dp+",
            Method::OriginalDp => "original-dp",
            Method::Eq21 => "eq21",
            Method::Eq21Printed => "eq21-printed",
            Method::OriginalDpDampened => "original-dp-dampened",
        }
    }
}

/// Order in which layers are updated within one inference iteration. The follow-up code's names
/// (Rasmuskh/dualprop_icml_2024, `inference_sequence`) are accepted as aliases; docs/oracle.md says how each
/// one's sequence of layer updates maps onto K passes of ours (tests/oracle_schedules.rs checks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// The paper's: layers 1..L-1 upwards, the output L, then L-1..1 downwards. Alias `fwbwK`.
    #[serde(alias = "fwbwK")]
    UpDown,
    /// Layers 1..L upwards only. Alias `fwK`.
    #[serde(alias = "fwK")]
    ForwardOnly,
    /// Layers L..1 downwards only. Alias `bwK` (which the follow-up code runs once whatever K: use K = 1).
    #[serde(alias = "bwK")]
    BackwardOnly,
    /// Odd layers, then even layers (each group in increasing order). Alias `oddeven`.
    #[serde(alias = "oddeven")]
    OddEven,
    /// Even layers, then odd layers. Alias `evenodd`.
    #[serde(alias = "evenodd")]
    EvenOdd,
}

impl Schedule {
    /// Every schedule, the paper's first.
    pub const ALL: [Schedule; 5] = [
        Schedule::UpDown,
        Schedule::ForwardOnly,
        Schedule::BackwardOnly,
        Schedule::OddEven,
        Schedule::EvenOdd,
    ];

    /// Layer indices (1..=L) updated in one iteration, in order.
    ///
    /// Proved (proofs/): `Passes.v` `dp_plus_extreme_K_passes_equal_one` (`Schedule::UpDown`).
    pub fn layer_order(self, depth: usize) -> Vec<usize> {
        let all = 1..=depth;
        match self {
            Schedule::UpDown => (1..depth).chain([depth]).chain((1..depth).rev()).collect(),
            Schedule::ForwardOnly => all.collect(),
            Schedule::BackwardOnly => all.rev().collect(),
            Schedule::OddEven => all
                .clone()
                .filter(|k| k % 2 == 1)
                .chain(all.filter(|k| k % 2 == 0))
                .collect(),
            Schedule::EvenOdd => all
                .clone()
                .filter(|k| k % 2 == 0)
                .chain(all.filter(|k| k % 2 == 1))
                .collect(),
        }
    }
}

/// Growth of the largest state over the feed-forward scale beyond which inference is declared diverged.
/// 1e4 keeps the bound representable in half precision (max 65504) for unit-scale states.
pub const DEFAULT_DIVERGENCE_GROWTH: f64 = 1e4;

/// Everything that defines one dual-propagation inference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// The variant whose hidden and output rules are used.
    pub method: Method,
    /// Weight of z+ in the mean zbar = alpha z+ + (1 - alpha) z-; in [0, 1]. The output layer's, and every
    /// layer's unless [`Config::hidden_alpha`] is set.
    pub alpha: f64,
    /// Nudging strength beta > 0 (the loss is beta-weighted).
    pub beta: f64,
    /// Number of inference iterations K >= 1.
    pub iterations: usize,
    /// Layer order within one iteration (the paper's is [`Schedule::UpDown`]).
    pub schedule: Schedule,
    /// Output rule; `None` means the method's own ([`Method::output_rule`]).
    pub output: Option<OutputRule>,
    /// See [`DEFAULT_DIVERGENCE_GROWTH`].
    pub divergence_growth: f64,
    /// Where the weights L_k of [`Method::OriginalDpDampened`] come from; `None` means [`Damping::SpectralNorm`].
    /// Refused for the other methods. Absent from files written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damping: Option<Damping>,
    /// Weight of z+ in the mean and the hidden rule of every hidden layer k < L (and of the input's mean);
    /// `None` means `alpha`. The output layer always uses `alpha`. Set to 1/2 with the exact output, it is the
    /// follow-up Julia script's "old style DP" (docs/oracle.md). Absent from files written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_alpha: Option<f64>,
}

impl Config {
    /// The paper's setting for a method: up-down schedule, the method's own output rule.
    pub fn new(method: Method, alpha: f64, beta: f64, iterations: usize) -> Self {
        Self {
            method,
            alpha,
            beta,
            iterations,
            schedule: Schedule::UpDown,
            output: None,
            divergence_growth: DEFAULT_DIVERGENCE_GROWTH,
            damping: None,
            hidden_alpha: None,
        }
    }

    /// This configuration with the hidden layers' alpha set apart from the output's.
    pub fn with_hidden_alpha(mut self, hidden_alpha: f64) -> Self {
        self.hidden_alpha = Some(hidden_alpha);
        self
    }

    /// The alpha of layer k of a network of `depth` layers: `alpha` on the output layer L = `depth`,
    /// [`Config::hidden_alpha`] (default `alpha`) on the hidden layers and the input (k < L). It weights the
    /// layer's mean zbar_k (Eq. 6), hence the next pre-activation and the gradient, and its hidden rule.
    pub fn alpha_of_layer(&self, k: usize, depth: usize) -> f64 {
        if k < depth {
            self.hidden_layer_alpha()
        } else {
            self.alpha
        }
    }

    /// The alpha of every hidden layer (and the input): [`Config::hidden_alpha`], or `alpha` when it is unset.
    pub fn hidden_layer_alpha(&self) -> f64 {
        self.hidden_alpha.unwrap_or(self.alpha)
    }

    /// This configuration with the damping weights of [`Method::OriginalDpDampened`] taken from `damping`.
    pub fn with_damping(mut self, damping: Damping) -> Self {
        self.damping = Some(damping);
        self
    }

    /// The damping in force for [`Method::OriginalDpDampened`].
    pub fn damping(&self) -> Damping {
        self.damping.unwrap_or(Damping::SpectralNorm)
    }

    /// This configuration with another layer order.
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// This configuration with an output rule other than the method's own.
    pub fn with_output(mut self, output: OutputRule) -> Self {
        self.output = Some(output);
        self
    }

    /// The output rule in force.
    pub fn output_rule(&self) -> OutputRule {
        self.output.unwrap_or(self.method.output_rule())
    }

    /// abar = 1 - alpha, the weight of z- in zbar (Eq. 6).
    pub fn abar(&self) -> f64 {
        1.0 - self.alpha
    }

    /// Checks alpha, hidden_alpha, beta, K, the growth bound and the output rule against the loss.
    ///
    /// Proved (proofs/): `OrigOutput.v` `orig_out_minus_unbounded`, `orig_out_minus_degenerate`
    /// (`Error::IllPosedOriginalOutput`).
    pub fn validate(&self, loss: Loss) -> Result<()> {
        if !(self.alpha.is_finite() && (0.0..=1.0).contains(&self.alpha)) {
            return Err(Error::Alpha(self.alpha));
        }
        if let Some(h) = self.hidden_alpha {
            if !(h.is_finite() && (0.0..=1.0).contains(&h)) {
                return Err(Error::Unsupported(format!(
                    "hidden_alpha = {h} is outside [0, 1]"
                )));
            }
        }
        if !(self.beta.is_finite() && self.beta > 0.0) {
            return Err(Error::Beta(self.beta));
        }
        if self.iterations == 0 {
            return Err(Error::Iterations);
        }
        if !(self.divergence_growth.is_finite() && self.divergence_growth > 1.0) {
            return Err(Error::Unsupported(format!(
                "divergence growth bound {} must be finite and > 1",
                self.divergence_growth
            )));
        }
        if self.damping.is_some() && self.method != Method::OriginalDpDampened {
            return Err(Error::Unsupported(format!(
                "damping applies to original_dp_dampened only, not {}",
                self.method.name()
            )));
        }
        if self.method == Method::OriginalDpDampened {
            self.damping().validate()?;
        }
        if self.output_rule() == OutputRule::OriginalExact {
            if loss != Loss::LeastSquares {
                return Err(Error::Unsupported(
                    "the exact output min/max of Eq. 3 has a closed form only for least squares; \
                     use the linearized original-DP output rule for cross-entropy"
                        .into(),
                ));
            }
            let ab = self.abar() * self.beta;
            if ab >= 1.0 {
                return Err(Error::IllPosedOriginalOutput(ab));
            }
        }
        Ok(())
    }
}
