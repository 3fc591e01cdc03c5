//! The sweep's measurements: the rates the cost model uses, then every point's step times, ours and the JAX
//! twins' interleaved round by round.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::error::Result;
use crate::kernels::{adam, KernelOptions, Trainer};
use crate::reference::{AdamConfig, AdamState};

use super::super::measurement::median;
use super::super::peer::{self, Session};
use super::super::roofline::{gflops, roofline};
use super::super::workload::{batch, paper_network, EstimatorId, PAPER_BATCH, PAPER_WIDTHS};
use super::{model_s, Axis, Point, Rates, ScalingReport, BATCHES, ROUNDS, SWEPT, WIDTHS};

/// Measures the rates, then every point (with `quick`, only the two smallest of each sweep: a smoke test);
/// `stage` hears each point as it starts.
pub fn run(
    threads: usize,
    with_peer: bool,
    quick: bool,
    mut stage: impl FnMut(&str),
) -> Result<ScalingReport> {
    let load_start = super::super::machine::load_average();
    let opts = KernelOptions {
        threads,
        ..KernelOptions::default()
    };
    let rates = rates(opts)?;
    let mut session = if with_peer {
        Session::start()
    } else {
        Session::none()
    };
    let mut points = Vec::new();
    let n = if quick { 2 } else { usize::MAX };
    let shapes = WIDTHS
        .iter()
        .take(n)
        .map(|&w| (Axis::Width, w, PAPER_BATCH))
        .chain(
            BATCHES
                .iter()
                .take(n)
                .map(|&b| (Axis::Batch, PAPER_WIDTHS[1], b)),
        );
    for (axis, width, b) in shapes {
        stage(&format!("width {width}, batch {b}"));
        let widths = vec![PAPER_WIDTHS[0], width, width, width, width, PAPER_WIDTHS[5]];
        points.push(point(axis, widths, b, opts, &rates, &mut session)?);
    }
    let peer = session.status();
    Ok(ScalingReport {
        date: super::super::machine::date_utc(),
        load: (load_start, super::super::machine::load_average()),
        threads,
        rounds: ROUNDS,
        rates,
        peer,
        points,
    })
}

fn rates(opts: KernelOptions) -> Result<Rates> {
    let (macs, t) = roofline::<f32>(&PAPER_WIDTHS, PAPER_BATCH, opts.par(), 1, ROUNDS);
    let mut net = paper_network::<f32>(&PAPER_WIDTHS, 0)?;
    let grad = AdamState::new(&net).m;
    let mut state = AdamState::new(&net);
    let cfg = AdamConfig::default();
    let mut best = f64::INFINITY;
    for _ in 0..=ROUNDS {
        let start = Instant::now();
        adam::update(&mut state, &cfg, &mut net, &grad, opts.threads);
        best = best.min(start.elapsed().as_secs_f64());
    }
    let p: usize = PAPER_WIDTHS.windows(2).map(|w| w[0] * w[1]).sum();
    Ok(Rates {
        gemm_gflops: gflops(macs, t.as_secs_f64()),
        bandwidth_gbs: 7.0 * p as f64 * 4.0 / best / 1e9,
    })
}

fn point(
    axis: Axis,
    widths: Vec<usize>,
    b: usize,
    opts: KernelOptions,
    rates: &Rates,
    peer: &mut Session,
) -> Result<Point> {
    let net = paper_network::<f32>(&widths, 0)?;
    let (x, y) = batch::<f32>(&widths, b, 1);
    let shape = format!("{}x{b}", widths[1]);
    let mut trainers = Vec::new();
    let mut keys = Vec::new();
    for id in SWEPT {
        trainers.push((
            id,
            Trainer::new(&net, id.estimator(), AdamConfig::default(), b)?.with_options(opts),
        ));
        if let Some(twin) = id.twin() {
            let key = peer::key("f32", id, &shape);
            if peer
                .call(|p| p.setup(&key, twin, &widths, b, "f32"))
                .is_some()
            {
                keys.push((id, key));
            }
        }
    }
    let mut ours: BTreeMap<EstimatorId, Vec<_>> = BTreeMap::new();
    let mut jax: BTreeMap<EstimatorId, Vec<_>> = BTreeMap::new();
    let mut macs = BTreeMap::new();
    for round in 0..=ROUNDS {
        // The peer goes first in every other round, as in the main measurement.
        if round % 2 == 1 {
            peer_steps(peer, &keys, round > 0, &mut jax);
        }
        for (id, trainer) in &mut trainers {
            let start = Instant::now();
            trainer.step(&x, &y, b)?;
            let t = start.elapsed();
            macs.insert(*id, trainer.last_macs());
            if round > 0 {
                ours.entry(*id).or_default().push(t);
            }
        }
        if round % 2 == 0 {
            peer_steps(peer, &keys, round > 0, &mut jax);
        }
    }
    for (_, key) in &keys {
        peer.call(|p| p.forget(key));
    }
    let med = |m: BTreeMap<EstimatorId, Vec<_>>| {
        m.into_iter()
            .map(|(id, t)| (id, median(t).as_secs_f64()))
            .collect::<BTreeMap<_, _>>()
    };
    let model_s = macs
        .iter()
        .map(|(&id, &m)| (id, model_s(id, &widths, b, m, rates)))
        .collect();
    Ok(Point {
        axis,
        widths,
        batch: b,
        macs,
        ours_s: med(ours),
        jax_s: med(jax),
        model_s,
    })
}

/// One step of each twin (recorded when `timed`).
fn peer_steps(
    peer: &mut Session,
    keys: &[(EstimatorId, String)],
    timed: bool,
    jax: &mut BTreeMap<EstimatorId, Vec<std::time::Duration>>,
) {
    for (id, key) in keys {
        if let Some(s) = peer.call(|p| p.step(key)) {
            if timed {
                let t = std::time::Duration::from_secs_f64(s);
                jax.entry(*id).or_default().push(t);
            }
        }
    }
}
