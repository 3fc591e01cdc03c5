//! PNG output of the figures through the `png` crate, with the best compression and adaptive row filters
//! (plots are mostly flat colour), which keeps the committed figures small.

use std::path::{Path, PathBuf};

use plotters::chart::SeriesLabelStyle;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

/// A figure that draws the same way on any plotters backend (PNG pixels, SVG text).
pub(crate) trait Figure {
    /// Draws the whole figure onto `root` and presents it.
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static;
}

/// Draws `figure` at `size` pixels twice: into `png` (through [`encode_rgb`], with the embedded font registered)
/// and into `svg`.
pub(crate) fn write_png_and_svg(
    figure: &impl Figure,
    size: (u32, u32),
    png: &Path,
    svg: &Path,
) -> Result<()> {
    super::register_font();
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    figure.draw(BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area())?;
    std::fs::write(png, encode_rgb(&rgb, size.0, size.1)?).map_err(|e| Error::io(png, e))?;
    figure.draw(SVGBackend::new(svg, size).into_drawing_area())
}

/// Writes `<stem>.png` and `<stem>.svg` of `figure` at `size` into `out` (created if missing); returns the paths.
pub(crate) fn write_into(
    figure: &impl Figure,
    size: (u32, u32),
    out: &Path,
    stem: &str,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let (png, svg) = (
        out.join(format!("{stem}.png")),
        out.join(format!("{stem}.svg")),
    );
    write_png_and_svg(figure, size, &png, &svg)?;
    Ok(vec![png, svg])
}

/// The legend box every figure uses: translucent white on a black border, 11-point text; the caller places and
/// draws it.
pub(crate) fn legend<'a, 'b, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &'b mut ChartContext<'a, DB, CT>,
) -> SeriesLabelStyle<'a, 'b, DB, CT> {
    let mut style = chart.configure_series_labels();
    style
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 11));
    style
}

/// Encodes a row-major RGB buffer of `width x height` pixels.
pub fn encode_rgb(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    if rgb.len() != width as usize * height as usize * 3 {
        return Err(Error::Format(format!(
            "PNG: {} bytes for a {width}x{height} RGB image",
            rgb.len()
        )));
    }
    let err = |e: png::EncodingError| Error::Format(format!("PNG: {e}"));
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Best);
        encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        let mut writer = encoder.write_header().map_err(err)?;
        writer.write_image_data(rgb).map_err(err)?;
    }
    Ok(out)
}
