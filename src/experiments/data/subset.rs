//! Cuts the embedded subset from the full MNIST, deterministically and without randomness:
//! - training file: the first 180 images of each digit among the first 54,000 training images (full MNIST's
//!   training part), followed by the first 20 of each digit among the last 6,000 (its validation part), each
//!   group in file order; so the subset's last 10% (its validation split) is balanced and comes from full
//!   MNIST's validation split;
//! - test file: the first 50 images of each digit of the test set, in file order.
//!
//! The output is gzipped with fixed settings ([`super::idx::gzip`]), so re-running the cut reproduces the
//! committed files byte for byte.

use std::path::Path;

use crate::error::{Error, Result};
use crate::experiments::data::idx::{encode_images, encode_labels, gzip, IdxImages};
use crate::experiments::data::mnist::{parse_all, FILES};
use crate::experiments::data::CLASSES;

/// Subset training images per digit, from full MNIST's training part (first 54,000 images).
pub const TRAIN_PER_CLASS: usize = 180;
/// Subset validation images per digit, from full MNIST's validation part (last 6,000 training images).
pub const VALIDATION_PER_CLASS: usize = 20;
/// Subset test images per digit, from the t10k test set.
pub const TEST_PER_CLASS: usize = 50;

/// Indices of the first `per_class` examples of each class within `range`, in file order.
fn balanced(labels: &[u8], range: std::ops::Range<usize>, per_class: usize) -> Result<Vec<usize>> {
    let mut counts = [0usize; CLASSES];
    let mut out = Vec::with_capacity(per_class * CLASSES);
    for i in range.clone() {
        let c = labels[i] as usize;
        if counts[c] < per_class {
            counts[c] += 1;
            out.push(i);
        }
    }
    if let Some(c) = counts.iter().position(|&n| n < per_class) {
        return Err(Error::Format(format!(
            "only {} images of digit {c} in images {range:?}, need {per_class}",
            counts[c]
        )));
    }
    Ok(out)
}

fn select(images: &IdxImages, labels: &[u8], indices: &[usize]) -> (IdxImages, Vec<u8>) {
    let size = images.rows * images.cols;
    let mut pixels = Vec::with_capacity(indices.len() * size);
    for &i in indices {
        pixels.extend_from_slice(&images.pixels[i * size..(i + 1) * size]);
    }
    let sub = IdxImages {
        count: indices.len(),
        rows: images.rows,
        cols: images.cols,
        pixels,
    };
    (sub, indices.iter().map(|&i| labels[i]).collect())
}

/// The four gzipped files of the subset, named as in [`FILES`] with `.gz`, from the full data's four files.
pub fn cut(files: &[(String, Vec<u8>); 4]) -> Result<Vec<(String, Vec<u8>)>> {
    let (train_images, train_labels, test_images, test_labels) = parse_all(files)?;
    let n = train_labels.len();
    let n_train = n - n / 10;
    let mut train_idx = balanced(&train_labels, 0..n_train, TRAIN_PER_CLASS)?;
    train_idx.extend(balanced(&train_labels, n_train..n, VALIDATION_PER_CLASS)?);
    let test_idx = balanced(&test_labels, 0..test_labels.len(), TEST_PER_CLASS)?;
    let (tr_i, tr_l) = select(&train_images, &train_labels, &train_idx);
    let (te_i, te_l) = select(&test_images, &test_labels, &test_idx);
    Ok(vec![
        (format!("{}.gz", FILES[0]), gzip(&encode_images(&tr_i))?),
        (format!("{}.gz", FILES[1]), gzip(&encode_labels(&tr_l))?),
        (format!("{}.gz", FILES[2]), gzip(&encode_images(&te_i))?),
        (format!("{}.gz", FILES[3]), gzip(&encode_labels(&te_l))?),
    ])
}

/// Reads the full data from `data_dir` and returns the subset's files (see [`cut`]).
pub fn cut_from_dir(data_dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let read = |name: &str| -> Result<(String, Vec<u8>)> {
        let path = crate::experiments::data::mnist::find_file(data_dir, name)?;
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        Ok((path.display().to_string(), bytes))
    };
    cut(&[
        read(FILES[0])?,
        read(FILES[1])?,
        read(FILES[2])?,
        read(FILES[3])?,
    ])
}

/// Writes the subset's files into `out_dir` (created if needed).
pub fn write_subset(data_dir: &Path, out_dir: &Path) -> Result<Vec<(String, usize)>> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let mut written = Vec::new();
    for (name, bytes) in cut_from_dir(data_dir)? {
        let path = out_dir.join(&name);
        std::fs::write(&path, &bytes).map_err(|e| Error::io(&path, e))?;
        written.push((path.display().to_string(), bytes.len()));
    }
    Ok(written)
}
