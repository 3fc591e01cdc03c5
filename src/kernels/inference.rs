//! The dual-propagation inference sweep ([`crate::reference::infer`]'s twin) for every method, output rule,
//! schedule and K, with cached products and an exact early exit.
//!
//! # Cached products
//! A layer update needs a_k = W_{k-1} zbar_{k-1} + b_{k-1} and, for hidden layers, the feedback
//! b_k = W_k^T delta_{k+1} (W_k^T (D_{k+1} delta_{k+1}) for the Eq. 20 variants, D_{k+1} = f'(a_{k+1})).
//! Each is a pure function of the states it reads, and faer's product is deterministic for fixed inputs, so a
//! product is recomputed only when an input changed bitwise since it was last computed: every fused update
//! reports whether zbar_k or delta_k changed (any bit), and version numbers in the workspace track the rest.
//! This gives the costs of the paper's remark without special cases: from the feed-forward states the first
//! iteration of the up-down schedule costs one feedback product per hidden layer (the up-sweep sees delta = 0
//! and changes nothing), and DP+ at alpha in {0, 1} leaves zbar bitwise unchanged, so later iterations cost no
//! product at all.
//!
//! # Early exit
//! An iteration that changes no bit of any state leaves every input of the next iteration as it was, so the next
//! iteration repeats it exactly, and so on to K. With [`KernelOptions::early_exit`] the sweep stops there and
//! reports the iterations it ran; the states, the gradient and the verdict are bitwise those of running all K.
//!
//! # Stop within a tolerance (opt-in)
//! Original DP's states settle within a few ulps but keep moving in their last bits, so the exact early exit
//! never comes and K = 30 runs 30 passes. With [`KernelOptions::stop_within_ulps`] = N the sweep stops after the
//! first iteration whose largest change d_s is at most N ulps of the scale. If the iteration contracts with rate
//! q (d_{j+1} <= q d_j), the later changes sum to at most d_s (q + q^2 + ...) = d_s q / (1 - q), so the stopped
//! states are within N ulps x q / (1 - q) of the full run's, plus the rounding-level wander the full run
//! keeps up (tested against full-K runs in tests/kernels_early_exit.rs).
//!
//! # Verdict (where it may differ from the reference)
//! Divergence and non-finite states are judged after every iteration exactly as the reference does (non-finite
//! first, then the growth bound `divergence_growth` x the feed-forward scale, lowest layer first). For a run
//! that survives all K iterations the kernel does not run the reference's extra probe pass; it judges the last
//! iteration it ran instead:
//! - that iteration changed no bit: `Converged { exact: true }` (the reference's probe would find the same);
//! - otherwise its largest change (relative to the scale) at most 16 ulps: `Converged { exact: false }`;
//! - otherwise `Bounded { residual }` with that change as the residual (the reference reports the change one
//!   more pass would make, usually a little smaller).
//!
//! - with [`KernelOptions::stop_within_ulps`], it stopped because its largest change was within that many ulps:
//!   `Converged { exact: false }`, converged within the stop's tolerance rather than 16 ulps.
//!
//! `Converged::iterations` is the last iteration whose change exceeded 16 ulps. The kernel measures an
//! iteration's change as the largest change of any single layer update in it, where the reference compares the
//! states at the start and the end of the iteration (they agree for layers updated once per iteration). So
//! after K = 1 the kernel says `Bounded` where the reference's probe may find `Converged` (DP+ at alpha in
//! {0, 1} needs one more iteration to show it is exact), and a non-finite value that only the probe would
//! produce is not reported.

use super::dense::Exec;

use crate::checks::tolerance::{fixed_point_tolerance, stop_tolerance};
use crate::reference::method::{OutputUnit, Placement};
use crate::reference::rules;
use crate::reference::scalar::c;
use crate::reference::{Config, DualState, Gradients, Network, Verdict};

use super::dense::{dense_product, WeightOp};
use super::elementwise::with_unit;
use super::elementwise::{
    add_bias, times_derivative, weighted_gradient, LayerOut, PassStats, Unit,
};
use super::start::{init_from_feed_forward, reproduces_feed_forward};
use super::workspace::Workspace;
use super::{KernelFloat, KernelOptions};

/// Result of [`super::infer_batch`]: the final states (layer 0 = the clamped input), the gradient estimate,
/// the verdict and the number of iterations actually run (less than K after an early exit).
#[derive(Debug, Clone, PartialEq)]
pub struct KernelInference<T> {
    /// Final z^+ and z^- of layers 0..=L.
    pub states: DualState<T>,
    /// The dual-propagation gradient estimate from the final states (as [`crate::reference::dual_gradient`]).
    pub gradient: Gradients<T>,
    /// How the run ended, as [`SweepOutcome::verdict`].
    pub verdict: Verdict,
    /// Iterations actually run: K, or fewer after an early exit or a stop within N ulps.
    pub iterations_run: usize,
}

/// How a sweep ended.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepOutcome {
    /// The verdict of the module doc. `Converged { exact: false }` means the last iteration moved no state by more
    /// than 16 ulps of the scale, or, after a stop with [`KernelOptions::stop_within_ulps`] = N, by more than N
    /// ulps: converged within that tolerance, and counted as converged.
    pub verdict: Verdict,
    /// Iterations actually run: K, or fewer after an early exit or a stop within N ulps.
    pub iterations_run: usize,
}

/// Brings a_k up to date with zbar_{k-1}.
pub(crate) fn ensure_pre_activation<T: KernelFloat>(
    net: &Network<T>,
    ws: &mut Workspace<T>,
    k: usize,
    batch: usize,
    par: Exec,
) {
    let src_ver = ws.tags.zbar_ver[k - 1];
    if ws.tags.a_src[k] == src_ver {
        return;
    }
    let layer = &net.layers[k - 1];
    dense_product(
        &layer.w,
        WeightOp::Forward,
        &ws.zbar[k - 1],
        batch,
        &mut ws.a[k],
        par,
        &mut ws.macs,
    );
    add_bias(&layer.b, &mut ws.a[k][..ws.widths[k] * batch]);
    ws.tags.a_src[k] = src_ver;
    ws.tags.a_ver[k] += 1;
}

/// Brings the feedback fb_k into hidden layer k up to date with delta_{k+1} (and a_{k+1} when it carries D).
fn ensure_feedback<T: KernelFloat>(
    net: &Network<T>,
    ws: &mut Workspace<T>,
    k: usize,
    through: bool,
    batch: usize,
    par: Exec,
) {
    // D_L = 1 on the linear output layer: only hidden layers carry a derivative.
    let through = through && k + 1 < net.depth();
    if through {
        ensure_pre_activation(net, ws, k + 1, batch, par);
    }
    let tags = &ws.tags;
    if tags.fb_src_delta[k] == tags.delta_ver[k + 1]
        && (!through || tags.fb_src_a[k] == tags.a_ver[k + 1])
    {
        return;
    }
    let len = ws.widths[k + 1] * batch;
    let src: &[T] = if through {
        let [tmp, _] = &mut ws.tmp;
        times_derivative(
            net.activation,
            &ws.delta[k + 1][..len],
            &ws.a[k + 1][..len],
            &mut tmp[..len],
        );
        &ws.tmp[0]
    } else {
        &ws.delta[k + 1]
    };
    dense_product(
        &net.layers[k].w,
        WeightOp::Transpose,
        src,
        batch,
        &mut ws.fb[k],
        par,
        &mut ws.macs,
    );
    ws.tags.fb_src_delta[k] = ws.tags.delta_ver[k + 1];
    ws.tags.fb_src_a[k] = ws.tags.a_ver[k + 1];
}

/// The fused-update target of layer `$k` ([`LayerOut`]): disjoint fields of the workspace, so the inputs of the
/// update (a_k, the feedback, g) can be borrowed beside it.
macro_rules! layer_out {
    ($ws:expr, $k:expr, $len:expr, $alpha:expr, $par:expr) => {
        LayerOut {
            alpha: $alpha,
            abar: T::one() - $alpha,
            plus: &mut $ws.plus[$k][..$len],
            minus: &mut $ws.minus[$k],
            zbar: &mut $ws.zbar[$k],
            delta: &mut $ws.delta[$k],
            split: $par.threads() > 1,
        }
    };
}

/// Updates hidden layer k < L in place ([`crate::reference::update::update_layer`]'s twin). With `skip_no_op`
/// (the exact early exit's option), an update that [`reproduces_feed_forward`] is not run.
pub(super) fn update_hidden<T: KernelFloat>(
    net: &Network<T>,
    cfg: &Config,
    ws: &mut Workspace<T>,
    k: usize,
    batch: usize,
    par: Exec,
    skip_no_op: bool,
) -> PassStats {
    let alpha = cfg.hidden_layer_alpha();
    let rule = cfg.method.hidden_rule(alpha);
    ensure_pre_activation(net, ws, k, batch, par);
    ensure_feedback(net, ws, k, rule.feedback_through_derivative, batch, par);
    let len = ws.widths[k] * batch;
    if skip_no_op && reproduces_feed_forward(ws, &rule, k, len) {
        return PassStats {
            max_abs: ws.tags.layer_max[k],
            ..PassStats::default()
        };
    }
    let (pw, mw) = rule.coefficients::<T>();
    let (a, b) = (&ws.a[k][..len], &ws.fb[k][..len]);
    let out = layer_out!(ws, k, len, c::<T>(alpha), par);
    // A damping not validated against the network gives NaN states, as in the reference (`update::layer_update`);
    // the public entries resolve and validate it first, so this is an index lookup.
    let l = if rule.damped {
        c::<T>(cfg.damping().weight(net, k).unwrap_or(f64::NAN))
    } else {
        T::zero()
    };
    // The placement is chosen here, outside the fused loop.
    with_unit!(net.activation, u => {
        let f = |x| Unit::<T>::f(u, x);
        match rule.placement {
            Placement::InsideActivation if rule.damped => out.update_from_previous(
                |a, b, zp, zm| rules::hidden_dampened(f, pw, mw, l, a, b, zp, zm),
                a,
                b,
            ),
            Placement::InsideActivation => {
                out.update(|a, b| rules::hidden_inside(f, pw, mw, a, b), a, b)
            }
            Placement::OutsideActivation => {
                out.update(|a, b| rules::hidden_outside(f, pw, mw, a, b), a, b)
            }
        }
    })
}

/// Updates the linear output layer L in place ([`crate::reference::update::output_states`]'s twin), with the
/// output's alpha (the hidden layers' may differ: [`Config::alpha_of_layer`]).
fn update_output<T: KernelFloat>(
    net: &Network<T>,
    cfg: &Config,
    ws: &mut Workspace<T>,
    y: &[T],
    batch: usize,
    par: Exec,
) -> PassStats {
    let depth = net.depth();
    ensure_pre_activation(net, ws, depth, batch, par);
    let n = ws.widths[depth];
    let len = n * batch;
    let alpha = c::<T>(cfg.alpha);
    let beta = c::<T>(cfg.beta);
    let [g_buf, _] = &mut ws.tmp;
    let a = &ws.a[depth][..len];
    let y = &y[..len];
    let out = layer_out!(ws, depth, len, alpha, par);
    match cfg.output_rule().unit(alpha, beta) {
        OutputUnit::Linear {
            plus,
            minus,
            frozen,
        } => {
            let g = if frozen {
                &ws.frozen[..len]
            } else {
                weighted_gradient(net.loss, a, y, beta, n, &mut g_buf[..len]);
                &g_buf[..len]
            };
            out.update(|a, g| rules::output_linear(plus, minus, a, g), a, g)
        }
        OutputUnit::Exact { ab, bb } => out.update(|a, t| rules::output_exact(ab, bb, a, t), a, y),
    }
}

/// Runs K iterations of `order` (the schedule's layer order) from the feed-forward states in the workspace
/// (left by [`super::dense::forward`] with the same `x`), then judges the run. `scale` is the feed-forward scale
/// that [`super::dense::forward`] returned. The workspace then holds the final states.
#[allow(clippy::too_many_arguments)]
pub fn infer<T: KernelFloat>(
    net: &Network<T>,
    cfg: &Config,
    order: &[usize],
    ws: &mut Workspace<T>,
    x: &[T],
    y: &[T],
    batch: usize,
    scale: f64,
    opts: &KernelOptions,
) -> SweepOutcome {
    let par = opts.par();
    let depth = net.depth();
    init_from_feed_forward(net, cfg, ws, x, y, batch);
    let bound = cfg.divergence_growth * scale;
    let tol = fixed_point_tolerance::<T>();
    let stop = opts.stop_within_ulps.map(stop_tolerance::<T>);
    let mut stopped = false;
    let mut settled = 0;
    let mut last_change = 0.0f64;
    let mut last_unchanged = false;
    let mut run = 0;
    for iteration in 1..=cfg.iterations {
        run = iteration;
        let mut any_change = false;
        let mut change = 0.0f64;
        for &k in order {
            let stats = if k == depth {
                update_output(net, cfg, ws, y, batch, par)
            } else {
                update_hidden(net, cfg, ws, k, batch, par, opts.early_exit)
            };
            let tags = &mut ws.tags;
            tags.at_feed_forward[k] &= !stats.state_changed;
            tags.zbar_ver[k] += stats.zbar_changed as u64;
            tags.delta_ver[k] += stats.delta_changed as u64;
            tags.layer_max[k] = stats.max_abs;
            tags.layer_non_finite[k] = stats.non_finite;
            any_change |= stats.state_changed;
            change = change.max(stats.change);
        }
        if let Some(verdict) = judge_iteration(ws, depth, iteration, bound) {
            return SweepOutcome {
                verdict,
                iterations_run: iteration,
            };
        }
        if change / scale > tol {
            settled = iteration;
        }
        last_change = change;
        last_unchanged = !any_change;
        if last_unchanged && opts.early_exit {
            break;
        }
        if stop.is_some_and(|stop| change / scale <= stop) {
            stopped = true;
            break;
        }
    }
    let residual = last_change / scale;
    let verdict = if last_unchanged || residual <= tol || stopped {
        Verdict::Converged {
            iterations: settled,
            exact: last_unchanged,
        }
    } else {
        Verdict::Bounded { residual }
    };
    SweepOutcome {
        verdict,
        iterations_run: run,
    }
}

/// The reference's per-iteration check: non-finite states first (lowest layer), then the growth bound.
fn judge_iteration<T: KernelFloat>(
    ws: &Workspace<T>,
    depth: usize,
    iteration: usize,
    bound: f64,
) -> Option<Verdict> {
    let tags = &ws.tags;
    if let Some(layer) = (1..=depth).find(|&k| tags.layer_non_finite[k]) {
        return Some(Verdict::NonFinite { iteration, layer });
    }
    (1..=depth)
        .find(|&k| tags.layer_max[k] > bound)
        .map(|layer| Verdict::Diverged {
            iteration,
            layer,
            max_abs: tags.layer_max[layer],
            bound,
        })
}
