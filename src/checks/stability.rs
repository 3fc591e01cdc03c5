//! Stability of the inference iteration (Section 4): the loop gain of one schedule pass, its closed forms for
//! original DP (Eq. 3) with identity activations, and a sufficient contraction condition for DP+ (Eq. 8) with ReLU.
//!
//! Derivations are in `docs/stability.md`. Notation (per sample, column vectors): M_k = W_{L-1} ... W_k,
//! S = sum_{k=1}^{L-1} M_k M_k^T, zeta = alpha abar, c_alpha = beta / ((1 + alpha beta)(1 - abar beta)).
//!
//! The estimator [`loop_gain`] works on any network and method: it linearises one pass of the schedule (the map
//! the reference's [`iterate`] applies) around a state by finite differences in f64 and runs power iteration on
//! those Jacobian-vector products. For piecewise-linear networks it is exact (up to rounding) as long as the
//! perturbation crosses no kink.

use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};
use crate::reference::activation::Activation;
use crate::reference::inference::iterate;
use crate::reference::matrix::Matrix;
use crate::reference::method::{Config, Method, OutputRule, Schedule};
use crate::reference::network::{Layer, Network};
use crate::reference::scalar::{to_f64, Scalar};
use crate::reference::state::DualState;
use crate::reference::update::{feedback, pre_activation};

/// Converts a matrix of any float type to f64 (exact for the supported types).
pub fn matrix_f64<T: Scalar>(m: &Matrix<T>) -> Matrix<f64> {
    Matrix::from_fn(m.rows(), m.cols(), |i, j| to_f64(m.get(i, j)))
}

/// The same network in f64.
pub fn network_f64<T: Scalar>(net: &Network<T>) -> Network<f64> {
    Network {
        layers: net
            .layers
            .iter()
            .map(|l| Layer {
                w: matrix_f64(&l.w),
                b: l.b.iter().map(|&v| to_f64(v)).collect(),
            })
            .collect(),
        activation: net.activation,
        loss: net.loss,
    }
}

/// The same states in f64.
pub fn state_f64<T: Scalar>(s: &DualState<T>) -> DualState<f64> {
    DualState {
        plus: s.plus.iter().map(matrix_f64).collect(),
        minus: s.minus.iter().map(matrix_f64).collect(),
    }
}

/// Result of [`loop_gain_estimate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoopGain {
    /// Estimated spectral radius of the Jacobian of one pass (geometric mean of the norm growth over the second
    /// half of the power iteration); 0 when the Jacobian annihilates the iterate (a one-shot iteration).
    pub gain: f64,
    /// Signed Rayleigh quotient v^T J v of the last unit iterate: close to +gain for a real positive dominant
    /// eigenvalue (monotone growth or decay), to -gain for a real negative one (oscillation).
    pub rayleigh: f64,
    /// Power-iteration steps run.
    pub steps: usize,
}

fn flatten(s: &DualState<f64>) -> Vec<f64> {
    let mut v = Vec::new();
    for k in 1..s.plus.len() {
        v.extend_from_slice(s.plus[k].as_slice());
        v.extend_from_slice(s.minus[k].as_slice());
    }
    v
}

fn unflatten_into(s: &mut DualState<f64>, v: &[f64]) {
    let mut i = 0;
    for k in 1..s.plus.len() {
        for m in [&mut s.plus[k], &mut s.minus[k]] {
            let n = m.as_slice().len();
            m.as_mut_slice().copy_from_slice(&v[i..i + n]);
            i += n;
        }
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Loop gain of one pass of `cfg.schedule` around `state` (the spectral radius of the pass's Jacobian on the states
/// z_k^+-, k = 1..L; Section 4's "iteration"), estimated with `steps` power-iteration steps on finite-difference
/// Jacobian-vector products in f64. The perturbation is 1e-5 of the state scale: the finite-difference error is
/// then about eps_f64 / 1e-5 ~ 2e-11 relative from rounding, O(1e-5) from the curvature of smooth activations, and
/// zero from the nonlinearity for piecewise-linear activations when no unit's nudged pre-activation lies within that
/// distance of a kink.
pub fn loop_gain_estimate<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    x: &Matrix<T>,
    y: &Matrix<T>,
    state: &DualState<T>,
    steps: usize,
) -> Result<LoopGain> {
    net.validate()?;
    net.validate_batch(x, y)?;
    cfg.validate(net.loss)?;
    let net = network_f64(net);
    let y = matrix_f64(y);
    let x = matrix_f64(x);
    let base = state_f64(state);
    if base.plus[0] != x {
        return Err(Error::Unsupported(
            "the state's input layer differs from x".into(),
        ));
    }
    let depth = net.depth();
    let ff = net.forward(&x);
    let frozen = net.loss.weighted_gradient(&ff[depth], &y, cfg.beta);
    let pass = |s: &DualState<f64>| {
        let mut s = s.clone();
        iterate(&net, cfg, &mut s, &y, &frozen);
        s
    };
    let x0 = flatten(&base);
    let f0 = flatten(&pass(&base));
    let scale = x0.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
    let h = 1e-5 * scale;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let mut v: Vec<f64> = (0..x0.len()).map(|_| rng.random_range(-1.0..1.0)).collect();
    let n0 = norm(&v);
    v.iter_mut().for_each(|e| *e /= n0);
    let mut work = base.clone();
    let mut logs = Vec::with_capacity(steps);
    let mut rayleigh = 0.0;
    for _ in 0..steps {
        let xp: Vec<f64> = x0.iter().zip(&v).map(|(a, d)| a + h * d).collect();
        unflatten_into(&mut work, &xp);
        let fp = flatten(&pass(&work));
        let jv: Vec<f64> = fp.iter().zip(&f0).map(|(a, b)| (a - b) / h).collect();
        let nj = norm(&jv);
        rayleigh = v.iter().zip(&jv).map(|(a, b)| a * b).sum();
        if nj == 0.0 || !nj.is_finite() {
            let gain = if nj == 0.0 { 0.0 } else { f64::INFINITY };
            return Ok(LoopGain {
                gain,
                rayleigh,
                steps,
            });
        }
        logs.push(nj.ln());
        v = jv.into_iter().map(|e| e / nj).collect();
    }
    let tail = &logs[logs.len() / 2..];
    let gain = if tail.is_empty() {
        0.0
    } else {
        (tail.iter().sum::<f64>() / tail.len() as f64).exp()
    };
    Ok(LoopGain {
        gain,
        rayleigh,
        steps,
    })
}

/// [`loop_gain_estimate`] with 200 power-iteration steps.
pub fn loop_gain<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    x: &Matrix<T>,
    y: &Matrix<T>,
    state: &DualState<T>,
) -> Result<f64> {
    Ok(loop_gain_estimate(net, cfg, x, y, state, 200)?.gain)
}

/// Original DP's output feedback under the exact min/max of Eq. 3 (least squares):
/// delta_L = z_L^+ - z_L^- = -c_alpha (a_L - y) with c_alpha = beta / ((1 + alpha beta)(1 - abar beta)).
pub fn original_output_coefficient(alpha: f64, beta: f64) -> f64 {
    beta / ((1.0 + alpha * beta) * (1.0 - (1.0 - alpha) * beta))
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

/// lambda_max of sum_{k=1}^{L-1} M_k M_k^T, M_k = W_{L-1} ... W_k (the weights only; W_0 does not enter).
pub fn feedback_gram_lambda_max<T: Scalar>(net: &Network<T>, steps: usize) -> f64 {
    let net = network_f64(net);
    let depth = net.depth();
    let out = net.output_width();
    let mut s = Matrix::zeros(out, out);
    // M_k as an [out, n_k] matrix, built downwards: M_{L-1} = W_{L-1}, M_k = M_{k+1} W_k.
    let mut m = net.layers[depth - 1].w.clone();
    for k in (1..depth).rev() {
        if k < depth - 1 {
            m = m.mul(&net.layers[k].w);
        }
        let g = m.mul_transpose(&m);
        s = s.zip(&g, |a, b| a + b);
    }
    // S is symmetric PSD: its largest eigenvalue is its spectral norm.
    spectral_norm(&s, steps)
}

/// Original DP (Eq. 3, exact output rule), identity activations, up-down schedule: the loop gain
/// G = |2 alpha - 1| c_alpha lambda_max(S) (docs/stability.md, "Original DP"). The pass maps the output error
/// e = a_L - y to e_ff - (2 alpha - 1) c_alpha S e, so the iteration converges iff G < 1 and diverges iff G > 1
/// (oscillating for alpha > 1/2, monotone for alpha < 1/2).
pub fn original_dp_identity_gain<T: Scalar>(net: &Network<T>, alpha: f64, beta: f64) -> f64 {
    (2.0 * alpha - 1.0).abs()
        * original_output_coefficient(alpha, beta)
        * feedback_gram_lambda_max(net, 500)
}

/// Original DP (Eq. 3, exact output rule), up-down schedule, piecewise-linear f, at a state where no hidden unit's
/// two nudged pre-activations a + alpha b and a - abar b lie on different pieces: the loop gain of the pass while the
/// pattern holds is G = |2 alpha - 1| c_alpha max over the batch of lambda_max(sum_{k=1}^{L-1} N_k N_k^T) with
/// N_k = W_{L-1} D_{L-1} ... W_k D_k and D_k = f'(a_k) (for ReLU the 0/1 mask of active units).
/// None when some unit straddles a kink, or f is not piecewise linear.
pub fn original_dp_masked_gain<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    state: &DualState<T>,
) -> Option<f64> {
    if !net.activation.is_piecewise_linear() {
        return None;
    }
    let net = network_f64(net);
    let state = state_f64(state);
    let (alpha, abar) = (cfg.alpha, cfg.abar());
    let depth = net.depth();
    let rule = Method::OriginalDp.hidden_rule(alpha);
    let kink = net.activation.kink();
    let mut masks = vec![Matrix::zeros(0, 0); depth];
    for k in 1..depth {
        let a = pre_activation(&net, &state, k, alpha);
        let b = feedback(&net, &state, k, alpha, &rule);
        for (&ai, &bi) in a.as_slice().iter().zip(b.as_slice()) {
            if let Some(x) = kink {
                if (ai + alpha * bi > x) != (ai - abar * bi > x) {
                    return None;
                }
            }
        }
        masks[k] = net.activation_derivative(k, &a);
    }
    let out = net.output_width();
    let mut worst = 0.0_f64;
    for r in 0..state.plus[0].rows() {
        // N_k as an [out, n_k] matrix, built downwards: N_{L-1} = W_{L-1} D_{L-1}, N_k = N_{k+1} W_k D_k.
        let mut s = Matrix::zeros(out, out);
        let mut n: Option<Matrix<f64>> = None;
        for k in (1..depth).rev() {
            let w = &net.layers[k].w;
            let base = match &n {
                None => w.clone(),
                Some(prev) => prev.mul(w),
            };
            let d = &masks[k];
            let nk = Matrix::from_fn(base.rows(), base.cols(), |i, j| {
                base.get(i, j) * d.get(r, j)
            });
            s = s.zip(&nk.mul_transpose(&nk), |x, y| x + y);
            n = Some(nk);
        }
        worst = worst.max(spectral_norm(&s, 500));
    }
    Some((2.0 * alpha - 1.0).abs() * original_output_coefficient(alpha, cfg.beta) * worst)
}

/// [`original_dp_identity_gain`] when every W_k (k >= 1) is s times a matrix with orthonormal rows of equal width:
/// S = (sum_{j=1}^{L-1} s^{2j}) I.
pub fn original_dp_layer_gain(alpha: f64, beta: f64, s: f64, depth: usize) -> f64 {
    let sum: f64 = (1..depth).map(|j| s.powi(2 * j as i32)).sum();
    (2.0 * alpha - 1.0).abs() * original_output_coefficient(alpha, beta) * sum
}

/// The layer gain s at which [`original_dp_layer_gain`] equals `target` (bisection; the gain is increasing in s).
/// Infinite when alpha = 1/2 or L = 1 (the gain is identically 0).
pub fn original_dp_scale_for_gain(alpha: f64, beta: f64, depth: usize, target: f64) -> f64 {
    if depth < 2 || alpha == 0.5 {
        return f64::INFINITY;
    }
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while original_dp_layer_gain(alpha, beta, hi, depth) < target {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if original_dp_layer_gain(alpha, beta, mid, depth) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The threshold layer gain s*(alpha, beta, L): original DP diverges for s > s* and converges for s < s*.
pub fn original_dp_threshold_scale(alpha: f64, beta: f64, depth: usize) -> f64 {
    original_dp_scale_for_gain(alpha, beta, depth, 1.0)
}

/// Kink pattern of one DP+ ReLU hidden unit at (a, b): its nudged pre-activations a + abar b and a - alpha b (Eq. 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitPattern {
    /// Both > 0: zbar = a, delta = b.
    Active,
    /// Both <= 0: zbar = 0, delta = 0.
    Inactive,
    /// a + abar b > 0 >= a - alpha b: zbar = alpha (a + abar b), delta = a + abar b.
    StraddleUp,
    /// a - alpha b > 0 >= a + abar b: zbar = abar (a - alpha b), delta = -(a - alpha b).
    StraddleDown,
}

impl UnitPattern {
    pub fn of(alpha: f64, a: f64, b: f64) -> Self {
        let p = a + (1.0 - alpha) * b > 0.0;
        let m = a - alpha * b > 0.0;
        match (p, m) {
            (true, true) => UnitPattern::Active,
            (false, false) => UnitPattern::Inactive,
            (true, false) => UnitPattern::StraddleUp,
            (false, true) => UnitPattern::StraddleDown,
        }
    }
    pub fn straddles(self) -> bool {
        matches!(self, UnitPattern::StraddleUp | UnitPattern::StraddleDown)
    }
}

/// Kink patterns of every hidden unit (layers 1..L-1, per layer a batch x width matrix) under the DP+ rule at `state`,
/// with b = W_k^T delta_{k+1} from the state itself.
pub fn dp_plus_patterns<T: Scalar>(
    net: &Network<T>,
    alpha: f64,
    state: &DualState<T>,
) -> Vec<Vec<UnitPattern>> {
    let net = network_f64(net);
    let state = state_f64(state);
    let rule = Method::DpPlus.hidden_rule(alpha);
    (1..net.depth())
        .map(|k| {
            let a = pre_activation(&net, &state, k, alpha);
            let b = feedback(&net, &state, k, alpha, &rule);
            a.as_slice()
                .iter()
                .zip(b.as_slice())
                .map(|(&a, &b)| UnitPattern::of(alpha, a, b))
                .collect()
        })
        .collect()
}

/// Number of hidden units (times batch rows) whose nudged pre-activations straddle the kink.
pub fn straddling_units<T: Scalar>(net: &Network<T>, alpha: f64, state: &DualState<T>) -> usize {
    dp_plus_patterns(net, alpha, state)
        .iter()
        .flatten()
        .filter(|p| p.straddles())
        .count()
}

/// The two DP+ contraction bounds of docs/stability.md ("DP+ for alpha in (0, 1)").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DpPlusBound {
    /// rho(C) with the layer norms restricted to the kink pattern at the state (max over the batch): an upper bound
    /// of the loop gain while no unit changes piece. 0 when no unit straddles.
    pub local: f64,
    /// rho(C) with the full layer norms: when < 1 the pass is a contraction everywhere (unique fixed point,
    /// convergence from any start).
    pub global: f64,
    /// Straddling units (times batch rows) at the state.
    pub straddling: usize,
}

/// Spectral radius bound of a small nonnegative matrix: the Collatz-Wielandt upper bound max_i (C v)_i / v_i of
/// C + eps 11^T at its power-iteration vector (>= rho(C) for any positive v).
fn nonnegative_radius(c: &[Vec<f64>]) -> f64 {
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

/// Comparison matrix C over the carried feedback (delta_2..delta_L) of one up-down pass, from per-layer numbers:
/// nu[k] bounds ||W_k Za_k||, tau[k] bounds ||W_k Zb_k W_k^T|| / zeta, straddle[k] says whether delta_k depends on
/// a_k (k = 1..L-1, index 0 unused), `beta_out` is the output's d delta_L / d a_L (beta for Eq. 16, 0 when frozen).
fn comparison_matrix(
    depth: usize,
    zeta: f64,
    beta_out: f64,
    nu: &[f64],
    tau: &[f64],
    straddle: &[bool],
) -> Vec<Vec<f64>> {
    let n = depth - 1; // carried D_2..D_L -> index j - 2
    let unit = |j: usize| {
        let mut v = vec![0.0; n];
        v[j - 2] = 1.0;
        v
    };
    let axpy = |a: f64, x: &[f64], y: &[f64]| -> Vec<f64> {
        x.iter().zip(y).map(|(xi, yi)| a * xi + yi).collect()
    };
    // Up sweep: eps_1 = 0, eps_{k+1} <= nu_k eps_k + zeta tau_k D_{k+1}.
    let mut eps = vec![vec![0.0; n]; depth + 1];
    for k in 1..depth {
        eps[k + 1] = axpy(
            nu[k],
            &eps[k],
            &unit(k + 1)
                .iter()
                .map(|v| v * zeta * tau[k])
                .collect::<Vec<_>>(),
        );
    }
    // Down sweep: D'_L = beta eps_L, D'_k <= [S_k nonempty] eps_k + nu_k D'_{k+1}.
    let mut dp = vec![vec![0.0; n]; depth + 1];
    dp[depth] = eps[depth].iter().map(|v| beta_out * v).collect();
    for k in (2..depth).rev() {
        let s = if straddle[k] { 1.0 } else { 0.0 };
        dp[k] = axpy(
            nu[k],
            &dp[k + 1],
            &eps[k].iter().map(|v| s * v).collect::<Vec<_>>(),
        );
    }
    (2..=depth).map(|j| dp[j].clone()).collect()
}

/// The DP+ contraction bounds for ReLU hidden layers, up-down schedule, alpha in [0, 1], Eq. 16 output
/// (or its frozen-gradient convention). None for other methods, activations or schedules.
pub fn dp_plus_relu_bound<T: Scalar>(
    net: &Network<T>,
    cfg: &Config,
    state: &DualState<T>,
) -> Option<DpPlusBound> {
    if cfg.method != Method::DpPlus
        || net.activation != Activation::Relu
        || cfg.schedule != Schedule::UpDown
    {
        return None;
    }
    let beta_out = match cfg.output_rule() {
        OutputRule::Eq16 => cfg.beta,
        OutputRule::Eq16FrozenGradient => 0.0,
        _ => return None,
    };
    let depth = net.depth();
    if depth < 2 {
        return Some(DpPlusBound {
            local: 0.0,
            global: 0.0,
            straddling: 0,
        });
    }
    let zeta = cfg.alpha * cfg.abar();
    let net64 = network_f64(net);
    let steps = 300;
    // Global: nu_k = ||W_k||, tau_k = ||W_k||^2, every layer may straddle.
    let mut nu = vec![0.0; depth];
    let mut tau = vec![0.0; depth];
    for k in 1..depth {
        nu[k] = spectral_norm(&net64.layers[k].w, steps);
        tau[k] = nu[k] * nu[k];
    }
    let global = nonnegative_radius(&comparison_matrix(
        depth,
        zeta,
        beta_out,
        &nu,
        &tau,
        &vec![true; depth],
    ));
    // Local: per sample, restricted to the pattern.
    let patterns = dp_plus_patterns(net, cfg.alpha, state);
    let batch = state.plus[0].rows();
    let mut local = 0.0_f64;
    let mut straddling = 0;
    for r in 0..batch {
        let mut nu = vec![0.0; depth];
        let mut tau = vec![0.0; depth];
        let mut straddle = vec![false; depth];
        for k in 1..depth {
            let w = &net64.layers[k].w;
            let width = w.cols();
            let pat = &patterns[k - 1][r * width..(r + 1) * width];
            // W_k P_N (columns of units not inactive) and W_k Sigma_k W_k^T (Sigma = +1 up, -1 down straddles).
            let wn = Matrix::from_fn(w.rows(), width, |i, j| {
                if pat[j] == UnitPattern::Inactive {
                    0.0
                } else {
                    w.get(i, j)
                }
            });
            let sign = |p: UnitPattern| match p {
                UnitPattern::StraddleUp => 1.0,
                UnitPattern::StraddleDown => -1.0,
                _ => 0.0,
            };
            let ws = Matrix::from_fn(w.rows(), width, |i, j| sign(pat[j]) * w.get(i, j));
            let count = pat.iter().filter(|p| p.straddles()).count();
            straddling += count;
            straddle[k] = count > 0;
            nu[k] = spectral_norm(&wn, steps);
            tau[k] = if count > 0 {
                spectral_norm(&ws.mul_transpose(w), steps)
            } else {
                0.0
            };
        }
        local = local.max(nonnegative_radius(&comparison_matrix(
            depth, zeta, beta_out, &nu, &tau, &straddle,
        )));
    }
    Some(DpPlusBound {
        local,
        global,
        straddling,
    })
}

/// Orthogonal n x n matrix from a seeded product of three Householder reflections (a test-network builder).
pub fn orthogonal(n: usize, seed: u64) -> Matrix<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut q = Matrix::from_fn(n, n, |i, j| if i == j { 1.0 } else { 0.0 });
    for _ in 0..3 {
        let v: Vec<f64> = (0..n)
            .map(|_| rng.sample::<f64, _>(rand_distr::StandardNormal))
            .collect();
        let vv: f64 = v.iter().map(|x| x * x).sum();
        let h = Matrix::from_fn(n, n, |i, j| {
            (if i == j { 1.0 } else { 0.0 }) - 2.0 * v[i] * v[j] / vv
        });
        q = q.mul(&h);
    }
    q
}
