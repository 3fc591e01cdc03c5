"""`Config`: the oracle's configuration (docs/oracle.md, "The configuration"), validated by the crate."""

from __future__ import annotations

import json
import numbers
from typing import Any, Mapping, Optional, Union

from . import _native

Activation = Union[str, Mapping[str, Mapping[str, float]]]
Damping = Union[str, Mapping[str, Any]]

_FIELDS = (
    "method", "alpha", "beta", "iterations", "schedule", "activation", "loss", "output", "float", "damping",
    "hidden_alpha",
)


def _plain(value: Any) -> Any:
    """numpy scalars (np.float64(0.5), np.int64(30)) as Python numbers, so they serialize."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"{value!r} is not a configuration value")


def _validated(fields: Mapping[str, Any]) -> dict:
    """The fields as the crate normalizes them (``dualprop oracle --config``'s checks). Explicit damping weights
    go through the crate's own constructor first, so a bad weight raises ``UnsupportedError`` as in Rust (JSON
    has no NaN to carry it to the configuration parser); numpy arrays of weights become lists."""
    fields = dict(fields)
    damping = fields.get("damping")
    if isinstance(damping, Mapping) and "explicit" in damping:
        weights = damping["explicit"]
        if isinstance(weights, (list, tuple)) or hasattr(weights, "tolist"):
            weights = list(weights)
            if all(isinstance(w, numbers.Real) and not isinstance(w, bool) for w in weights):
                weights = [float(w) for w in weights]
                _native.check_damping(weights)
                fields["damping"] = {**damping, "explicit": weights}
    return json.loads(_native.check_config(json.dumps(fields, default=_plain)))


class Config:
    """What the oracle runs: the method, alpha, beta, the number of inference iterations K, the schedule, the
    hidden activation, the loss, the output rule, the float type to compute in and, for dampened original DP, where
    its damping weights come from.

    Validated on construction by the crate (the same checks as ``dualprop oracle --config``): a bad value raises
    ``ConfigError`` (alpha outside [0, 1], beta <= 0, iterations < 1, an unknown name), ``IllPosedError``
    (original DP's exact output with (1 - alpha) * beta >= 1) or ``UnsupportedError`` (Eq. 3's exact output with
    cross-entropy; ``damping`` with another method than ``"original_dp_dampened"``; an explicit damping weight
    that is negative or not finite, or more than 12 of them; a power iteration of 0 steps). Explicit weights that
    do not number one per hidden layer raise ``UnsupportedError`` when the network is known (``oracle``, ``verify``).

    method: ``"dp_plus"`` (Eq. 7/8), ``"original_dp"`` (Eq. 3), ``"eq21"`` (Eq. 20 with Eq. 21 re-derived),
        ``"eq21_printed"`` (Eq. 21's printed sign, kept to show it fails), ``"original_dp_dampened"`` (the follow-up
        code's dampened original DP: z+ = f((a + alpha b + L_k z+_prev) / (1 + L_k)), z- likewise with
        -(1 - alpha) b; docs/oracle.md).
    alpha: in [0, 1]. beta: > 0. iterations: K >= 1.
    activation: ``"identity"``, ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"softplus"`` or
        ``{"leaky_relu": {"slope": s}}`` (hidden layers; the output layer is linear).
    schedule: ``"up_down"`` (default), ``"forward_only"``, ``"backward_only"``, ``"odd_even"``, ``"even_odd"``.
    loss: ``"least_squares"`` (default) or ``"softmax_cross_entropy"``.
    output: None (the method's own rule), ``"eq16"``, ``"eq16_frozen_gradient"``, ``"original_exact"``,
        ``"original_linearized"``, ``"original_linearized_frozen_gradient"`` (dampened original DP's own).
    float: the float type :func:`dualprop.oracle` computes in: ``"f64"`` (default), ``"f32"``, or ``"case"``
        (the inputs' own). Results are returned in the inputs' float type either way. ``verify`` always judges
        in f64.
    damping: ``"original_dp_dampened"`` only (None otherwise): None or ``"spectral_norm"`` (L_k =
        max(0, (sigma_max(W_k)^2 - 1) / 2), the default), ``{"power_iteration": {"iterations": n, "seed": s,
        "with_bias": b}}`` (the follow-up code's estimate of sigma_max) or ``{"explicit": [L_1, ..., L_{L-1}]}``
        (one per hidden layer, finite, >= 0; a list, tuple or numpy array).
    hidden_alpha: None (the hidden layers use ``alpha``) or the alpha of the hidden layers' rules and mean states
        in [0, 1], apart from the output's ``alpha`` (e.g. 0.5: alpha only at the output, the Julia script's "old
        style DP"; docs/oracle.md); outside [0, 1] it raises ``UnsupportedError``.
    """

    __slots__ = ("_fields",)

    def __init__(
        self,
        *,
        method: str,
        alpha: float,
        beta: float,
        iterations: int,
        activation: Activation,
        schedule: str = "up_down",
        loss: str = "least_squares",
        output: Optional[str] = None,
        float: str = "f64",
        damping: Optional[Damping] = None,
        hidden_alpha: Optional[float] = None,
    ) -> None:
        given = {
            "method": method,
            "alpha": alpha,
            "beta": beta,
            "iterations": iterations,
            "schedule": schedule,
            "activation": activation,
            "loss": loss,
            "output": output,
            "float": float,
            "damping": damping,
            "hidden_alpha": hidden_alpha,
        }
        self._fields = _validated(given)

    @classmethod
    def from_dict(cls, fields: Mapping[str, Any]) -> "Config":
        """From a mapping in the ``--config`` JSON format (``K`` accepted for ``iterations``; unknown keys
        raise ``ConfigError``), e.g. a committed vector's ``tests/vectors/*.config.json``."""
        config = cls.__new__(cls)
        config._fields = _validated(fields)
        return config

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "Config":
        """From ``--config`` JSON text."""
        return cls.from_dict(json.loads(text))

    def to_dict(self) -> dict:
        """The normalized fields (defaults filled in), in the ``--config`` JSON format."""
        return json.loads(json.dumps(self._fields))

    def to_json(self) -> str:
        return json.dumps(self._fields)

    def replace(self, **changes: Any) -> "Config":
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - set(_FIELDS)
        if unknown:
            raise TypeError(f"unknown Config fields {sorted(unknown)}; the fields are {list(_FIELDS)}")
        return Config.from_dict({**self._fields, **changes})

    method = property(lambda self: self._fields["method"])
    alpha = property(lambda self: self._fields["alpha"])
    beta = property(lambda self: self._fields["beta"])
    iterations = property(lambda self: self._fields["iterations"])
    schedule = property(lambda self: self._fields["schedule"])
    activation = property(lambda self: self._fields["activation"])
    loss = property(lambda self: self._fields["loss"])
    output = property(lambda self: self._fields["output"])
    float = property(lambda self: self._fields["float"])
    damping = property(lambda self: self._fields.get("damping"))
    hidden_alpha = property(lambda self: self._fields.get("hidden_alpha"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self._fields == other._fields

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={self._fields.get(k)!r}" for k in _FIELDS)
        return f"Config({args})"
