"""`Config`: the oracle's configuration (docs/oracle.md, "The configuration"), validated by the crate."""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional, Union

from . import _native

Activation = Union[str, Mapping[str, Mapping[str, float]]]

_FIELDS = ("method", "alpha", "beta", "iterations", "schedule", "activation", "loss", "output", "float")


def _plain(value: Any) -> Any:
    """numpy scalars (np.float64(0.5), np.int64(30)) as Python numbers, so they serialize."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"{value!r} is not a configuration value")


class Config:
    """What the oracle runs: the method, alpha, beta, the number of inference iterations K, the schedule, the
    hidden activation, the loss, the output rule and the float type to compute in.

    Validated on construction by the crate (the same checks as ``dualprop oracle --config``): a bad value raises
    ``ConfigError`` (alpha outside [0, 1], beta <= 0, iterations < 1, an unknown name), ``IllPosedError``
    (original DP's exact output with (1 - alpha) * beta >= 1) or ``UnsupportedError`` (Eq. 3's exact output with
    cross-entropy).

    method: ``"dp_plus"`` (Eq. 7/8), ``"original_dp"`` (Eq. 3), ``"eq21"`` (Eq. 20 with Eq. 21 re-derived),
        ``"eq21_printed"`` (Eq. 21's printed sign, kept to show it fails).
    alpha: in [0, 1]. beta: > 0. iterations: K >= 1.
    activation: ``"identity"``, ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"softplus"`` or
        ``{"leaky_relu": {"slope": s}}`` (hidden layers; the output layer is linear).
    schedule: ``"up_down"`` (default), ``"forward_only"``, ``"backward_only"``, ``"odd_even"``, ``"even_odd"``.
    loss: ``"least_squares"`` (default) or ``"softmax_cross_entropy"``.
    output: None (the method's own rule), ``"eq16"``, ``"eq16_frozen_gradient"``, ``"original_exact"``,
        ``"original_linearized"``.
    float: the float type :func:`dualprop.oracle` computes in: ``"f64"`` (default), ``"f32"``, or ``"case"``
        (the inputs' own). Results are returned in the inputs' float type either way. ``verify`` always judges
        in f64.
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
        }
        self._fields = json.loads(_native.check_config(json.dumps(given, default=_plain)))

    @classmethod
    def from_dict(cls, fields: Mapping[str, Any]) -> "Config":
        """From a mapping in the ``--config`` JSON format (``K`` accepted for ``iterations``; unknown keys
        raise ``ConfigError``), e.g. a committed vector's ``tests/vectors/*.config.json``."""
        config = cls.__new__(cls)
        config._fields = json.loads(_native.check_config(json.dumps(dict(fields), default=_plain)))
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

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self._fields == other._fields

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={self._fields[k]!r}" for k in _FIELDS)
        return f"Config({args})"
