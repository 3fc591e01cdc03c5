//! The committed test vectors (tests/vectors): small seeded cases covering the variants, alpha in {0, 1/2, 1},
//! K in {1, 30}, piecewise-linear and smooth activations, f32 and f64, and the public-code output conventions.
//! `dualprop oracle --regenerate-vectors tests/vectors` rewrites them; tests/oracle_vectors.rs checks them bitwise.

use std::path::Path;

use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};
use crate::oracle::case::Case;
use crate::oracle::compute::run;
use crate::oracle::config::{ComputeFloat, OracleConfig};
use crate::reference::damping::{Damping, DampingValues};
use crate::reference::scalar::{c, to_f64};
use crate::reference::{Activation, FloatType, Loss, Method, OutputRule, Schedule};
use crate::store::{write_atomic, Tensor};

/// One committed vector: a name, the case's shape and dtype, and the configuration.
#[derive(Debug, Clone)]
pub struct VectorSpec {
    /// File stem under tests/vectors, e.g. `dp_plus_a0_k1_relu_f64`.
    pub name: &'static str,
    /// Layer widths [in, h1, ..., out].
    pub widths: &'static [usize],
    /// Batch size B (rows of x and y).
    pub batch: usize,
    /// The case's float type; its values are rounded to it.
    pub dtype: FloatType,
    /// Seed of the case's weights, biases and inputs ([`make_case`]).
    pub seed: u64,
    /// The oracle configuration the expected output is computed with.
    pub config: OracleConfig,
}

#[allow(clippy::too_many_arguments)]
fn spec(
    name: &'static str,
    dtype: FloatType,
    seed: u64,
    method: Method,
    alpha: f64,
    iterations: usize,
    activation: Activation,
    output: Option<OutputRule>,
) -> VectorSpec {
    VectorSpec {
        name,
        widths: &[4, 6, 5, 3],
        batch: 3,
        dtype,
        seed,
        config: OracleConfig {
            method,
            alpha,
            beta: 0.5,
            iterations,
            schedule: Schedule::UpDown,
            activation,
            loss: Loss::LeastSquares,
            output,
            // Vectors are computed in the case's own type, so the f32 reference is pinned too.
            float: ComputeFloat::Case,
            damping: None,
            hidden_alpha: None,
        },
    }
}

/// The list of committed vectors.
pub fn specs() -> Vec<VectorSpec> {
    use Activation::{Relu, Sigmoid, Softplus, Tanh};
    use FloatType::{F32, F64};
    use Method::{DpPlus, Eq21, Eq21Printed, OriginalDp, OriginalDpDampened};
    let damping = DampingValues::new(&[1.0, 2.0]).expect("two finite, nonnegative weights");
    vec![
        spec("dp_plus_a0_k1_relu_f64", F64, 1, DpPlus, 0.0, 1, Relu, None),
        spec(
            "dp_plus_a1_k30_relu_f32",
            F32,
            2,
            DpPlus,
            1.0,
            30,
            Relu,
            None,
        ),
        spec(
            "dp_plus_ahalf_k30_tanh_f64",
            F64,
            3,
            DpPlus,
            0.5,
            30,
            Tanh,
            None,
        ),
        spec(
            "original_dp_a0_k1_relu_f64",
            F64,
            4,
            OriginalDp,
            0.0,
            1,
            Relu,
            None,
        ),
        spec(
            "original_dp_a1_k30_tanh_f32",
            F32,
            5,
            OriginalDp,
            1.0,
            30,
            Tanh,
            None,
        ),
        spec(
            "original_dp_ahalf_k30_relu_f64",
            F64,
            6,
            OriginalDp,
            0.5,
            30,
            Relu,
            None,
        ),
        spec("eq21_ahalf_k30_tanh_f64", F64, 7, Eq21, 0.5, 30, Tanh, None),
        spec("eq21_a0_k1_relu_f32", F32, 8, Eq21, 0.0, 1, Relu, None),
        spec(
            "eq21_printed_a1_k30_tanh_f64",
            F64,
            9,
            Eq21Printed,
            1.0,
            30,
            Tanh,
            None,
        ),
        spec(
            "dp_plus_frozen_ahalf_k30_sigmoid_f64",
            F64,
            10,
            DpPlus,
            0.5,
            30,
            Sigmoid,
            Some(OutputRule::Eq16FrozenGradient),
        ),
        spec(
            "original_dp_linearized_a0_k30_relu_f32",
            F32,
            11,
            OriginalDp,
            0.0,
            30,
            Relu,
            Some(OutputRule::OriginalLinearized),
        ),
        adjusted(
            spec(
                "dp_plus_ahalf_k30_softplus_forward_f64",
                F64,
                12,
                DpPlus,
                0.5,
                30,
                Softplus,
                None,
            ),
            |c| c.schedule = Schedule::ForwardOnly,
        ),
        adjusted(
            spec(
                "dp_plus_a1_k1_tanh_crossentropy_f64",
                F64,
                13,
                DpPlus,
                1.0,
                1,
                Tanh,
                None,
            ),
            |c| c.loss = Loss::SoftmaxCrossEntropy,
        ),
        // Explicit L_k, not the default SVD: an SVD's last bits may differ between CPUs, and vectors are bitwise.
        adjusted(
            spec(
                "original_dp_dampened_a1_k30_tanh_f64",
                F64,
                14,
                OriginalDpDampened,
                1.0,
                30,
                Tanh,
                None,
            ),
            |c| c.damping = Some(Damping::Explicit(damping)),
        ),
    ]
}

/// `spec` with one change to its configuration (a schedule, loss or damping [`spec`]'s arguments do not cover).
fn adjusted(mut spec: VectorSpec, change: impl FnOnce(&mut OracleConfig)) -> VectorSpec {
    change(&mut spec.config);
    spec
}

/// The seeded case of a spec: weights uniform in +-1.5/sqrt(in) (strong enough that the feedback moves states),
/// biases in +-0.1, inputs in [-1, 1], targets one-hot. Values are rounded to the spec's dtype.
pub fn make_case(spec: &VectorSpec) -> Case {
    let mut rng = rand::rngs::StdRng::seed_from_u64(spec.seed);
    let round = |v: f64| crate::with_float!(spec.dtype, T => to_f64(c::<T>(v)));
    let tensor = |shape: Vec<usize>, bound: f64, rng: &mut rand::rngs::StdRng| {
        let n = shape.iter().product();
        let data = (0..n)
            .map(|_| round(rng.random_range(-bound..=bound)))
            .collect();
        Tensor::new(spec.dtype, shape, data)
    };
    let mut layers = Vec::new();
    for pair in spec.widths.windows(2) {
        let bound = 1.5 / (pair[0] as f64).sqrt();
        let w = tensor(vec![pair[1], pair[0]], bound, &mut rng);
        let b = tensor(vec![pair[1]], 0.1, &mut rng);
        layers.push((w, b));
    }
    let x = tensor(vec![spec.batch, spec.widths[0]], 1.0, &mut rng);
    let out = *spec.widths.last().unwrap_or(&1);
    let y_data = (0..spec.batch)
        .flat_map(|i| (0..out).map(move |j| if j == (i * 7 + 1) % out { 1.0 } else { 0.0 }))
        .collect();
    let y = Tensor::new(spec.dtype, vec![spec.batch, out], y_data);
    Case {
        layers,
        x,
        y,
        dtype: spec.dtype,
    }
}

/// File names of a vector: (case, config, expected output).
pub fn paths(dir: &Path, name: &str) -> [std::path::PathBuf; 3] {
    [
        dir.join(format!("{name}.case.safetensors")),
        dir.join(format!("{name}.config.json")),
        dir.join(format!("{name}.expected.safetensors")),
    ]
}

/// Writes every vector into `dir`; returns how many.
pub fn regenerate(dir: &Path) -> Result<usize> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let all = specs();
    for spec in &all {
        let case = make_case(spec);
        let out = run(&case, &spec.config)?;
        let [case_path, cfg_path, out_path] = paths(dir, spec.name);
        write_atomic(&case_path, &case.to_tensors().to_bytes()?)?;
        let cfg_text =
            serde_json::to_string_pretty(&spec.config).map_err(|e| Error::Format(e.to_string()))?;
        write_atomic(&cfg_path, format!("{cfg_text}\n").as_bytes())?;
        out.tensors.write_atomic(&out_path)?;
    }
    Ok(all.len())
}
