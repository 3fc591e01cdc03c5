//! The IDX file format of MNIST: a big-endian header (magic number, then one u32 per dimension) and u8 data.
//! Files may be gzip-compressed; compression is detected from the magic bytes 1f 8b, not from the file name.

use std::io::Read;

use crate::error::{Error, Result};

/// Magic number of an IDX file of u8 images (3 dimensions: count, rows, cols).
pub const IMAGES_MAGIC: u32 = 2051;
/// Magic number of an IDX file of u8 labels (1 dimension: count).
pub const LABELS_MAGIC: u32 = 2049;

/// Images as stored: `count` images of `rows x cols` u8 pixels, row-major, image after image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Pixel rows per image (28 for MNIST).
    pub rows: usize,
    /// Pixel columns per image (28 for MNIST).
    pub cols: usize,
    /// The pixels, 0..=255, row-major, image after image (count x rows x cols bytes).
    pub pixels: Vec<u8>,
}

/// Returns the bytes, gunzipped when they start with the gzip magic bytes 1f 8b.
pub fn maybe_gunzip(bytes: &[u8], what: &str) -> Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| Error::Format(format!("{what}: corrupt or truncated gzip stream: {e}")))?;
        Ok(out)
    } else {
        Ok(bytes.to_vec())
    }
}

fn read_u32(bytes: &[u8], offset: usize, what: &str) -> Result<u32> {
    bytes
        .get(offset..offset + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| {
            Error::Format(format!(
                "{what}: truncated header ({} bytes, need at least {})",
                bytes.len(),
                offset + 4
            ))
        })
}

/// Checks the magic number and returns the dimensions and the payload after the header.
fn parse<'a>(
    bytes: &'a [u8],
    magic: u32,
    dims: usize,
    what: &str,
) -> Result<(Vec<usize>, &'a [u8])> {
    let found = read_u32(bytes, 0, what)?;
    if found != magic {
        return Err(Error::Format(format!(
            "{what}: magic number {found} (0x{found:08x}), expected {magic} (0x{magic:08x})"
        )));
    }
    let shape = (0..dims)
        .map(|i| read_u32(bytes, 4 + 4 * i, what).map(|v| v as usize))
        .collect::<Result<Vec<_>>>()?;
    let payload = &bytes[4 + 4 * dims..];
    let expected: usize = shape.iter().product();
    if payload.len() != expected {
        return Err(Error::Format(format!(
            "{what}: header announces {shape:?} = {expected} bytes of data, the file holds {}{}",
            payload.len(),
            if payload.len() < expected {
                " (truncated)"
            } else {
                " (trailing bytes)"
            }
        )));
    }
    Ok((shape, payload))
}

/// Parses an image file (gzip or raw).
pub fn parse_images(bytes: &[u8], what: &str) -> Result<IdxImages> {
    let raw = maybe_gunzip(bytes, what)?;
    let (shape, payload) = parse(&raw, IMAGES_MAGIC, 3, what)?;
    Ok(IdxImages {
        count: shape[0],
        rows: shape[1],
        cols: shape[2],
        pixels: payload.to_vec(),
    })
}

/// Parses a label file (gzip or raw) and checks that every label is a digit 0-9.
pub fn parse_labels(bytes: &[u8], what: &str) -> Result<Vec<u8>> {
    let raw = maybe_gunzip(bytes, what)?;
    let (_, payload) = parse(&raw, LABELS_MAGIC, 1, what)?;
    if let Some(i) = payload.iter().position(|&l| l > 9) {
        return Err(Error::Format(format!(
            "{what}: label {} at index {i} is not a digit 0-9",
            payload[i]
        )));
    }
    Ok(payload.to_vec())
}

/// Serialises images as a raw (uncompressed) IDX file.
pub fn encode_images(images: &IdxImages) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + images.pixels.len());
    for v in [
        IMAGES_MAGIC,
        images.count as u32,
        images.rows as u32,
        images.cols as u32,
    ] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&images.pixels);
    out
}

/// Serialises labels as a raw (uncompressed) IDX file.
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

/// Gzip with fixed settings (level 9, zero timestamp, no file name) so that the output is reproducible.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)
        .and_then(|_| enc.finish())
        .map_err(|e| Error::Format(format!("gzip: {e}")))
}
