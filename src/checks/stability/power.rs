//! Power iteration: the largest singular value of a matrix and a spectral-radius bound of a nonnegative one.

use crate::reference::matrix::Matrix;

/// Euclidean norm.
pub(crate) fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Largest singular value of a matrix (power iteration on A^T A, Rayleigh quotient; `steps` iterations).
pub fn spectral_norm(a: &Matrix<f64>, steps: usize) -> f64 {
    let n = a.cols();
    if n == 0 || a.rows() == 0 {
        return 0.0;
    }
    let mut v = Matrix::from_fn(1, n, |_, j| 1.0 + 0.1 * ((j * 7919 % 13) as f64));
    let mut est = 0.0;
    for _ in 0..steps {
        let nv = norm(v.as_slice());
        if nv == 0.0 {
            return 0.0;
        }
        v = v.scale(1.0 / nv);
        // u = A v (row form: v A^T), w = A^T u (row form: u A).
        let u = v.mul_transpose(a);
        est = norm(u.as_slice());
        v = u.mul(a);
    }
    est
}

/// An upper bound on the largest singular value, for where a bound must hold (the DP+ comparison bounds).
/// [`spectral_norm`]'s power iteration approaches sigma_max from below, so it cannot serve: a CI draw with two
/// close singular values left it 3e-4 short and the "bound" below the loop gain. Here: faer's SVD (another route),
/// whose computed values are exact for A + E with ||E|| <= p(n) u ||A||; adding 4 (m + n) u sigma_max covers
/// p(n) for these small matrices with a wide margin (the bound is loosened by ~1e-13, nothing visible).
pub fn spectral_norm_upper(a: &Matrix<f64>) -> f64 {
    if a.rows() == 0 || a.cols() == 0 {
        return 0.0;
    }
    let m = faer::Mat::<f64>::from_fn(a.rows(), a.cols(), |i, j| a.get(i, j));
    let top = match m.singular_values() {
        Ok(s) => s.first().copied().unwrap_or(0.0),
        // No convergence (not seen for these sizes): fall back to the Frobenius norm, also an upper bound.
        Err(_) => norm(a.as_slice()),
    };
    top * (1.0 + 4.0 * (a.rows() + a.cols()) as f64 * f64::EPSILON)
}

/// Spectral radius bound of a small nonnegative matrix: the Collatz-Wielandt upper bound max_i (C v)_i / v_i of
/// C + eps 11^T at its power-iteration vector (>= rho(C) for any positive v).
pub fn nonnegative_radius(c: &[Vec<f64>]) -> f64 {
    let n = c.len();
    let top = c.iter().flatten().fold(0.0_f64, |m, &v| m.max(v));
    if top == 0.0 {
        return 0.0;
    }
    let e = 1e-12 * top;
    let cp: Vec<Vec<f64>> = c
        .iter()
        .map(|r| r.iter().map(|v| v + e).collect())
        .collect();
    let apply = |v: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|i| (0..n).map(|j| cp[i][j] * v[j]).sum())
            .collect()
    };
    let mut v = vec![1.0; n];
    for _ in 0..2000 {
        let w = apply(&v);
        let s = w.iter().fold(0.0_f64, |m, &x| m.max(x));
        v = w.into_iter().map(|x| x / s).collect();
    }
    let w = apply(&v);
    (0..n).map(|i| w[i] / v[i]).fold(0.0, f64::max)
}
