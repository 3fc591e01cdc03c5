//! The engine's bookkeeping on a hand-made report (no timing): targets judged by name, the Markdown's rows,
//! and the JSON read back.

use std::collections::BTreeMap;

use super::report::{FloatReport, InferenceTimes, Machine, Memory, ModeReport, StepResult, Timing};
use super::{targets, EstimatorId, Mode, Peer, Plan, Report, PAPER_BATCH, PAPER_WIDTHS};

fn timing(s: f64) -> Timing {
    Timing {
        median_s: s,
        rounds_s: vec![s],
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

/// f32 only, two modes: back-propagation 100 ms, DP+ K=1 120 ms by default; 50 ms and 50 ms with one thread.
/// Roofline 1e9 multiply-adds in 40 ms (50 GFLOP/s) in both modes.
fn sample(peer: Peer) -> Report {
    let mode = |bp: f64, dp: f64| ModeReport {
        roofline: timing(0.04),
        steps: BTreeMap::from([
            (EstimatorId::BackPropagation, step(bp, 1_000_000_000)),
            (EstimatorId::DpPlusK1, step(dp, 1_000_000_000)),
        ]),
    };
    let f32_report = FloatReport {
        roofline_macs: 1_000_000_000,
        modes: BTreeMap::from([
            (Mode::Default, mode(0.1, 0.12)),
            (Mode::OneThread, mode(0.05, 0.05)),
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
    };
    let floats = BTreeMap::from([("f32".to_string(), f32_report)]);
    let targets = targets::judge(&floats, &peer);
    Report {
        plan: Plan::quick(2),
        date: "2026-01-01 00:00 UTC".into(),
        elapsed_s: 1.0,
        machine: Machine {
            model: "test".into(),
            cpus: "2".into(),
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

/// Route: the ratios worked out by hand from the sample's times (120/100 = 1.2 > 1.15; 40 ms of products in a
/// 120 ms step = 33% < 60%; 1 s / 40 ms = 25x >= 20x; 120 ms / 150 ms = 0.8 <= 1).
#[test]
fn targets_are_judged_by_name_and_mode() {
    let mut step_s = BTreeMap::new();
    step_s.insert("f32".to_string(), 0.15);
    let report = sample(Peer::Ran {
        jax: "0".into(),
        step_s,
    });
    let rows: Vec<_> = report
        .targets
        .iter()
        .map(|t| (t.target.as_str(), t.shown.as_str(), t.met))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "DP+ K=1 step <= 1.15x back-propagation step",
                "1.20x",
                false
            ),
            ("DP+ K=1 step >= 60% of the roofline", "33%", false),
            (
                "kernel >= 20x the reference (DP+ K=1, same batch)",
                "25x",
                true
            ),
            (
                "DP+ K=1 step no slower than JAX's back-propagation step",
                "0.80x",
                true
            ),
            (
                "DP+ K=1 step <= 1.15x back-propagation step (1 thread)",
                "1.00x",
                true
            ),
            (
                "DP+ K=1 step >= 60% of the roofline (1 thread)",
                "80%",
                true
            ),
            (
                "DP+ K=1 step (1 thread) no slower than JAX's back-propagation step",
                "0.33x",
                true
            ),
        ]
    );
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
        "| DP+ K=1 step <= 1.15x back-propagation step | f32 | 1.20x | **no** |",
        "Not run (`--no-peer`, or `--quick` without DUALPROP_CI_PEER=1).",
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
