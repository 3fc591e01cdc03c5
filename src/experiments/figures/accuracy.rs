//! The per-epoch test accuracy of every run (metrics.jsonl) as a figure: test accuracy (%) against the epoch, one
//! line per run, beside the report's table of the same numbers. Each run's line ends at its last epoch without a
//! failed step, so a capped run or one that stopped at an X ends where it stopped (the legend says which).

use std::path::{Path, PathBuf};

use plotters::chart::SeriesLabelPosition;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::{draw_err, method_color, png};
use crate::error::Result;
use crate::experiments::metrics::EpochMetrics;
use crate::experiments::spec::{Algorithm, RunSpec};

/// The file stem of the figure (`accuracy.png`, `accuracy.svg`).
pub const FILE_STEM: &str = "accuracy";

/// The test-accuracy curve of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct AccuracyRun {
    /// The run's method.
    pub algorithm: Algorithm,
    /// The run's alpha (unused by back-propagation).
    pub alpha: f64,
    /// The hidden layers' alpha, when set apart from the output's.
    pub hidden_alpha: Option<f64>,
    /// Inference iterations K (unused by back-propagation).
    pub iterations: usize,
    /// The run's seed.
    pub seed: u64,
    /// (epoch, test accuracy in %) of each epoch that ended without a failed step, in epoch order.
    pub points: Vec<(usize, f64)>,
    /// The epoch in which the run stopped at a diverged or non-finite step (its X), if any.
    pub failed_epoch: Option<usize>,
}

impl AccuracyRun {
    /// The curve of a run from its spec and its metrics.jsonl; an epoch counts as failed by the rule of the
    /// report's per-epoch table (a divergence, or no test accuracy).
    pub fn new(spec: &RunSpec, metrics: &[EpochMetrics]) -> Self {
        let mut points = Vec::new();
        let mut failed_epoch = None;
        for m in metrics {
            match m.test_accuracy {
                Some(a) if m.divergence.is_none() => points.push((m.epoch, a)),
                _ => {
                    failed_epoch = Some(m.epoch);
                    break;
                }
            }
        }
        Self {
            algorithm: spec.algorithm,
            alpha: spec.alpha,
            hidden_alpha: spec.hidden_alpha,
            iterations: spec.iterations,
            seed: spec.seed,
            points,
            failed_epoch,
        }
    }

    /// The last epoch the run reached (failed or not); 0 without any.
    fn last_epoch(&self) -> usize {
        let clean = self.points.last().map_or(0, |p| p.0);
        self.failed_epoch.map_or(clean, |e| e.max(clean))
    }

    /// Method, alpha, K and seed, and how the run ended if it ended before `longest` epochs.
    fn label(&self, longest: usize) -> String {
        let mut s = match self.algorithm {
            Algorithm::Backprop => format!("back-propagation seed {}", self.seed),
            a => format!(
                "{} α={}{} K={} seed {}",
                match a {
                    Algorithm::DpPlus => "DP+",
                    a => a.label(),
                },
                self.alpha,
                self.hidden_alpha
                    .map_or(String::new(), |h| format!(" (hidden {h})")),
                self.iterations,
                self.seed
            ),
        };
        if let Some(e) = self.failed_epoch {
            s += &format!(", X in epoch {e}");
        } else if self.last_epoch() < longest {
            s += &format!(", stopped after epoch {}", self.last_epoch());
        }
        s
    }

    /// K = 1 and back-propagation solid, more iterations dashed.
    fn dashed(&self) -> bool {
        self.algorithm != Algorithm::Backprop && self.iterations > 1
    }

    /// The line's colour, width and marker radius: K = 1 wide in a lighter shade of the method's colour, so
    /// that a dashed line in the full colour on the same points (DP+ at K = 30 matches K = 1 bitwise) shows on
    /// top of it; back-propagation narrow in black.
    fn style(&self) -> (RGBColor, u32, u32) {
        let color = method_color(self.algorithm, self.alpha);
        if self.dashed() || self.algorithm == Algorithm::Backprop {
            (color, 2, 4)
        } else {
            (lighter(color), 5, 6)
        }
    }
}

/// Halfway to white (opaque, so that crossing lines do not darken each other).
fn lighter(c: RGBColor) -> RGBColor {
    let half = |v: u8| v + (255 - v) / 2;
    RGBColor(half(c.0), half(c.1), half(c.2))
}

/// The smallest and largest accuracy among the points of `runs`, if any.
fn y_span<'a>(runs: impl Iterator<Item = &'a AccuracyRun>) -> Option<(f64, f64)> {
    let (lo, hi) = runs
        .flat_map(|r| r.points.iter())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    lo.is_finite().then_some((lo, hi))
}

/// One panel: every run's line over epochs 1..=`epochs`, the accuracy axis over `span` (padded).
fn plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    runs: &[AccuracyRun],
    epochs: usize,
    (y_min, y_max): (f64, f64),
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let pad = ((y_max - y_min) * 0.05).max(0.1);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(0.7..epochs as f64 + 0.3, (y_min - pad)..(y_max + pad))
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("test accuracy (%)")
        .x_labels(epochs + 2)
        .x_max_light_lines(1)
        // Epochs are whole: ticks between them stay unlabelled.
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-6 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(draw_err)?;
    // Wide lines first, so that the narrow dashed ones stay visible on top of them.
    let mut order: Vec<&AccuracyRun> = runs.iter().collect();
    order.sort_by_key(|r| std::cmp::Reverse(r.style().1));
    for r in order {
        let (color, width, radius) = r.style();
        let style = ShapeStyle::from(&color).stroke_width(width);
        let pts: Vec<(f64, f64)> = r.points.iter().map(|&(e, a)| (e as f64, a)).collect();
        chart
            .draw_series(
                pts.iter()
                    .map(|&p| Circle::new(p, radius, ShapeStyle::from(&color).filled())),
            )
            .map_err(draw_err)?;
        if r.dashed() {
            chart
                .draw_series(DashedLineSeries::new(pts, 8, 5, style))
                .map_err(draw_err)?;
        } else {
            chart
                .draw_series(LineSeries::new(pts, style))
                .map_err(draw_err)?;
        }
    }
    Ok(())
}

/// All runs on the left; on the right the legend (in its own area, so that it never covers a line) and, when the
/// runs that reached the last epoch span less than half the accuracy range, a zoom on them.
fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, runs: &[AccuracyRun]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(draw_err)?;
    let (width, height) = root.dim_in_pixel();
    let (plot_area, side) = root.split_horizontally(width * 60 / 100);
    let legend_height = (50 + 16 * runs.len() as u32).min(height * 6 / 10);
    let (legend_area, zoom_area) = side.split_vertically(legend_height);
    let longest = runs.iter().map(AccuracyRun::last_epoch).max().unwrap_or(0);
    let epochs = longest.max(1);
    let all = y_span(runs.iter()).unwrap_or((0.0, 100.0));
    plot(
        &plot_area,
        "Test accuracy after each epoch (K = 1 solid, K = 30 dashed)",
        runs,
        epochs,
        all,
    )?;
    // Only these runs in the zoom: a point outside its range would be drawn clamped to the edge.
    let full_length: Vec<AccuracyRun> = runs
        .iter()
        .filter(|r| r.failed_epoch.is_none() && r.last_epoch() == longest)
        .cloned()
        .collect();
    if let Some(zoom) = y_span(full_length.iter()) {
        if zoom.1 - zoom.0 < 0.5 * (all.1 - all.0) {
            let title = format!("zoom on the runs that reached epoch {longest}");
            plot(&zoom_area, &title, &full_length, epochs, zoom)?;
        }
    }
    let mut legend = ChartBuilder::on(&legend_area)
        .margin_top(10)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)
        .map_err(draw_err)?;
    for r in runs {
        // The legend's entry: the same colour, width and dashes, with the point marker.
        let (color, width, radius) = r.style();
        let dashed = r.dashed();
        legend
            .draw_series(std::iter::empty::<Circle<(f64, f64), u32>>())
            .map_err(draw_err)?
            .label(r.label(longest))
            .legend(move |(x, y)| {
                // A dash longer than the glyph draws it solid.
                let dash = if dashed { 6 } else { 100 };
                EmptyElement::at((x, y))
                    + DashedPathElement::new(
                        vec![(-4, 0), (22, 0)],
                        dash,
                        4,
                        ShapeStyle::from(&color).stroke_width(width),
                    )
                    + Circle::new((9, 0), radius, ShapeStyle::from(&color).filled())
            });
    }
    png::legend(&mut legend)
        .position(SeriesLabelPosition::UpperLeft)
        .legend_area_size(34)
        .draw()
        .map_err(draw_err)?;
    root.present().map_err(draw_err)
}

/// The figure of some runs.
struct AccuracyFigure<'a>(&'a [AccuracyRun]);

impl png::Figure for AccuracyFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        draw(root, self.0)
    }
}

/// Writes `accuracy.png` and `accuracy.svg` into `out`; returns the paths.
pub fn write(runs: &[AccuracyRun], out: &Path) -> Result<Vec<PathBuf>> {
    png::write_into(&AccuracyFigure(runs), (1100, 640), out, FILE_STEM)
}
