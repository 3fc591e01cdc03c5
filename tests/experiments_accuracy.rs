//! The per-epoch test-accuracy figure: each run's curve read from its metrics, ending where the run stopped, and
//! the figure's PNG and SVG naming how each early run ended.

use dualprop::experiments::figures::accuracy::{self, AccuracyRun};
use dualprop::experiments::metrics::{Divergence, EpochMetrics, VerdictCounts};
use dualprop::experiments::spec::{Algorithm, RunSpec};

/// One epoch's metrics with the given test accuracy and, if `diverged`, a divergence at its first step.
fn epoch(epoch: usize, test_accuracy: Option<f64>, diverged: bool) -> EpochMetrics {
    EpochMetrics {
        epoch,
        steps: 3,
        train_loss: 0.5,
        validation_accuracy: test_accuracy,
        test_accuracy,
        epoch_seconds: 1.0,
        wall_seconds: epoch as f64,
        verdicts: VerdictCounts::default(),
        divergence: diverged.then(|| Divergence {
            epoch,
            step: 1,
            global_step: 3 * (epoch - 1) + 1,
            loss: f64::INFINITY,
            verdict: None,
            reason: "test".into(),
        }),
    }
}

/// A clean run keeps every epoch; a run stops at its first epoch with a divergence, by the per-epoch table's rule
/// (X whether or not that epoch has a test accuracy); a capped run ends at its last epoch. Then the figure renders,
/// its legend naming the X epoch and where the capped run stopped. Route: the expected curves written by hand from
/// the hand-built metrics (not through the report's table code).
#[test]
fn curves_end_where_runs_stopped_and_the_figure_says_how() {
    let spec = |a, alpha, k| RunSpec::paper(a, alpha, k, 1, 3);
    let clean = AccuracyRun::new(
        &spec(Algorithm::DpPlus, 1.0, 30),
        &[
            epoch(1, Some(90.0), false),
            epoch(2, Some(92.5), false),
            epoch(3, Some(93.0), false),
        ],
    );
    assert_eq!(clean.points, vec![(1, 90.0), (2, 92.5), (3, 93.0)]);
    assert_eq!(clean.failed_epoch, None);

    let x_without_accuracy = AccuracyRun::new(
        &spec(Algorithm::OriginalDp, 0.0, 30),
        &[epoch(1, Some(80.0), false), epoch(2, None, true)],
    );
    assert_eq!(x_without_accuracy.points, vec![(1, 80.0)]);
    assert_eq!(x_without_accuracy.failed_epoch, Some(2));

    let x_with_accuracy = AccuracyRun::new(
        &spec(Algorithm::OriginalDp, 1.0, 30),
        &[epoch(1, Some(11.0), true), epoch(2, Some(12.0), false)],
    );
    assert_eq!(x_with_accuracy.points, vec![]);
    assert_eq!(x_with_accuracy.failed_epoch, Some(1));

    let capped = AccuracyRun::new(
        &spec(Algorithm::OriginalDp, 1.0, 1),
        &[epoch(1, Some(85.0), false)],
    );
    let backprop = AccuracyRun::new(
        &spec(Algorithm::Backprop, 0.0, 1),
        &[
            epoch(1, Some(91.0), false),
            epoch(2, Some(93.0), false),
            epoch(3, Some(94.0), false),
        ],
    );

    let out = std::env::temp_dir().join(format!("dualprop-accuracy-{}", std::process::id()));
    let runs = [backprop, clean, x_without_accuracy, x_with_accuracy, capped];
    let files = accuracy::write(&runs, &out).unwrap();
    assert_eq!(
        files,
        vec![out.join("accuracy.png"), out.join("accuracy.svg")]
    );
    assert!(std::fs::read(&files[0]).unwrap().starts_with(b"\x89PNG"));
    let svg = std::fs::read_to_string(&files[1]).unwrap();
    for label in [
        "back-propagation seed 1",
        "DP+ α=1 K=30 seed 1",
        "original DP α=0 K=30 seed 1, X in epoch 2",
        "original DP α=1 K=30 seed 1, X in epoch 1",
        "original DP α=1 K=1 seed 1, stopped after epoch 1",
    ] {
        assert!(svg.contains(label), "no legend entry {label:?}");
    }
    // The clean run reached the last epoch: no note on how it ended.
    assert!(!svg.contains("DP+ α=1 K=30 seed 1,"));
    let _ = std::fs::remove_dir_all(&out);
}
