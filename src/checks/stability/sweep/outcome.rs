//! What one run at one weight scale shows: the observed [`Outcome`] of K passes, the predicted loop gain and
//! where it comes from ([`GainSource`]), and the sufficient bound where it applies.

use crate::checks::tolerance::{rounding, LOOP_GAIN_FLOOR};
use crate::error::Result;
use crate::reference::activation::Activation;
use crate::reference::inference::{infer_with, InferOptions, Verdict};
use crate::reference::matrix::Matrix;
use crate::reference::method::{Config, Method, OutputRule, Schedule};
use crate::reference::network::Network;
use crate::reference::problem::Problem;
use crate::reference::state::DualState;

use super::super::loop_gain::loop_gain_estimate;
use super::super::original_dp::original_dp_identity_gain;
use super::super::relu_bound::dp_plus_relu_bound;

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
    /// schedule (Section 1), and section 2.2's for original DP's exact output rule, each with one alpha in every
    /// layer; anything else (another schedule, a separate hidden alpha) is estimated.
    pub fn for_config(cfg: &Config, activation: Activation) -> Self {
        if cfg.schedule != Schedule::UpDown || cfg.hidden_layer_alpha() != cfg.alpha {
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

/// One configuration on one network and batch: the inputs every per-scale judgement of the sweep shares.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    /// The network at one weight scale.
    pub net: &'a Network<f64>,
    /// The case's configuration.
    pub cfg: &'a Config,
    /// The batch's inputs.
    pub x: &'a Matrix<f64>,
    /// The batch's targets.
    pub y: &'a Matrix<f64>,
    /// Power-iteration steps of [`loop_gain_estimate`].
    pub estimator_steps: usize,
}

impl Probe<'_> {
    /// The predicted loop gain of one pass, from the source [`GainSource::for_config`] names.
    pub fn gain(&self) -> Result<f64> {
        let (net, cfg) = (self.net, self.cfg);
        match GainSource::for_config(cfg, net.activation) {
            GainSource::Zero => Ok(0.0),
            GainSource::IdentityClosedForm => {
                Ok(original_dp_identity_gain(net, cfg.alpha, cfg.beta))
            }
            GainSource::FirstPassEstimate => {
                let one = Config {
                    iterations: 1,
                    ..*cfg
                };
                let first = infer_with(
                    &Problem::new(net, &one, self.x, self.y)?,
                    InferOptions::default(),
                )?;
                self.estimated_gain(&one, &first.states)
            }
        }
    }

    /// The observed outcome of K passes from the feed-forward states; the run stops at the growth bound. A
    /// bounded run is judged a rounding-level cycle ([`Outcome::Rounding`]) by its residual or, failing that, by
    /// [`loop_gain_estimate`] at the final state.
    pub fn outcome(&self) -> Result<Outcome> {
        let net = self.net;
        let run = infer_with(
            &Problem::new(net, self.cfg, self.x, self.y)?,
            InferOptions::default(),
        )?;
        let rounding_cycle = match run.verdict {
            Verdict::Bounded { residual } => {
                let max_width = net.widths().into_iter().max().unwrap_or(0);
                residual <= rounding::<f64>(max_width, net.depth())
                    || self.estimated_gain(self.cfg, &run.states)? < LOOP_GAIN_FLOOR
            }
            _ => false,
        };
        Ok(Outcome::of(&run.verdict, rounding_cycle))
    }

    /// The global DP+ comparison bound rho(C_global) (Section 4.3) for ReLU at alpha in (0, 1); None elsewhere.
    pub fn sufficient(&self) -> Option<f64> {
        let (net, cfg) = (self.net, self.cfg);
        if cfg.method != Method::DpPlus || !(cfg.alpha > 0.0 && cfg.alpha < 1.0) {
            return None;
        }
        dp_plus_relu_bound(net, cfg, &DualState::feed_forward(net, self.x)).map(|b| b.global)
    }

    /// [`loop_gain_estimate`] of the next pass of `cfg` at `state`.
    fn estimated_gain(&self, cfg: &Config, state: &DualState<f64>) -> Result<f64> {
        let steps = self.estimator_steps;
        Ok(loop_gain_estimate(&Problem::new(self.net, cfg, self.x, self.y)?, state, steps)?.gain)
    }
}

/// [`Probe::gain`] of `cfg` on `net` with batch (x, y).
pub fn predict(
    net: &Network<f64>,
    cfg: &Config,
    x: &Matrix<f64>,
    y: &Matrix<f64>,
    estimator_steps: usize,
) -> Result<f64> {
    Probe {
        net,
        cfg,
        x,
        y,
        estimator_steps,
    }
    .gain()
}
