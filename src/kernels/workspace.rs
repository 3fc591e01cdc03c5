//! Every buffer an inference or training step needs, sized once for the layer widths and the largest batch.

use crate::error::{Error, Result};
use crate::reference::{Gradients, Matrix};

use super::KernelFloat;

/// Marks a cached product as computed from no known input.
pub(crate) const STALE: u64 = u64::MAX;

/// Buffers of one network shape. State buffers of layer k hold `widths[k] * max_batch` values; a batch of B uses
/// the first `widths[k] * B` of them as a column-major `[widths[k], B]` matrix.
#[derive(Debug, Clone)]
pub struct Workspace<T> {
    pub(crate) widths: Vec<usize>,
    pub(crate) max_batch: usize,
    /// Pre-activations a_k (k = 1..=L, bias included): the feed-forward ones after [`super::dense::forward`],
    /// then the inference's cache of W_{k-1} zbar_{k-1} + b_{k-1}.
    pub(crate) a: Vec<Vec<T>>,
    /// z_k^+ (k = 1..=L); after the feed-forward pass, the feed-forward activations z_k.
    pub(crate) plus: Vec<Vec<T>>,
    /// z_k^- (k = 1..=L).
    pub(crate) minus: Vec<Vec<T>>,
    /// zbar_k = alpha z_k^+ + (1 - alpha) z_k^- (k = 0..=L; k = 0 is the mean of the clamped input).
    pub(crate) zbar: Vec<Vec<T>>,
    /// delta_k = z_k^+ - z_k^- (k = 1..=L).
    pub(crate) delta: Vec<Vec<T>>,
    /// Feedback into hidden layer k, W_k^T delta_{k+1} or W_k^T (D_{k+1} delta_{k+1}) (k = 1..L-1).
    pub(crate) fb: Vec<Vec<T>>,
    /// Two scratch states of the largest width (back-propagated errors, D delta, the output gradient g).
    pub(crate) tmp: [Vec<T>; 2],
    /// beta l'(z_L) at the feed-forward prediction (the frozen-gradient output rule).
    pub(crate) frozen: Vec<T>,
    /// The gradient of the last estimate, shaped like the network.
    pub(crate) grad: Gradients<T>,
    /// Cache tags of the inference (see [`super::inference`]).
    pub(crate) tags: Tags,
    /// Multiply-adds executed by the dense products since the counter was last reset.
    pub(crate) macs: u64,
}

/// Version numbers that say which cached product is still valid.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tags {
    /// Bumped whenever zbar_k changes (any bit), k = 0..=L.
    pub zbar_ver: Vec<u64>,
    /// Bumped whenever delta_k changes, k = 0..=L.
    pub delta_ver: Vec<u64>,
    /// Bumped whenever a_k is recomputed, k = 0..=L.
    pub a_ver: Vec<u64>,
    /// zbar_ver[k-1] that a_k was computed from ([`STALE`]: none).
    pub a_src: Vec<u64>,
    /// delta_ver[k+1] and a_ver[k+1] that fb_k was computed from.
    pub fb_src_delta: Vec<u64>,
    pub fb_src_a: Vec<u64>,
    /// Largest |z| over both states of layer k, and whether it holds a NaN or an infinity.
    pub layer_max: Vec<f64>,
    pub layer_non_finite: Vec<bool>,
    /// Layer k's states are still bitwise those [`super::inference`] set from the feed-forward pass.
    pub at_feed_forward: Vec<bool>,
}

impl<T: KernelFloat> Workspace<T> {
    /// Buffers for a network with widths `[in, h1, ..., out]` and batches of at most `max_batch` samples.
    pub fn new(widths: &[usize], max_batch: usize) -> Result<Self> {
        if widths.len() < 2 {
            return Err(Error::EmptyNetwork);
        }
        if let Some(layer) = widths.iter().position(|&n| n == 0) {
            return Err(Error::EmptyLayer { layer });
        }
        if max_batch == 0 {
            return Err(Error::EmptyBatch);
        }
        let depth = widths.len() - 1;
        let state = |k: usize| vec![T::zero(); widths[k] * max_batch];
        let layers = |from: usize, to: usize| -> Vec<Vec<T>> {
            (0..=depth)
                .map(|k| {
                    if (from..=to).contains(&k) {
                        state(k)
                    } else {
                        Vec::new()
                    }
                })
                .collect()
        };
        let widest = widths.iter().copied().max().unwrap_or(0);
        let n = depth + 1;
        Ok(Self {
            widths: widths.to_vec(),
            max_batch,
            a: layers(1, depth),
            plus: layers(1, depth),
            minus: layers(1, depth),
            zbar: layers(0, depth),
            delta: layers(1, depth),
            fb: layers(1, depth - 1),
            tmp: [
                vec![T::zero(); widest * max_batch],
                vec![T::zero(); widest * max_batch],
            ],
            frozen: state(depth),
            grad: Gradients {
                w: (0..depth)
                    .map(|k| Matrix::zeros(widths[k + 1], widths[k]))
                    .collect(),
                b: (0..depth).map(|k| vec![T::zero(); widths[k + 1]]).collect(),
            },
            tags: Tags {
                zbar_ver: vec![0; n],
                delta_ver: vec![0; n],
                a_ver: vec![0; n],
                a_src: vec![STALE; n],
                fb_src_delta: vec![STALE; n],
                fb_src_a: vec![STALE; n],
                layer_max: vec![0.0; n],
                layer_non_finite: vec![false; n],
                at_feed_forward: vec![false; n],
            },
            macs: 0,
        })
    }

    /// The gradient written by the last [`super::gradient::dual_gradient`] or [`super::gradient::backprop`].
    pub fn gradient(&self) -> &Gradients<T> {
        &self.grad
    }

    /// Widths `[in, h1, ..., out]` this workspace was sized for.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// Largest batch this workspace holds.
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    /// Number of weight layers L.
    pub fn depth(&self) -> usize {
        self.widths.len() - 1
    }

    /// Bytes held by the buffers (states, scratch and one gradient; not the weights or Adam's moments).
    pub fn bytes(&self) -> usize {
        let groups = [
            &self.a,
            &self.plus,
            &self.minus,
            &self.zbar,
            &self.delta,
            &self.fb,
        ];
        let states: usize = groups.iter().flat_map(|g| g.iter()).map(Vec::len).sum();
        let scratch = self.tmp.iter().map(Vec::len).sum::<usize>() + self.frozen.len();
        let grad = self
            .grad
            .w
            .iter()
            .map(|w| w.as_slice().len())
            .sum::<usize>()
            + self.grad.b.iter().map(Vec::len).sum::<usize>();
        (states + scratch + grad) * std::mem::size_of::<T>()
    }

    /// Bytes [`Workspace::new`] allocates for these widths and batch, without allocating them.
    pub fn scratch_bytes(widths: &[usize], max_batch: usize) -> usize {
        let depth = widths.len().saturating_sub(1);
        let hidden: usize = widths.iter().skip(1).take(depth.saturating_sub(1)).sum();
        let above: usize = widths.iter().skip(1).sum();
        let widest = widths.iter().copied().max().unwrap_or(0);
        // a, plus, minus, delta over layers 1..=L; zbar over 0..=L; fb over 1..L-1; two scratch; frozen.
        let states =
            4 * above + (widths.first().copied().unwrap_or(0) + above) + hidden + 2 * widest;
        let out = widths.last().copied().unwrap_or(0);
        let params: usize = widths.windows(2).map(|p| p[0] * p[1] + p[1]).sum();
        (states * max_batch + out * max_batch + params) * std::mem::size_of::<T>()
    }

    /// Checks a batch against the workspace: `x` is row-major `[batch, in]`, `y` row-major `[batch, out]`.
    pub(crate) fn check_batch(&self, x: &[T], y: Option<&[T]>, batch: usize) -> Result<()> {
        if batch == 0 {
            return Err(Error::EmptyBatch);
        }
        if batch > self.max_batch {
            return Err(Error::Shape {
                what: "batch (larger than the workspace's max_batch)".into(),
                expected: (self.max_batch, 1),
                got: (batch, 1),
            });
        }
        check_slice("x", x, batch, self.widths[0])?;
        if let Some(y) = y {
            check_slice("y", y, batch, self.widths[self.depth()])?;
        }
        Ok(())
    }
}

/// A row-major `[batch, width]` slice of finite values.
fn check_slice<T: KernelFloat>(what: &str, data: &[T], batch: usize, width: usize) -> Result<()> {
    if data.len() != batch * width {
        return Err(Error::Shape {
            what: format!("{what} (row-major [batch, width] data length)"),
            expected: (batch, width),
            got: (data.len(), 1),
        });
    }
    if let Some(index) = data.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: what.into(),
            index,
        });
    }
    Ok(())
}

impl<T: KernelFloat> Workspace<T> {
    /// Sets every buffer (not the tags) to `value`.
    #[doc(hidden)]
    pub fn fill(&mut self, value: T) {
        let groups = [
            &mut self.a,
            &mut self.plus,
            &mut self.minus,
            &mut self.zbar,
            &mut self.delta,
            &mut self.fb,
        ];
        for group in groups {
            group.iter_mut().flatten().for_each(|v| *v = value);
        }
        self.tmp.iter_mut().flatten().for_each(|v| *v = value);
        self.frozen.iter_mut().for_each(|v| *v = value);
        self.grad
            .w
            .iter_mut()
            .for_each(|w| w.as_mut_slice().iter_mut().for_each(|v| *v = value));
        self.grad.b.iter_mut().flatten().for_each(|v| *v = value);
    }
}
