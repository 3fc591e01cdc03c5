//! PNG output of the figures through the `png` crate, with the best compression and adaptive row filters
//! (plots are mostly flat colour), which keeps the committed figures small.

use crate::error::{Error, Result};

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
