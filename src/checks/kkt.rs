//! KKT (first-order optimality) residuals per layer and per equation:
//! Eqs. 10, 11 (hidden) and 15 (output) for DP+, Eq. 3's stationarity for original DP, Eq. 20 for the
//! Lagrangian variants, and Eq. 19's subspace condition at inactive ReLU units.
//!
//! Every residual is reported absolute and relative to the sum of the magnitudes of the terms it combines
//! (with |W| |z| for a pre-activation), so that "holds to rounding" means a relative residual of a few
//! [`crate::checks::tolerance::rounding`].

use serde::{Deserialize, Serialize};

use crate::checks::equation::Equation;
use crate::checks::saddle::{output_saddle, Saddle};
use crate::error::Result;
use crate::reference::activation::Activation;
use crate::reference::matrix::Matrix;
use crate::reference::method::{Config, HiddenRule, Method};
use crate::reference::network::Network;
use crate::reference::problem::Problem;
use crate::reference::rules::{self, UnitPattern};
use crate::reference::scalar::{c, to_f64, Scalar};
use crate::reference::state::DualState;
use crate::reference::update::{multiplier, pre_activation};

/// Residual of one equation over all units of one layer (and the whole batch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EquationResidual {
    /// Which condition; serialized as its wording, e.g. "Eq. 10 (+)".
    pub equation: Equation,
    /// max over units (and batch rows) of the absolute residual |r|.
    pub max_abs: f64,
    /// max over units of |r| / (sum of |terms| of r).
    pub max_relative: f64,
    /// Units (times batch rows) where the equation was evaluated.
    pub units: usize,
    /// Units where it could not be: the state lies outside the range of f (e.g. a saturated sigmoid).
    pub excluded: usize,
}

/// All equations of one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerKkt {
    /// Layer index k in 1..=L.
    pub layer: usize,
    /// The residual of each condition the method imposes on this layer (hidden or output).
    pub equations: Vec<EquationResidual>,
}

/// KKT report of a state for a method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KktReport {
    /// The variant whose optimality conditions were evaluated.
    pub method: Method,
    /// One entry per layer, k = 1..=L in order.
    pub layers: Vec<LayerKkt>,
    /// DP+ only: whether Eq. 16 is a saddle of Eq. 14 ([`output_saddle`]), a flag, not a failure. Absent from
    /// older files and for the other methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_saddle: Option<Saddle>,
}

impl KktReport {
    /// Largest relative residual over all layers and equations (NaN propagates).
    pub fn max_relative(&self) -> f64 {
        self.residuals().map(|e| e.max_relative).fold(0.0, nan_max)
    }

    /// Largest absolute residual over all layers and equations.
    pub fn max_abs(&self) -> f64 {
        self.residuals().map(|e| e.max_abs).fold(0.0, nan_max)
    }

    /// The residual of `equation` at `layer`, if it was checked.
    pub fn get(&self, layer: usize, equation: Equation) -> Option<&EquationResidual> {
        self.layers
            .iter()
            .find(|l| l.layer == layer)?
            .equations
            .iter()
            .find(|e| e.equation == equation)
    }

    fn residuals(&self) -> impl Iterator<Item = &EquationResidual> {
        self.layers.iter().flat_map(|l| l.equations.iter())
    }
}

fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Accumulates one equation's residual over units.
struct Acc(EquationResidual);

impl Acc {
    fn new(equation: Equation) -> Self {
        Acc(EquationResidual {
            equation,
            max_abs: 0.0,
            max_relative: 0.0,
            units: 0,
            excluded: 0,
        })
    }
    fn add(&mut self, r: f64, scale: f64) {
        let rel = if scale > 0.0 {
            r.abs() / scale
        } else {
            r.abs()
        };
        self.0.max_abs = nan_max(self.0.max_abs, r.abs());
        self.0.max_relative = nan_max(self.0.max_relative, rel);
        self.0.units += 1;
    }
    fn exclude(&mut self) {
        self.0.excluded += 1;
    }
}

/// Per-unit quantities of layer k shared by all the conditions.
struct LayerTerms {
    a: Vec<f64>,
    a_abs: Vec<f64>,
    /// Feedback b from above (W^T delta, or W^T D delta for Eq. 20); zero on the output layer.
    b: Vec<f64>,
    b_abs: Vec<f64>,
    plus: Vec<f64>,
    minus: Vec<f64>,
}

fn to_vec<T: Scalar>(m: &Matrix<T>) -> Vec<f64> {
    m.as_slice().iter().map(|&v| to_f64(v)).collect()
}

fn layer_terms<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    state: &DualState<T>,
    k: usize,
) -> LayerTerms {
    // zbar_{k-1} and zbar_k with their layers' alphas (Eq. 6), as the update reads them.
    let below = c::<T>(cfg.alpha_of_layer(k - 1, net.depth()));
    let abs = |m: &Matrix<T>| m.map(|v| v.abs());
    let layer = &net.layers[k - 1];
    let a = pre_activation(net, state, k, below);
    let a_abs = abs(&state.mean(k - 1, below))
        .mul_transpose(&abs(&layer.w))
        .add_row(&layer.b.iter().map(|v| v.abs()).collect::<Vec<_>>());
    let (b, b_abs) = if k < net.depth() {
        // The feedback as the update reads it (update::feedback), with the magnitudes of its terms.
        let through = cfg
            .method
            .hidden_rule(cfg.hidden_layer_alpha())
            .feedback_through_derivative;
        let own = c::<T>(cfg.alpha_of_layer(k, net.depth()));
        let d = multiplier(net, state, k + 1, own, through);
        let w = &net.layers[k].w;
        (to_vec(&d.mul(w)), to_vec(&abs(&d).mul(&abs(w))))
    } else {
        (vec![0.0; a.as_slice().len()], vec![0.0; a.as_slice().len()])
    };
    LayerTerms {
        a: to_vec(&a),
        a_abs: to_vec(&a_abs),
        b,
        b_abs,
        plus: to_vec(&state.plus[k]),
        minus: to_vec(&state.minus[k]),
    }
}

/// The KKT residuals of `state` for the conditions of `cfg.method` (any state: an inference result or a candidate's).
///
/// Proved (proofs/): `Objectives.v` `eq15_1_is_derivative`, `eq15_2_is_derivative`, `veq15_1_is_partial`,
/// `veq15_2_is_partial`, `eq10_1_is_derivative`, `eq10_2_is_derivative`, `eq3_out_plus_is_derivative`,
/// `eq3_out_minus_is_derivative`, `eq3_hidden_plus_is_derivative`, `eq3_hidden_minus_is_derivative`,
/// `eq20_multiplier_is_partial`, `eq20_state_is_partial`, `eq20_out_state_is_derivative`,
/// `eq20_out_multiplier_is_derivative` (each row is the partial derivative of its objective); `Relu.v`
/// `relu_inactive`, `relu_straddle_plus`, `relu_straddle_minus`; `HiddenLayer.v` `locally_affine_solves_eq10`; the
/// checked statements of `OutputLayer.v` `eq16_satisfies_eq15`, `veq16_satisfies_veq15`, `veq15_unique`,
/// `HiddenLayer.v` `affine_eq8_solves_eq10`, `affine_eq12`, `Relu.v` `relu_active`, `relu_layer_no_straddle`,
/// `LeCunChain.v` `settled_update_satisfies_kkt`, `printed_update_kkt_iff`, `Objectives.v`
/// `eq3_hidden_layer_plus_is_partial`, `eq3_hidden_layer_minus_is_partial`, `eq16_stationary_for_eq20_out`.
pub fn kkt_report<T: Scalar>(problem: &Problem<T>, state: &DualState<T>) -> Result<KktReport> {
    problem.validate_state(state)?;
    let (net, cfg, y) = (problem.net(), problem.cfg(), problem.y());
    let depth = net.depth();
    let mut layers = Vec::with_capacity(depth);
    for k in 1..=depth {
        let t = layer_terms(net, cfg, state, k);
        // The hidden conditions with the hidden layers' alpha; the output's own alpha in `output_conditions`.
        let hidden_alpha = cfg.hidden_layer_alpha();
        let rule = cfg.method.hidden_rule(hidden_alpha);
        let equations = if k < depth {
            match cfg.method {
                Method::DpPlus => dp_plus_hidden(net.activation, hidden_alpha, &rule, &t),
                // Dampened original DP is judged against Eq. 3 too; its own conditions: `checks::dampened`.
                Method::OriginalDp | Method::OriginalDpDampened => {
                    original_hidden(net.activation, hidden_alpha, &t)
                }
                Method::Eq21 | Method::Eq21Printed => {
                    lagrangian_hidden(net.activation, hidden_alpha, &t)
                }
            }
        } else {
            output_conditions(net, cfg, state, y, &t)
        };
        layers.push(LayerKkt {
            layer: k,
            equations,
        });
    }
    Ok(KktReport {
        method: cfg.method,
        layers,
        output_saddle: output_saddle(cfg, net.loss),
    })
}

/// Eq. 10 (both lines) and their sum Eq. 11 for DP+ hidden layers; for piecewise-linear activations the units whose
/// nudged pre-activations a + abar b and a - alpha b straddle the kink (where Prop. 3.1's local linearity fails) are
/// reported apart, and Eq. 19 is checked at inactive ReLU units.
fn dp_plus_hidden(
    f: Activation,
    alpha: f64,
    rule: &HiddenRule,
    t: &LayerTerms,
) -> Vec<EquationResidual> {
    let abar = 1.0 - alpha;
    let names = [Equation::Eq10Plus, Equation::Eq10Minus, Equation::Eq11];
    let mut on_piece = names.map(Acc::new);
    let mut straddling = names.map(|n| Acc::new(n.straddling().unwrap_or(n)));
    let mut e19 = Acc::new(Equation::Eq19InactiveRelu);
    for i in 0..t.a.len() {
        let (a, b, zp, zm) = (t.a[i], t.b[i], t.plus[i], t.minus[i]);
        let (up, down) = rules::nudged(rule.plus, rule.minus, a, b);
        // A NaN pre-activation is left unclassified, so that its NaN residuals reach the report.
        let pattern = f
            .kink()
            .filter(|_| !(up.is_nan() || down.is_nan()))
            .map(|kink| UnitPattern::of(kink, up, down));
        if f == Activation::Relu && pattern == Some(UnitPattern::Inactive) {
            // Both nudged pre-activations on the inactive piece: Eq. 19 pins the state at the kink.
            e19.add(zp.abs().max(zm.abs()), t.a_abs[i] + t.b_abs[i]);
            continue;
        }
        let accs = if pattern.is_some_and(UnitPattern::straddles) {
            &mut straddling
        } else {
            &mut on_piece
        };
        let (zb, delta) = rules::mean_and_delta(alpha, abar, zp, zm);
        let (Some(inv), Some(dinv)) = (f.inverse(zb), f.inverse_derivative(zb)) else {
            accs.iter_mut().for_each(Acc::exclude);
            continue;
        };
        // Magnitudes of the terms before cancellation: zbar and delta are themselves sums of |z+| and |z-|.
        let base =
            inv.abs() + dinv.abs() * rules::mean(alpha, abar, zp.abs(), zm.abs()) + t.a_abs[i];
        let fb = dinv.abs() * (zp.abs() + zm.abs());
        accs[0].add(
            inv - a + alpha * dinv * delta - alpha * b,
            base + alpha * (fb + t.b_abs[i]),
        );
        accs[1].add(
            -inv + a + abar * dinv * delta - abar * b,
            base + abar * (fb + t.b_abs[i]),
        );
        accs[2].add(dinv * delta - b, fb + t.b_abs[i]);
    }
    let mut out: Vec<EquationResidual> = on_piece.into_iter().map(|a| a.0).collect();
    if f.kink().is_some() {
        out.extend(straddling.into_iter().map(|a| a.0));
    }
    if f == Activation::Relu {
        out.push(e19.0);
    }
    out
}

/// Stationarity of Eq. 3 in z_k^+ (min) and z_k^- (max) for hidden layers: f^-1(z+) = a + alpha b and
/// f^-1(z-) = a - abar b, as inclusions in the subdifferential of G at ReLU's kink.
fn original_hidden(f: Activation, alpha: f64, t: &LayerTerms) -> Vec<EquationResidual> {
    let abar = 1.0 - alpha;
    let mut plus = Acc::new(Equation::Eq3StationarityPlus);
    let mut minus = Acc::new(Equation::Eq3StationarityMinus);
    for i in 0..t.a.len() {
        // The condition from the hidden alpha, written out (not through Method::hidden_rule or rules::nudged), so that
        // it checks the update independently.
        for (acc, z, target, w) in [
            (&mut plus, t.plus[i], t.a[i] + alpha * t.b[i], alpha),
            (&mut minus, t.minus[i], t.a[i] - abar * t.b[i], abar),
        ] {
            let scale = z.abs() + t.a_abs[i] + w * t.b_abs[i];
            if f == Activation::Relu && z == 0.0 {
                // dG(0) = (-inf, 0]: distance of the target to it.
                acc.add(target.max(0.0), scale);
            } else if let Some(inv) = f.inverse(z) {
                acc.add(inv - target, scale);
            } else {
                acc.exclude();
            }
        }
    }
    vec![plus.0, minus.0]
}

/// Eq. 20's conditions at a hidden layer: zbar_k = f(a_k) and delta_k = W_k^T D_{k+1} delta_{k+1}.
fn lagrangian_hidden(f: Activation, alpha: f64, t: &LayerTerms) -> Vec<EquationResidual> {
    let abar = 1.0 - alpha;
    let mut forward = Acc::new(Equation::Eq20Constraint);
    let mut multiplier = Acc::new(Equation::Eq20Multiplier);
    for i in 0..t.a.len() {
        let (zb, delta) = rules::mean_and_delta(alpha, abar, t.plus[i], t.minus[i]);
        let fa = f.apply(t.a[i]);
        let zb_abs = rules::mean(alpha, abar, t.plus[i].abs(), t.minus[i].abs());
        // f(a)'s argument carries the rounding of a's terms (|W| |zbar| + |b|), through f': without it a unit
        // whose pre-activation cancels to near 0 reads a rounding-level residual as a large relative one.
        let fa_terms = fa.abs() + f.derivative(t.a[i]).abs() * t.a_abs[i];
        forward.add(zb - fa, zb_abs + fa_terms);
        multiplier.add(
            delta - t.b[i],
            t.plus[i].abs() + t.minus[i].abs() + t.b_abs[i],
        );
    }
    vec![forward.0, multiplier.0]
}

/// Output-layer conditions: Eq. 15 for DP+ and the Eq. 20 variants' Eq. 16 output, Eq. 3's stationarity for
/// original DP, Eq. 20's zbar_L = a_L and delta_L = -beta l'(zbar_L) for the Lagrangian variants.
fn output_conditions<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    state: &DualState<T>,
    y: &Matrix<T>,
    t: &LayerTerms,
) -> Vec<EquationResidual> {
    let (alpha, abar) = (cfg.alpha, cfg.abar());
    let depth = net.depth();
    let grad_at = |z: &Matrix<T>| to_vec(&net.loss.weighted_gradient(z, y, c::<T>(cfg.beta)));
    match cfg.method {
        Method::DpPlus => {
            let g = grad_at(&state.mean(depth, c(alpha)));
            let (mut p, mut m) = (Acc::new(Equation::Eq15Plus), Acc::new(Equation::Eq15Minus));
            for i in 0..t.a.len() {
                let (zp, zm) = (t.plus[i], t.minus[i]);
                let (zb, delta) = rules::mean_and_delta(alpha, abar, zp, zm);
                let scale = zb.abs() + t.a_abs[i];
                p.add(
                    alpha * g[i] + zb - t.a[i] + alpha * delta,
                    scale + alpha * (g[i].abs() + delta.abs()),
                );
                m.add(
                    abar * g[i] - zb + t.a[i] + abar * delta,
                    scale + abar * (g[i].abs() + delta.abs()),
                );
            }
            vec![p.0, m.0]
        }
        Method::OriginalDp | Method::OriginalDpDampened => {
            let (gp, gm) = (grad_at(&state.plus[depth]), grad_at(&state.minus[depth]));
            let mut p = Acc::new(Equation::Eq3StationarityPlus);
            let mut m = Acc::new(Equation::Eq3StationarityMinus);
            for i in 0..t.a.len() {
                let (zp, zm) = (t.plus[i], t.minus[i]);
                p.add(
                    zp - t.a[i] + alpha * gp[i],
                    zp.abs() + t.a_abs[i] + alpha * gp[i].abs(),
                );
                m.add(
                    zm - t.a[i] - abar * gm[i],
                    zm.abs() + t.a_abs[i] + abar * gm[i].abs(),
                );
            }
            vec![p.0, m.0]
        }
        Method::Eq21 | Method::Eq21Printed => {
            let g = grad_at(&state.mean(depth, c(alpha)));
            let mut forward = Acc::new(Equation::Eq20OutputConstraint);
            let mut multiplier = Acc::new(Equation::Eq20OutputMultiplier);
            for i in 0..t.a.len() {
                let (zp, zm) = (t.plus[i], t.minus[i]);
                let (zb, delta) = rules::mean_and_delta(alpha, abar, zp, zm);
                let zb_abs = rules::mean(alpha, abar, zp.abs(), zm.abs());
                forward.add(zb - t.a[i], zb_abs + t.a_abs[i]);
                multiplier.add(delta + g[i], zp.abs() + zm.abs() + g[i].abs());
            }
            vec![forward.0, multiplier.0]
        }
    }
}
