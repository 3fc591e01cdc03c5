//! Scaling (opt-in, `dualprop perf --scaling`): the step time of back-propagation and DP+ K=1 against the hidden
//! width (batch 100) and against the batch (width 1000), f32, ours and the JAX peer's interleaved round by round,
//! beside a cost model: the products' flops at the GEMM rate measured at the paper's shapes, plus the
//! memory-bound terms (Adam, the weights each product reads, the state passes) at the bandwidth Adam reaches on
//! the paper's network. Writes Markdown, JSON, PNG and SVG.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kernels::{adam, KernelOptions, Trainer};
use crate::reference::{AdamConfig, AdamState};

use super::measurement::median;
use super::peer::{self, Peer, Session};
use super::roofline::{gflops, roofline};
use super::workload::{batch, paper_network, EstimatorId, PAPER_BATCH, PAPER_WIDTHS};

/// Hidden widths of the width sweep (batch [`PAPER_BATCH`]).
pub const WIDTHS: [usize; 5] = [256, 512, 1024, 2048, 4096];
/// Batches of the batch sweep (the paper's widths).
pub const BATCHES: [usize; 4] = [1, 10, 100, 1000];
/// The estimators swept.
pub const SWEPT: [EstimatorId; 2] = [EstimatorId::BackPropagation, EstimatorId::DpPlusK1];
/// Timed rounds per point after one warm-up round (the sweep stays within a few minutes).
pub const ROUNDS: usize = 3;

/// Passes over a [width, batch] state array the cost model assumes per hidden or output unit and sample: for
/// back-propagation, the feed-forward writes a and z, the backward pass reads a and writes e, the gradient
/// reads e and z (6); for DP+ K=1 the same feed-forward and gradient reads of the two nudged states (6), plus
/// the sweep's fused updates, which read a and the feedback and write z+ and z- on the way up and again on the
/// way down (8). A model's assumption, not a measurement.
pub fn state_passes(id: EstimatorId) -> f64 {
    match id {
        EstimatorId::BackPropagation => 6.0,
        _ => 14.0,
    }
}

/// Which sweep a point belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    /// Hidden width varies.
    Width,
    /// Batch varies.
    Batch,
}

/// One shape of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The sweep it belongs to.
    pub axis: Axis,
    /// The network's widths.
    pub widths: Vec<usize>,
    /// Samples per step.
    pub batch: usize,
    /// Multiply-adds of each estimator's step (ours, counted by the kernels).
    pub macs: BTreeMap<EstimatorId, u64>,
    /// Our median step, seconds.
    pub ours_s: BTreeMap<EstimatorId, f64>,
    /// The JAX twin's median step (same rounds), seconds.
    pub jax_s: BTreeMap<EstimatorId, f64>,
    /// The cost model's step, seconds.
    pub model_s: BTreeMap<EstimatorId, f64>,
}

impl Point {
    /// The value on the sweep's axis (hidden width or batch).
    pub fn x(&self) -> usize {
        match self.axis {
            Axis::Width => self.widths[1],
            Axis::Batch => self.batch,
        }
    }
}

/// The rates the cost model uses, measured at the start of the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// faer's products at the paper's shapes (best of the rounds), GFLOP/s.
    pub gemm_gflops: f64,
    /// Adam's update on the paper's network: 7 values per parameter over its best time, GB/s.
    pub bandwidth_gbs: f64,
}

/// The cost model of one step: products at the GEMM rate, plus Adam's 7 values per parameter, one read of each
/// product's weights and [`state_passes`] over the states, at the bandwidth (f32).
pub fn model_s(id: EstimatorId, widths: &[usize], batch: usize, macs: u64, r: &Rates) -> f64 {
    let bytes = 4.0;
    let p: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
    let weight_reads = (macs as f64 / batch as f64) * bytes;
    let states: usize = widths[1..].iter().sum();
    let memory =
        7.0 * p as f64 * bytes + weight_reads + state_passes(id) * (states * batch) as f64 * bytes;
    2.0 * macs as f64 / (r.gemm_gflops * 1e9) + memory / (r.bandwidth_gbs * 1e9)
}

/// A sweep's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingReport {
    /// When it ran (UTC).
    pub date: String,
    /// The 1-minute load average at the start and the end.
    pub load: (String, String),
    /// Threads of our kernels.
    pub threads: usize,
    /// Timed rounds per point.
    pub rounds: usize,
    /// What the cost model used.
    pub rates: Rates,
    /// What became of the peer.
    pub peer: Peer,
    /// Every point, the width sweep first.
    pub points: Vec<Point>,
}

/// Measures the rates, then every point (with `quick`, only the two smallest of each sweep: a smoke test);
/// `stage` hears each point as it starts.
pub fn run(
    threads: usize,
    with_peer: bool,
    quick: bool,
    mut stage: impl FnMut(&str),
) -> Result<ScalingReport> {
    let load_start = super::machine::load_average();
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
        date: super::machine::date_utc(),
        load: (load_start, super::machine::load_average()),
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

impl ScalingReport {
    /// Writes `<stem>.md`, `.json`, `.png` and `.svg` (stem: a path without extension); returns the paths.
    pub fn write(&self, stem: &Path) -> Result<Vec<PathBuf>> {
        if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let with = |ext: &str| stem.with_extension(ext);
        let (md, json, png, svg) = (with("md"), with("json"), with("png"), with("svg"));
        let name = png
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().to_string());
        std::fs::write(&md, self.to_markdown(&name)).map_err(|e| Error::io(&md, e))?;
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Format(e.to_string()))?;
        std::fs::write(&json, text + "\n").map_err(|e| Error::io(&json, e))?;
        crate::experiments::figures::register_font();
        let size = (1100u32, 460u32);
        let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
            self.draw(root)?;
        }
        let bytes = crate::experiments::figures::png::encode_rgb(&rgb, size.0, size.1)?;
        std::fs::write(&png, bytes).map_err(|e| Error::io(&png, e))?;
        self.draw(SVGBackend::new(&svg, size).into_drawing_area())?;
        Ok(vec![md, json, png, svg])
    }

    /// The tables of both sweeps, with the figure.
    pub fn to_markdown(&self, figure: &str) -> String {
        let mut s = String::new();
        let r = &self.rates;
        let _ = writeln!(
            s,
            "# Scaling of a training step\n\nGenerated by `dualprop perf --scaling` (threads = {}) on {}; \
             1-minute load average {} at the start and {} at the end. f32, networks 784-w-w-w-w-10, medians of {} \
             rounds after one warm-up round; each round takes one step of ours and one of each JAX twin (the peer \
             first in every other round), so the two met the same load. JAX: {}.\n\n\
             Cost model: the products' flops at {:.1} GFLOP/s (faer at the paper's shapes, measured first) plus, at \
             {:.1} GB/s (Adam's 7 values per parameter on the paper's network over its best time), Adam's traffic, \
             one read of each product's weights and {} (back-propagation) or {} (DP+ K=1) passes over the \
             states (an assumption, see `perf::scaling::state_passes`).\n\n![scaling]({figure})\n",
            self.threads,
            self.date,
            self.load.0,
            self.load.1,
            self.rounds,
            match &self.peer {
                Peer::Ran { jax } => format!("{jax}, interleaved"),
                Peer::NotRun => "not run".into(),
                Peer::Failed { reason } => format!("failed ({reason})"),
            },
            r.gemm_gflops,
            r.bandwidth_gbs,
            state_passes(EstimatorId::BackPropagation),
            state_passes(EstimatorId::DpPlusK1),
        );
        for (axis, name) in [(Axis::Width, "hidden width"), (Axis::Batch, "batch")] {
            let _ = writeln!(
                s,
                "| {name} | BP ours (ms) | BP JAX (ms) | BP model (ms) | DP+ K=1 ours (ms) | DP+ K=1 JAX (ms) | \
                 DP+ K=1 model (ms) |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
            );
            for p in self.points.iter().filter(|p| p.axis == axis) {
                let ms = |m: &BTreeMap<EstimatorId, f64>, id| {
                    m.get(&id)
                        .map_or("-".to_string(), |v| format!("{:.2}", v * 1e3))
                };
                let _ = write!(s, "| {} |", p.x());
                for id in SWEPT {
                    let _ = write!(
                        s,
                        " {} | {} | {} |",
                        ms(&p.ours_s, id),
                        ms(&p.jax_s, id),
                        ms(&p.model_s, id)
                    );
                }
                s.push('\n');
            }
            s.push('\n');
        }
        s
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(draw_err)?;
        let areas = root.split_evenly((1, 2));
        for (area, (axis, name)) in areas.iter().zip([
            (Axis::Width, "hidden width (batch 100)"),
            (Axis::Batch, "batch (width 1000)"),
        ]) {
            self.panel(area, axis, name)?;
        }
        root.present().map_err(draw_err)
    }

    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        axis: Axis,
        name: &str,
    ) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let pts: Vec<&Point> = self.points.iter().filter(|p| p.axis == axis).collect();
        let lg = |v: f64| v.log10();
        let mut series = Vec::new();
        for (i, id) in SWEPT.into_iter().enumerate() {
            let color = [RGBColor(31, 119, 180), RGBColor(214, 39, 40)][i];
            for (what, pick, dashed, mark) in [
                ("ours", 0, false, true),
                ("JAX", 1, false, false),
                ("model", 2, true, false),
            ] {
                let line: Vec<(f64, f64)> = pts
                    .iter()
                    .filter_map(|p| {
                        let m = [&p.ours_s, &p.jax_s, &p.model_s][pick];
                        Some((lg(p.x() as f64), lg(m.get(&id)? * 1e3)))
                    })
                    .collect();
                let label = format!("{} {what}", id.label());
                let style = if pick == 1 {
                    color.mix(0.5)
                } else {
                    color.into()
                };
                series.push((label, style, dashed, mark, line));
            }
        }
        let all = series.iter().flat_map(|s| s.4.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in all.filter(|p| p.1.is_finite()) {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        if x0 > x1 {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        let mut chart = ChartBuilder::on(area)
            .caption(format!("step time vs {name}"), ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d((x0 - 0.1)..(x1 + 0.1), (y0 - 0.2)..(y1 + 0.2))
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc(format!("log10 {name}"))
            .y_desc("log10 step time (ms)")
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(draw_err)?;
        for (label, style, dashed, mark, line) in series {
            let st = ShapeStyle::from(&style).stroke_width(2);
            let anno = if dashed {
                chart
                    .draw_series(DashedLineSeries::new(line.clone(), 6, 4, st))
                    .map_err(draw_err)?
            } else {
                chart
                    .draw_series(LineSeries::new(line.clone(), st))
                    .map_err(draw_err)?
            };
            anno.label(label).legend(move |(x, y)| {
                // A gap in the middle for the dashed (model) lines.
                let gap = if dashed { 4 } else { 0 };
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (7, 0)], st)
                    + PathElement::new(vec![(7 + gap, 0), (18, 0)], st)
            });
            if mark {
                chart
                    .draw_series(line.iter().map(|&p| Circle::new(p, 3, st.filled())))
                    .map_err(draw_err)?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 11))
            .draw()
            .map_err(draw_err)?;
        Ok(())
    }
}

fn draw_err(e: impl std::fmt::Display) -> Error {
    Error::Format(format!("drawing the scaling figure: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Route: the model worked out by hand for a 2-2-2 network at batch 1: 8 multiply-adds = 16 flops at
    /// 1 GFLOP/s = 16 ns; bytes 7 x 8 x 4 (Adam) + 8 x 4 (weights) + 6 x 4 x 4 (states) = 352 at 1 GB/s = 352 ns.
    #[test]
    fn model_adds_products_and_traffic() {
        let r = Rates {
            gemm_gflops: 1.0,
            bandwidth_gbs: 1.0,
        };
        let t = model_s(EstimatorId::BackPropagation, &[2, 2, 2], 1, 8, &r);
        assert!((t - 368e-9).abs() < 1e-15, "{t}");
    }
}
