//! Figures 1 and 2 from the alignment logs of the DP+ K = 30 runs, averaged over seeds step by step:
//! Figure 1, the angle between the DP+ and back-propagation gradients per layer; Figure 2, the norm of their
//! difference (top) and both norms (bottom). Written as PNG (text rendered with the embedded DejaVu Sans Mono,
//! see DejaVu-LICENSE.txt) and SVG (text left to the viewer's fonts).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::experiments::metrics::AlignmentRecord;
use crate::experiments::spec::Algorithm;

pub mod accuracy;
pub mod fig3;
pub mod png;

static FONT: &[u8] = include_bytes!("DejaVuSansMono.ttf");

pub(crate) fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The font is a fixed, valid file compiled in; failure would leave PNG text blank, not crash.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Per-layer means over seeds at one global step.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanPoint {
    /// The global step (1-based) the records precede.
    pub step: usize,
    /// Index = layer - 1.
    pub angle: Vec<f64>,
    /// Mean ||estimate - backprop||_2 per layer (Fig. 2).
    pub difference: Vec<f64>,
    /// Mean ||estimate||_2 per layer (Fig. 2).
    pub estimate: Vec<f64>,
    /// Mean ||backprop||_2 per layer (Fig. 2).
    pub backprop: Vec<f64>,
}

/// The curves of one alpha.
#[derive(Debug, Clone, PartialEq)]
pub struct AlphaCurves {
    /// The alpha of the DP+ runs averaged.
    pub alpha: f64,
    /// Seeds averaged (not every step need hold all of them).
    pub seeds: usize,
    /// One point per logged step, in increasing order.
    pub points: Vec<MeanPoint>,
}

/// Averages the records of several seeds step by step (over the seeds that logged that step).
pub fn average(alpha: f64, per_seed: &[Vec<AlignmentRecord>]) -> AlphaCurves {
    let mut steps: Vec<usize> = per_seed.iter().flatten().map(|r| r.global_step).collect();
    steps.sort_unstable();
    steps.dedup();
    let points = steps
        .into_iter()
        .map(|step| {
            let recs: Vec<&AlignmentRecord> = per_seed
                .iter()
                .filter_map(|s| s.iter().find(|r| r.global_step == step))
                .collect();
            let layers = recs.iter().map(|r| r.layers.len()).min().unwrap_or(0);
            let mean =
                |f: &dyn Fn(&crate::experiments::metrics::LayerAlignment) -> f64| -> Vec<f64> {
                    (0..layers)
                        .map(|k| {
                            recs.iter().map(|r| f(&r.layers[k])).sum::<f64>() / recs.len() as f64
                        })
                        .collect()
                };
            MeanPoint {
                step,
                angle: mean(&|l| l.angle_degrees),
                difference: mean(&|l| l.difference_norm),
                estimate: mean(&|l| l.estimate_norm),
                backprop: mean(&|l| l.backprop_norm),
            }
        })
        .collect();
    AlphaCurves {
        alpha,
        seeds: per_seed.len(),
        points,
    }
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// One colour per (method, alpha) in every figure: original DP alpha = 0, then alpha != 0, DP+ likewise, the
/// Eq. 21 variant likewise; back-propagation black.
fn method_color(algorithm: Algorithm, alpha: f64) -> RGBColor {
    let method = match algorithm {
        Algorithm::OriginalDp => 0,
        Algorithm::DpPlus => 1,
        Algorithm::Eq21 => 2,
        Algorithm::Backprop => return BLACK,
    };
    COLORS[2 * method + usize::from(alpha != 0.0)]
}

struct Series {
    label: String,
    color: RGBColor,
    dashed: bool,
    /// Line width in pixels (a wider line drawn first stays visible under a narrower one on the same points).
    width: u32,
    /// Also mark every point (sparse records; a single point draws no line).
    markers: bool,
    points: Vec<(f64, f64)>,
}

fn draw_err(e: impl std::fmt::Display) -> Error {
    Error::Format(format!("drawing a figure: {e}"))
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let finite = || {
        series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|p| p.1.is_finite())
    };
    let x_max = finite().map(|p| p.0).fold(1.0, f64::max);
    let x_min = finite().map(|p| p.0).fold(x_max, f64::min).min(x_max - 1.0);
    let (mut y_min, mut y_max) = finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
        (a.min(p.1), b.max(p.1))
    });
    if !y_min.is_finite() {
        (y_min, y_max) = (0.0, 1.0);
    }
    let pad = ((y_max - y_min) * 0.05).max(1e-9);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(x_min..x_max, (y_min - pad)..(y_max + pad))
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("training step")
        .y_desc(y_label)
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(draw_err)?;
    for s in series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|p| p.1.is_finite())
            .collect();
        let style = ShapeStyle::from(&s.color).stroke_width(s.width);
        let color = s.color;
        if s.markers {
            let dot = ShapeStyle::from(&s.color).filled();
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, s.width + 2, dot)))
                .map_err(draw_err)?;
        }
        let anno = if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(pts, 6, 4, style))
                .map_err(draw_err)?
        } else {
            chart
                .draw_series(LineSeries::new(pts, style))
                .map_err(draw_err)?
        };
        anno.label(s.label.clone()).legend(move |(x, y)| {
            PathElement::new(
                vec![(x, y), (x + 18, y)],
                ShapeStyle::from(&color).stroke_width(2),
            )
        });
    }
    png::legend(&mut chart).draw().map_err(draw_err)?;
    Ok(())
}

fn per_layer(
    c: &AlphaCurves,
    f: impl Fn(&MeanPoint) -> &Vec<f64>,
    name: &str,
    dashed: bool,
    log: bool,
) -> Vec<Series> {
    let layers = c.points.iter().map(|p| f(p).len()).min().unwrap_or(0);
    (0..layers)
        .map(|k| Series {
            label: format!("{name}layer {}", k + 1),
            color: COLORS[k % COLORS.len()],
            dashed,
            width: 2,
            markers: false,
            points: c
                .points
                .iter()
                .map(|p| {
                    let v = f(p)[k];
                    (p.step as f64, if log { v.log10() } else { v })
                })
                .collect(),
        })
        .collect()
}

fn seeds(n: usize) -> String {
    if n == 1 {
        "1 seed".into()
    } else {
        format!("mean of {n} seeds")
    }
}

fn fig1<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, curves: &[AlphaCurves]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(draw_err)?;
    let areas = root.split_evenly((1, curves.len().max(1)));
    for (area, c) in areas.iter().zip(curves) {
        let title = format!("DP+ vs BP, α = {}, K = 30 ({})", c.alpha, seeds(c.seeds));
        panel(
            area,
            &title,
            "angle (degrees)",
            &per_layer(c, |p| &p.angle, "", false, false),
        )?;
    }
    root.present().map_err(draw_err)
}

fn fig2<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, curves: &[AlphaCurves]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(draw_err)?;
    let areas = root.split_evenly((2, curves.len().max(1)));
    let n = curves.len().max(1);
    for (i, c) in curves.iter().enumerate() {
        let title = format!("||DP+ - BP||, α = {} ({})", c.alpha, seeds(c.seeds));
        panel(
            &areas[i],
            &title,
            "log10 L2 norm",
            &per_layer(c, |p| &p.difference, "", false, true),
        )?;
        let mut both = per_layer(c, |p| &p.backprop, "BP ", false, true);
        both.extend(per_layer(c, |p| &p.estimate, "DP+ ", true, true));
        let title = format!("||BP|| (solid), ||DP+|| (dashed), α = {}", c.alpha);
        panel(&areas[n + i], &title, "log10 L2 norm", &both)?;
    }
    root.present().map_err(draw_err)
}

/// Figure 1 or 2 of some curves.
struct AlignmentFigure<'a> {
    which: u8,
    curves: &'a [AlphaCurves],
}

impl png::Figure for AlignmentFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        if self.which == 1 {
            fig1(root, self.curves)
        } else {
            fig2(root, self.curves)
        }
    }
}

/// Writes `<name>.png` and `<name>.svg` of Figure 1 or 2 into `out`; returns the paths.
pub fn write(which: u8, curves: &[AlphaCurves], out: &Path) -> Result<Vec<PathBuf>> {
    let size = if which == 1 { (1100, 420) } else { (1100, 800) };
    png::write_into(
        &AlignmentFigure { which, curves },
        size,
        out,
        &format!("fig{which}"),
    )
}
