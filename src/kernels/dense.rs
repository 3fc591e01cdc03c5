//! The dense products, all through [`faer::linalg::matmul::matmul`], and the feed-forward pass.
//!
//! States are column-major `[n, B]`; weights are the reference's row-major `[out, in]`, which faer reads as a
//! row-major view of W (forward) or a column-major view of W^T (feedback): neither is copied.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::join;

use crate::reference::{Matrix, Network};

use super::elementwise::bias_activate;
use super::workspace::Workspace;
use super::KernelFloat;

/// How the dense products use the threads. Every way splits a product's outputs among the threads, never a sum,
/// so all give bitwise the same results (tests/kernels_threads.rs).
#[derive(Debug, Clone, Copy)]
pub enum Exec {
    /// faer's own parallelism: `Par::Seq` or `Par::rayon(n)`. faer's parallel matrix-vector product splits the
    /// inner sum, so with `Par::rayon` a product with one output column or row (batch 1; a width-1 layer's
    /// gradient, whose inner dimension is the batch) runs as [`Exec::RowTasks`] instead.
    Faer(Par),
    /// The output's rows split into about [`ROW_TASKS`] blocks, each a sequential faer product, run as rayon
    /// tasks: finer-grained work stealing, which holds up better than one parallel product when the cores are
    /// shared with other processes (see docs/performance.md).
    RowTasks,
}

impl Exec {
    /// Threads this mode uses: 1 for `Par::Seq`, else the rayon pool's.
    pub fn threads(self) -> usize {
        match self {
            Exec::Faer(Par::Seq) => 1,
            Exec::Faer(Par::Rayon(n)) => n.get(),
            Exec::RowTasks => rayon::current_num_threads(),
        }
    }
}

/// Number of row blocks of [`Exec::RowTasks`].
pub const ROW_TASKS: usize = 16;
/// Rows below which a block is not split further: above 48, where faer's AVX-512 f64 kernel changes its tile, so
/// a block takes the same kernel as the whole product.
const MIN_TASK_ROWS: usize = 64;
/// faer 0.24 computes a product of at most this many multiply-adds with its small-matrix kernels (nano-gemm),
/// larger ones with its blocked GEMM; the two sum in different orders, so a row block is never made small enough
/// to change sides.
const SMALL_PRODUCT_MACS: usize = 16 * 16 * 16;
/// faer 0.24 runs a matrix-vector product in parallel once its matrix has this many elements (and sequentially
/// below): the size from which a vector product is worth splitting into row blocks.
const PARALLEL_VECTOR_ELEMENTS: usize = 256 * 256;

/// dst = alpha lhs rhs through faer's matmul, split as `exec` says.
fn product<T: KernelFloat>(
    dst: MatMut<'_, T>,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
    exec: Exec,
) {
    let vector = dst.nrows() == 1 || dst.ncols() == 1;
    match exec {
        Exec::Faer(Par::Rayon(_)) if vector => {
            let elements = dst.nrows() * dst.ncols() * lhs.ncols();
            if elements < PARALLEL_VECTOR_ELEMENTS {
                matmul(dst, Accum::Replace, lhs, rhs, alpha, Par::Seq)
            } else {
                row_blocks(dst, lhs, rhs, alpha)
            }
        }
        Exec::Faer(par) => matmul(dst, Accum::Replace, lhs, rhs, alpha, par),
        Exec::RowTasks => row_blocks(dst, lhs, rhs, alpha),
    }
}

/// dst = alpha lhs rhs as sequential faer products on blocks of dst's rows, run as rayon tasks. A row vector is
/// split along its columns (faer itself computes it transposed). Each output element is the same sum in the same
/// order as in one sequential product: blocks keep faer on the same kernels as the whole product.
fn row_blocks<T: KernelFloat>(
    dst: MatMut<'_, T>,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
) {
    if dst.nrows() == 1 && dst.ncols() > 1 {
        return row_blocks(dst.transpose_mut(), rhs.transpose(), lhs.transpose(), alpha);
    }
    let (rows, per_row) = (dst.nrows(), dst.ncols() * lhs.ncols());
    let min_rows = rows
        .div_ceil(ROW_TASKS)
        .max(MIN_TASK_ROWS)
        .max(SMALL_PRODUCT_MACS / per_row.max(1) + 1);
    row_tasks(dst, lhs, min_rows, &|dst, lhs| {
        matmul(dst, Accum::Replace, lhs, rhs, alpha, Par::Seq)
    })
}

/// Splits dst and lhs into halves of rows, as rayon tasks, until a block has fewer than 2 `min_rows` rows, and
/// runs `block` on each (the rows of dst depend on the same rows of lhs only).
fn row_tasks<T: KernelFloat>(
    dst: MatMut<'_, T>,
    lhs: MatRef<'_, T>,
    min_rows: usize,
    block: &(impl Fn(MatMut<'_, T>, MatRef<'_, T>) + Sync),
) {
    let rows = dst.nrows();
    if rows < 2 * min_rows {
        block(dst, lhs);
        return;
    }
    let mid = rows / 2;
    let (top, bottom) = dst.split_at_row_mut(mid);
    let (lhs_top, lhs_bottom) = lhs.split_at_row(mid);
    join(
        || row_tasks(top, lhs_top, min_rows, block),
        || row_tasks(bottom, lhs_bottom, min_rows, block),
    );
}

/// Which product of a weight matrix W `[out, in]` (row-major) a dense product takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightOp {
    /// dst `[out, B]` = W src `[in, B]` (the forward product, no bias).
    Forward,
    /// dst `[in, B]` = W^T src `[out, B]` (the feedback W^T delta). W row-major `[out, in]` is W^T column-major
    /// `[in, out]`: no copy.
    Transpose,
}

/// dst = W src or W^T src as `op` says (W_{k-1} forward, W_k for the feedback), states column-major `[n, B]`,
/// counted in `macs`.
pub fn dense_product<T: KernelFloat>(
    w: &Matrix<T>,
    op: WeightOp,
    src: &[T],
    batch: usize,
    dst: &mut [T],
    par: Exec,
    macs: &mut u64,
) {
    let (out, inp) = (w.rows(), w.cols());
    let w = match op {
        WeightOp::Forward => MatRef::from_row_major_slice(w.as_slice(), out, inp),
        WeightOp::Transpose => MatRef::from_column_major_slice(w.as_slice(), inp, out),
    };
    let (rows, cols) = (w.nrows(), w.ncols());
    *macs += (rows * cols * batch) as u64;
    product(
        MatMut::from_column_major_slice_mut(&mut dst[..rows * batch], rows, batch),
        w,
        MatRef::from_column_major_slice(&src[..cols * batch], cols, batch),
        T::one(),
        par,
    );
}

/// G `[out, in]` (row-major, the layout of W) = scale * e `[out, B]` z^T `[B, in]` (a weight gradient).
#[allow(clippy::too_many_arguments)]
pub fn gradient_product<T: KernelFloat>(
    e: &[T],
    out: usize,
    z: &[T],
    inp: usize,
    batch: usize,
    scale: T,
    g: &mut [T],
    par: Exec,
    macs: &mut u64,
) {
    *macs += (out * inp * batch) as u64;
    product(
        MatMut::from_row_major_slice_mut(g, out, inp),
        MatRef::from_column_major_slice(&e[..out * batch], out, batch),
        MatRef::from_column_major_slice(&z[..inp * batch], inp, batch).transpose(),
        scale,
        par,
    );
}

/// Feed-forward pass ([`Network::forward`]'s twin): fills `ws.a[k]` with a_k = W_{k-1} z_{k-1} + b_{k-1} and
/// `ws.plus[k]` with z_k for k = 1..=L (x is z_0, row-major `[batch, in]`). Returns the feed-forward scale of
/// [`crate::reference::infer`]: max(1, max_k max |z_k|), and records each layer's max |z_k| in the tags.
pub fn forward<T: KernelFloat>(
    net: &Network<T>,
    ws: &mut Workspace<T>,
    x: &[T],
    batch: usize,
    par: Exec,
) -> f64 {
    let depth = net.depth();
    let mut scale = 1.0f64;
    for k in 1..=depth {
        let len = ws.widths[k] * batch;
        let src: &[T] = if k == 1 { x } else { &ws.plus[k - 1] };
        let layer = &net.layers[k - 1];
        dense_product(
            &layer.w,
            WeightOp::Forward,
            src,
            batch,
            &mut ws.a[k],
            par,
            &mut ws.macs,
        );
        let act = (k < depth).then_some(net.activation);
        let m = bias_activate(act, &layer.b, &mut ws.a[k][..len], &mut ws.plus[k][..len]);
        ws.tags.layer_max[k] = m;
        ws.tags.layer_non_finite[k] = !m.is_finite();
        scale = scale.max(m);
    }
    scale
}
