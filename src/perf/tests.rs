//! The engine's bookkeeping on a hand-made report (no timing): targets judged by name, the Markdown's rows,
//! and the JSON read back.

use std::collections::BTreeMap;

use super::report::{
    FloatReport, Gemm, InferenceTimes, Machine, Memory, ModeReport, PeerFloat, StepResult, Timing,
};
use super::{targets, EstimatorId, Mode, Peer, Plan, Report, PAPER_BATCH, PAPER_WIDTHS};

fn timing(s: f64) -> Timing {
    Timing {
        median_s: s,
        rounds_s: vec![s],
    }
}

/// Three rounds with the given times (median the middle one as given).
fn rounds(r: [f64; 3]) -> Timing {
    let mut sorted = r;
    sorted.sort_by(f64::total_cmp);
    Timing {
        median_s: sorted[1],
        rounds_s: r.to_vec(),
    }
}

fn step(s: f64, macs: u64) -> StepResult {
    StepResult {
        time: timing(s),
        macs,
        iterations_run: 1,
        verdict: "bounded".into(),
    }
}

/// f32 only, two modes: back-propagation 100 ms, DP+ K=1 120 ms by default (three rounds: 120, 120 and 90 ms
/// for DP+ K=1); 50 ms and 50 ms with one thread. Roofline 1e9 multiply-adds in 40 ms (50 GFLOP/s) in both
/// modes. With a peer: JAX's back-propagation 150, 100 and 100 ms in the same three rounds, its products alone
/// 1e9 multiply-adds in 25 ms (80 GFLOP/s).
fn sample(peer: Peer) -> Report {
    let three = |s: f64| StepResult {
        time: rounds([s, s, s]),
        ..step(s, 1_000_000_000)
    };
    let mode = |bp: f64, dp: StepResult| ModeReport {
        roofline: timing(0.04),
        steps: BTreeMap::from([
            (EstimatorId::BackPropagation, three(bp)),
            (EstimatorId::DpPlusK1, dp),
        ]),
    };
    let dp_default = StepResult {
        time: rounds([0.12, 0.12, 0.09]),
        ..step(0.12, 1_000_000_000)
    };
    let peer_float = matches!(peer, Peer::Ran { .. }).then(|| PeerFloat {
        steps: BTreeMap::from([(EstimatorId::BackPropagation, rounds([0.15, 0.1, 0.1]))]),
        gemm: Some(Gemm {
            macs: 1_000_000_000,
            s: 0.025,
        }),
        profile: BTreeMap::new(),
    });
    let f32_report = FloatReport {
        roofline_macs: 1_000_000_000,
        modes: BTreeMap::from([
            (Mode::Default, mode(0.1, dp_default)),
            (Mode::OneThread, mode(0.05, three(0.05))),
        ]),
        inference: BTreeMap::from([(
            1,
            InferenceTimes {
                reference_s: 1.0,
                kernel_same_batch_s: 0.04,
                kernel_paper_batch_s: 0.5,
            },
        )]),
        memory: BTreeMap::from([(
            EstimatorId::BackPropagation,
            Memory {
                peak_bytes: None,
                trainer_bytes: 1 << 20,
            },
        )]),
        square_peak: BTreeMap::from([(1, 60.0), (2, 100.0)]),
        profile: BTreeMap::new(),
        peer: peer_float,
    };
    let floats = BTreeMap::from([("f32".to_string(), f32_report)]);
    let targets = targets::judge(&floats);
    Report {
        plan: Plan::quick(2),
        date: "2026-01-01 00:00 UTC".into(),
        elapsed_s: 1.0,
        machine: Machine {
            model: "test".into(),
            cpus: "2".into(),
            isa: "AVX2 + FMA".into(),
            load_start: "0.00".into(),
            load_end: "0.00".into(),
        },
        widths: PAPER_WIDTHS.to_vec(),
        batch: PAPER_BATCH,
        backprop_macs: 1_000_000_000,
        floats,
        peer,
        targets,
    }
}

/// Route: the ratios worked out by hand from the sample's times. Default mode: 120/100 = 1.2 > 1.05; 1e9
/// multiply-adds in 120 ms = 16.7 GFLOP/s, 21% of the best GEMM rate (XLA's 80 GFLOP/s), below 80%; 1 s / 40 ms
/// = 25x, at least 20x; against JAX's back-propagation, rounds 120/150, 120/100, 90/100 = 0.8, 1.2, 0.9: median
/// 0.9, within 1.0 and 0.9; ours 100/150, 100/100, 100/100: median 1.0, above 0.95. One thread: 50/50 = 1; 1e9
/// in 50 ms = 40 GFLOP/s, 50%; 50/150, 50/100, 50/100: median 0.5.
#[test]
fn targets_are_judged_by_name_and_mode() {
    let report = sample(Peer::Ran { jax: "0".into() });
    let rows: Vec<_> = report
        .targets
        .iter()
        .map(|t| (t.target.as_str(), t.shown.as_str(), t.met))
        .collect();
    let bp = "JAX's back-propagation step";
    assert_eq!(
        rows,
        [
            (
                "DP+ K=1 step <= 1.05x back-propagation step",
                "1.20x",
                false
            ),
            ("DP+ K=1 step >= 80% of the best GEMM rate", "21%", false),
            (
                "kernel >= 20x the reference (DP+ K=1, same batch)",
                "25x",
                true
            ),
            (
                &format!("DP+ K=1 step <= 1x {bp}"),
                "0.90x (0.80-1.20)",
                true
            ),
            (
                &format!("DP+ K=1 step <= 0.9x {bp}"),
                "0.90x (0.80-1.20)",
                true
            ),
            (
                &format!("back-propagation step <= 0.95x {bp}"),
                "1.00x (0.67-1.00)",
                false
            ),
            (
                "DP+ K=1 step <= 1.05x back-propagation step (1 thread)",
                "1.00x",
                true
            ),
            (
                "DP+ K=1 step >= 80% of the best GEMM rate (1 thread)",
                "50%",
                false
            ),
            (
                &format!("DP+ K=1 step (1 thread) <= 1x {bp}"),
                "0.50x (0.33-0.50)",
                true
            ),
            (
                &format!("DP+ K=1 step (1 thread) <= 0.9x {bp}"),
                "0.50x (0.33-0.50)",
                true
            ),
            (
                &format!("back-propagation step (1 thread) <= 0.95x {bp}"),
                "0.50x (0.33-0.50)",
                true
            ),
        ]
    );
}

/// Route: without a peer no target against JAX is judged, and no generated sentence names JAX's speed.
#[test]
fn without_a_peer_nothing_is_said_of_jax_speed() {
    let report = sample(Peer::NotRun);
    assert!(report.targets.iter().all(|t| !t.target.contains("JAX")));
    let md = report.to_markdown();
    for stale in ["JAX's lead", "JAX's runtime", "faster than", "ahead of"] {
        assert!(!md.contains(stale), "{stale:?} in a report without a peer");
    }
}

/// Route: the per-round table row written out by hand (median of 0.8, 1.2, 0.9 and the extremes).
#[test]
fn markdown_shows_the_peer_ratio_spread() {
    let md = sample(Peer::Ran { jax: "0".into() }).to_markdown();
    let row = "| back-propagation | 100.00 | 100.00 | 1.00x (0.67-1.00) |";
    assert!(md.contains(row), "missing {row:?} in\n{md}");
    assert!(md.contains("XLA 80.0 GFLOP/s"), "no XLA GEMM rate in\n{md}");
    let peak = "1 thread 60.0 GFLOP/s, 2 threads 100.0 GFLOP/s";
    assert!(md.contains(peak), "no square-GEMM peak in\n{md}");
}

/// Route: the table rows written out by hand from the sample's numbers.
#[test]
fn markdown_rows_follow_the_report() {
    let md = sample(Peer::NotRun).to_markdown();
    for row in [
        "| back-propagation | 100.00 | 1.000e9 | 20.0 | 40% | 1.00x | 1 | bounded |",
        "| DP+ K=1 | 120.00 | 1.000e9 | 16.7 | 33% | 1.20x | 1 | bounded |",
        "| DP+ K=1 | 50.00 | 40.0 | 80% | 1.00x |",
        "| K = 1 | 1000.0 | 40.000 | 25x | 500.00 | 200x |",
        "| back-propagation | ? | 1.0 |",
        "| DP+ K=1 step <= 1.05x back-propagation step | f32 | 1.20x | **no** |",
        "Not run (`--no-peer`, or `--quick` without DUALPROP_CI_PEER=1)",
    ] {
        assert!(md.contains(row), "missing {row:?} in\n{md}");
    }
}

/// Route: serde's own parser reads back what it wrote; the keys are the estimators' and modes' names.
#[test]
fn json_round_trips_with_named_keys() {
    let report = sample(Peer::NotRun);
    let text = serde_json::to_string(&report).unwrap();
    assert!(text.contains("\"dp_plus_k1\"") && text.contains("\"one_thread\""));
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, report);
}

/// Route: the lines worked out by hand from a synthetic profile. Ours: faer at 50 GFLOP/s, a DP+ K=1 step of 1e9
/// multiply-adds = 2 GFLOP, so 40 ms for its products alone; JAX: XLA at 80 GFLOP/s, whole step 30 ms: XLA /
/// faer = 1.60x, 40 / 30 = 1.33x, the products alone outlast JAX's step. Without a peer, no such line.
#[test]
fn markdown_explains_the_jax_targets_by_the_gemm_rate() {
    use super::profile::Profile;
    let profile = |step_s: f64, gemm_gflops: f64| Profile {
        step_s,
        gemm_gflops,
        phases_s: BTreeMap::new(),
    };
    let mut report = sample(Peer::Ran { jax: "0".into() });
    let f32_report = report.floats.get_mut("f32").unwrap();
    f32_report
        .profile
        .insert(EstimatorId::DpPlusK1, profile(0.12, 50.0));
    if let Some(peer) = f32_report.peer.as_mut() {
        peer.profile
            .insert(EstimatorId::DpPlusK1, profile(0.03, 80.0));
    }
    let md = report.to_markdown();
    // 1e9 multiply-adds: 40 ms at 50 GFLOP/s, 25 ms at 80; steps 120 ms and 30 ms.
    let line = "- f32, DP+ K=1: XLA's products run at 80.0 GFLOP/s at this step's shapes, faer's at 50.0 \
                (XLA / faer = 1.60x). Charged at those rates, the step's products (1.000e9 multiply-adds) take \
                40.00 ms ours and 25.00 ms JAX's (+15.00 ms); the whole steps take 120.00 ms and 30.00 ms \
                (+90.00 ms), so the GEMM rate accounts for 15.00 ms of the 90.00 ms gap and the other 75.00 ms \
                lie outside the products.";
    assert!(md.contains(line), "missing {line:?} in\n{md}");
    let mut alone = sample(Peer::NotRun);
    alone
        .floats
        .get_mut("f32")
        .unwrap()
        .profile
        .insert(EstimatorId::DpPlusK1, profile(0.12, 50.0));
    assert!(!alone.to_markdown().contains("Why the targets against JAX"));
}
