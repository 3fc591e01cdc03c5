//! Accuracy of the engine's predictions: validation and test after every epoch.

use crate::error::Result;
use crate::experiments::data::{Mnist, Split, CLASSES};
use crate::experiments::engine::Engine;
use crate::kernels::KernelFloat;

/// Accuracy in percent of the engine's predictions on a split, in chunks of `chunk` examples.
/// Returns None when a prediction is not finite.
pub fn accuracy<T: KernelFloat>(
    engine: &mut dyn Engine<T>,
    split: &Split,
    chunk: usize,
) -> Result<Option<f64>> {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut out = Vec::new();
    let mut correct = 0usize;
    let indices: Vec<usize> = (0..split.len()).collect();
    for part in indices.chunks(chunk) {
        split.batch::<T>(part, &mut x, &mut y);
        out.resize(part.len() * CLASSES, T::zero());
        engine.predict(&x, part.len(), &mut out)?;
        if out.iter().any(|v| !v.is_finite()) {
            return Ok(None);
        }
        for (row, &i) in out.chunks(CLASSES).zip(part) {
            correct += usize::from(predicted_class(row) == split.labels[i] as usize);
        }
    }
    Ok(Some(100.0 * correct as f64 / split.len() as f64))
}

/// Validation and test accuracy in percent, each None when a prediction was not finite (or not made).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Accuracies {
    pub validation: Option<f64>,
    pub test: Option<f64>,
}

impl Accuracies {
    /// Accuracy of the engine's predictions on the validation and test splits.
    pub fn of<T: KernelFloat>(
        engine: &mut dyn Engine<T>,
        data: &Mnist,
        chunk: usize,
    ) -> Result<Self> {
        Ok(Self {
            validation: accuracy::<T>(engine, &data.validation, chunk)?,
            test: accuracy::<T>(engine, &data.test, chunk)?,
        })
    }

    /// True when both were measured.
    pub fn finite(&self) -> bool {
        self.validation.is_some() && self.test.is_some()
    }
}

/// The class with the largest output (the first of equal ones).
fn predicted_class<T: PartialOrd>(row: &[T]) -> usize {
    let mut best = 0;
    for c in 1..row.len() {
        if row[c] > row[best] {
            best = c;
        }
    }
    best
}
