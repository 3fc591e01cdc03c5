//! Fused elementwise passes: each reads its inputs once and writes every derived state in the same loop.
//!
//! The rules themselves are the reference's: activations call [`Activation::apply`]/[`Activation::derivative`]
//! on a variant fixed outside the loop (so the match folds away), and every per-unit rule (nudges, output rules,
//! D delta, Eq. 6, the loss of a row) is the reference's own function from [`crate::reference::rules`] or
//! [`Loss`], inlined into the fused loops.

use crate::reference::rules;
use crate::reference::scalar::to_f64;
use crate::reference::{Activation, Loss};

use super::KernelFloat;

/// An activation whose variant is known at compile time.
pub(crate) trait Unit<T: KernelFloat>: Copy {
    fn f(self, x: T) -> T;
    fn df(self, x: T) -> T;
}

/// A unit type `$name` (with an optional field) whose activation is `$variant`, read from the unit `$u`.
macro_rules! unit {
    ($name:ident $(($field:ty))?, |$u:ident| $variant:expr) => {
        #[derive(Clone, Copy)]
        pub(crate) struct $name $((pub $field))?;
        impl<T: KernelFloat> Unit<T> for $name {
            #[inline(always)]
            fn f(self, x: T) -> T {
                let $u = self;
                $variant.apply(x)
            }
            #[inline(always)]
            fn df(self, x: T) -> T {
                let $u = self;
                $variant.derivative(x)
            }
        }
    };
}

unit!(IdentityUnit, |_u| Activation::Identity);
unit!(ReluUnit, |_u| Activation::Relu);
unit!(LeakyUnit(f64), |u| Activation::LeakyRelu { slope: u.0 });
unit!(TanhUnit, |_u| Activation::Tanh);
unit!(SigmoidUnit, |_u| Activation::Sigmoid);
unit!(SoftplusUnit, |_u| Activation::Softplus);

/// Runs `$body` with `$u` bound to the compile-time unit of the activation `$act`.
#[rustfmt::skip] // one line per activation
macro_rules! with_unit {
    ($act:expr, $u:ident => $body:expr) => {
        match $act {
            $crate::reference::Activation::Identity => { let $u = $crate::kernels::elementwise::IdentityUnit; $body }
            $crate::reference::Activation::Relu => { let $u = $crate::kernels::elementwise::ReluUnit; $body }
            $crate::reference::Activation::LeakyRelu { slope } => {
                let $u = $crate::kernels::elementwise::LeakyUnit(slope); $body
            }
            $crate::reference::Activation::Tanh => { let $u = $crate::kernels::elementwise::TanhUnit; $body }
            $crate::reference::Activation::Sigmoid => { let $u = $crate::kernels::elementwise::SigmoidUnit; $body }
            $crate::reference::Activation::Softplus => { let $u = $crate::kernels::elementwise::SoftplusUnit; $body }
        }
    };
}
pub(crate) use with_unit;

/// Largest |x| with NaN propagating, as [`crate::reference::matrix::max_abs`].
#[inline(always)]
fn fold_max_abs<T: KernelFloat>(m: T, x: T) -> T {
    if x.is_nan() || m.is_nan() {
        T::nan()
    } else {
        m.max(x.abs())
    }
}

/// Feed-forward epilogue of layer k: a += b (per row), z = f(a) (or z = a on the linear output layer).
/// Returns max |z| (NaN if any z is NaN).
pub(crate) fn bias_activate<T: KernelFloat>(
    act: Option<Activation>,
    bias: &[T],
    a: &mut [T],
    z: &mut [T],
) -> f64 {
    let n = bias.len();
    let mut m = T::zero();
    match act {
        None => {
            for (ac, zc) in a.chunks_exact_mut(n).zip(z.chunks_exact_mut(n)) {
                for ((ai, zi), &bi) in ac.iter_mut().zip(zc.iter_mut()).zip(bias) {
                    *ai = *ai + bi;
                    *zi = *ai;
                    m = fold_max_abs(m, *ai);
                }
            }
        }
        Some(act) => with_unit!(act, u => {
            for (ac, zc) in a.chunks_exact_mut(n).zip(z.chunks_exact_mut(n)) {
                for ((ai, zi), &bi) in ac.iter_mut().zip(zc.iter_mut()).zip(bias) {
                    *ai = *ai + bi;
                    let v = Unit::<T>::f(u, *ai);
                    *zi = v;
                    m = fold_max_abs(m, v);
                }
            }
        }),
    }
    to_f64(m)
}

/// a += b per row (the bias of a cached pre-activation).
pub(crate) fn add_bias<T: KernelFloat>(bias: &[T], a: &mut [T]) {
    for ac in a.chunks_exact_mut(bias.len()) {
        for (ai, &bi) in ac.iter_mut().zip(bias) {
            *ai = *ai + bi;
        }
    }
}

/// out = v * f'(a) elementwise (D delta for the Eq. 20 variants).
pub(crate) fn times_derivative<T: KernelFloat>(act: Activation, v: &[T], a: &[T], out: &mut [T]) {
    with_unit!(act, u => {
        let df = |x| Unit::<T>::df(u, x);
        for ((o, &vi), &ai) in out.iter_mut().zip(v).zip(a) {
            *o = rules::through_derivative(df, vi, ai);
        }
    })
}

/// Initial dual state of a layer from its feed-forward activations z: z+ = z- = z, zbar = alpha z + abar z,
/// delta = z - z. Returns whether zbar equals z bitwise (then products computed from z stay valid for zbar).
pub(crate) fn init_state<T: KernelFloat>(
    z: &[T],
    alpha: T,
    abar: T,
    minus: Option<&mut [T]>,
    zbar: &mut [T],
    delta: Option<&mut [T]>,
) -> bool {
    let mut same = true;
    for (zb, &zi) in zbar.iter_mut().zip(z) {
        let v = rules::mean(alpha, abar, zi, zi);
        same &= v.bits() == zi.bits();
        *zb = v;
    }
    if let Some(minus) = minus {
        minus.copy_from_slice(z);
    }
    if let Some(delta) = delta {
        for (d, &zi) in delta.iter_mut().zip(z) {
            // z - z as the reference's delta (0, or NaN for an infinite z).
            #[allow(clippy::eq_op)]
            let d0 = zi - zi;
            *d = d0;
        }
    }
    same
}

/// What one layer update did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PassStats {
    /// Some bit of z+ or z- changed.
    pub state_changed: bool,
    pub zbar_changed: bool,
    pub delta_changed: bool,
    /// Largest |z| over both new states (NaN and infinities excluded: see `non_finite`).
    pub max_abs: f64,
    pub non_finite: bool,
    /// Largest |new - old| over both states.
    pub change: f64,
}

/// The four state buffers of one layer that a fused update writes, and the weights of its mean (Eq. 6).
pub(crate) struct LayerOut<'a, T> {
    pub alpha: T,
    pub abar: T,
    pub plus: &'a mut [T],
    pub minus: &'a mut [T],
    pub zbar: &'a mut [T],
    pub delta: &'a mut [T],
    /// Split the pass into rayon tasks (the kernels' two-thread modes). Every element is computed alone and the
    /// statistics are bit-ORs and maxima, so a split pass gives bitwise the same states and [`PassStats`].
    pub split: bool,
}

/// Elements below which a fused pass is not split further: a task of 2^15 elements takes tens of microseconds,
/// against about 5 microseconds for a rayon fork-join (benches/layout.rs).
const SPLIT_MIN: usize = 1 << 15;

/// The reductions of a fused pass over some elements, in integers (see [`LayerOut::update`]).
#[derive(Clone, Copy, Default)]
struct Partial {
    state_diff: u64,
    zbar_diff: u64,
    delta_diff: u64,
    max_abs: u64,
    change: u64,
}

impl Partial {
    fn merge(self, o: Self) -> Self {
        Self {
            state_diff: self.state_diff | o.state_diff,
            zbar_diff: self.zbar_diff | o.zbar_diff,
            delta_diff: self.delta_diff | o.delta_diff,
            max_abs: self.max_abs.max(o.max_abs),
            change: self.change.max(o.change),
        }
    }
}

impl<'a, T: KernelFloat> LayerOut<'a, T> {
    /// The fused update of one layer: (z+, z-) = rule(u_i, v_i) for every element i, then zbar, delta, the change
    /// flags and the verdict's statistics, in one pass. `rule` (a per-unit rule of [`rules`]) and its two inputs
    /// (a and the feedback, or a and g or y on the output) are the only things that differ between layers and
    /// variants. Written over equal-length slices with integer reductions (bit differences,
    /// [`KernelFloat::abs_bits`] maxima) so that it vectorises.
    #[inline(always)]
    pub(crate) fn update(
        self,
        rule: impl Fn(T, T) -> (T, T) + Sync,
        u: &[T],
        v: &[T],
    ) -> PassStats {
        self.update_from_previous(|u, v, _, _| rule(u, v), u, v)
    }

    /// [`LayerOut::update`] with a rule that also reads the unit's previous (z+, z-) (dampened original DP).
    #[inline(always)]
    pub(crate) fn update_from_previous(
        self,
        rule: impl Fn(T, T, T, T) -> (T, T) + Sync,
        u: &[T],
        v: &[T],
    ) -> PassStats {
        let len = self.plus.len();
        let p = self.fused(&rule, &u[..len], &v[..len]);
        let non_finite = p.max_abs >= T::INFINITY_BITS;
        PassStats {
            state_changed: p.state_diff != 0,
            zbar_changed: p.zbar_diff != 0,
            delta_changed: p.delta_diff != 0,
            max_abs: if non_finite {
                f64::INFINITY
            } else {
                to_f64(T::from_abs_bits(p.max_abs))
            },
            non_finite,
            change: to_f64(T::from_abs_bits(p.change.min(T::INFINITY_BITS))),
        }
    }

    /// The pass over these elements, halved into rayon tasks while [`LayerOut::split`] holds and the halves stay
    /// above [`SPLIT_MIN`].
    fn fused(self, rule: &(impl Fn(T, T, T, T) -> (T, T) + Sync), u: &[T], v: &[T]) -> Partial {
        let len = self.plus.len();
        if self.split && len >= 2 * SPLIT_MIN {
            let (lo, hi) = self.split_at(len / 2);
            let (u0, u1) = u.split_at(len / 2);
            let (v0, v1) = v.split_at(len / 2);
            let (a, b) = rayon::join(|| lo.fused(rule, u0, v0), || hi.fused(rule, u1, v1));
            return a.merge(b);
        }
        let (alpha, abar, plus) = (self.alpha, self.abar, self.plus);
        let (minus, zbar, delta) = (
            &mut self.minus[..len],
            &mut self.zbar[..len],
            &mut self.delta[..len],
        );
        let mut r = Partial::default();
        for i in 0..len {
            let (old_p, old_m) = (plus[i], minus[i]);
            let (p, m) = rule(u[i], v[i], old_p, old_m);
            let (zb, d) = rules::mean_and_delta(alpha, abar, p, m);
            r.state_diff |= (p.bits() ^ old_p.bits()) | (m.bits() ^ old_m.bits());
            r.zbar_diff |= zb.bits() ^ zbar[i].bits();
            r.delta_diff |= d.bits() ^ delta[i].bits();
            r.max_abs = r.max_abs.max(p.abs_bits()).max(m.abs_bits());
            r.change = r
                .change
                .max((p - old_p).abs_bits())
                .max((m - old_m).abs_bits());
            plus[i] = p;
            minus[i] = m;
            zbar[i] = zb;
            delta[i] = d;
        }
        r
    }

    /// The first `mid` elements of every buffer (each cut to the length of `plus` first), and the rest.
    fn split_at(self, mid: usize) -> (Self, Self) {
        let len = self.plus.len();
        let (p0, p1) = self.plus.split_at_mut(mid);
        let (m0, m1) = self.minus[..len].split_at_mut(mid);
        let (z0, z1) = self.zbar[..len].split_at_mut(mid);
        let (d0, d1) = self.delta[..len].split_at_mut(mid);
        let (alpha, abar, split) = (self.alpha, self.abar, self.split);
        let half = |plus, minus, zbar, delta| LayerOut {
            alpha,
            abar,
            plus,
            minus,
            zbar,
            delta,
            split,
        };
        (half(p0, m0, z0, d0), half(p1, m1, z1, d1))
    }
}

/// g = beta l'(z) for every column (sample) of the `[n, B]` output z, as [`Loss::weighted_gradient`]: the
/// unweighted gradient of each sample ([`Loss::gradient_rows`]), then scaled by beta.
pub(crate) fn weighted_gradient<T: KernelFloat>(
    loss: Loss,
    z: &[T],
    y: &[T],
    beta: T,
    n: usize,
    g: &mut [T],
) {
    loss.gradient_rows(z, y, n, g);
    g.iter_mut().for_each(|gi| *gi = *gi * beta);
}

/// Row sums of an `[n, B]` column-major matrix times `scale`, summed over the batch in order (as
/// `column_sums` of the reference's row-major `[B, n]`), written to `out` (length n).
pub(crate) fn row_sums_scaled<T: KernelFloat>(m: &[T], n: usize, scale: T, out: &mut [T]) {
    out.iter_mut().for_each(|o| *o = T::zero());
    for col in m.chunks_exact(n) {
        for (o, &v) in out.iter_mut().zip(col) {
            *o = *o + v;
        }
    }
    out.iter_mut().for_each(|o| *o = *o * scale);
}

/// v *= f'(a) elementwise, in place (the back-propagated error through a hidden layer).
pub(crate) fn scale_by_derivative<T: KernelFloat>(act: Activation, v: &mut [T], a: &[T]) {
    with_unit!(act, u => {
        let df = |x| Unit::<T>::df(u, x);
        for (vi, &ai) in v.iter_mut().zip(a) {
            *vi = rules::through_derivative(df, *vi, ai);
        }
    })
}
