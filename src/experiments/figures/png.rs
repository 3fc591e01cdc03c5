//! A small PNG writer for the figures: RGB, 8 bits, each row filtered with the PNG "Up" filter (plots are mostly
//! flat colour, so rows repeat) and deflated at the highest level. plotters' own encoder writes files several
//! times larger, too large to commit.

use std::io::Write;

use crate::error::{Error, Result};

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// Encodes a row-major RGB buffer of `width x height` pixels.
pub fn encode_rgb(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    let stride = width as usize * 3;
    if rgb.len() != stride * height as usize {
        return Err(Error::Format(format!(
            "PNG: {} bytes for a {width}x{height} RGB image",
            rgb.len()
        )));
    }
    let mut filtered = Vec::with_capacity(rgb.len() + height as usize);
    for (y, row) in rgb.chunks(stride).enumerate() {
        if y == 0 {
            filtered.push(0); // None
            filtered.extend_from_slice(row);
        } else {
            filtered.push(2); // Up: difference with the row above
            let above = &rgb[(y - 1) * stride..y * stride];
            filtered.extend(row.iter().zip(above).map(|(a, b)| a.wrapping_sub(*b)));
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&filtered)
        .map_err(|e| Error::Format(format!("PNG deflate: {e}")))?;
    let idat = z
        .finish()
        .map_err(|e| Error::Format(format!("PNG deflate: {e}")))?;
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, adaptive filters, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}
