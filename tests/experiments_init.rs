//! The public codes' initialisations (`lecun-normal`, `normal-fan-in`) against their stated variance 1/fan_in,
//! and `--init-from`: a run started from a safetensors file of initial weights.

use std::path::PathBuf;

use dualprop::experiments::checkpoint::load_weights;
use dualprop::experiments::data::{synthetic, DataSource};
use dualprop::experiments::metrics::{RunResult, VerdictCounts};
use dualprop::experiments::progress::Progress;
use dualprop::experiments::spec::{parse_init, Algorithm, RunSpec};
use dualprop::experiments::train::{run, RunOptions};
use dualprop::reference::network::{TRUNCATED_NORMAL_STD, TRUNCATION};
use dualprop::reference::{Activation, Init, Loss, Network};
use dualprop::store::TensorSet;

/// Fan-in and fan-out of the sampled layer: the paper's hidden layer, 10^6 weights.
const FAN_IN: usize = 1000;
const FAN_OUT: usize = 1000;

/// Allowed deviation of a sample statistic from its expectation, in standard errors. With 10^6 weights the
/// standard error of the sample variance is at most sigma^2 sqrt(2 / n) = 0.14% (the normal's kurtosis 3 is the
/// largest of the distributions tested), so 5 standard errors is 0.71%: a false alarm has probability ~6e-7,
/// while the other schemes' variances (1/3 or 2 of 1/fan_in) are hundreds of standard errors away.
const STANDARD_ERRORS: f64 = 5.0;

fn weights(init: Init, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let net = Network::<f64>::init(
        &[FAN_IN, FAN_OUT],
        Activation::Relu,
        Loss::LeastSquares,
        init,
        seed,
    )
    .unwrap();
    let layer = &net.layers[0];
    (layer.w.as_slice().to_vec(), layer.b.clone())
}

fn mean_var(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// Checks mean 0 and variance `variance` within [`STANDARD_ERRORS`] (sample statistics; the expectation is
/// the scheme's closed form, an independent route).
fn assert_moments(init: Init, variance: f64) {
    let (w, _) = weights(init, 11);
    let n = w.len() as f64;
    let (mean, var) = mean_var(&w);
    let mean_tol = STANDARD_ERRORS * (variance / n).sqrt();
    assert!(
        mean.abs() < mean_tol,
        "{init:?}: mean {mean} beyond {mean_tol}"
    );
    let var_tol = STANDARD_ERRORS * variance * (2.0 / n).sqrt();
    assert!(
        (var - variance).abs() < var_tol,
        "{init:?}: variance {var} vs {variance} (tolerance {var_tol})"
    );
}

/// lecun-normal (flax's Dense default): variance exactly 1/fan_in after truncation, every weight inside the
/// truncation at 2 standard deviations of the underlying normal, zero bias.
#[test]
fn lecun_normal_has_variance_one_over_fan_in_and_is_truncated() {
    assert_moments(Init::LecunNormal, 1.0 / FAN_IN as f64);
    let (w, b) = weights(Init::LecunNormal, 12);
    let bound = TRUNCATION * (1.0 / FAN_IN as f64).sqrt() / TRUNCATED_NORMAL_STD;
    let max = w.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(max < bound, "max |w| {max} beyond the truncation {bound}");
    // Truncation is not a clip: no mass piles up at the bound (the largest weight is not the bound itself).
    assert!(max > 0.99 * bound, "max |w| {max} far inside {bound}");
    assert!(b.iter().all(|&v| v == 0.0));
}

/// normal-fan-in (the Julia script's randn / sqrt(fan_in)): variance 1/fan_in, untruncated, zero bias.
#[test]
fn normal_fan_in_has_variance_one_over_fan_in_and_is_untruncated() {
    assert_moments(Init::NormalFanIn, 1.0 / FAN_IN as f64);
    let (w, b) = weights(Init::NormalFanIn, 13);
    // P(|z| > 2.28) = 2.3% per weight: among 10^6 plain normal draws some exceed lecun-normal's bound.
    let bound = TRUNCATION * (1.0 / FAN_IN as f64).sqrt() / TRUNCATED_NORMAL_STD;
    assert!(w.iter().any(|x| x.abs() > bound));
    assert!(b.iter().all(|&v| v == 0.0));
}

/// The contrast the issue is about: PyTorch's default has a third of that variance.
#[test]
fn torch_default_has_a_third_of_the_variance() {
    assert_moments(Init::TorchDefault, 1.0 / (3.0 * FAN_IN as f64));
}

/// The constant jax divides by is the standard deviation of a standard normal truncated to (-2, 2): computed
/// here by Simpson's rule on the density (an independent route to the constant), to 1e-12.
#[test]
fn truncated_normal_std_constant_is_the_truncated_std() {
    let density = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let n = 20_000;
    let h = 2.0 * TRUNCATION / n as f64;
    let simpson = |f: &dyn Fn(f64) -> f64| {
        (0..=n)
            .map(|i| {
                let z = -TRUNCATION + i as f64 * h;
                let weight = if i == 0 || i == n {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                weight * f(z)
            })
            .sum::<f64>()
            * h
            / 3.0
    };
    let mass = simpson(&|z| density(z));
    let second = simpson(&|z| z * z * density(z));
    let std = (second / mass).sqrt();
    assert!((std - TRUNCATED_NORMAL_STD).abs() < 1e-12, "{std}");
}

#[test]
fn init_names_parse() {
    assert_eq!(parse_init("lecun-normal"), Ok(Init::LecunNormal));
    assert_eq!(parse_init("normal-fan-in"), Ok(Init::NormalFanIn));
    assert!(parse_init("lecun").unwrap_err().contains("lecun-normal"));
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dualprop-init-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tiny_spec() -> RunSpec {
    let mut s = RunSpec::paper(Algorithm::DpPlus, 1.0, 3, 7, 1);
    s.widths = vec![16, 12, 10];
    s.batch = 10;
    s.adam.learning_rate = 1e-2;
    s
}

/// Writes the seeded initial weights of `spec` under the oracle's names W.{k}, b.{k}.
fn write_initial(spec: &RunSpec, path: &std::path::Path) -> Network<f32> {
    let net = Network::<f32>::init(
        &spec.widths,
        Activation::Relu,
        Loss::LeastSquares,
        spec.init,
        spec.seed,
    )
    .unwrap();
    let mut set = TensorSet::default();
    for (k, l) in net.layers.iter().enumerate() {
        set.put(
            format!("W.{k}"),
            vec![l.w.rows(), l.w.cols()],
            l.w.as_slice(),
        );
        set.put(format!("b.{k}"), vec![l.b.len()], &l.b);
    }
    set.write_atomic(path).unwrap();
    net
}

/// A run started from a file of its own seeded initial weights ends bitwise where the seeded run ends (two
/// routes to the initial weights: the seeded draw, and the file read through the tensor store).
#[test]
fn init_from_a_file_of_the_seeded_weights_trains_to_the_same_bits() {
    let dir = temp_dir("from");
    let data_dir = dir.join("data");
    synthetic::write_dir(&data_dir, 60, 20, 4, true).unwrap();
    let data = DataSource::Dir(data_dir).load().unwrap();
    let seeded = tiny_spec();
    let file = dir.join("init.safetensors");
    let net = write_initial(&seeded, &file);
    assert_eq!(load_weights::<f32>(&file, &seeded.widths).unwrap(), net);
    let mut from = seeded.clone();
    from.init_from = Some(file);
    let go = |s: &RunSpec, name: &str| {
        run::<f32>(
            s,
            &data,
            &dir.join(name),
            &RunOptions::default(),
            &Progress::silent(),
        )
        .unwrap()
    };
    let (a, b) = (go(&seeded, "seeded"), go(&from, "from"));
    assert_eq!(a.weights_hash, b.weights_hash);
    // A different start gives different weights (the file is really what the run starts from).
    let mut other = from.clone();
    other.seed = 8;
    other.init_from = None;
    assert_ne!(go(&other, "other").weights_hash, a.weights_hash);
}

/// Files of another depth or shape, or missing a tensor, are refused with a typed error.
#[test]
fn init_from_refuses_wrong_files() {
    let dir = temp_dir("wrong");
    let spec = tiny_spec();
    let file = dir.join("init.safetensors");
    write_initial(&spec, &file);
    for widths in [vec![16, 12], vec![16, 12, 10, 10], vec![16, 11, 10]] {
        let e = load_weights::<f32>(&file, &widths).unwrap_err();
        assert!(matches!(e, dualprop::Error::Format(_)), "{widths:?}: {e}");
    }
    let e = load_weights::<f32>(&dir.join("missing.safetensors"), &spec.widths).unwrap_err();
    assert!(matches!(e, dualprop::Error::Io { .. }), "{e}");
}

/// result.json and metrics lines written before the verdict split and the run totals still read; their failed
/// steps count as diverged.
#[test]
fn results_without_verdict_totals_stay_readable() {
    let counts: VerdictCounts = serde_json::from_str(
        r#"{"converged":3,"bounded":0,"failed":1,"max_bounded_residual":0.0,"mean_iterations_run":2.0}"#,
    )
    .unwrap();
    assert_eq!((counts.diverged, counts.non_finite), (0, 0));
    assert_eq!(counts.fractions(), Some([0.75, 0.0, 0.25, 0.0]));
    let spec = serde_json::to_value(tiny_spec()).unwrap();
    let mut spec_old = spec.clone();
    spec_old.as_object_mut().unwrap().remove("init_from");
    let old = serde_json::json!({
        "spec": spec_old, "status": "completed", "epochs_completed": 1, "divergence": null, "last": null,
        "wall_seconds": 1.0, "weights_hash": "0", "engine": "kernels"
    });
    let r: RunResult = serde_json::from_value(old).unwrap();
    assert_eq!(r.verdicts, None);
    assert_eq!(r.spec.init_from, None);
}
