//! Round-robin timing: each round times the roofline once in every thread mode and one training step of every
//! estimator in turn, so that a change in the shared machine's load touches all of them alike and the ratios
//! stay meaningful; then the kernel's inference against the reference's.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::kernels::{KernelFloat, KernelOptions, Trainer, Workspace};
use crate::reference::problem::Problem;
use crate::reference::{AdamConfig, Config, Matrix, Method, Network};

use super::peer::{self, Session};
use super::profile;
use super::report::{FloatReport, Gemm, InferenceTimes, ModeReport, PeerFloat, StepResult, Timing};
use super::roofline::{self, gflops, Roofline};
use super::workload::{batch, paper_network, EstimatorId, PAPER_BATCH, PAPER_WIDTHS};
use super::Plan;

/// The iteration counts at which DP+ inference is compared with the reference.
pub const INFERENCE_K: [usize; 2] = [1, 30];

/// A way to use the threads, measured in the same rounds as the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The run's own options (`Plan::threads`, the products as row-block tasks).
    Default,
    /// One thread.
    OneThread,
    /// The run's threads as faer's own parallel products (`KernelOptions::row_tasks` off).
    FaerParallel,
}

impl Mode {
    /// The modes a run measures: the default, and when it is parallel, one thread and faer's parallel products.
    pub fn measured(threads: usize) -> Vec<Mode> {
        if threads > 1 {
            vec![Self::Default, Self::OneThread, Self::FaerParallel]
        } else {
            vec![Self::Default]
        }
    }

    /// The wording of the tables (none for the default mode).
    pub fn label(self) -> Option<&'static str> {
        match self {
            Self::Default => None,
            Self::OneThread => Some("1 thread"),
            Self::FaerParallel => Some("faer's parallel products"),
        }
    }

    /// The kernels' options in this mode, from the run's own.
    pub fn options(self, base: KernelOptions) -> KernelOptions {
        match self {
            Self::Default => base,
            Self::OneThread => KernelOptions { threads: 1, ..base },
            Self::FaerParallel => KernelOptions {
                row_tasks: false,
                ..base
            },
        }
    }

    /// The estimators timed in this mode: all in the default, the two the targets compare in the others.
    pub fn estimators(self) -> &'static [EstimatorId] {
        match self {
            Self::Default => &EstimatorId::ALL,
            Self::OneThread | Self::FaerParallel => {
                &[EstimatorId::BackPropagation, EstimatorId::DpPlusK1]
            }
        }
    }
}

/// Median of the durations (zero for none).
pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// Times `f` `reps` times (at least once) after `warmup` calls; returns the median.
pub fn time_median(warmup: usize, reps: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..warmup {
        f();
    }
    let times = (0..reps.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    median(times)
}

/// The timed rounds' durations and their median.
fn timing(rounds: Vec<Duration>) -> Timing {
    Timing {
        rounds_s: rounds.iter().map(Duration::as_secs_f64).collect(),
        median_s: median(rounds).as_secs_f64(),
    }
}

/// The estimators whose phases are profiled, ours and the peer's.
pub const PROFILED: [EstimatorId; 2] = [EstimatorId::BackPropagation, EstimatorId::DpPlusK1];

/// Everything timed for one float type (peak memory is the probe's, filled in by the caller). When the peer is
/// up, each round also takes one step of each JAX twin (after ours, or before them in every other round), so
/// round i of ours and of the peer's met the same load.
pub fn measure<T: KernelFloat>(
    float: &str,
    plan: &Plan,
    peer: &mut Session,
) -> Result<FloatReport> {
    let widths = PAPER_WIDTHS;
    let base = plan.options();
    let net = paper_network::<T>(&widths, 0)?;
    let (x, y) = batch::<T>(&widths, PAPER_BATCH, 1);
    let modes = Mode::measured(plan.threads);
    let mut roof = Roofline::<T>::new(&widths, PAPER_BATCH);
    let mut trainers = Vec::new();
    for &mode in &modes {
        for &id in mode.estimators() {
            let trainer = Trainer::new(&net, id.estimator(), AdamConfig::default(), PAPER_BATCH)?
                .with_options(id.options(mode.options(base)));
            trainers.push((mode, id, trainer));
        }
    }
    let twins: Vec<(EstimatorId, String)> = EstimatorId::ALL
        .into_iter()
        .filter_map(|id| {
            let twin = id.twin()?;
            let key = peer::key(float, id, "paper");
            peer.call(|p| p.setup(&key, twin, &widths, PAPER_BATCH, float))?;
            Some((id, key))
        })
        .collect();
    let mut twin_rounds: BTreeMap<EstimatorId, Vec<Duration>> = BTreeMap::new();
    let mut roof_rounds = vec![Vec::new(); modes.len()];
    let mut step_rounds = vec![Vec::new(); trainers.len()];
    let mut last = Vec::new();
    let mut roofline_macs = 0;
    for round in 0..plan.warmup + plan.reps {
        let timed = round >= plan.warmup;
        // The peer goes first in every other round, so that neither side always follows the other.
        let peer_first = round % 2 == 1;
        if peer_first {
            peer_round(peer, &twins, timed, &mut twin_rounds);
        }
        for (i, mode) in modes.iter().enumerate() {
            let start = Instant::now();
            roofline_macs = roof.run(mode.options(base).par());
            if timed {
                roof_rounds[i].push(start.elapsed());
            }
        }
        last.clear();
        for (i, (_, _, trainer)) in trainers.iter_mut().enumerate() {
            let start = Instant::now();
            let step = trainer.step(&x, &y, PAPER_BATCH)?;
            let t = start.elapsed();
            if timed {
                step_rounds[i].push(t);
            }
            last.push(step);
        }
        if !peer_first {
            peer_round(peer, &twins, timed, &mut twin_rounds);
        }
    }
    let mut reports: BTreeMap<Mode, ModeReport> = modes
        .iter()
        .zip(roof_rounds)
        .map(|(&mode, rounds)| {
            let steps = BTreeMap::new();
            let roofline = timing(rounds);
            (mode, ModeReport { roofline, steps })
        })
        .collect();
    for (((mode, id, trainer), rounds), step) in trainers.iter().zip(step_rounds).zip(last) {
        let row = StepResult {
            time: timing(rounds),
            macs: trainer.last_macs(),
            iterations_run: step.iterations_run,
            verdict: step.verdict.map_or("-".into(), |v| v.label()),
        };
        if let Some(report) = reports.get_mut(mode) {
            report.steps.insert(*id, row);
        }
    }
    let mut inference = BTreeMap::new();
    for k in INFERENCE_K {
        inference.insert(k, time_inference(&net, k, &x, &y, plan)?);
    }
    let best_roof = reports[&Mode::Default]
        .roofline
        .rounds_s
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    let mut profile = BTreeMap::new();
    let mut stages = BTreeMap::new();
    for id in PROFILED {
        let st = profile::our_stages::<T>(id, plan)?;
        profile.insert(id, profile::split(&st, gflops(roofline_macs, best_roof)));
        stages.insert(id, st);
    }
    let peer_float = peer_float(peer, &twins, twin_rounds, &stages, plan);
    let mut square_peak = BTreeMap::new();
    for threads in [1, plan.threads] {
        let par = KernelOptions { threads, ..base }.par();
        square_peak.insert(threads, roofline::square_peak::<T>(par, plan.reps.max(3)));
    }
    Ok(FloatReport {
        roofline_macs,
        modes: reports,
        inference,
        memory: BTreeMap::new(),
        square_peak,
        profile,
        peer: peer_float,
    })
}

/// One step of each JAX twin (recorded when `timed`).
fn peer_round(
    peer: &mut Session,
    twins: &[(EstimatorId, String)],
    timed: bool,
    rounds: &mut BTreeMap<EstimatorId, Vec<Duration>>,
) {
    for (id, key) in twins {
        if let Some(s) = peer.call(|p| p.step(key)) {
            if timed {
                rounds
                    .entry(*id)
                    .or_default()
                    .push(Duration::from_secs_f64(s));
            }
        }
    }
}

/// The peer's steps of the rounds, then its GEMM rate and its twins' phases (each twin freed afterwards).
fn peer_float(
    peer: &mut Session,
    twins: &[(EstimatorId, String)],
    rounds: BTreeMap<EstimatorId, Vec<Duration>>,
    ours: &BTreeMap<EstimatorId, profile::Stages>,
    plan: &Plan,
) -> Option<PeerFloat> {
    let steps: BTreeMap<EstimatorId, Timing> =
        rounds.into_iter().map(|(id, r)| (id, timing(r))).collect();
    let reps = plan.reps.max(3);
    let bp_key = twins
        .iter()
        .find(|(id, _)| *id == EstimatorId::BackPropagation)
        .map(|(_, k)| k.clone());
    let gemm = bp_key
        .and_then(|k| peer.call(|p| p.gemm(&k, reps)))
        .map(|(s, macs)| Gemm { macs, s });
    let mut profile = BTreeMap::new();
    if let Some(g) = &gemm {
        for (id, key) in twins.iter().filter(|(id, _)| PROFILED.contains(id)) {
            let (Some(step), Some(our)) = (steps.get(id), ours.get(id)) else {
                continue;
            };
            let Some(t) = peer.call(|p| p.phases(key, reps)) else {
                continue;
            };
            let best_step = step.rounds_s.iter().copied().fold(f64::INFINITY, f64::min);
            if let Some(st) = profile::peer_stages(&t, best_step, our) {
                profile.insert(*id, profile::split(&st, g.gflops()));
            }
        }
    }
    for (_, key) in twins {
        peer.call(|p| p.forget(key));
    }
    (!steps.is_empty()).then_some(PeerFloat {
        steps,
        gemm,
        profile,
    })
}

/// DP+ inference at K iterations: the reference once at the plan's small batch, the kernel at that batch and at
/// the paper's (`x`, `y`).
fn time_inference<T: KernelFloat>(
    net: &Network<T>,
    k: usize,
    x: &[T],
    y: &[T],
    plan: &Plan,
) -> Result<InferenceTimes> {
    let widths = PAPER_WIDTHS;
    let cfg = Config::new(Method::DpPlus, 0.0, 0.5, k);
    let (rx, ry) = batch::<T>(&widths, plan.ref_batch, 2);
    let xm = Matrix::from_vec(plan.ref_batch, widths[0], rx.clone())?;
    let ym = Matrix::from_vec(plan.ref_batch, widths[5], ry.clone())?;
    let start = Instant::now();
    crate::reference::infer(&Problem::new(net, &cfg, &xm, &ym)?)?;
    let reference = start.elapsed();
    let small = time_kernel_inference(net, &cfg, &rx, &ry, plan.ref_batch, plan)?;
    let large = time_kernel_inference(net, &cfg, x, y, PAPER_BATCH, plan)?;
    Ok(InferenceTimes {
        reference_s: reference.as_secs_f64(),
        kernel_same_batch_s: small.as_secs_f64(),
        kernel_paper_batch_s: large.as_secs_f64(),
    })
}

/// Median time of the kernel's feed-forward pass plus inference sweep on a preallocated workspace.
fn time_kernel_inference<T: KernelFloat>(
    net: &Network<T>,
    cfg: &Config,
    x: &[T],
    y: &[T],
    batch: usize,
    plan: &Plan,
) -> Result<Duration> {
    let mut ws = Workspace::<T>::new(&net.widths(), batch)?;
    let order = cfg.schedule.layer_order(net.depth());
    let opts = plan.options();
    let par = opts.par();
    Ok(time_median(plan.warmup, plan.reps, || {
        let scale = crate::kernels::dense::forward(net, &mut ws, x, batch, par);
        crate::kernels::inference::infer(net, cfg, &order, &mut ws, x, y, batch, scale, &opts);
    }))
}
