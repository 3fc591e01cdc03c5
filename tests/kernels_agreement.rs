//! The kernels agree with the reference on random shapes, variants, schedules and K, in f32 and f64.
//!
//! # Tolerances
//! The kernel performs the reference's elementwise operations in the same order, so the only differences are
//! in the dense products: faer blocks, reorders and fuses (FMA) the sums of a dot product. For a dot product of
//! length n, each implementation's result is within gamma_n ~ n u of the exact one relative to sum |w_i x_i|
//! (u = unit roundoff), so the two differ by at most ~2 n u M, M the magnitude of the states involved
//! (weights are at most 1/sqrt(fan-in), so sum |w_i x_i| <= sqrt(n) M <= n M; we keep n M). A difference made
//! in one update is carried by the later ones through maps that are Lipschitz with O(1) constants on these
//! networks, so over U updates (L for the feed-forward pass, then K times the schedule's layers) the states
//! differ by at most about 2 U (n + 4) u M, the +4 for the few roundings of the elementwise nudge. That bound is
//! the tolerance (STATE_C = 1; `checks::tolerance::kernel_state_agreement`, also used by the fuzz target), times
//! the original-DP exact output's Lipschitz constant 1/(1 - abar beta) (`checks::tolerance::output_amplification`:
//! near abar beta = 1 it is far from O(1), and a proptest case at beta = 0.98 exceeded the bound without it).
//! The O(1) amplification factors it leaves out (nudge weights up to 1, Lipschitz constants of the sweeps) are
//! covered by the slack of
//! n M over sqrt(n) M and of worst-case over typical rounding: in a sweep of 40,000 cases
//! (`KERNELS_CASES=20000 KERNELS_REPORT=1 cargo test --test kernels_agreement -- --nocapture`) the largest
//! difference seen was 0.14 of the bound.
//! A gradient entry is -1/(beta B) sum_b delta zbar: each delta carries up to twice the states' difference,
//! and the sum over B samples adds B roundings of its own, hence the bound 2 tol M (1 + B u) / beta
//! (`checks::tolerance::kernel_gradient_agreement`).
//! Cases where the reference's verdict fails (divergence, non-finite) only require the kernel to fail too.

mod kernels_common;

use dualprop::checks::tolerance::{
    fixed_point_tolerance, kernel_gradient_agreement, kernel_state_agreement, output_amplification,
};
use dualprop::kernels::{infer_batch, KernelFloat};
use dualprop::reference::scalar::to_f64;
use dualprop::reference::Problem;
use dualprop::reference::{dual_gradient, infer, Inference, Schedule, Verdict};
use kernels_common::*;
use proptest::prelude::*;

/// Multiple of the derived bound that a state difference may reach (see the module comment).
const STATE_C: f64 = 1.0;

/// Checks one case in `T`; returns the worst ratio of observed difference to the allowed one.
fn agree<T: KernelFloat>(case: &Case) -> Result<f64, TestCaseError> {
    let (net, x, y) = problem::<T>(case);
    let cfg = &case.cfg;
    let reference = infer(&Problem::new(&net, cfg, &x, &y).unwrap()).unwrap();
    let kernel = infer_batch(&Problem::new(&net, cfg, &x, &y).unwrap(), true).unwrap();
    if reference.verdict.failed() {
        prop_assert!(
            kernel.verdict.failed(),
            "reference {:?} but kernel {:?}",
            reference.verdict,
            kernel.verdict
        );
        return Ok(0.0);
    }
    prop_assert!(
        !kernel.verdict.failed(),
        "reference {:?} but kernel {:?}",
        reference.verdict,
        kernel.verdict
    );
    let depth = net.depth();
    let n_max = *case.widths.iter().max().unwrap();
    let updates = depth + cfg.iterations * cfg.schedule.layer_order(depth).len();
    let mut parts: Vec<&[T]> = Vec::new();
    for k in 0..=depth {
        parts.push(reference.states.plus[k].as_slice());
        parts.push(reference.states.minus[k].as_slice());
        parts.push(reference.feed_forward[k].as_slice());
    }
    let m = magnitude(&parts);
    let tol = STATE_C * kernel_state_agreement::<T>(updates, n_max, m) * output_amplification(cfg);
    let mut worst = 0.0f64;
    for k in 0..=depth {
        for (what, kk, rr) in [
            ("z+", &kernel.states.plus[k], &reference.states.plus[k]),
            ("z-", &kernel.states.minus[k], &reference.states.minus[k]),
        ] {
            let d = max_diff(kk.as_slice(), rr.as_slice());
            prop_assert!(d <= tol, "{what} of layer {k}: difference {d:e} > {tol:e}");
            worst = worst.max(d / tol);
        }
    }
    let g_ref = dual_gradient(&net, cfg, &reference.states);
    let g_tol = kernel_gradient_agreement::<T>(tol, m, case.batch, cfg.beta);
    for k in 0..depth {
        for (what, kk, rr) in [
            (
                "grad W",
                kernel.gradient.w[k].as_slice(),
                g_ref.w[k].as_slice(),
            ),
            ("grad b", &kernel.gradient.b[k][..], &g_ref.b[k][..]),
        ] {
            let d = max_diff(kk, rr);
            prop_assert!(
                d <= g_tol,
                "{what} of layer {k}: difference {d:e} > {g_tol:e}"
            );
            worst = worst.max(d / g_tol);
        }
    }
    verdicts_agree::<T>(&reference, &kernel.verdict, cfg.schedule, tol)?;
    Ok(worst)
}

/// The kernel's verdict of a run that did not fail, judged from the reference's trajectory (the change of every
/// pass, computed by the reference): `Converged` when the last pass moved no state by more than 16 ulps of the
/// feed-forward scale, with `iterations` the last pass that moved one by more, `Bounded` with that last change
/// otherwise. A pass's change may differ between the two by twice the states' tolerance, so a change within that
/// band of the threshold may be judged either way. Not for the up-down schedule, which updates hidden layers twice
/// a pass: there the kernels measure the largest change of one update and the reference the change over the whole
/// pass (a 3000-case run found them 27% apart on a bounded run), so the two verdicts are not the same quantity.
fn verdicts_agree<T: KernelFloat>(
    reference: &Inference<T>,
    kernel: &Verdict,
    schedule: Schedule,
    state_tol: f64,
) -> Result<(), TestCaseError> {
    if schedule == Schedule::UpDown {
        return Ok(());
    }
    let depth = reference.feed_forward.len() - 1;
    let scale = (1..=depth)
        .map(|k| to_f64(reference.feed_forward[k].max_abs()))
        .fold(1.0, f64::max);
    let tol = fixed_point_tolerance::<T>();
    let band = 2.0 * state_tol / scale;
    let ratios: Vec<f64> = reference
        .trajectory
        .iter()
        .map(|r| r.change / scale)
        .collect();
    let last = *ratios.last().unwrap_or(&0.0);
    match *kernel {
        Verdict::Converged { iterations, .. } => {
            prop_assert!(
                last <= tol + band,
                "kernel converged, but the last pass moved {last:e}"
            );
            let definite = ratios
                .iter()
                .rposition(|&r| r > tol + band)
                .map_or(0, |i| i + 1);
            let possible = ratios
                .iter()
                .rposition(|&r| r > tol - band)
                .map_or(0, |i| i + 1);
            prop_assert!(
                (definite..=possible).contains(&iterations),
                "kernel settled at pass {iterations}, the reference's changes say {definite}..={possible}"
            );
        }
        Verdict::Bounded { residual } => {
            prop_assert!(
                last > tol - band,
                "kernel bounded, but the last pass moved {last:e}"
            );
            prop_assert!(
                (residual - last).abs() <= band,
                "kernel residual {residual:e}, the reference's last change {last:e}"
            );
        }
        ref v => prop_assert!(false, "kernel {v:?} on a run the reference did not fail"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), ..ProptestConfig::default() })]

    #[test]
    fn inference_and_gradient_agree_f64(case in case()) {
        let w = agree::<f64>(&case)?;
        if std::env::var("KERNELS_REPORT").is_ok() { eprintln!("ratio f64 {w:.3e}"); }
    }

    #[test]
    fn inference_and_gradient_agree_f32(case in case()) {
        let w = agree::<f32>(&case)?;
        if std::env::var("KERNELS_REPORT").is_ok() { eprintln!("ratio f32 {w:.3e}"); }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(150), ..ProptestConfig::default() })]

    /// The same agreement with the hidden layers' alpha drawn apart from the output's (`Config::hidden_alpha`).
    /// Independent route: the reference reads each layer's alpha per matrix operation (`Config::alpha_of_layer`
    /// at the mean, the rule and the gradient), the kernels in their fused workspace updates; the tolerance is
    /// the module's, which does not depend on alpha.
    #[test]
    fn inference_and_gradient_agree_with_hidden_alpha(case in case(), hidden in alpha()) {
        let mut case = case;
        case.cfg.hidden_alpha = Some(hidden);
        agree::<f64>(&case)?;
        agree::<f32>(&case)?;
    }
}

/// A diverging run gets the reference's verdict from the kernels: the same pass, layer and bound. Original DP at
/// alpha = 0 on an identity chain with W_k = 2 I (loop gain far above 1) and inputs of size 50, so that the
/// feed-forward scale (400) is far from 1 and a bound computed from it any other way than growth x scale (1e4 x
/// 400) is crossed at another pass. Route: the reference's own judgement of its trajectory.
#[test]
fn a_diverging_run_gets_the_references_verdict() {
    use dualprop::reference::{Activation, Config, Layer, Loss, Matrix, Method, Network};
    let eye2 = |n: usize| Matrix::from_fn(n, n, |i, j| if i == j { 2.0 } else { 0.0 });
    let layers = (0..3)
        .map(|_| Layer {
            w: eye2(2),
            b: vec![0.0; 2],
        })
        .collect();
    let net = Network::new(layers, Activation::Identity, Loss::LeastSquares).unwrap();
    let x = Matrix::from_vec(1, 2, vec![50.0, -30.0]).unwrap();
    let y = Matrix::from_vec(1, 2, vec![0.0, 0.0]).unwrap();
    for (alpha, beta) in [(0.0, 0.5), (1.0, 0.5), (0.0, 0.9)] {
        let cfg = Config::new(Method::OriginalDp, alpha, beta, 200);
        let problem = Problem::new(&net, &cfg, &x, &y).unwrap();
        let reference = infer(&problem).unwrap();
        let Verdict::Diverged {
            iteration,
            layer,
            bound,
            ..
        } = reference.verdict
        else {
            panic!(
                "alpha {alpha}: the reference did not diverge: {:?}",
                reference.verdict
            );
        };
        assert_eq!(
            bound,
            1e4 * 400.0,
            "growth x the feed-forward scale 2^3 x 50"
        );
        for early_exit in [false, true] {
            let kernel = infer_batch(&problem, early_exit).unwrap();
            let Verdict::Diverged {
                iteration: ki,
                layer: kl,
                bound: kb,
                ..
            } = kernel.verdict
            else {
                panic!(
                    "alpha {alpha}: kernel {:?}, reference {:?}",
                    kernel.verdict, reference.verdict
                );
            };
            assert_eq!(
                (ki, kl, kb),
                (iteration, layer, bound),
                "alpha {alpha}, beta {beta}"
            );
        }
    }
}
