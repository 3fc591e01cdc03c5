//! The trainer against the reference: back-propagation gradients, training trajectories, checkpoint/resume,
//! unwritten elements (NaN-filled outputs and workspace), failed verdicts, and faer's block edges.

mod kernels_common;

use dualprop::checks::tolerance::kernel_state_agreement;
use dualprop::kernels::{KernelFloat, KernelOptions, Trainer};
use dualprop::reference::scalar::to_f64;
use dualprop::reference::Problem;
use dualprop::reference::{
    backprop, train_step, Activation, AdamConfig, AdamState, Config, Estimator, Gradients, Loss,
    Method, Network,
};
use kernels_common::*;
use proptest::prelude::*;

fn u<T: KernelFloat>() -> f64 {
    to_f64(T::epsilon()) / 2.0
}

/// Back-propagation differs from the reference only in the dense products' summation order: per layer, the
/// errors differ by ~2 (n + 4) u times their magnitude (see tests/kernels_agreement.rs), accumulated over the
/// 2L products of the forward and backward passes; the gradient's sum over B samples adds B u.
fn bp_tol<T: KernelFloat>(widths: &[usize], batch: usize, m: f64) -> f64 {
    let n = *widths.iter().max().unwrap();
    let depth = widths.len() - 1;
    kernel_state_agreement::<T>(2 * depth, n, m) * m * (1.0 + batch as f64 * u::<T>())
}

fn grad_slices<T: KernelFloat>(g: &Gradients<T>) -> Vec<&[T]> {
    g.w.iter()
        .map(|w| w.as_slice())
        .chain(g.b.iter().map(|b| &b[..]))
        .collect()
}

fn check_backprop<T: KernelFloat>(case: &Case) -> Result<(), TestCaseError> {
    let (net, x, y) = problem::<T>(case);
    let (_, g_ref) = backprop(&net, &x, &y);
    let mut trainer = Trainer::new(
        &net,
        Estimator::Backprop,
        AdamConfig::default(),
        case.batch + 2,
    )
    .unwrap();
    let (est, bp, verdict) = trainer
        .gradients(x.as_slice(), y.as_slice(), case.batch)
        .unwrap();
    prop_assert!(verdict.is_none());
    let z = net.forward(&x);
    let zs: Vec<&[T]> = z.iter().map(|m| m.as_slice()).collect();
    let tol = bp_tol::<T>(&case.widths, case.batch, magnitude(&zs));
    for (k, (a, b)) in grad_slices(&bp).iter().zip(grad_slices(&g_ref)).enumerate() {
        let d = max_diff(a, b);
        prop_assert!(d <= tol, "gradient part {k}: {d:e} > {tol:e}");
    }
    prop_assert_eq!(est, bp);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(200), ..ProptestConfig::default() })]

    #[test]
    fn backprop_agrees_f64(case in case()) { check_backprop::<f64>(&case)?; }

    #[test]
    fn backprop_agrees_f32(case in case()) { check_backprop::<f32>(&case)?; }
}

/// The benchmarks' network (ReLU, least squares, PyTorch's default initialisation), seeded.
fn paper_like<T: KernelFloat>(widths: &[usize], seed: u64) -> Network<T> {
    dualprop::perf::workload::paper_network(widths, seed).unwrap()
}

fn estimators() -> Vec<Estimator> {
    vec![
        Estimator::Backprop,
        Estimator::Dual(Config::new(Method::DpPlus, 0.0, 0.5, 1)),
        Estimator::Dual(Config::new(Method::DpPlus, 1.0, 0.5, 30)),
        Estimator::Dual(Config::new(Method::DpPlus, 0.5, 0.5, 3)),
        Estimator::Dual(Config::new(Method::OriginalDp, 0.0, 0.5, 4)),
        Estimator::Dual(Config::new(Method::Eq21, 0.5, 0.2, 2)),
    ]
}

/// A few Adam steps of the kernel and the reference stay together. Adam's step lr m_hat / (sqrt(v_hat) + eps) is
/// invariant to the gradient's scale and first order in its relative error, so a relative gradient error d moves
/// a parameter by about lr d per step. The gradients differ by d ~ 2 (n + 4) (2L) u (the products' reassociation
/// over the 2L products of a step; see tests/kernels_agreement.rs), so after s steps the weights differ by about
/// s lr 2 (n + 4) (2L) u. We allow 32 times that (the ratio m_hat / sqrt(v_hat) amplifies the error of entries
/// whose gradient is small against the magnitudes summed into it). Observed: 0.04 of it in f32, 0.03 in f64
/// (`KERNELS_REPORT=1 cargo test --test kernels_trainer trajectory -- --nocapture` prints the ratios).
fn trajectory<T: KernelFloat>() {
    let widths = [7, 12, 9, 4];
    let depth = widths.len() - 1;
    let rel = 32.0 * kernel_state_agreement::<T>(2 * depth, 12, 1.0);
    let batch = 6;
    for loss in [Loss::LeastSquares, Loss::SoftmaxCrossEntropy] {
        for (i, est) in estimators().into_iter().enumerate() {
            if let Estimator::Dual(cfg) = &est {
                if cfg.validate(loss).is_err() {
                    continue; // the exact original-DP output needs least squares
                }
            }
            let mut net0 = paper_like::<T>(&widths, 11 + i as u64);
            net0.loss = loss;
            let adam = AdamConfig {
                learning_rate: 1e-3,
                ..AdamConfig::default()
            };
            let mut trainer = Trainer::new(&net0, est, adam, batch).unwrap();
            let mut net = net0.clone();
            let mut state = AdamState::new(&net);
            for step in 0..5u64 {
                let (x, y) = batch_data::<T>(&widths, batch, loss, step);
                let r = train_step(&mut net, &est, &adam, &mut state, &x, &y).unwrap();
                let k = trainer.step(x.as_slice(), y.as_slice(), batch).unwrap();
                // The loss is computed from outputs that differ like the weights (see above).
                let loss_tol = rel * (step + 1) as f64 * r.loss.abs().max(1.0);
                assert!(
                    (k.loss - r.loss).abs() <= loss_tol,
                    "{est:?} {loss:?} loss {} vs {}",
                    k.loss,
                    r.loss
                );
                assert_eq!(
                    k.verdict.as_ref().map(|v| v.failed()),
                    r.verdict.as_ref().map(|v| v.failed()),
                    "{est:?}"
                );
                let kn = trainer.network();
                let tol = rel * adam.learning_rate * (step + 1) as f64;
                for (lk, lr) in kn.layers.iter().zip(&net.layers) {
                    let d = max_diff(lk.w.as_slice(), lr.w.as_slice()).max(max_diff(&lk.b, &lr.b));
                    assert!(
                        d <= tol,
                        "{est:?} {loss:?} step {step}: weights differ by {d:e} > {tol:e}"
                    );
                    if std::env::var("KERNELS_REPORT").is_ok() {
                        eprintln!("trajectory {} {:.3e}", T::NAME, d / tol);
                    }
                }
            }
            assert_eq!(trainer.adam_state().t, state.t);
        }
    }
}

#[test]
fn trajectory_matches_reference_f64() {
    trajectory::<f64>();
}

#[test]
fn trajectory_matches_reference_f32() {
    trajectory::<f32>();
}

/// Saving (network, Adam state) and resuming continues bitwise as if never interrupted.
fn resume<T: KernelFloat>() {
    let widths = [5, 8, 8, 3];
    for est in estimators() {
        let net = paper_like::<T>(&widths, 3);
        let mut straight = Trainer::new(&net, est, AdamConfig::default(), 4).unwrap();
        let mut first = Trainer::new(&net, est, AdamConfig::default(), 4).unwrap();
        for s in 0..3 {
            let (x, y) = batch_data::<T>(&widths, 4, Loss::LeastSquares, s);
            straight.step(x.as_slice(), y.as_slice(), 4).unwrap();
            first.step(x.as_slice(), y.as_slice(), 4).unwrap();
        }
        let mut resumed = Trainer::from_parts(
            &first.network(),
            est,
            AdamConfig::default(),
            first.adam_state(),
            4,
        )
        .unwrap();
        for s in 3..6 {
            let (x, y) = batch_data::<T>(&widths, 4, Loss::LeastSquares, s);
            let a = straight.step(x.as_slice(), y.as_slice(), 4).unwrap();
            let b = resumed.step(x.as_slice(), y.as_slice(), 4).unwrap();
            assert_eq!(a, b);
        }
        let (a, b) = (straight.network(), resumed.network());
        for (la, lb) in a.layers.iter().zip(&b.layers) {
            assert!(same_bits(la.w.as_slice(), lb.w.as_slice()) && same_bits(&la.b, &lb.b));
        }
        assert_eq!(straight.adam_state(), resumed.adam_state());
    }
}

#[test]
fn checkpoint_resume_is_bitwise_f64() {
    resume::<f64>();
}

#[test]
fn checkpoint_resume_is_bitwise_f32() {
    resume::<f32>();
}

/// Every element of `predict`'s output is written, whatever it held, and a workspace filled with NaN between
/// steps (with batches of several sizes below max_batch) trains bitwise like a fresh one.
#[test]
fn nan_filled_buffers_are_overwritten() {
    let widths = [6, 10, 7, 3];
    for est in estimators() {
        let net = paper_like::<f64>(&widths, 5);
        let mut clean = Trainer::new(&net, est, AdamConfig::default(), 9).unwrap();
        let mut poisoned = Trainer::new(&net, est, AdamConfig::default(), 9).unwrap();
        for (s, batch) in [9usize, 1, 4, 9, 2].into_iter().enumerate() {
            let (x, y) = batch_data::<f64>(&widths, batch, Loss::LeastSquares, s as u64);
            poisoned.poison_workspace();
            let a = clean.step(x.as_slice(), y.as_slice(), batch).unwrap();
            let b = poisoned.step(x.as_slice(), y.as_slice(), batch).unwrap();
            assert_eq!(a, b, "{est:?}");
            let mut out = vec![f64::NAN; batch * 3];
            poisoned.poison_workspace();
            poisoned.predict(x.as_slice(), batch, &mut out).unwrap();
            assert!(out.iter().all(|v| v.is_finite()));
            let expect = net_forward_out(&clean.network(), &x);
            assert!(max_diff(&out, &expect) <= 1e-12);
            poisoned.poison_workspace();
            let (e1, b1, v1) = poisoned
                .gradients(x.as_slice(), y.as_slice(), batch)
                .unwrap();
            let (e2, b2, v2) = clean.gradients(x.as_slice(), y.as_slice(), batch).unwrap();
            assert_eq!((e1, b1, v1), (e2, b2, v2));
        }
        let (a, b) = (clean.network(), poisoned.network());
        for (la, lb) in a.layers.iter().zip(&b.layers) {
            assert!(same_bits(la.w.as_slice(), lb.w.as_slice()) && same_bits(&la.b, &lb.b));
        }
    }
}

fn net_forward_out(net: &Network<f64>, x: &dualprop::reference::Matrix<f64>) -> Vec<f64> {
    net.forward(x).pop().unwrap().into_vec()
}

/// A diverging inference is reported as data and leaves the weights and Adam's state untouched.
#[test]
fn failed_verdict_does_not_update() {
    let widths = [4, 6, 6, 2];
    // Large weights and original DP with abar beta close to 1 blow the states up within a few iterations.
    let mut net = paper_like::<f64>(&widths, 9);
    for l in &mut net.layers {
        l.w.as_mut_slice().iter_mut().for_each(|w| *w *= 6.0);
    }
    let cfg = Config::new(Method::OriginalDp, 0.0, 0.95, 30);
    let est = Estimator::Dual(cfg);
    let (x, y) = batch_data::<f64>(&widths, 3, Loss::LeastSquares, 1);
    let mut reference = net.clone();
    let mut state = AdamState::new(&net);
    let r = train_step(
        &mut reference,
        &est,
        &AdamConfig::default(),
        &mut state,
        &x,
        &y,
    )
    .unwrap();
    assert!(r.verdict.as_ref().unwrap().failed(), "{:?}", r.verdict);
    let mut trainer = Trainer::new(&net, est, AdamConfig::default(), 3).unwrap();
    let k = trainer.step(x.as_slice(), y.as_slice(), 3).unwrap();
    assert!(k.verdict.as_ref().unwrap().failed());
    assert_eq!(trainer.network(), net);
    assert_eq!(trainer.adam_state(), AdamState::new(&net));
}

/// Sizes on both sides of faer's register and cache block edges (15/16/17, 63/64/65, 127/128/129), batch 1 and
/// odd batches: DP+ and back-propagation gradients against the reference, f32 and f64.
fn block_edges<T: KernelFloat>() {
    let nets: [&[usize]; 3] = [&[17, 16, 15, 1], &[63, 129, 64, 65], &[1, 128, 127, 8]];
    for (i, widths) in nets.iter().enumerate() {
        for batch in [1usize, 8, 17, 33] {
            let case = Case {
                widths: widths.to_vec(),
                batch,
                activation: Activation::Relu,
                loss: Loss::LeastSquares,
                cfg: Config::new(Method::DpPlus, 0.5, 0.5, 3),
                seed: i as u64,
            };
            check_backprop::<T>(&case).unwrap();
            let (net, x, y) = problem::<T>(&case);
            let r = dualprop::reference::infer(&Problem::new(&net, &case.cfg, &x, &y).unwrap())
                .unwrap();
            let k = dualprop::kernels::infer_batch(
                &Problem::new(&net, &case.cfg, &x, &y).unwrap(),
                true,
            )
            .unwrap();
            let parts: Vec<&[T]> = r.states.plus.iter().map(|m| m.as_slice()).collect();
            let m = magnitude(&parts);
            let updates = 3 + 3 * 5;
            let tol = kernel_state_agreement::<T>(updates, 129, m);
            for k_ in 1..=3 {
                let d = max_diff(k.states.plus[k_].as_slice(), r.states.plus[k_].as_slice()).max(
                    max_diff(k.states.minus[k_].as_slice(), r.states.minus[k_].as_slice()),
                );
                assert!(
                    d <= tol,
                    "{widths:?} batch {batch} layer {k_}: {d:e} > {tol:e}"
                );
            }
        }
    }
}

#[test]
fn block_edges_f64() {
    block_edges::<f64>();
}

#[test]
fn block_edges_f32() {
    block_edges::<f32>();
}

/// One thread, faer's two threads, or two threads as row-block tasks: the same training run, bitwise (each
/// way splits the outputs among the threads, never a sum). Widths large enough that every way does split.
#[test]
fn threads_do_not_change_results() {
    let widths = [150, 260, 130, 10];
    let net = paper_like::<f64>(&widths, 2);
    let est = Estimator::Dual(Config::new(Method::DpPlus, 0.5, 0.5, 3));
    let modes = [
        KernelOptions {
            threads: 1,
            ..KernelOptions::default()
        },
        KernelOptions {
            row_tasks: false,
            ..KernelOptions::default()
        },
        KernelOptions {
            row_tasks: true,
            ..KernelOptions::default()
        },
    ];
    let mut trainers: Vec<_> = modes
        .iter()
        .map(|&o| {
            Trainer::new(&net, est, AdamConfig::default(), 40)
                .unwrap()
                .with_options(o)
        })
        .collect();
    for s in 0..2 {
        let (x, y) = batch_data::<f64>(&widths, 40, Loss::LeastSquares, s);
        let steps: Vec<_> = trainers
            .iter_mut()
            .map(|t| t.step(x.as_slice(), y.as_slice(), 40).unwrap())
            .collect();
        assert!(steps.iter().all(|st| st == &steps[0]), "{steps:?}");
    }
    let nets: Vec<_> = trainers.iter().map(|t| t.network()).collect();
    for other in &nets[1..] {
        for (a, b) in nets[0].layers.iter().zip(&other.layers) {
            assert!(same_bits(a.w.as_slice(), b.w.as_slice()) && same_bits(&a.b, &b.b));
        }
    }
}

/// `Trainer::gradients` returns the same estimate as `infer_batch` and the same back-propagation gradient as a
/// back-propagation trainer, bitwise (one feed-forward pass serves both), and changes no weight.
#[test]
fn gradients_match_the_single_purpose_kernels() {
    let widths = [6, 11, 8, 3];
    let net = paper_like::<f64>(&widths, 21);
    let (x, y) = batch_data::<f64>(&widths, 5, Loss::LeastSquares, 3);
    let mut bp_trainer = Trainer::new(&net, Estimator::Backprop, AdamConfig::default(), 5).unwrap();
    let (_, bp_ref, _) = bp_trainer.gradients(x.as_slice(), y.as_slice(), 5).unwrap();
    for est in estimators().into_iter().skip(1) {
        let Estimator::Dual(cfg) = est else {
            unreachable!()
        };
        let mut trainer = Trainer::new(&net, est, AdamConfig::default(), 5).unwrap();
        let (estimate, bp, verdict) = trainer.gradients(x.as_slice(), y.as_slice(), 5).unwrap();
        let single =
            dualprop::kernels::infer_batch(&Problem::new(&net, &cfg, &x, &y).unwrap(), true)
                .unwrap();
        assert_eq!(estimate, single.gradient, "{est:?}");
        assert_eq!(verdict, Some(single.verdict));
        assert_eq!(bp, bp_ref);
        assert_eq!(trainer.network(), net);
    }
}
