"""What `oracle` and `verify` return: the oracle's tensors and summary, and the verification report."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np


@dataclass(frozen=True)
class OracleResult:
    """The reference's results for one case (what ``dualprop oracle`` writes and prints).

    Indexing follows the oracle's files: states use the paper's layer index, so ``z_plus[k - 1]`` is z_k^+ for
    k = 1..L (``z_plus.{k}``, [batch, width_k]; z_0 = x is not repeated); gradients use PyTorch's list of layers,
    so ``grad_W[k]`` belongs to ``weights[k]`` (``grad_W.{k}``, [out, in]). States and gradients are in the
    inputs' float type; ``tensors`` holds everything by its oracle name (the format ``verify`` takes), including
    the f64 residuals ``kkt.{k}`` and ``fixed_point.{k}``.
    """

    z_plus: List[np.ndarray]
    z_minus: List[np.ndarray]
    #: Dual-propagation estimate of the gradient of the batch-mean loss, per weight layer.
    grad_W: List[np.ndarray]
    grad_b: List[np.ndarray]
    #: Back-propagation through the plain feed-forward pass, batch mean.
    bp_grad_W: List[np.ndarray]
    bp_grad_b: List[np.ndarray]
    #: KKT residuals of the final states: {"method", "layers": [{"layer", "equations": [{"equation", "max_abs",
    #: "max_relative", ...}]}]}; None when the states are not finite (see ``verdict``).
    kkt: Optional[Dict[str, Any]]
    #: How inference ended: {"verdict": "converged" | "bounded" | "diverged" | "non_finite", ...}.
    verdict: Dict[str, Any]
    #: The whole printed summary (configuration, widths, loss, fixed point, alignment, ...).
    summary: Dict[str, Any]
    tensors: Dict[str, np.ndarray] = field(repr=False)
    #: File metadata, e.g. ``kkt.{k}.equations``: the equation of each entry of ``tensors["kkt.{k}"]``.
    metadata: Dict[str, str] = field(repr=False)

    @classmethod
    def _from_native(cls, tensors: Dict[str, np.ndarray], summary: Dict[str, Any], metadata: Dict[str, str]):
        depth = len(summary["widths"]) - 1

        def listed(prefix: str, ks) -> List[np.ndarray]:
            return [tensors[f"{prefix}.{k}"] for k in ks]

        states, layers = range(1, depth + 1), range(depth)
        return cls(
            z_plus=listed("z_plus", states),
            z_minus=listed("z_minus", states),
            grad_W=listed("grad_W", layers),
            grad_b=listed("grad_b", layers),
            bp_grad_W=listed("bp_grad_W", layers),
            bp_grad_b=listed("bp_grad_b", layers),
            kkt=summary["kkt"],
            verdict=summary["verdict"],
            summary=summary,
            tensors=tensors,
            metadata=metadata,
        )


@dataclass(frozen=True)
class Tolerance:
    """How far a candidate tensor may deviate (docs/oracle.md, "Tolerance")."""

    #: Float type of the candidate's tensor ("f32" or "f64").
    float: str
    #: The reference's own f32-vs-f64 relative spread on this tensor, in f32 epsilons (>= 1).
    measured_condition: float
    #: The rounding bound 4 (n + 4) L eps_T, allowed even where the spread is zero.
    floor: float
    #: Allowed normwise relative deviation: max(floor, 16 * condition * eps_T).
    relative: float


@dataclass(frozen=True)
class TensorCheck:
    """Deviation of one candidate tensor from the oracle."""

    name: str
    max_abs: float
    #: max |candidate - oracle| / max |oracle|.
    max_relative: float
    #: Flat (row-major) index of the largest deviation.
    worst_index: int
    tolerance: Tolerance
    agrees: bool


@dataclass(frozen=True)
class EquationCheck:
    """One equation's residual on the candidate's states against the same residual on the oracle's."""

    layer: int
    equation: str
    candidate: float
    oracle: float
    #: Allowed excess of the candidate's residual over the oracle's (absolute).
    tolerance: float
    violated: bool


def _number(v: Any) -> float:
    # serde_json writes NaN and infinity as null.
    return math.nan if v is None else float(v)


@dataclass(frozen=True)
class VerifyReport:
    """What ``dualprop verify`` reports: does the candidate agree with the oracle, and if not, which tensors
    deviate beyond their tolerance and which equations of the paper its states violate."""

    agrees: bool
    #: "layer k: Eq. ..." for every violated equation (empty when the states were not given or all hold).
    violated_equations: List[str]
    #: Names of the tensors that deviate beyond tolerance.
    deviating_tensors: List[str]
    tensors: List[TensorCheck]
    equations: List[EquationCheck]
    #: Candidate tensors not compared (residuals, which are recomputed from the states instead).
    ignored: List[str]
    #: Oracle tensors the candidate did not give.
    not_given: List[str]
    tolerance_rule: str
    notes: List[str]
    #: The oracle's summary (computed in f64).
    oracle: Dict[str, Any] = field(repr=False)
    #: "agrees" | "disagrees" | "both_diverge" | "candidate_overflowed" (docs/oracle.md, exit codes 0, 1, 3, 4).
    outcome: str = "agrees"

    @property
    def deviations(self) -> Dict[str, float]:
        """Relative deviation of each compared tensor."""
        return {t.name: t.max_relative for t in self.tensors}

    @property
    def tolerances(self) -> Dict[str, float]:
        """Allowed relative deviation of each compared tensor."""
        return {t.name: t.tolerance.relative for t in self.tensors}

    @classmethod
    def _from_json(cls, r: Dict[str, Any]) -> "VerifyReport":
        tensors = [
            TensorCheck(
                name=t["name"],
                max_abs=_number(t["max_abs"]),
                max_relative=_number(t["max_relative"]),
                worst_index=t["worst_index"],
                tolerance=Tolerance(
                    float=t["tolerance"]["float"],
                    measured_condition=_number(t["tolerance"]["measured_condition"]),
                    floor=_number(t["tolerance"]["floor"]),
                    relative=_number(t["tolerance"]["relative"]),
                ),
                agrees=t["agrees"],
            )
            for t in r["tensors"]
        ]
        equations = [
            EquationCheck(
                layer=e["layer"],
                equation=e["equation"],
                candidate=_number(e["candidate"]),
                oracle=_number(e["oracle"]),
                tolerance=_number(e["tolerance"]),
                violated=e["violated"],
            )
            for e in r["equations"]
        ]
        return cls(
            agrees=r["agrees"],
            violated_equations=list(r["violated_equations"]),
            deviating_tensors=list(r["deviating_tensors"]),
            tensors=tensors,
            equations=equations,
            ignored=list(r["ignored"]),
            not_given=list(r["not_given"]),
            tolerance_rule=r["tolerance_rule"],
            notes=list(r["notes"]),
            oracle=r["oracle"],
            outcome=r.get("outcome", "agrees" if r["agrees"] else "disagrees"),
        )

    def summary(self) -> str:
        """A few lines for a person: the verdict, then each violated equation and each deviating tensor with its
        deviation and tolerance (this is the message of :func:`dualprop.assert_agrees`)."""
        cfg = self.oracle["config"]
        head = (
            f"{cfg['method']}, alpha {cfg['alpha']:g}, beta {cfg['beta']:g}, K {cfg['iterations']}, "
            f"{_activation_name(cfg['activation'])}, {cfg['loss']}"
        )
        lines = []
        if self.agrees:
            worst = max(self.tensors, key=lambda t: t.max_relative / t.tolerance.relative)
            lines.append(
                f"dualprop verify: the candidate agrees with the oracle ({head}): {len(self.tensors)} tensors "
                f"within tolerance (closest to its tolerance: {worst.name}, relative deviation {worst.max_relative:.3g} <= "
                f"{worst.tolerance.relative:.3g}), {len(self.equations)} equation residuals checked, none violated"
            )
        else:
            lines.append(f"dualprop verify: the candidate disagrees with the oracle ({head})")
            if self.violated_equations:
                lines.append(f"violated equations ({len(self.violated_equations)}):")
                for e in self.equations:
                    if e.violated:
                        lines.append(
                            f"  layer {e.layer}: {e.equation}: residual {e.candidate:.3g} on the candidate's "
                            f"states, {e.oracle:.3g} on the oracle's (allowed excess {e.tolerance:.3g})"
                        )
            if self.deviating_tensors:
                lines.append(f"deviating tensors ({len(self.deviating_tensors)}):")
                for t in self.tensors:
                    if not t.agrees:
                        lines.append(
                            f"  {t.name}: relative deviation {t.max_relative:.3g} > tolerance "
                            f"{t.tolerance.relative:.3g} ({t.tolerance.float}; worst at flat index {t.worst_index})"
                        )
        if self.not_given:
            lines.append(f"not given (not compared): {', '.join(self.not_given)}")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _activation_name(activation: Any) -> str:
    if isinstance(activation, dict):
        ((name, params),) = activation.items()
        return f"{name} {params}"
    return str(activation)
