"""Type stubs of the native module (src/python/mod.rs). Use it through the `dualprop` package."""

from typing import Any, Dict, List, Tuple

import numpy as np

__version__: str

class DualpropError(ValueError): ...
class ShapeError(DualpropError): ...
class NonFiniteError(DualpropError): ...
class IllPosedError(DualpropError): ...
class UnsupportedError(DualpropError): ...
class ConfigError(DualpropError): ...
class FormatError(DualpropError): ...
class UnrepresentableError(DualpropError): ...

def check_config(config: str) -> str:
    """Validates a configuration (``--config`` JSON) and returns it normalized."""

def check_damping(values: List[float]) -> None:
    """Checks explicit damping weights (finite, >= 0, at most 12); raises UnsupportedError."""

def oracle(
    weights: List[np.ndarray], biases: List[np.ndarray], x: np.ndarray, y: np.ndarray, config: str
) -> Tuple[Dict[str, np.ndarray], str, Dict[str, str]]:
    """(tensors by oracle name, summary JSON, file metadata)."""

def verify(
    weights: List[np.ndarray],
    biases: List[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    candidate: Dict[str, Any],
    config: str,
) -> str:
    """The verification report as JSON."""
