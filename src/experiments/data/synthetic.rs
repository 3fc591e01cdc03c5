//! Small synthetic MNIST-format data sets for tests and the CI script: each class is a bright square at its own
//! position plus seeded noise, so that tiny nets can learn it.

use std::path::Path;

use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};
use crate::experiments::data::idx::{encode_images, encode_labels, gzip, IdxImages};
use crate::experiments::data::mnist::FILES;
use crate::experiments::data::CLASSES;

/// Images and labels of `count` examples of `side x side` pixels, labels cycling 0..10.
pub fn examples(count: usize, side: usize, seed: u64) -> (IdxImages, Vec<u8>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut pixels = Vec::with_capacity(count * side * side);
    let mut labels = Vec::with_capacity(count);
    for i in 0..count {
        let label = (i % CLASSES) as u8;
        let (cy, cx) = ((label as usize * 7) % side, (label as usize * 3) % side);
        for y in 0..side {
            for x in 0..side {
                let near = y.abs_diff(cy) <= 1 && x.abs_diff(cx) <= 1;
                let noise: u8 = rng.random_range(0..40);
                pixels.push(if near { 215 + noise } else { noise });
            }
        }
        labels.push(label);
    }
    let images = IdxImages {
        count,
        rows: side,
        cols: side,
        pixels,
    };
    (images, labels)
}

/// Writes the four MNIST files (gzipped when `gz`) into `dir`.
pub fn write_dir(dir: &Path, train: usize, test: usize, side: usize, gz: bool) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (tri, trl) = examples(train, side, 1);
    let (tei, tel) = examples(test, side, 2);
    let raw = [
        encode_images(&tri),
        encode_labels(&trl),
        encode_images(&tei),
        encode_labels(&tel),
    ];
    for (name, bytes) in FILES.iter().zip(raw) {
        let (path, bytes) = if gz {
            (dir.join(format!("{name}.gz")), gzip(&bytes)?)
        } else {
            (dir.join(name), bytes)
        };
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}
