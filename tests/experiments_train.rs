//! Training runs on tiny nets and synthetic data: determinism, bitwise resume, divergence recorded as data,
//! alignment logs, sweeps that skip finished runs, the table's structure and the figures' files.

use std::path::PathBuf;

use dualprop::experiments::data::{synthetic, DataSource, Mnist};
use dualprop::experiments::metrics::{AlignmentRecord, EpochMetrics, LayerAlignment, Status};
use dualprop::experiments::progress::Progress;
use dualprop::experiments::spec::{Algorithm, EngineKind, RunSpec};
use dualprop::experiments::train::{read_jsonl, run, RunFiles, RunOptions};
use dualprop::experiments::{figures, sweep, table};
use dualprop::reference::FloatType;

/// A fresh directory per call (tests run in parallel, so no two calls share one).
fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("dualprop-train-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// 54 training, 6 validation and 20 test images of 4x4 pixels.
fn data() -> Mnist {
    let dir = temp_dir("data");
    synthetic::write_dir(&dir, 60, 20, 4, true).unwrap();
    DataSource::Dir(dir).load().unwrap()
}

fn spec(algorithm: Algorithm, engine: EngineKind, precision: FloatType) -> RunSpec {
    let mut s = RunSpec::paper(algorithm, 1.0, 3, 7, 2);
    s.widths = vec![16, 12, 8, 10];
    s.batch = 10;
    s.adam.learning_rate = 1e-2;
    s.engine = engine;
    s.precision = precision;
    s
}

fn train(
    s: &RunSpec,
    data: &Mnist,
    dir: &std::path::Path,
    keep: bool,
) -> dualprop::experiments::metrics::RunResult {
    let opts = RunOptions {
        keep_checkpoint: keep,
    };
    let r = dualprop::with_float!(
        s.precision,
        kernels T => run::<T>(s, data, dir, &opts, &Progress::silent())
    );
    r.unwrap()
}

/// The run spec's float type is the crate's one enum: the spellings run specs hold ("f32", "f64") still read,
/// and the half types, which the kernels do not run in, are refused with a typed error before any work.
#[test]
fn precision_spellings_and_half_types() {
    let s = spec(Algorithm::DpPlus, EngineKind::Kernels, FloatType::F64);
    let text = serde_json::to_string(&s).unwrap();
    assert!(text.contains(r#""precision":"f64""#), "{text}");
    let back: RunSpec = serde_json::from_str(&text.replace(r#""f64""#, r#""f32""#)).unwrap();
    assert_eq!(back.precision, FloatType::F32);
    for half in [FloatType::F16, FloatType::Bf16] {
        let mut h = s.clone();
        h.precision = half;
        assert!(matches!(h.validate(), Err(dualprop::Error::Unsupported(_))));
        let dir = temp_dir("half");
        let r = dualprop::with_float!(
            half,
            kernels T => run::<T>(
                    &h,
                    &data(),
                    &dir,
                    &RunOptions::default(),
                    &Progress::silent()
                )
        );
        assert!(matches!(r, Err(dualprop::Error::Unsupported(_))));
    }
}

fn metrics(dir: &std::path::Path) -> Vec<EpochMetrics> {
    read_jsonl(&RunFiles::new(dir).metrics).unwrap()
}

/// Metrics without the wall times, which legitimately differ.
fn timeless(mut m: Vec<EpochMetrics>) -> Vec<EpochMetrics> {
    for e in &mut m {
        e.epoch_seconds = 0.0;
        e.wall_seconds = 0.0;
    }
    m
}

#[test]
fn two_epochs_equal_one_epoch_then_resume_bitwise() {
    let data = data();
    for (engine, precision) in [
        (EngineKind::Reference, FloatType::F64),
        (EngineKind::Kernels, FloatType::F32),
    ] {
        for algorithm in [Algorithm::DpPlus, Algorithm::Backprop] {
            let mut s = spec(algorithm, engine, precision);
            s.alignment_every = 2;
            let straight = temp_dir(&format!("straight-{engine:?}-{algorithm:?}"));
            let full = train(&s, &data, &straight, false);
            assert_eq!(full.status, Status::Completed);
            assert_eq!(full.epochs_completed, 2);
            assert!(
                !RunFiles::new(&straight).checkpoint.exists(),
                "checkpoint removed at the end"
            );

            let resumed = temp_dir(&format!("resumed-{engine:?}-{algorithm:?}"));
            let mut one = s.clone();
            one.epochs = 1;
            let first = train(&one, &data, &resumed, true);
            assert_eq!(first.epochs_completed, 1);
            assert_ne!(first.weights_hash, full.weights_hash);
            // An interrupted second epoch left partial outputs behind: resuming drops them.
            let files = RunFiles::new(&resumed);
            let mut junk = metrics(&resumed)[0].clone();
            junk.epoch = 2;
            std::fs::write(
                &files.metrics,
                std::fs::read_to_string(&files.metrics).unwrap()
                    + &serde_json::to_string(&junk).unwrap()
                    + "\n",
            )
            .unwrap();
            let second = train(&s, &data, &resumed, false);
            assert_eq!(
                second.weights_hash, full.weights_hash,
                "{engine:?} {algorithm:?}"
            );
            assert_eq!(timeless(metrics(&resumed)), timeless(metrics(&straight)));
            let a: Vec<AlignmentRecord> = read_jsonl(&files.alignment).unwrap();
            let b: Vec<AlignmentRecord> = read_jsonl(&RunFiles::new(&straight).alignment).unwrap();
            assert_eq!(a, b);
        }
    }
}

#[test]
fn runs_are_deterministic_given_the_seed() {
    let data = data();
    let s = spec(Algorithm::OriginalDp, EngineKind::Kernels, FloatType::F32);
    let a = train(&s, &data, &temp_dir("det-a"), false);
    let b = train(&s, &data, &temp_dir("det-b"), false);
    assert_eq!(a.weights_hash, b.weights_hash);
    let mut other = s.clone();
    other.seed = 8;
    let c = train(&other, &data, &temp_dir("det-c"), false);
    assert_ne!(a.weights_hash, c.weights_hash);
}

#[test]
fn kernel_engine_agrees_with_the_reference() {
    let data = data();
    for algorithm in [
        Algorithm::DpPlus,
        Algorithm::OriginalDp,
        Algorithm::Eq21,
        Algorithm::Backprop,
    ] {
        let r = train(
            &spec(algorithm, EngineKind::Reference, FloatType::F64),
            &data,
            &temp_dir("agree-r"),
            false,
        );
        let k = train(
            &spec(algorithm, EngineKind::Kernels, FloatType::F64),
            &data,
            &temp_dir("agree-k"),
            false,
        );
        let (mr, mk) = (r.last.unwrap(), k.last.unwrap());
        // Same arithmetic up to summation order: losses agree to ~1e-12 relative over 12 Adam steps.
        assert!(
            (mr.train_loss - mk.train_loss).abs() <= 1e-9 * mr.train_loss.abs(),
            "{algorithm:?}: {} vs {}",
            mr.train_loss,
            mk.train_loss
        );
        assert_eq!(mr.test_accuracy, mk.test_accuracy, "{algorithm:?}");
    }
}

#[test]
fn divergence_is_recorded_as_x_with_epoch_and_step() {
    let data = data();
    for algorithm in [Algorithm::DpPlus, Algorithm::Backprop] {
        for engine in [EngineKind::Reference, EngineKind::Kernels] {
            let mut s = spec(algorithm, engine, FloatType::F32);
            // The first Adam step moves every weight by ~1e30: the next forward pass overflows.
            s.adam.learning_rate = 1e30;
            let dir = temp_dir(&format!("diverge-{algorithm:?}-{engine:?}"));
            let r = train(&s, &data, &dir, false);
            assert_eq!(r.status, Status::Diverged, "{algorithm:?} {engine:?}");
            let d = r.divergence.clone().unwrap();
            assert_eq!((d.epoch, d.step, d.global_step), (1, 2, 2), "{d:?}");
            let m = metrics(&dir);
            assert_eq!(m.len(), 1);
            let json = |v: &dyn erased::Json| v.json();
            assert_eq!(json(&m[0].divergence), json(&Some(d)));
            assert_eq!(m[0].test_accuracy, None);
            // Re-running skips the finished (diverged) run.
            assert_eq!(json(&train(&s, &data, &dir, false)), json(&r));
            let rows = table::rows(&[r]);
            assert!(
                rows[0]
                    .ours()
                    .starts_with("X (1/1 seeds, first at epoch 1 step 2)"),
                "{}",
                rows[0].ours()
            );
            let csv = table::csv(&rows);
            assert!(csv.lines().nth(1).unwrap().contains(",X,"), "{csv}");
            // The X's step is counted as diverged or non-finite, beside the step before it.
            let v = rows[0].verdicts.clone().unwrap();
            assert_eq!((v.failed, v.diverged + v.non_finite), (1, 1), "{v:?}");
            let f = rows[0].fractions().unwrap();
            assert!((f.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{f:?}");
            assert!(f[2] + f[3] > 0.0);
        }
    }
}

#[test]
fn alignment_of_backprop_with_itself_is_perfect_and_logged_every_n_steps() {
    let data = data();
    let mut s = spec(Algorithm::Backprop, EngineKind::Kernels, FloatType::F64);
    s.alignment_every = 2;
    let dir = temp_dir("align");
    train(&s, &data, &dir, false);
    let recs: Vec<AlignmentRecord> = read_jsonl(&RunFiles::new(&dir).alignment).unwrap();
    // 6 steps per epoch, 2 epochs, every 2nd step from step 1.
    assert_eq!(
        recs.iter().map(|r| r.global_step).collect::<Vec<_>>(),
        vec![1, 3, 5, 7, 9, 11]
    );
    for r in &recs {
        // Layers are counted 1..=L in the logs, as in the figures.
        let numbers: Vec<usize> = r.layers.iter().map(|l| l.layer).collect();
        assert_eq!(numbers, vec![1, 2, 3]);
        for l in &r.layers {
            // Identical vectors: the difference is exactly 0; the cosine is 1 up to f64 rounding of the norms.
            assert_eq!(l.difference_norm, 0.0);
            assert!((1.0 - l.cosine).abs() <= 1e-14, "{}", l.cosine);
            assert!(l.backprop_norm > 0.0);
        }
    }
}

/// Files written before the two alignment types became one still read: an alignment.jsonl line (non-finite
/// numbers as strings) and an oracle summary's entry (`diff_norm`, NaN as null). Route: literal JSON as those
/// writers produced it, compared field by field with the values written into it by hand.
#[test]
fn stored_alignment_spellings_stay_readable() {
    let logged = r#"{"epoch":1,"global_step":3,"verdict":"bounded","layers":[{"layer":1,"cosine":"NaN","angle_degrees":"NaN","difference_norm":0.5,"estimate_norm":0.0,"backprop_norm":"inf"}]}"#;
    let r: AlignmentRecord = serde_json::from_str(logged).unwrap();
    let l = &r.layers[0];
    assert_eq!((r.global_step, l.layer, l.difference_norm), (3, 1, 0.5));
    assert!(l.cosine.is_nan() && l.angle_degrees.is_nan() && l.backprop_norm == f64::INFINITY);
    let oracle = r#"{"layer":0,"cosine":null,"angle_degrees":null,"diff_norm":0.25,"estimate_norm":1.0,"backprop_norm":0.0}"#;
    let l: LayerAlignment = serde_json::from_str(oracle).unwrap();
    assert_eq!(
        (l.layer, l.difference_norm, l.estimate_norm),
        (0, 0.25, 1.0)
    );
    assert!(l.cosine.is_nan());
    // Written back in the one spelling: non-finite numbers as strings, `difference_norm`.
    let text = serde_json::to_string(&l).unwrap();
    assert!(text.contains(r#""cosine":"NaN""#) && text.contains(r#""difference_norm":0.25"#));
}

#[test]
fn a_directory_holding_another_run_is_refused() {
    let data = data();
    let dir = temp_dir("refuse");
    let s = spec(Algorithm::DpPlus, EngineKind::Kernels, FloatType::F32);
    train(&s, &data, &dir, false);
    let mut other = s.clone();
    other.beta = 0.25;
    let opts = RunOptions::default();
    assert!(matches!(
        run::<f32>(&other, &data, &dir, &opts, &Progress::silent()),
        Err(dualprop::Error::Unsupported(_))
    ));
}

#[test]
fn sweep_skips_finished_runs_and_the_table_has_every_cell() {
    let data = data();
    let out = temp_dir("sweep");
    let mut base = spec(Algorithm::DpPlus, EngineKind::Kernels, FloatType::F32);
    base.epochs = 1;
    let specs = sweep::table1_specs(&base, &[1, 2], 3, Some(1), Some(4));
    assert_eq!(specs.len(), 18);
    let opts = RunOptions::default();
    let first = sweep::sweep(&specs, &data, &out, &opts, &Progress::silent()).unwrap();
    let stamp = |s: &RunSpec| {
        std::fs::metadata(RunFiles::new(&sweep::run_dir(&out, s)).result)
            .unwrap()
            .modified()
            .unwrap()
    };
    let before: Vec<_> = specs.iter().map(stamp).collect();
    let again = sweep::sweep(&specs, &data, &out, &opts, &Progress::silent()).unwrap();
    assert_eq!(first, again);
    assert_eq!(
        before,
        specs.iter().map(stamp).collect::<Vec<_>>(),
        "finished runs were not re-run"
    );

    let rows = table::rows(&again);
    assert_eq!(rows.len(), 9);
    assert!(rows.iter().all(|r| r.seeds == 2));
    // Every dual configuration's step fractions add up to one, over both seeds' steps.
    for r in rows.iter().filter(|r| r.algorithm != Algorithm::Backprop) {
        let f = r.fractions().unwrap();
        assert!((f.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{f:?}");
    }
    let csv = table::csv(&rows);
    let columns = table::CSV_HEADER.split(',').count();
    assert_eq!(csv.lines().count(), 10);
    assert!(
        csv.lines().all(|l| l.split(',').count() == columns),
        "{csv}"
    );
    let md = table::markdown(&rows);
    for needle in [
        "| 1 |",
        "| 30 |",
        "paper 98.33 ± 0.10",
        "paper X",
        "Back-propagation",
        table::X_RULE,
    ] {
        assert!(md.contains(needle), "{needle} missing from\n{md}");
    }

    let per_seed: Vec<Vec<AlignmentRecord>> = again
        .iter()
        .filter(|r| {
            r.spec.algorithm == Algorithm::DpPlus && r.spec.iterations == 30 && r.spec.alpha == 0.0
        })
        .map(|r| read_jsonl(&RunFiles::new(&sweep::run_dir(&out, &r.spec)).alignment).unwrap())
        .collect();
    assert_eq!(per_seed.len(), 2);
    let curves = vec![figures::average(0.0, &per_seed)];
    assert_eq!(curves[0].points.len(), 2); // steps 1 and 4 of 6
    for which in [1, 2] {
        let files = figures::write(which, &curves, &out.join("figs")).unwrap();
        assert!(std::fs::read(&files[0]).unwrap().starts_with(b"\x89PNG"));
        assert!(std::fs::read_to_string(&files[1]).unwrap().contains("<svg"));
    }
}

/// Compares records that may hold NaN through their JSON form.
mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }
}
