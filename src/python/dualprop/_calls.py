"""`oracle`, `verify`, `assert_agrees` and `candidate`: the package's functions over numpy-readable arrays."""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np

from . import _native
from ._config import Config
from ._results import OracleResult, VerifyReport


def _arrays(values: Sequence[Any]) -> list:
    # np.asarray does not copy numpy arrays, CPU torch tensors (.detach() first) or JAX arrays already on host.
    return [np.asarray(v) for v in values]


def _config(config: Config) -> str:
    if not isinstance(config, Config):
        raise TypeError(f"config must be a dualprop.Config, not {type(config).__name__}")
    return config.to_json()


def oracle(weights: Sequence[Any], biases: Sequence[Any], x: Any, y: Any, config: Config) -> OracleResult:
    """The reference's results for one network and batch, computed as ``dualprop oracle`` computes them.

    weights[k]: [out, in] (PyTorch's ``Linear.weight``), biases[k]: [out], x: [batch, in], y: [batch, out]
    (one-hot rows for classification); all float32 or all float64, any memory order. The hidden layers use
    ``config.activation``, the last layer is linear. The interpreter lock is released while the oracle runs.

    Raises ShapeError, NonFiniteError, FormatError, ... (subclasses of DualpropError) for bad input.
    """
    tensors, summary, metadata = _native.oracle(
        _arrays(weights), _arrays(biases), np.asarray(x), np.asarray(y), _config(config)
    )
    return OracleResult._from_native(tensors, json.loads(summary), metadata)


def verify(
    weights: Sequence[Any], biases: Sequence[Any], x: Any, y: Any, candidate: Mapping[str, Any], config: Config
) -> VerifyReport:
    """Compares another implementation's tensors with the oracle's for the same case, as ``dualprop verify``.

    candidate: oracle tensor names to arrays, each float32 or float64 (its tolerance follows its own type):
    ``z_plus.{k}``, ``z_minus.{k}`` (k = 1..L), ``grad_W.{k}``, ``grad_b.{k}``, ``bp_grad_W.{k}``,
    ``bp_grad_b.{k}`` (k = 0..L-1); any subset, at least one (:func:`candidate` builds the dict from lists).
    Given every state, the candidate's states are also checked against the paper's equations, and a violated
    one is named. The oracle recomputes the case in f64 whatever ``config.float`` says.
    """
    given = {str(name): np.asarray(value) for name, value in candidate.items()}
    report = _native.verify(
        _arrays(weights), _arrays(biases), np.asarray(x), np.asarray(y), given, _config(config)
    )
    return VerifyReport._from_json(json.loads(report))


def assert_agrees(
    weights: Sequence[Any], biases: Sequence[Any], x: Any, y: Any, candidate: Mapping[str, Any], config: Config
) -> VerifyReport:
    """:func:`verify`, raising AssertionError with :meth:`VerifyReport.summary` (the violated equations and
    deviating tensors, named) unless the candidate agrees. Returns the report when it does."""
    __tracebackhide__ = True  # pytest then shows the caller's line and this message, not this frame
    report = verify(weights, biases, x, y, candidate, config)
    if not report.agrees:
        raise AssertionError(report.summary())
    return report


def candidate(
    *,
    z_plus: Optional[Sequence[Any]] = None,
    z_minus: Optional[Sequence[Any]] = None,
    grad_W: Optional[Sequence[Any]] = None,
    grad_b: Optional[Sequence[Any]] = None,
    bp_grad_W: Optional[Sequence[Any]] = None,
    bp_grad_b: Optional[Sequence[Any]] = None,
) -> Dict[str, Any]:
    """The candidate dict from lists indexed like :class:`OracleResult`'s: ``z_plus[k - 1]`` is z_k^+ (states
    k = 1..L), ``grad_W[k]`` belongs to ``weights[k]``. Lists left out are not compared."""
    out: Dict[str, Any] = {}
    for prefix, values, first in (
        ("z_plus", z_plus, 1),
        ("z_minus", z_minus, 1),
        ("grad_W", grad_W, 0),
        ("grad_b", grad_b, 0),
        ("bp_grad_W", bp_grad_W, 0),
        ("bp_grad_b", bp_grad_b, 0),
    ):
        for i, value in enumerate(values or ()):
            out[f"{prefix}.{i + first}"] = value
    return out
