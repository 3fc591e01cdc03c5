//! The start of an inference sweep in the kernels: the dual states set from the feed-forward pass, and the test
//! for a hidden update that would leave them bitwise as they are (skipped under the exact early exit).

use crate::reference::method::{HiddenRule, Placement};
use crate::reference::scalar::c;
use crate::reference::{Config, Network};

use super::elementwise::{init_state, weighted_gradient};
use super::workspace::{Workspace, STALE};
use super::KernelFloat;

/// Sets the dual states to the feed-forward states left in the workspace by [`super::dense::forward`]
/// (z+ = z- = z, zbar = alpha z + abar z, delta = 0, feedback 0) and tags which products are valid.
pub(super) fn init_from_feed_forward<T: KernelFloat>(
    net: &Network<T>,
    cfg: &Config,
    ws: &mut Workspace<T>,
    x: &[T],
    y: &[T],
    batch: usize,
) {
    let depth = net.depth();
    // Each layer's zbar with its own alpha (the input's and the hidden layers', then the output's).
    let alpha_of = |k: usize| c::<T>(cfg.alpha_of_layer(k, depth));
    let w = &ws.widths;
    let tags = &mut ws.tags;
    tags.zbar_ver.iter_mut().for_each(|v| *v = 0);
    tags.delta_ver.iter_mut().for_each(|v| *v = 0);
    tags.a_ver.iter_mut().for_each(|v| *v = 0);
    tags.at_feed_forward.iter_mut().for_each(|v| *v = true);
    let (alpha, abar) = (alpha_of(0), T::one() - alpha_of(0));
    let same0 = init_state(x, alpha, abar, None, &mut ws.zbar[0][..w[0] * batch], None);
    tags.a_src[1] = if same0 { 0 } else { STALE };
    for k in 1..=depth {
        let len = w[k] * batch;
        let (alpha, abar) = (alpha_of(k), T::one() - alpha_of(k));
        let same = init_state(
            &ws.plus[k][..len],
            alpha,
            abar,
            Some(&mut ws.minus[k][..len]),
            &mut ws.zbar[k][..len],
            Some(&mut ws.delta[k][..len]),
        );
        if k < depth {
            tags.a_src[k + 1] = if same { 0 } else { STALE };
            // W^T 0 = 0 exactly (the reference's dot products of zeros are +0 too).
            ws.fb[k][..len].iter_mut().for_each(|v| *v = T::zero());
            tags.fb_src_delta[k] = 0;
            tags.fb_src_a[k] = 0;
        }
    }
    if cfg.output_rule().frozen_gradient() {
        let len = w[depth] * batch;
        weighted_gradient(
            net.loss,
            &ws.plus[depth][..len],
            &y[..len],
            c::<T>(cfg.beta),
            w[depth],
            &mut ws.frozen[..len],
        );
    }
}

/// Whether hidden layer k's update would leave its states bitwise as they are: they are still the feed-forward
/// states z = f(a), a_k is still the feed-forward pre-activation, and the feedback is still the +0 that
/// [`init_from_feed_forward`] wrote (delta above has not moved), so Eq. 8 / 3 give f(a + p 0) and f(a - m 0), and
/// Eq. 21 gives f(a) + p 0 and f(a) - m 0: the same values, and zbar and delta recomputed from them the same too. The
/// one exception is a signed zero: -0 + +0 is +0, so a pre-activation (inside f) or an activation (Eq. 21) equal to
/// -0 keeps the update. Damped rules read the previous states and always run. This is the up-sweep of the first
/// pass of the up-down schedule: 4 of DP+ K=1's 8 hidden passes at the paper's depth (docs/performance-tried.md).
pub(super) fn reproduces_feed_forward<T: KernelFloat>(
    ws: &Workspace<T>,
    rule: &HiddenRule,
    k: usize,
    len: usize,
) -> bool {
    let tags = &ws.tags;
    let untouched = !rule.damped
        && tags.at_feed_forward[k]
        && !tags.layer_non_finite[k]
        && tags.a_ver[k] == 0
        && tags.fb_src_delta[k] == 0
        && tags.fb_src_a[k] == 0;
    if !untouched {
        return false;
    }
    let nudged = match rule.placement {
        Placement::InsideActivation => &ws.a[k][..len],
        Placement::OutsideActivation => &ws.plus[k][..len],
    };
    !nudged.iter().any(|v| v.bits() == T::NEG_ZERO_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::dense::{forward, Exec};
    use crate::kernels::inference::update_hidden;
    use crate::reference::Config;
    use crate::reference::{Activation, Init, Loss, Method};

    /// Hidden layer 1 of a fresh workspace after the feed-forward pass and the dual states' set-up, updated with
    /// and without the skip; `signed_zero` first writes -0 into a_1 and z_1 (identity f, so z = a still holds).
    fn layer_one_both_ways(method: Method, signed_zero: bool) -> (bool, [Workspace<f64>; 2]) {
        let widths = [3, 5, 4, 2];
        let net = Network::<f64>::init(
            &widths,
            Activation::Identity,
            Loss::LeastSquares,
            Init::TorchDefault,
            5,
        )
        .unwrap();
        let cfg = Config::new(method, 0.5, 0.5, 1);
        let batch = 2;
        let x: Vec<f64> = (0..3 * batch).map(|i| i as f64 * 0.3 - 0.7).collect();
        let y: Vec<f64> = (0..2 * batch).map(|i| i as f64 * 0.2).collect();
        let mut ws = Workspace::new(&widths, batch).unwrap();
        let par = Exec::Faer(faer::Par::Seq);
        forward(&net, &mut ws, &x, batch, par);
        if signed_zero {
            for buf in [&mut ws.a[1], &mut ws.plus[1]] {
                buf[3] = -0.0;
            }
        }
        init_from_feed_forward(&net, &cfg, &mut ws, &x, &y, batch);
        let rule = cfg.method.hidden_rule(cfg.hidden_layer_alpha());
        let eligible = reproduces_feed_forward(&ws, &rule, 1, 5 * batch);
        let (mut skipped, mut run) = (ws.clone(), ws);
        update_hidden(&net, &cfg, &mut skipped, 1, batch, par, true);
        update_hidden(&net, &cfg, &mut run, 1, batch, par, false);
        (eligible, [skipped, run])
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Route: the update itself, run on a copy of the same workspace; every state buffer of the layer compared bit
    /// for bit. At zero feedback the update is skipped (and reproduces the states); with a -0 pre-activation it is
    /// not, and there the update does move a bit (-0 + 0 = +0 in z+, or -0 - (-0) = +0 in z- for the printed
    /// Eq. 21's negative coefficients), so a skip would have been wrong.
    #[test]
    fn a_skipped_update_is_bitwise_the_update() {
        for method in [
            Method::DpPlus,
            Method::OriginalDp,
            Method::Eq21,
            Method::Eq21Printed,
        ] {
            let (eligible, [skipped, run]) = layer_one_both_ways(method, false);
            assert!(
                eligible,
                "{method:?}: zero feedback at the feed-forward states must be skipped"
            );
            for (a, b) in [
                (&skipped.plus[1], &run.plus[1]),
                (&skipped.minus[1], &run.minus[1]),
            ] {
                assert_eq!(bits(a), bits(b), "{method:?}");
            }
            let (eligible, [_, run]) = layer_one_both_ways(method, true);
            assert!(
                !eligible,
                "{method:?}: a -0 pre-activation must keep the update"
            );
            let neg_zero = (-0.0f64).to_bits();
            let after = (run.plus[1][3].to_bits(), run.minus[1][3].to_bits());
            assert_ne!(
                after,
                (neg_zero, neg_zero),
                "{method:?}: the update moves the sign of a zero there"
            );
        }
    }
}
