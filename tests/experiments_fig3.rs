//! Loop gain through training (loop_gain.jsonl) and Figure 3 on the embedded MNIST subset with a tiny net, and
//! the paper's Table 1 entries only for the paper's own configurations.

use std::path::{Path, PathBuf};

use dualprop::experiments::data::{DataSource, Mnist};
use dualprop::experiments::figures::fig3::{self, GainRun};
use dualprop::experiments::metrics::{LoopGainRecord, RunResult, Status};
use dualprop::experiments::progress::Progress;
use dualprop::experiments::spec::{Algorithm, RunSpec};
use dualprop::experiments::table::{published, Published};
use dualprop::experiments::train::{
    read_jsonl, run, RunFiles, RunOptions, LOOP_GAIN_EXAMPLES, LOOP_GAIN_POWER_STEPS,
};

/// A fresh directory per call (tests run in parallel, so no two calls share one).
fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("dualprop-fig3-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The CI's tiny net (784-32-10) on the first 100 images of the embedded subset, batches of 20: 5 steps an
/// epoch, 2 epochs, the loop gain every 2 steps.
fn spec(algorithm: Algorithm, alpha: f64) -> RunSpec {
    let mut s = RunSpec::paper(algorithm, alpha, 30, 3, 2);
    s.widths = vec![784, 32, 10];
    s.batch = 20;
    s.train_limit = Some(100);
    s.adam.learning_rate = 1e-3;
    s.loop_gain_every = 2;
    s
}

fn train(s: &RunSpec, data: &Mnist, dir: &Path, keep: bool) -> RunResult {
    let opts = RunOptions {
        keep_checkpoint: keep,
    };
    run::<f32>(s, data, dir, &opts, &Progress::silent()).unwrap()
}

fn gains(dir: &Path) -> Vec<LoopGainRecord> {
    read_jsonl(&RunFiles::new(dir).loop_gain).unwrap()
}

/// DP+ logs its loop gain every 2 steps from step 1 (steps 1, 3, 5, 7, 9 of 10) with the step's verdict, and
/// loop_gain.jsonl after 1 epoch + an interrupted epoch's leftover line + resume is byte for byte the file of 2
/// epochs straight. Route: the same training computed twice, once through the checkpoint; the records'
/// positions are counted by hand from the interval.
#[test]
fn loop_gain_log_is_written_every_n_steps_and_resumes_bitwise() {
    let data = DataSource::Embedded.load().unwrap();
    let s = spec(Algorithm::DpPlus, 0.0);
    let straight = temp_dir("straight");
    let full = train(&s, &data, &straight, false);
    assert_eq!(full.status, Status::Completed);
    let recs = gains(&straight);
    assert_eq!(
        recs.iter().map(|r| r.global_step).collect::<Vec<_>>(),
        vec![1, 3, 5, 7, 9]
    );
    for r in &recs {
        assert_eq!(r.trigger, "every");
        assert_eq!(r.examples, LOOP_GAIN_EXAMPLES);
        assert_eq!(r.power_steps, LOOP_GAIN_POWER_STEPS);
        assert!(r.gain.is_finite() && r.gain >= 0.0, "{r:?}");
        assert!(r
            .verdict
            .as_deref()
            .is_some_and(|v| v.starts_with("converged")));
    }

    let resumed = temp_dir("resumed");
    let mut one = s.clone();
    one.epochs = 1;
    train(&one, &data, &resumed, true);
    let files = RunFiles::new(&resumed);
    // An interrupted second epoch left a record behind: resuming drops it.
    let mut junk = gains(&resumed).last().unwrap().clone();
    junk.global_step = 7;
    let text = std::fs::read_to_string(&files.loop_gain).unwrap();
    std::fs::write(
        &files.loop_gain,
        text + &serde_json::to_string(&junk).unwrap() + "\n",
    )
    .unwrap();
    let again = train(&s, &data, &resumed, false);
    assert_eq!(again.weights_hash, full.weights_hash);
    assert_eq!(
        std::fs::read(&files.loop_gain).unwrap(),
        std::fs::read(RunFiles::new(&straight).loop_gain).unwrap()
    );
}

/// A step whose inference fails gets a record even between intervals: original DP at alpha = 0, K = 30 on this
/// net with lecun-normal weights fails (tests/experiments_ci.sh relies on the same), and its one record is at the
/// divergence's step with trigger "failed" and the failed verdict. Then Figure 3 renders from the saved files with
/// the failure marked. Route: the divergence's step from result.json against the record's, written by separate
/// code paths (the tally and the loop-gain log).
#[test]
fn a_failed_step_is_logged_and_figure_3_renders_from_disk() {
    let data = DataSource::Embedded.load().unwrap();
    let out = temp_dir("failed");
    let mut results = Vec::new();
    for (algorithm, alpha) in [(Algorithm::OriginalDp, 0.0), (Algorithm::DpPlus, 1.0)] {
        let mut s = spec(algorithm, alpha);
        s.loop_gain_every = if algorithm == Algorithm::OriginalDp {
            1000
        } else {
            2
        };
        let dir = out.join(s.id());
        results.push((train(&s, &data, &dir, false), dir));
    }
    let (orig, dir) = &results[0];
    let Some(d) = orig.divergence.as_ref() else {
        panic!("original DP at alpha = 0, K = 30 did not fail here: {orig:?}")
    };
    let recs = gains(dir);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0].global_step, d.global_step);
    assert_eq!(recs[0].trigger, "failed");
    assert_eq!(
        recs[0].verdict,
        d.verdict.as_ref().map(|v| v.label()),
        "{recs:?}"
    );

    let runs: Vec<GainRun> = results
        .iter()
        .map(|(r, dir)| {
            GainRun::new(
                r,
                &gains(dir),
                &read_jsonl(&RunFiles::new(dir).metrics).unwrap(),
            )
        })
        .collect();
    assert_eq!(runs[0].first_failure, Some(d.global_step));
    assert_eq!(runs[1].first_failure, None);
    // DP+ converges at every step: its non-converged fraction is 0 over both epochs (steps 1-5, 6-10).
    assert_eq!(
        runs[1].non_converged,
        vec![(1, 0.0), (5, 0.0), (6, 0.0), (10, 0.0)]
    );
    let files = fig3::write(&runs, &out.join("figs")).unwrap();
    assert!(std::fs::read(&files[0]).unwrap().starts_with(b"\x89PNG"));
    let svg = std::fs::read_to_string(&files[1]).unwrap();
    assert!(svg.contains("<svg") && svg.contains("first fails"), "{svg}");
}

/// Only the paper's own configurations (alpha in {0, 1}, K in {1, 30}, DP+ and original DP) have a published
/// entry; alpha = 1/2 used to borrow alpha = 1's. Route: the paper's Table 1 copied by hand into the assertions.
#[test]
fn published_entries_only_for_the_papers_configurations() {
    use Algorithm::*;
    assert_eq!(
        published(DpPlus, 0.0, 1),
        Some(Published::Accuracy(98.33, 0.10))
    );
    assert_eq!(
        published(DpPlus, 1.0, 30),
        Some(Published::Accuracy(98.46, 0.09))
    );
    assert_eq!(
        published(OriginalDp, 1.0, 1),
        Some(Published::Accuracy(97.92, 0.11))
    );
    assert_eq!(published(OriginalDp, 0.0, 30), Some(Published::X));
    assert_eq!(published(OriginalDp, 1.0, 30), Some(Published::X));
    for algorithm in [DpPlus, OriginalDp] {
        for k in [1, 30] {
            assert_eq!(published(algorithm, 0.5, k), None);
            assert_eq!(published(algorithm, 0.25, k), None);
        }
        assert_eq!(published(algorithm, 1.0, 2), None);
    }
    assert_eq!(published(Eq21, 1.0, 1), None);
    assert_eq!(published(Backprop, 0.0, 1), None);
}
