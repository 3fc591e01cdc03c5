//! The exact early exit changes nothing: states, gradient and verdict are bitwise those of running all K
//! iterations; and it does fire where the theory says it must (DP+ at alpha in {0, 1}).

mod kernels_common;

use dualprop::kernels::{infer_batch, KernelFloat, KernelOptions, Trainer};
use dualprop::reference::{AdamConfig, Config, Estimator, Loss, Method, Verdict};
use kernels_common::*;
use proptest::prelude::*;

fn same_inference<T: KernelFloat>(case: &Case) -> Result<(), TestCaseError> {
    let (net, x, y) = problem::<T>(case);
    let early = infer_batch(&net, &case.cfg, &x, &y, true).unwrap();
    let full = infer_batch(&net, &case.cfg, &x, &y, false).unwrap();
    prop_assert_eq!(&early.verdict, &full.verdict);
    prop_assert!(early.iterations_run <= full.iterations_run);
    if !full.verdict.failed() {
        prop_assert_eq!(full.iterations_run, case.cfg.iterations);
    }
    for k in 0..=net.depth() {
        prop_assert!(same_bits(
            early.states.plus[k].as_slice(),
            full.states.plus[k].as_slice()
        ));
        prop_assert!(same_bits(
            early.states.minus[k].as_slice(),
            full.states.minus[k].as_slice()
        ));
    }
    for k in 0..net.depth() {
        prop_assert!(same_bits(
            early.gradient.w[k].as_slice(),
            full.gradient.w[k].as_slice()
        ));
        prop_assert!(same_bits(&early.gradient.b[k], &full.gradient.b[k]));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), ..ProptestConfig::default() })]

    #[test]
    fn early_exit_is_bitwise_invisible_f64(case in case()) { same_inference::<f64>(&case)?; }

    #[test]
    fn early_exit_is_bitwise_invisible_f32(case in case()) { same_inference::<f32>(&case)?; }
}

/// DP+ at alpha in {0, 1}: the mean never moves, so the second iteration repeats the first exactly.
#[test]
fn dp_plus_at_alpha_0_and_1_exits_after_two_iterations() {
    for alpha in [0.0, 1.0] {
        for loss in [Loss::LeastSquares, Loss::SoftmaxCrossEntropy] {
            let case = Case {
                widths: vec![20, 30, 30, 30, 5],
                batch: 7,
                activation: dualprop::reference::Activation::Relu,
                loss,
                cfg: Config::new(Method::DpPlus, alpha, 0.5, 30),
                seed: 4,
            };
            let (net, x, y) = problem::<f32>(&case);
            let r = infer_batch(&net, &case.cfg, &x, &y, true).unwrap();
            assert_eq!(r.iterations_run, 2, "alpha {alpha}");
            assert_eq!(
                r.verdict,
                Verdict::Converged {
                    iterations: 1,
                    exact: true
                }
            );
        }
    }
}

/// A whole training run with and without the early exit ends in bitwise the same weights.
#[test]
fn training_with_and_without_early_exit_is_bitwise_equal() {
    let widths = [10, 16, 16, 4];
    for (method, alpha, k) in [
        (Method::DpPlus, 0.0, 30),
        (Method::DpPlus, 0.5, 6),
        (Method::OriginalDp, 1.0, 5),
    ] {
        let (net, _, _) = problem::<f64>(&Case {
            widths: widths.to_vec(),
            batch: 1,
            activation: dualprop::reference::Activation::Relu,
            loss: Loss::LeastSquares,
            cfg: Config::new(method, alpha, 0.5, k),
            seed: 8,
        });
        let est = Estimator::Dual(Config::new(method, alpha, 0.5, k));
        let mk = |early_exit| {
            Trainer::new(&net, est, AdamConfig::default(), 5)
                .unwrap()
                .with_options(KernelOptions {
                    threads: 2,
                    early_exit,
                    ..KernelOptions::default()
                })
        };
        let (mut a, mut b) = (mk(true), mk(false));
        for s in 0..4 {
            let (x, y) = batch_data::<f64>(&widths, 5, Loss::LeastSquares, s);
            let ra = a.step(x.as_slice(), y.as_slice(), 5).unwrap();
            let rb = b.step(x.as_slice(), y.as_slice(), 5).unwrap();
            assert_eq!(
                (ra.loss.to_bits(), &ra.verdict),
                (rb.loss.to_bits(), &rb.verdict)
            );
            assert!(ra.iterations_run <= rb.iterations_run);
        }
        assert_eq!(a.network(), b.network());
        assert_eq!(a.adam_state(), b.adam_state());
    }
}
