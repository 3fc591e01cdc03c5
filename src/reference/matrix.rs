//! A plain row-major dense matrix: the reference's only container. Batches are rows.

use crate::error::{Error, Result};
use crate::reference::scalar::Scalar;

/// Row-major `rows x cols` matrix. A batch of B vectors of width n is a `B x n` matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix<T> {
    rows: usize,
    cols: usize,
    data: Vec<T>,
}

impl<T: Scalar> Matrix<T> {
    /// Matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            data: vec![T::zero(); rows * cols],
        }
    }

    /// Wraps row-major data, checking its length.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<T>) -> Result<Self> {
        if data.len() != rows * cols {
            return Err(Error::Shape {
                what: "matrix data length".into(),
                expected: (rows, cols),
                got: (data.len(), 1),
            });
        }
        Ok(Self { rows, cols, data })
    }

    /// Builds a matrix from a function of (row, col).
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> T) -> Self {
        let mut data = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for j in 0..cols {
                data.push(f(i, j));
            }
        }
        Self { rows, cols, data }
    }

    /// Number of rows (the batch size B for a batch of states).
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Number of columns (the layer width for a batch of states).
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// (rows, cols).
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }
    /// The elements in row-major order.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }
    /// The elements in row-major order, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }
    /// The row-major element vector, consuming the matrix.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }
    /// Element (i, j), 0-based; panics out of range.
    pub fn get(&self, i: usize, j: usize) -> T {
        self.data[i * self.cols + j]
    }
    /// Sets element (i, j), 0-based; panics out of range.
    pub fn set(&mut self, i: usize, j: usize, v: T) {
        self.data[i * self.cols + j] = v;
    }
    /// Row i (0-based): one sample of a batch.
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Elementwise map.
    pub fn map(&self, f: impl Fn(T) -> T) -> Self {
        Self {
            rows: self.rows,
            cols: self.cols,
            data: self.data.iter().map(|&x| f(x)).collect(),
        }
    }

    /// Elementwise combination of two matrices of the same shape (callers guarantee the shape).
    pub fn zip(&self, other: &Self, f: impl Fn(T, T) -> T) -> Self {
        debug_assert_eq!(self.shape(), other.shape());
        Self {
            rows: self.rows,
            cols: self.cols,
            data: self
                .data
                .iter()
                .zip(&other.data)
                .map(|(&x, &y)| f(x, y))
                .collect(),
        }
    }

    /// `self * other^T`: (B x n) times (m x n)^T = B x m. Used for `zbar W^T`.
    pub fn mul_transpose(&self, other: &Self) -> Self {
        debug_assert_eq!(self.cols, other.cols);
        Self::from_fn(self.rows, other.rows, |i, j| dot(self.row(i), other.row(j)))
    }

    /// `self * other`: (B x m) times (m x n) = B x n. Used for `delta W` (the feedback `W^T delta` per row).
    pub fn mul(&self, other: &Self) -> Self {
        debug_assert_eq!(self.cols, other.rows);
        Self::from_fn(self.rows, other.cols, |i, j| {
            sum_of_products(self.cols, |k| (self.get(i, k), other.get(k, j)))
        })
    }

    /// `self^T * other`: (B x m)^T times (B x n) = m x n. Used for the weight gradient `delta^T zbar`.
    pub fn transpose_mul(&self, other: &Self) -> Self {
        debug_assert_eq!(self.rows, other.rows);
        Self::from_fn(self.cols, other.cols, |i, j| {
            sum_of_products(self.rows, |b| (self.get(b, i), other.get(b, j)))
        })
    }

    /// Adds the row vector `bias` to every row.
    pub fn add_row(&self, bias: &[T]) -> Self {
        Self::from_fn(self.rows, self.cols, |i, j| self.get(i, j) + bias[j])
    }

    /// Column sums (sum over the batch).
    pub fn column_sums(&self) -> Vec<T> {
        (0..self.cols)
            .map(|j| (0..self.rows).fold(T::zero(), |acc, i| acc + self.get(i, j)))
            .collect()
    }

    /// Multiplies every element by `s`.
    pub fn scale(&self, s: T) -> Self {
        self.map(|x| x * s)
    }

    /// Largest absolute element (0 for an empty matrix, NaN if any element is NaN).
    pub fn max_abs(&self) -> T {
        max_abs(&self.data)
    }

    /// Index of the first non-finite element, if any.
    pub fn first_non_finite(&self) -> Option<usize> {
        self.data.iter().position(|x| !x.is_finite())
    }
}

/// sum_k x_k y_k over the pairs `pair(k)`, k = 0..n, accumulated left to right from 0 (the order of [`dot`]).
fn sum_of_products<T: Scalar>(n: usize, pair: impl Fn(usize) -> (T, T)) -> T {
    (0..n).fold(T::zero(), |acc, k| {
        let (x, y) = pair(k);
        acc + x * y
    })
}

/// Dot product in order (the reference does no reassociation).
pub fn dot<T: Scalar>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::zero(), |acc, (&x, &y)| acc + x * y)
}

/// Largest absolute value; NaN propagates so that a NaN is never hidden by `max`.
pub fn max_abs<T: Scalar>(xs: &[T]) -> T {
    let mut m = T::zero();
    for &x in xs {
        if x.is_nan() {
            return x;
        }
        m = m.max(x.abs());
    }
    m
}
