//! Bad input to the kernels gets a typed error, never a panic: batch sizes, slice lengths, non-finite data,
//! invalid configurations and mismatched checkpoints.

mod kernels_common;

use dualprop::kernels::{infer_batch, Trainer, Workspace};
use dualprop::reference::Problem;
use dualprop::reference::{
    Activation, AdamConfig, AdamState, Config, Estimator, Init, Loss, Matrix, Method, Network,
};
use dualprop::Error;

fn net() -> Network<f64> {
    Network::init(
        &[3, 4, 2],
        Activation::Relu,
        Loss::LeastSquares,
        Init::TorchDefault,
        1,
    )
    .unwrap()
}

#[test]
fn trainer_rejects_bad_batches() {
    let mut t = Trainer::new(&net(), Estimator::Backprop, AdamConfig::default(), 2).unwrap();
    let (x, y) = (vec![0.5; 6], vec![0.0; 4]);
    assert!(matches!(t.step(&x, &y, 0), Err(Error::EmptyBatch)));
    assert!(matches!(
        t.step(&[0.5; 9], &[0.0; 6], 3),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(t.step(&x[..5], &y, 2), Err(Error::Shape { .. })));
    assert!(matches!(t.step(&x, &y[..3], 2), Err(Error::Shape { .. })));
    let mut bad = x.clone();
    bad[4] = f64::NAN;
    assert!(matches!(
        t.step(&bad, &y, 2),
        Err(Error::NonFinite { index: 4, .. })
    ));
    let mut out = vec![0.0; 3];
    assert!(matches!(
        t.predict(&x, 2, &mut out),
        Err(Error::Shape { .. })
    ));
    assert!(t.step(&x, &y, 2).is_ok());
}

#[test]
fn trainer_rejects_bad_configurations_and_checkpoints() {
    let n = net();
    let ill = Estimator::Dual(Config::new(Method::OriginalDp, 0.0, 1.5, 1));
    assert!(matches!(
        Trainer::new(&n, ill, AdamConfig::default(), 2),
        Err(Error::IllPosedOriginalOutput(_))
    ));
    let no_k = Estimator::Dual(Config::new(Method::DpPlus, 0.0, 0.5, 0));
    assert!(matches!(
        Trainer::new(&n, no_k, AdamConfig::default(), 2),
        Err(Error::Iterations)
    ));
    assert!(matches!(
        Trainer::new(&n, Estimator::Backprop, AdamConfig::default(), 0),
        Err(Error::EmptyBatch)
    ));
    let other = Network::<f64>::init(
        &[3, 5, 2],
        Activation::Relu,
        Loss::LeastSquares,
        Init::TorchDefault,
        1,
    )
    .unwrap();
    let state = AdamState::new(&other);
    assert!(matches!(
        Trainer::from_parts(&n, Estimator::Backprop, AdamConfig::default(), state, 2),
        Err(Error::Format(_))
    ));
}

#[test]
fn infer_batch_rejects_bad_input() {
    let n = net();
    let cfg = Config::new(Method::DpPlus, 0.5, 0.5, 2);
    let x = Matrix::from_vec(2, 3, vec![0.1; 6]).unwrap();
    let y = Matrix::from_vec(2, 2, vec![0.0; 4]).unwrap();
    assert!(Problem::new(&n, &cfg, &x, &y)
        .and_then(|p| infer_batch(&p, true))
        .is_ok());
    let y_bad = Matrix::from_vec(1, 2, vec![0.0; 2]).unwrap();
    assert!(matches!(
        Problem::new(&n, &cfg, &x, &y_bad).and_then(|p| infer_batch(&p, true)),
        Err(Error::Shape { .. })
    ));
    let bad_alpha = Config::new(Method::DpPlus, 1.5, 0.5, 2);
    assert!(matches!(
        Problem::new(&n, &bad_alpha, &x, &y).and_then(|p| infer_batch(&p, true)),
        Err(Error::Alpha(_))
    ));
}

#[test]
fn workspace_size_query_matches_what_it_allocates() {
    for (widths, batch) in [
        (vec![3usize, 4, 2], 5usize),
        (vec![784, 1000, 1000, 10], 100),
        (vec![1, 1], 1),
    ] {
        let ws = Workspace::<f32>::new(&widths, batch).unwrap();
        assert_eq!(ws.bytes(), Workspace::<f32>::scratch_bytes(&widths, batch));
    }
    assert!(matches!(
        Workspace::<f64>::new(&[3], 1),
        Err(Error::EmptyNetwork)
    ));
    assert!(matches!(
        Workspace::<f64>::new(&[3, 0, 2], 1),
        Err(Error::EmptyLayer { layer: 1 })
    ));
}
