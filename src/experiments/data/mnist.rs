//! MNIST as the experiments use it: pixels scaled to [0, 1], labels 0-9 (one-hot targets are built per batch),
//! the last 10% of the training images held out for validation.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::experiments::data::embedded;
use crate::experiments::data::idx::{parse_images, parse_labels, IdxImages};

/// Number of classes (digits).
pub const CLASSES: usize = 10;
/// Environment variable naming a directory of MNIST IDX files (used when no `--data` flag is given).
pub const DATA_ENV: &str = "DUALPROP_MNIST";
/// File names looked for in a data directory; each may also carry a `.gz` suffix.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// A set of examples: `x` is row-major [count, dim] in [0, 1], `labels[i]` in 0..10.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Pixels, row-major [count, dim], scaled from 0..=255 to [0, 1].
    pub x: Vec<f32>,
    /// The digit of each example, 0..=9.
    pub labels: Vec<u8>,
    /// Pixels per image (784 for MNIST's 28 x 28).
    pub dim: usize,
}

impl Split {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the split holds no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Examples `indices` as a batch: x [n, dim] and one-hot y [n, 10], converted to `T`.
    pub fn batch<T: num_traits::Float>(&self, indices: &[usize], x: &mut Vec<T>, y: &mut Vec<T>) {
        x.clear();
        y.clear();
        for &i in indices {
            x.extend(
                self.x[i * self.dim..(i + 1) * self.dim]
                    .iter()
                    .map(|&v| T::from(v).unwrap()),
            );
            y.extend((0..CLASSES).map(|c| {
                if c == self.labels[i] as usize {
                    T::one()
                } else {
                    T::zero()
                }
            }));
        }
    }

    /// The first `n` examples (all of them if `n` is larger).
    pub fn truncated(&self, n: usize) -> Split {
        let n = n.min(self.len());
        Split {
            x: self.x[..n * self.dim].to_vec(),
            labels: self.labels[..n].to_vec(),
            dim: self.dim,
        }
    }

    fn from_idx(images: &IdxImages, labels: Vec<u8>) -> Split {
        Split {
            x: images.pixels.iter().map(|&p| p as f32 / 255.0).collect(),
            labels,
            dim: images.rows * images.cols,
        }
    }
}

/// Training, validation and test splits.
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist {
    /// The first 90% of the training file's images, in file order.
    pub train: Split,
    /// The last 10% of the training file's images, held out for validation.
    pub validation: Split,
    /// The test file's images (t10k), in file order.
    pub test: Split,
    /// Where the data came from (a directory or "embedded subset").
    pub source: String,
}

/// Where to read MNIST from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// A directory holding the four IDX files (gzip or raw).
    Dir(PathBuf),
    /// The class-balanced subset compiled into the binary (see docs/experiments.md).
    Embedded,
}

impl DataSource {
    /// The `--data` flag if given, else the `DUALPROP_MNIST` environment variable, else the embedded subset.
    pub fn resolve(flag: Option<&Path>) -> DataSource {
        if let Some(dir) = flag {
            return DataSource::Dir(dir.to_path_buf());
        }
        match std::env::var_os(DATA_ENV) {
            Some(dir) if !dir.is_empty() => DataSource::Dir(PathBuf::from(dir)),
            _ => DataSource::Embedded,
        }
    }

    /// The source as reports print it: the directory, or "embedded subset (data/mnist-subset)".
    pub fn describe(&self) -> String {
        match self {
            DataSource::Dir(d) => d.display().to_string(),
            DataSource::Embedded => "embedded subset (data/mnist-subset)".into(),
        }
    }

    /// Reads and parses the four files and splits them (train 90%, validation 10%, test).
    pub fn load(&self) -> Result<Mnist> {
        let files = match self {
            DataSource::Dir(dir) => read_dir_files(dir)?,
            DataSource::Embedded => {
                embedded::FILES.map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
            }
        };
        let mut mnist = assemble(&files)?;
        mnist.source = self.describe();
        Ok(mnist)
    }
}

/// Finds `name` or `name.gz` in `dir`.
pub fn find_file(dir: &Path, name: &str) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::Io {
            path: dir.display().to_string(),
            reason: "not a directory (give the MNIST directory with --data or DUALPROP_MNIST)"
                .into(),
        });
    }
    for candidate in [dir.join(format!("{name}.gz")), dir.join(name)] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(Error::Io {
        path: dir.join(name).display().to_string(),
        reason: format!("missing MNIST file (looked for {name} and {name}.gz)"),
    })
}

fn read_dir_files(dir: &Path) -> Result<[(String, Vec<u8>); 4]> {
    let read = |name: &str| -> Result<(String, Vec<u8>)> {
        let path = find_file(dir, name)?;
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        Ok((path.display().to_string(), bytes))
    };
    Ok([
        read(FILES[0])?,
        read(FILES[1])?,
        read(FILES[2])?,
        read(FILES[3])?,
    ])
}

/// Parses the raw images of the four files (train images, train labels, test images, test labels).
pub fn parse_all(
    files: &[(String, Vec<u8>); 4],
) -> Result<(IdxImages, Vec<u8>, IdxImages, Vec<u8>)> {
    let train_images = parse_images(&files[0].1, &files[0].0)?;
    let train_labels = parse_labels(&files[1].1, &files[1].0)?;
    let test_images = parse_images(&files[2].1, &files[2].0)?;
    let test_labels = parse_labels(&files[3].1, &files[3].0)?;
    for (images, labels, what) in [
        (&train_images, &train_labels, "training"),
        (&test_images, &test_labels, "test"),
    ] {
        if images.count != labels.len() {
            return Err(Error::Format(format!(
                "{what} set: {} images but {} labels",
                images.count,
                labels.len()
            )));
        }
        if images.count == 0 {
            return Err(Error::Format(format!("{what} set is empty")));
        }
    }
    if (train_images.rows, train_images.cols) != (test_images.rows, test_images.cols) {
        return Err(Error::Format(format!(
            "training images are {}x{} but test images are {}x{}",
            train_images.rows, train_images.cols, test_images.rows, test_images.cols
        )));
    }
    if train_images.count < 10 {
        return Err(Error::Format(format!(
            "{} training images are too few to hold out 10% for validation",
            train_images.count
        )));
    }
    Ok((train_images, train_labels, test_images, test_labels))
}

fn assemble(files: &[(String, Vec<u8>); 4]) -> Result<Mnist> {
    let (train_images, train_labels, test_images, test_labels) = parse_all(files)?;
    let all = Split::from_idx(&train_images, train_labels);
    let n_val = all.len() / 10;
    let n_train = all.len() - n_val;
    let dim = all.dim;
    let train = Split {
        x: all.x[..n_train * dim].to_vec(),
        labels: all.labels[..n_train].to_vec(),
        dim,
    };
    let validation = Split {
        x: all.x[n_train * dim..].to_vec(),
        labels: all.labels[n_train..].to_vec(),
        dim,
    };
    Ok(Mnist {
        train,
        validation,
        test: Split::from_idx(&test_images, test_labels),
        source: String::new(),
    })
}
