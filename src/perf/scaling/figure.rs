//! The sweep's figure: step time against hidden width and against batch, log-log, ours, JAX's and the model's.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::experiments::figures::png::{legend, Figure};

use super::{Axis, Point, ScalingReport, SWEPT};

impl Figure for ScalingReport {
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
}

impl ScalingReport {
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
        legend(&mut chart)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(draw_err)?;
        Ok(())
    }
}

fn draw_err(e: impl std::fmt::Display) -> Error {
    Error::Format(format!("drawing the scaling figure: {e}"))
}
