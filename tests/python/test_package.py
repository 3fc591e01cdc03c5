"""The `dualprop` Python package (issue 12, docs/python.md), run by tests/python/package_ci.sh in a fresh venv
after `pip install .`. Needs numpy, pytest and safetensors (to read the committed vectors)."""

import json
import os
import pathlib
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from safetensors.numpy import load_file

import dualprop
from dp_numpy import dual_propagation

HERE = pathlib.Path(__file__).resolve().parent
VECTORS = HERE.parent / "vectors"
NAMES = sorted(p.name[: -len(".config.json")] for p in VECTORS.glob("*.config.json"))


def load(name):
    """(weights, biases, x, y) in the case file's float type, and the vector's Config."""
    case = load_file(str(VECTORS / f"{name}.case.safetensors"))
    depth = sum(1 for n in case if n.startswith("W."))
    weights = [case[f"W.{k}"] for k in range(depth)]
    biases = [case[f"b.{k}"] for k in range(depth)]
    config = dualprop.Config.from_json((VECTORS / f"{name}.config.json").read_text())
    return weights, biases, case["x"], case["y"], config


def numpy_implementation(weights, biases, x, y, config, wrong=None):
    """tests/python/dp_numpy.py's outputs, computed in f64 from the case's values."""
    as64 = lambda arrays: [np.asarray(a, dtype=np.float64) for a in arrays]
    return dual_propagation(
        as64(weights), as64(biases), *as64([x, y]), config.to_dict(), wrong
    )


def test_every_committed_vector_is_found():
    """Route: the directory listing; a glob that found nothing would make the parametrized tests vacuous."""
    assert len(NAMES) >= 13, NAMES


@pytest.mark.parametrize("name", NAMES)
def test_numpy_implementation_agrees_on_every_vector(name):
    """Route: an independent numpy implementation written from the paper's equations (dp_numpy.py, no shared
    code) against the crate's reference, through the module; all tensors compared and all states checked."""
    w, b, x, y, cfg = load(name)
    report = dualprop.verify(w, b, x, y, numpy_implementation(w, b, x, y, cfg), cfg)
    assert report.agrees, report.summary()
    assert report.not_given == [] and report.deviating_tensors == []
    assert len(report.tensors) == 6 * len(w) and report.equations
    for t in report.tensors:
        assert t.max_relative <= t.tolerance.relative
        assert report.deviations[t.name] == t.max_relative
        assert report.tolerances[t.name] == t.tolerance.relative


@pytest.mark.parametrize("name", NAMES)
def test_oracle_reproduces_the_committed_vector_bit_for_bit(name):
    """Route: the committed expected files, written by the command line (safetensors I/O in src/oracle/tensors.rs),
    against the module's array conversion in and out: same tensors, same dtypes, same bits."""
    w, b, x, y, cfg = load(name)
    result = dualprop.oracle(w, b, x, y, cfg)
    expected = load_file(str(VECTORS / f"{name}.expected.safetensors"))
    assert sorted(result.tensors) == sorted(expected)
    for n, e in expected.items():
        got = result.tensors[n]
        assert got.dtype == e.dtype and got.shape == e.shape, n
        assert np.array_equal(got.view(np.uint8), e.view(np.uint8)), n
    depth = len(w)
    assert [z.shape for z in result.z_plus] == [(x.shape[0], wk.shape[0]) for wk in w]
    assert all(g.shape == wk.shape for g, wk in zip(result.grad_W + result.bp_grad_W, w + w))
    assert len(result.z_minus) == depth and len(result.grad_b) == len(result.bp_grad_b) == depth
    assert result.verdict["verdict"] in ("converged", "bounded", "diverged", "non_finite")
    if result.kkt is not None:
        labels = json.loads(result.metadata["kkt.1.equations"])
        assert [e["equation"] for e in result.kkt["layers"][0]["equations"]] == labels


def test_memory_order_and_strides_do_not_change_the_result():
    """Route: numpy's own copies. Fortran-ordered and strided views hold the same values as C-ordered arrays,
    so every result must be identical to the bit."""
    w, b, x, y, cfg = load("dp_plus_ahalf_k30_tanh_f64")
    ref = dualprop.oracle(w, b, x, y, cfg)
    fortran = dualprop.oracle([np.asfortranarray(a) for a in w], b, np.asfortranarray(x), np.asfortranarray(y), cfg)
    strided = lambda a: np.repeat(a, 2, axis=-1)[..., ::2]
    views = dualprop.oracle([strided(a) for a in w], [strided(a) for a in b], strided(x), strided(y), cfg)
    for other in (fortran, views):
        for n, t in ref.tensors.items():
            assert np.array_equal(t, other.tensors[n]), n


def test_results_come_back_in_the_inputs_float_type():
    """Route: numpy's float32 rounding. With float32 inputs the oracle computes in f64 (the default) and returns
    float32; that must equal the f64 results on the same values rounded to nearest by numpy."""
    w, b, x, y, _ = load("dp_plus_ahalf_k30_tanh_f64")
    cfg = dualprop.Config(method="dp_plus", alpha=0.5, beta=0.5, iterations=30, activation="tanh")
    f32 = lambda arrays: [np.asarray(a, dtype=np.float32) for a in arrays]
    w32, b32, (x32, y32) = f32(w), f32(b), f32([x, y])
    in64 = dualprop.oracle([a.astype(np.float64) for a in w32], [a.astype(np.float64) for a in b32],
                           x32.astype(np.float64), y32.astype(np.float64), cfg)
    in32 = dualprop.oracle(w32, b32, x32, y32, cfg)
    for n, t in in32.tensors.items():
        if n.startswith(("kkt.", "fixed_point.")):
            assert t.dtype == np.float64, n  # residuals are measurements, always f64
        else:
            assert t.dtype == np.float32, n
            assert np.array_equal(t, in64.tensors[n].astype(np.float32)), n
    computed32 = dualprop.oracle(w32, b32, x32, y32, cfg.replace(float="case"))
    assert computed32.z_plus[0].dtype == np.float32
    assert computed32.summary["computed_in"] == "f32" and in32.summary["computed_in"] == "f64"


def test_a_float32_candidate_is_held_to_float32_tolerances():
    """Route: dp_numpy.py's f64 results rounded to float32 by numpy; their tolerance follows their own type."""
    w, b, x, y, cfg = load("dp_plus_ahalf_k30_tanh_f64")
    mine = {n: t.astype(np.float32) for n, t in numpy_implementation(w, b, x, y, cfg).items()}
    report = dualprop.assert_agrees(w, b, x, y, mine, cfg)
    assert {t.tolerance.float for t in report.tensors} == {"f32"}
    tol64 = dualprop.verify(w, b, x, y, numpy_implementation(w, b, x, y, cfg), cfg).tolerances
    assert all(report.tolerances[n] > tol64[n] for n in tol64)


def test_swapped_alpha_is_rejected_naming_the_equation():
    """Route: a deliberate mistake in the independent implementation (Eq. 8 with alpha and 1 - alpha swapped);
    the module must reject it and name the violated equations, as `dualprop verify` does (tests/python/ci.sh)."""
    w, b, x, y, cfg = load("dp_plus_a0_k1_relu_f64")
    wrong = numpy_implementation(w, b, x, y, cfg, "swapped-alpha")
    report = dualprop.verify(w, b, x, y, wrong, cfg)
    assert not report.agrees
    assert "layer 1: Eq. 10 (+)" in report.violated_equations
    assert "layer 1: fixed point of Eq. 8" in report.violated_equations
    with pytest.raises(AssertionError) as failure:
        dualprop.assert_agrees(w, b, x, y, wrong, cfg)
    message = str(failure.value)
    assert "layer 1: Eq. 10 (+)" in message and "fixed point of Eq. 8" in message
    for name in report.deviating_tensors:
        assert name in message


def test_printed_eq21_sign_is_rejected_naming_the_equation():
    """Route: a deliberate mistake in the independent implementation (Eq. 21's printed feedback sign)."""
    w, b, x, y, cfg = load("eq21_ahalf_k30_tanh_f64")
    wrong = numpy_implementation(w, b, x, y, cfg, "eq21-printed-sign")
    with pytest.raises(AssertionError, match=r"layer 1: Eq\. 20 multiplier") as failure:
        dualprop.assert_agrees(w, b, x, y, wrong, cfg)
    assert "fixed point of Eq. 21 (settled sign)" in str(failure.value)


def test_a_partial_candidate_is_compared_on_what_it_gives():
    """Route: the oracle's own gradients as the candidate (zero deviation); states absent, so no equation."""
    w, b, x, y, cfg = load("dp_plus_ahalf_k30_tanh_f64")
    ref = dualprop.oracle(w, b, x, y, cfg)
    report = dualprop.assert_agrees(w, b, x, y, dualprop.candidate(grad_W=ref.grad_W, grad_b=ref.grad_b), cfg)
    assert sorted(report.deviations) == sorted(f"grad_{p}.{k}" for p in "Wb" for k in range(len(w)))
    assert report.equations == [] and any("z_plus" in n for n in report.not_given)
    assert any("no equation was checked" in n for n in report.notes)


# ---- bad input: each raises the exception class its crate::Error maps to ----

@pytest.fixture
def case():
    return load("dp_plus_ahalf_k30_tanh_f64")


@pytest.mark.parametrize(
    "fields, error, words",
    [
        (dict(alpha=1.5), dualprop.ConfigError, "alpha"),
        (dict(beta=0.0), dualprop.ConfigError, "beta"),
        (dict(iterations=0), dualprop.ConfigError, "iterations"),
        (dict(method="dp_minus"), dualprop.ConfigError, "dp_minus"),
        (dict(activation="swish"), dualprop.ConfigError, "swish"),
        (dict(activation={"leaky_relu": {"slope": -1.0}}), dualprop.ConfigError, "slope"),
        (dict(method="original_dp", alpha=0.0, beta=1.5), dualprop.IllPosedError, "ill-posed"),
        (dict(method="original_dp", loss="softmax_cross_entropy"), dualprop.UnsupportedError, "cross-entropy"),
    ],
)
def test_a_bad_configuration_is_refused_on_construction(fields, error, words):
    """Route: the crate's validation (OracleConfig::validate), reached from Python keywords."""
    base = dict(method="dp_plus", alpha=0.5, beta=0.5, iterations=3, activation="relu")
    with pytest.raises(error, match=words):
        dualprop.Config(**{**base, **fields})


def test_an_unknown_configuration_field_is_refused():
    """Route: the crate's deny_unknown_fields (from_dict) and Python's own keyword check (the constructor)."""
    with pytest.raises(dualprop.ConfigError, match="unknown field"):
        dualprop.Config.from_dict({"method": "dp_plus", "alpha": 0.5, "beta": 0.5, "K": 3, "activation": "relu",
                                   "aplha": 0.5})
    with pytest.raises(TypeError):
        dualprop.Config(method="dp_plus", alpha=0.5, beta=0.5, iterations=3, activation="relu", aplha=1)


DAMPED = "original_dp_dampened_a1_k30_tanh_f64"


def damped_config(**changes):
    """The committed dampened vector's configuration built from keywords."""
    fields = dict(method="original_dp_dampened", alpha=1.0, beta=0.5, iterations=30, activation="tanh",
                  float="case", damping={"explicit": [1.0, 2.0]})
    return dualprop.Config(**{**fields, **changes})


def test_damping_from_keywords_is_the_committed_configuration():
    """Route: the committed vector's JSON (written by the crate's serializer) against the keyword constructor; a
    list, a tuple and a numpy array of explicit weights give the same configuration, and every variant survives
    to_dict/from_dict and replace()."""
    w, b, x, y, committed = load(DAMPED)
    assert damped_config() == committed and committed.damping == {"explicit": [1.0, 2.0]}
    assert damped_config(damping={"explicit": (1, 2)}) == committed
    assert damped_config(damping={"explicit": np.array([1.0, 2.0], dtype=np.float32)}) == committed
    power = {"power_iteration": {"iterations": 50, "seed": 7, "with_bias": True}}
    for damping, normalized in [(None, None), ("spectral_norm", "spectral_norm"), (power, power)]:
        cfg = damped_config(damping=damping)
        assert cfg.damping == normalized
        assert dualprop.Config.from_dict(cfg.to_dict()) == cfg == committed.replace(damping=damping)
    assert "damping" not in dualprop.Config(method="dp_plus", alpha=0.5, beta=0.5, iterations=3,
                                            activation="relu").to_dict()


def test_dampened_numpy_implementation_agrees_with_spectral_norm_damping():
    """Route: dp_numpy.py's L_k from numpy's LAPACK 2-norm against the crate's from faer's SVD, on the committed
    dampened case with the default damping; and the module's oracle with the committed L_k bit for bit equal to
    its run with the same L_k given as a numpy array."""
    w, b, x, y, committed = load(DAMPED)
    cfg = committed.replace(damping=None)
    report = dualprop.verify(w, b, x, y, numpy_implementation(w, b, x, y, cfg), cfg)
    assert report.agrees, report.summary()
    other = dualprop.oracle(w, b, x, y, damped_config(damping={"explicit": np.array([1.0, 2.0])}))
    same = dualprop.oracle(w, b, x, y, committed)
    assert all(np.array_equal(other.tensors[n], t) for n, t in same.tensors.items())


@pytest.mark.parametrize(
    "damping, error, words",
    [
        ({"explicit": [-1.0, 1.0]}, dualprop.UnsupportedError, "finite and >= 0"),
        ({"explicit": [float("nan"), 1.0]}, dualprop.UnsupportedError, "finite and >= 0"),
        ({"explicit": np.array([1.0, np.inf])}, dualprop.UnsupportedError, "finite and >= 0"),
        ({"explicit": [0.0] * 13}, dualprop.UnsupportedError, "at most 12"),
        ({"power_iteration": {"iterations": 0, "seed": 0}}, dualprop.UnsupportedError, "at least 1 step"),
        ({"explicit": "1, 2"}, dualprop.ConfigError, "invalid type"),
        ({"newton": {}}, dualprop.ConfigError, "newton"),
        ("spectral", dualprop.ConfigError, "spectral"),
    ],
)
def test_a_bad_damping_is_refused_on_construction(damping, error, words):
    """Route: the crate's DampingValues::new and Damping::validate (UnsupportedError, as for a Rust caller) and its
    JSON reader (ConfigError for a name or shape it does not know), reached from Python keywords."""
    with pytest.raises(error, match=words):
        damped_config(damping=damping)
    with pytest.raises(error, match=words):
        dualprop.Config.from_dict({**damped_config().to_dict(), "damping": damping})


def test_damping_on_another_method_or_the_wrong_depth_raises_unsupported_error():
    """Route: Config::validate (damping with an undamped method) on construction, and the inference's check of
    one explicit weight per hidden layer, which needs the network, in oracle() and verify()."""
    with pytest.raises(dualprop.UnsupportedError, match="original_dp_dampened only"):
        damped_config(method="original_dp")
    with pytest.raises(dualprop.UnsupportedError, match="original_dp_dampened only"):
        dualprop.Config(method="dp_plus", alpha=0.5, beta=0.5, iterations=3, activation="relu",
                        damping="spectral_norm")
    w, b, x, y, _ = load(DAMPED)
    three = damped_config(damping={"explicit": [1.0, 2.0, 3.0]})
    with pytest.raises(dualprop.UnsupportedError, match="3 explicit damping weights for a network with 2"):
        dualprop.oracle(w, b, x, y, three)
    with pytest.raises(dualprop.UnsupportedError, match="explicit damping weights"):
        dualprop.verify(w, b, x, y, {"grad_W.0": np.zeros_like(w[0])}, three)


def test_shapes_that_do_not_chain_raise_shape_error(case):
    """Route: the crate's shape checks (Network::new, validate_batch) and the binding's rank check, each
    provoked by slicing one array of a valid case."""
    w, b, x, y, cfg = case
    with pytest.raises(dualprop.ShapeError):
        dualprop.oracle([w[0], w[1][:, :-1], w[2]], b, x, y, cfg)
    with pytest.raises(dualprop.ShapeError):
        dualprop.oracle(w, b, x[:, :-1], y, cfg)
    with pytest.raises(dualprop.ShapeError):
        dualprop.oracle(w, b, x, y[:, :-1], cfg)
    with pytest.raises(dualprop.ShapeError, match="x has shape"):
        dualprop.oracle(w, b, x[0], y, cfg)
    with pytest.raises(dualprop.ShapeError, match=r"weights\[1\]"):
        dualprop.oracle([w[0], w[1].ravel(), w[2]], b, x, y, cfg)
    with pytest.raises(dualprop.ShapeError):
        dualprop.oracle(w, b, x[:0], y[:0], cfg)


def test_a_candidate_of_the_wrong_shape_raises_shape_error(case):
    """Route: verify's shape comparison with the oracle's tensor of the same name."""
    w, b, x, y, cfg = case
    with pytest.raises(dualprop.ShapeError, match="grad_W.0"):
        dualprop.verify(w, b, x, y, {"grad_W.0": np.zeros((2, 2))}, cfg)


def test_nan_or_infinity_raises_non_finite_error_naming_the_tensor(case):
    """Route: the case reader's finiteness check, provoked by one planted NaN / infinity."""
    w, b, x, y, cfg = case
    bad_x = x.copy()
    bad_x[1, 2] = np.nan
    with pytest.raises(dualprop.NonFiniteError, match="x"):
        dualprop.oracle(w, b, bad_x, y, cfg)
    bad_w = w[1].copy()
    bad_w[0, 0] = np.inf
    with pytest.raises(dualprop.NonFiniteError, match="W.1"):
        dualprop.verify([w[0], bad_w, w[2]], b, x, y, {"grad_W.0": w[0]}, cfg)


def test_malformed_input_raises_format_error(case):
    """Route: the binding's dtype check and the case reader's name and dtype rules, one planted fault each."""
    w, b, x, y, cfg = case
    with pytest.raises(dualprop.FormatError, match="int64"):
        dualprop.oracle(w, b, x, np.ones(y.shape, dtype=np.int64), cfg)
    with pytest.raises(dualprop.FormatError, match="one dtype"):
        dualprop.oracle(w, b, x.astype(np.float32), y, cfg)
    with pytest.raises(dualprop.FormatError, match="b.2"):
        dualprop.oracle(w, b[:2], x, y, cfg)
    with pytest.raises(dualprop.FormatError, match="unexpected tensor z_plus.0"):
        dualprop.verify(w, b, x, y, {"z_plus.0": x}, cfg)
    with pytest.raises(dualprop.FormatError, match="no tensors"):
        dualprop.verify(w, b, x, y, {}, cfg)


def test_a_value_beyond_the_compute_type_raises_unrepresentable_error(case):
    """Route: the conversion to f32 (reference::scalar::from_f64) of a value beyond f32's range."""
    w, b, x, y, cfg = case
    huge = x.copy()
    huge[0, 0] = 1e300
    with pytest.raises(dualprop.UnrepresentableError, match="f32"):
        dualprop.oracle(w, b, huge, y, cfg.replace(float="f32"))


def test_every_error_is_a_dualprop_error_and_a_value_error():
    """Route: the class hierarchy, so `except dualprop.DualpropError` and `except ValueError` catch them all."""
    for cls in (dualprop.ShapeError, dualprop.NonFiniteError, dualprop.IllPosedError, dualprop.UnsupportedError,
                dualprop.ConfigError, dualprop.FormatError, dualprop.UnrepresentableError):
        assert issubclass(cls, dualprop.DualpropError) and issubclass(cls, ValueError)
        assert cls.__module__ == "dualprop"


def test_config_must_be_a_config(case):
    """Route: the Python layer's type check (a dict would bypass the crate's validation)."""
    w, b, x, y, cfg = case
    with pytest.raises(TypeError, match="dualprop.Config"):
        dualprop.oracle(w, b, x, y, cfg.to_dict())


def test_the_interpreter_lock_is_released_while_the_oracle_runs():
    """Route: timing. Another Python thread keeps running during the call; if the lock were held, the main
    thread's loop would stall for the whole computation."""
    rng = np.random.default_rng(1)
    widths, batch = [32, 128, 128, 10], 128
    w = [rng.normal(size=(widths[i + 1], widths[i])) / np.sqrt(widths[i]) for i in range(3)]
    b = [np.zeros(widths[i + 1]) for i in range(3)]
    x, y = rng.normal(size=(batch, widths[0])), np.eye(10)[rng.integers(0, 10, batch)]
    cfg = dualprop.Config(method="dp_plus", alpha=0.5, beta=0.5, iterations=20, activation="tanh")
    worker = threading.Thread(target=dualprop.oracle, args=(w, b, x, y, cfg))
    start = last = time.perf_counter()
    longest_stall = 0.0
    worker.start()
    while worker.is_alive():
        now = time.perf_counter()
        longest_stall, last = max(longest_stall, now - last), now
    duration = time.perf_counter() - start
    assert duration > 0.1, "the problem is too small to tell"
    assert longest_stall < duration / 2, (longest_stall, duration)


# ---- the ten-line example of docs/python.md ----

EXAMPLE = HERE / "example_test_dp_plus.py"


def run_example(path):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(HERE)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
        cwd=HERE, capture_output=True, text=True, env=env,
    )


def test_docs_python_md_shows_the_example_verbatim():
    """Route: text comparison, so the documented example is the one this suite runs."""
    doc = (HERE.parent.parent / "docs" / "python.md").read_text()
    assert EXAMPLE.read_text().strip() in doc


def test_the_example_passes_and_its_swapped_alpha_copy_fails_naming_the_equation(tmp_path):
    """Route: the user's view: pytest on the documented file, then on the same file with the mistake."""
    good = run_example(EXAMPLE)
    assert good.returncode == 0, good.stdout + good.stderr
    text = EXAMPLE.read_text()
    assert text.count("cfg.to_dict())") == 1
    wrong = tmp_path / "test_dp_plus_swapped_alpha.py"
    wrong.write_text(text.replace("cfg.to_dict())", 'cfg.to_dict(), wrong="swapped-alpha")'))
    bad = run_example(wrong)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "AssertionError" in bad.stdout and "layer 1: Eq. 10 (+)" in bad.stdout, bad.stdout


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_hidden_alpha_agrees_with_the_numpy_implementation(alpha):
    """Route: dp_numpy.py, whose hidden rules and hidden means take `hidden_alpha` written from the equations,
    against the module's oracle: original DP on the committed ReLU case with alpha only at the output (hidden
    layers at 1/2, the Julia script's "old style DP"), K = 6; the plain original DP's result differs, and
    hidden_alpha = alpha is bit for bit the configuration without it."""
    w, b, x, y, committed = load("original_dp_ahalf_k30_relu_f64")
    cfg = committed.replace(alpha=alpha, iterations=6, hidden_alpha=0.5)
    assert cfg.hidden_alpha == 0.5 and dualprop.Config.from_dict(cfg.to_dict()) == cfg
    report = dualprop.verify(w, b, x, y, numpy_implementation(w, b, x, y, cfg), cfg)
    assert report.agrees, report.summary()
    plain = cfg.replace(hidden_alpha=None)
    assert not dualprop.verify(w, b, x, y, numpy_implementation(w, b, x, y, plain), cfg).agrees
    same = dualprop.oracle(w, b, x, y, cfg.replace(hidden_alpha=alpha))
    none = dualprop.oracle(w, b, x, y, plain)
    assert all(np.array_equal(same.tensors[n], t) for n, t in none.tensors.items())


@pytest.mark.parametrize("value, words", [(1.5, "hidden_alpha"), (-0.1, "hidden_alpha"), (float("nan"), "not JSON")])
def test_a_bad_hidden_alpha_is_refused_on_construction(value, words):
    """Route: Config::validate (outside [0, 1]) and the JSON reader (NaN), reached from a Python keyword."""
    with pytest.raises(dualprop.DualpropError, match=words):
        dualprop.Config(method="original_dp", alpha=0.0, beta=0.5, iterations=3, activation="relu",
                        hidden_alpha=value)
