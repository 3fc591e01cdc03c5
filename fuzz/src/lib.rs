//! Fuzz harnesses for the oracle, shared by the cargo-fuzz targets in `fuzz_targets/`.
//!
//! - [`case_reader`]: any bytes as a case file and as a candidate output file: typed errors only, never a panic.
//! - [`config_reader`]: any bytes as a JSON configuration, run on a fixed small case when accepted.
//! - [`differential`]: the faer kernels against the reference on small fuzzed networks, within the rounding bound
//!   derived in tests/kernels_agreement.rs.

use dualprop::checks::tolerance::{
    evaluation_order_margin, kernel_gradient_agreement, kernel_state_agreement,
};
use dualprop::kernels::infer_batch;
use dualprop::oracle::condition::{SignPerturbation, PATTERNS, PERTURBATION};
use dualprop::oracle::{run, verify, Case, OracleConfig};
use dualprop::reference::scalar::to_f64;
use dualprop::reference::FloatType;
use dualprop::reference::{
    dual_gradient, infer, Activation, Config, Layer, Loss, Matrix, Method, Network, OutputRule,
    Schedule,
};
use dualprop::store::{Tensor, TensorSet};
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};

/// Largest case (weights plus batch values) the harnesses run inference on, so each input stays fast.
const MAX_VALUES: usize = 4096;
/// Largest K the configuration harness runs.
const MAX_ITERATIONS: usize = 64;

fn small_config() -> OracleConfig {
    OracleConfig::from_json(
        br#"{"method":"dp_plus","alpha":0.5,"beta":0.5,"iterations":2,"activation":"tanh"}"#,
    )
    .expect("the fixed configuration is valid")
}

/// A fixed 3 -> 4 -> 2 case, batch 2.
pub fn small_case() -> Case {
    let mut set = TensorSet::default();
    let mut put = |name: &str, shape: Vec<usize>| {
        let n: usize = shape.iter().product();
        let data = (0..n).map(|i| ((i * 37 % 11) as f64 - 5.0) / 8.0).collect();
        set.tensors
            .insert(name.into(), Tensor::new(FloatType::F64, shape, data));
    };
    put("W.0", vec![4, 3]);
    put("b.0", vec![4]);
    put("W.1", vec![2, 4]);
    put("b.1", vec![2]);
    put("x", vec![2, 3]);
    put("y", vec![2, 2]);
    Case::from_tensors(&set).expect("the fixed case is valid")
}

fn size(case: &Case) -> usize {
    case.layers
        .iter()
        .map(|(w, b)| w.data.len() + b.data.len())
        .sum::<usize>()
        + case.x.data.len()
        + case.y.data.len()
}

/// Bytes as a case (then run) and as a candidate output for the fixed case (then verified).
pub fn case_reader(data: &[u8]) {
    let cfg = small_config();
    if let Ok(set) = TensorSet::from_bytes(data, "fuzz") {
        if let Ok(case) = Case::from_tensors(&set) {
            if size(&case) <= MAX_VALUES {
                let _ = run(&case, &cfg);
            }
        }
        let _ = verify(&small_case(), &cfg, &set);
    }
}

/// Bytes as a JSON configuration; accepted ones run on the fixed case.
pub fn config_reader(data: &[u8]) {
    if let Ok(cfg) = OracleConfig::from_json(data) {
        if cfg.iterations <= MAX_ITERATIONS {
            let _ = run(&small_case(), &cfg);
        }
    }
}

/// A small network, batch and configuration decoded from fuzz bytes. Weights are multiples of 1/16 in
/// [-2, 2], so that exact ties (a pre-activation of exactly 0 at a ReLU kink) are reachable.
pub struct Problem {
    pub net: Network<f64>,
    pub x: Matrix<f64>,
    pub y: Matrix<f64>,
    pub cfg: Config,
    pub early_exit: bool,
}

fn value(u: &mut Unstructured<'_>, bound: f64) -> ArbResult<f64> {
    let q: i8 = u.arbitrary()?;
    Ok(bound * q as f64 / 128.0)
}

fn matrix(
    u: &mut Unstructured<'_>,
    rows: usize,
    cols: usize,
    bound: f64,
) -> ArbResult<Matrix<f64>> {
    let mut data = Vec::with_capacity(rows * cols);
    for _ in 0..rows * cols {
        data.push(value(u, bound)?);
    }
    Ok(Matrix::from_vec(rows, cols, data).expect("length matches"))
}

/// Decodes a problem; `None` when the bytes run out or describe an invalid configuration.
pub fn problem(data: &[u8]) -> Option<Problem> {
    let mut u = Unstructured::new(data);
    let p = (|| -> ArbResult<Option<Problem>> {
        let depth = u.int_in_range(1..=4)?;
        let mut widths = vec![u.int_in_range(1..=6usize)?];
        for _ in 0..depth {
            widths.push(u.int_in_range(1..=6usize)?);
        }
        let batch = u.int_in_range(1..=4usize)?;
        let method = *u.choose(&Method::ALL)?;
        let alpha = *u.choose(&[0.0, 0.25, 0.5, 0.75, 1.0])?;
        let beta = *u.choose(&[0.01, 0.1, 0.5, 0.9, 1.0])?;
        let iterations = u.int_in_range(1..=8usize)?;
        let schedule = *u.choose(&Schedule::ALL)?;
        let output = *u.choose(&[
            None,
            Some(OutputRule::Eq16),
            Some(OutputRule::Eq16FrozenGradient),
            Some(OutputRule::OriginalExact),
            Some(OutputRule::OriginalLinearized),
        ])?;
        let activation = *u.choose(&[
            Activation::Identity,
            Activation::Relu,
            Activation::LeakyRelu { slope: 0.125 },
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Softplus,
        ])?;
        let loss = *u.choose(&[Loss::LeastSquares, Loss::SoftmaxCrossEntropy])?;
        let early_exit: bool = u.arbitrary()?;
        let mut layers = Vec::new();
        for pair in widths.windows(2) {
            let w = matrix(&mut u, pair[1], pair[0], 2.0)?;
            let b = matrix(&mut u, 1, pair[1], 0.5)?.into_vec();
            layers.push(Layer { w, b });
        }
        let x = matrix(&mut u, batch, widths[0], 2.0)?;
        let y = matrix(&mut u, batch, widths[depth], 1.0)?;
        let mut cfg = Config::new(method, alpha, beta, iterations).with_schedule(schedule);
        cfg.output = output;
        let Ok(net) = Network::new(layers, activation, loss) else {
            return Ok(None);
        };
        if cfg.validate(loss).is_err() {
            return Ok(None);
        }
        Ok(Some(Problem {
            net,
            x,
            y,
            cfg,
            early_exit,
        }))
    })();
    p.ok().flatten()
}

/// Largest |a - b|; NaN on one side only counts as infinite.
fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| match (x.is_nan(), y.is_nan()) {
            (true, true) => 0.0,
            (false, false) if x == y => 0.0,
            (false, false) => (x - y).abs(),
            _ => f64::INFINITY,
        })
        .fold(0.0, f64::max)
}

/// The outcome of one differential comparison, for the harness and the regression tests.
#[derive(Debug, PartialEq)]
pub enum Agreement {
    /// Both failed (diverged or non-finite): nothing more to compare.
    BothFailed,
    /// Worst difference as a fraction of its bound (<= 1 means agreement).
    Within(f64),
    /// The reference in f32 failed where f64 did not, so the amplification of rounding is unknown: not judged.
    Unjudged,
    Disagree(String),
}

/// Kernel (f64) against reference (f64) on one problem. States may differ by the larger of the bound of
/// tests/kernels_agreement.rs, 2 U (n + 4) u M (which assumes the sweeps are Lipschitz with O(1) constants), and
/// [`evaluation_order_margin`] (16 x condition x eps_f64) for the larger of two measured conditions, which covers
/// expansive iterations that amplify rounding:
/// - the reference's own f32-vs-f64 state spread in f32 epsilons (the oracle's rule; the finding kept in
///   tests/oracle_regressions.rs);
/// - [`input_condition`], the states' change per unit relative perturbation of every input, measured in f64. The
///   f32 spread alone missed fuzz/findings/differential-2.bin: there the f32 run moved the states by only 6 eps_f32,
///   while a relative perturbation of 1 eps of the weights moves the f64 states by 376 to 14264 eps_f64 (8 sign
///   patterns) and the kernel differs by 2369 eps_f64 (fuzz/tests/findings.rs).
///
/// Where that margin reaches the states' magnitude M no digit is guaranteed and the problem is [`Agreement::Unjudged`].
/// Gradients within 2 tol M (1 + B u) / beta.
pub fn compare(p: &Problem) -> Agreement {
    let problem = match dualprop::reference::Problem::new(&p.net, &p.cfg, &p.x, &p.y) {
        Ok(problem) => problem,
        Err(e) => return Agreement::Disagree(format!("the problem was refused: {e}")),
    };
    let reference = match infer(&problem) {
        Ok(r) => r,
        Err(e) => return Agreement::Disagree(format!("reference refused a valid problem: {e}")),
    };
    let kernel = match infer_batch(&problem, p.early_exit) {
        Ok(k) => k,
        Err(e) => return Agreement::Disagree(format!("kernel refused a valid problem: {e}")),
    };
    if reference.verdict.failed() || kernel.verdict.failed() {
        return if reference.verdict.failed() == kernel.verdict.failed() {
            Agreement::BothFailed
        } else {
            Agreement::Disagree(format!(
                "reference {:?} but kernel {:?}",
                reference.verdict, kernel.verdict
            ))
        };
    }
    let depth = p.net.depth();
    let n_max = *p.net.widths().iter().max().unwrap_or(&1);
    let updates = depth + p.cfg.iterations * p.cfg.schedule.layer_order(depth).len();
    let m = (0..=depth)
        .flat_map(|k| {
            [
                &reference.states.plus[k],
                &reference.states.minus[k],
                &reference.feed_forward[k],
            ]
        })
        .map(|s| to_f64(s.max_abs()))
        .fold(1.0, f64::max);
    let Some(spread) = f32_spread(p, &reference.states) else {
        return Agreement::Unjudged;
    };
    let Some(sensitivity) = input_condition(p, &reference.states) else {
        return Agreement::Unjudged;
    };
    // The f32 spread in f32 epsilons is the measured condition of the oracle's rule.
    let condition = (spread / FloatType::F32.epsilon()).max(sensitivity);
    let amplified = evaluation_order_margin(condition, FloatType::F64);
    if amplified >= m {
        return Agreement::Unjudged;
    }
    let tol = kernel_state_agreement::<f64>(updates, n_max, m).max(amplified);
    let mut worst = 0.0f64;
    for k in 0..=depth {
        for (what, a, b) in [
            ("z+", &kernel.states.plus[k], &reference.states.plus[k]),
            ("z-", &kernel.states.minus[k], &reference.states.minus[k]),
        ] {
            let d = max_diff(a.as_slice(), b.as_slice());
            if d > tol {
                return Agreement::Disagree(format!("{what} of layer {k}: {d:e} > {tol:e}"));
            }
            worst = worst.max(d / tol);
        }
    }
    let g = dual_gradient(&p.net, &p.cfg, &reference.states);
    let g_tol = kernel_gradient_agreement::<f64>(tol, m, p.x.rows(), p.cfg.beta);
    for k in 0..depth {
        for (what, a, b) in [
            ("grad W", kernel.gradient.w[k].as_slice(), g.w[k].as_slice()),
            ("grad b", &kernel.gradient.b[k][..], &g.b[k][..]),
        ] {
            let d = max_diff(a, b);
            if d > g_tol {
                return Agreement::Disagree(format!("{what} of layer {k}: {d:e} > {g_tol:e}"));
            }
            worst = worst.max(d / g_tol);
        }
    }
    Agreement::Within(worst)
}

/// Condition of the reference's states: the largest max |z' - z| / h over `PATTERNS` random sign patterns that
/// perturb every weight, bias, input and target by the relative amount h = `PERTURBATION` (the constants and the
/// signs of `verify`'s measured input condition, `dualprop::oracle::condition`); absolute, like the f32 spread in
/// f32 epsilons, so that condition x eps is the change a relative perturbation of one eps causes. `None` when a
/// perturbed run fails, so that a problem on the edge of divergence is not judged.
pub fn input_condition(p: &Problem, states64: &dualprop::reference::DualState<f64>) -> Option<f64> {
    let mut signs = SignPerturbation::new(PERTURBATION);
    let mut perturb = |m: &Matrix<f64>| {
        let mut data = m.as_slice().to_vec();
        signs.apply(&mut data);
        Matrix::from_vec(m.rows(), m.cols(), data).expect("same length")
    };
    let mut worst = 0.0f64;
    for _ in 0..PATTERNS {
        let layers = p
            .net
            .layers
            .iter()
            .map(|l| {
                let b = perturb(&Matrix::from_vec(1, l.b.len(), l.b.clone()).ok()?);
                Some(Layer {
                    w: perturb(&l.w),
                    b: b.into_vec(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let net = Network::new(layers, p.net.activation, p.net.loss).ok()?;
        let (x, y) = (perturb(&p.x), perturb(&p.y));
        let r = infer(&dualprop::reference::Problem::new(&net, &p.cfg, &x, &y).ok()?).ok()?;
        if r.verdict.failed() {
            return None;
        }
        let moved = max_diff_states(&r.states, states64);
        if !moved.is_finite() {
            return None;
        }
        worst = worst.max(moved / PERTURBATION);
    }
    Some(worst)
}

/// Largest |a - b| over z+ and z- of every layer.
fn max_diff_states(
    a: &dualprop::reference::DualState<f64>,
    b: &dualprop::reference::DualState<f64>,
) -> f64 {
    a.plus
        .iter()
        .zip(&b.plus)
        .chain(a.minus.iter().zip(&b.minus))
        .map(|(x, y)| max_diff(x.as_slice(), y.as_slice()))
        .fold(0.0, f64::max)
}

/// Largest |z_f32 - z_f64| over the reference's states, or `None` when the f32 run fails or is not finite.
fn f32_spread(p: &Problem, states64: &dualprop::reference::DualState<f64>) -> Option<f64> {
    let to32 = |m: &Matrix<f64>| {
        Matrix::from_vec(
            m.rows(),
            m.cols(),
            m.as_slice().iter().map(|&v| v as f32).collect(),
        )
        .expect("same length")
    };
    let layers = p
        .net
        .layers
        .iter()
        .map(|l| Layer {
            w: to32(&l.w),
            b: l.b.iter().map(|&v| v as f32).collect(),
        })
        .collect();
    let net = Network::new(layers, p.net.activation, p.net.loss).ok()?;
    let (x, y) = (to32(&p.x), to32(&p.y));
    let r = infer(&dualprop::reference::Problem::new(&net, &p.cfg, &x, &y).ok()?).ok()?;
    if r.verdict.failed() {
        return None;
    }
    let pairs = r
        .states
        .plus
        .iter()
        .zip(&states64.plus)
        .chain(r.states.minus.iter().zip(&states64.minus));
    let spread = pairs
        .flat_map(|(a, b)| a.as_slice().iter().zip(b.as_slice()))
        .map(|(&a, &b)| (a as f64 - b).abs())
        .fold(0.0, f64::max);
    spread.is_finite().then_some(spread)
}

/// Fuzz entry: panics (a finding) when the kernel and the reference disagree. With `DUALPROP_FUZZ_STATS` set it
/// prints one line per input (decoded or not, and the outcome), to check that the target is not vacuous.
pub fn differential(data: &[u8]) {
    let stats = std::env::var_os("DUALPROP_FUZZ_STATS").is_some();
    let Some(p) = problem(data) else {
        if stats {
            eprintln!("STATS undecoded");
        }
        return;
    };
    if let Some(dir) = std::env::var_os("DUALPROP_FUZZ_DUMP") {
        dump(&p, std::path::Path::new(&dir)).expect("dump the problem");
    }
    let outcome = compare(&p);
    if stats {
        eprintln!(
            "STATS {:?} {:?} K={} depth={} {:?}",
            p.cfg.method,
            p.net.activation,
            p.cfg.iterations,
            p.net.depth(),
            outcome
        );
    }
    if let Agreement::Disagree(why) = outcome {
        panic!(
            "kernel and reference disagree: {why}\nwidths {:?}, {:?}, {:?}",
            p.net.widths(),
            p.cfg,
            p.net.activation
        );
    }
}

/// Writes a decoded problem as an oracle case (`problem.case.safetensors`) and configuration
/// (`problem.config.json`) into `dir`, so that a finding becomes a regression test of the main crate.
pub fn dump(p: &Problem, dir: &std::path::Path) -> dualprop::Result<()> {
    use dualprop::oracle::ComputeFloat;
    use dualprop::store::write_atomic;
    let mut set = TensorSet::default();
    let mut put = |name: String, shape: Vec<usize>, data: &[f64]| {
        set.tensors
            .insert(name, Tensor::new(FloatType::F64, shape, data.to_vec()));
    };
    for (k, layer) in p.net.layers.iter().enumerate() {
        put(
            format!("W.{k}"),
            vec![layer.w.rows(), layer.w.cols()],
            layer.w.as_slice(),
        );
        put(format!("b.{k}"), vec![layer.b.len()], &layer.b);
    }
    put("x".into(), vec![p.x.rows(), p.x.cols()], p.x.as_slice());
    put("y".into(), vec![p.y.rows(), p.y.cols()], p.y.as_slice());
    let cfg = OracleConfig {
        method: p.cfg.method,
        alpha: p.cfg.alpha,
        beta: p.cfg.beta,
        iterations: p.cfg.iterations,
        schedule: p.cfg.schedule,
        activation: p.net.activation,
        loss: p.net.loss,
        output: p.cfg.output,
        float: ComputeFloat::Fixed(FloatType::F64),
        damping: p.cfg.damping,
        hidden_alpha: p.cfg.hidden_alpha,
    };
    write_atomic(&dir.join("problem.case.safetensors"), &set.to_bytes()?)?;
    write_atomic(&dir.join("problem.config.json"), cfg.to_json().as_bytes())
}
