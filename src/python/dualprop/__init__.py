"""dualprop: the dual-propagation oracle from Python (docs/python.md).

Reference results for one network and batch, and verification of another implementation's tensors against
them, with the violated equation of the paper named::

    import dualprop
    cfg = dualprop.Config(method="dp_plus", alpha=0.5, beta=0.5, iterations=30, activation="tanh")
    ref = dualprop.oracle(weights, biases, x, y, cfg)        # ref.z_plus, ref.grad_W, ref.kkt, ref.verdict
    dualprop.assert_agrees(weights, biases, x, y, {"grad_W.0": my_grad_W0, ...}, cfg)

weights[k] is [out, in] like PyTorch's ``Linear.weight``; arrays are float32 or float64 numpy arrays (or
anything ``np.asarray`` reads without a copy: CPU torch tensors, JAX arrays). Errors in the input raise
subclasses of :class:`DualpropError` (a ValueError).
"""

from ._native import (
    ConfigError,
    DualpropError,
    FormatError,
    IllPosedError,
    NonFiniteError,
    ShapeError,
    UnrepresentableError,
    UnsupportedError,
    __version__,
)
from ._config import Config
from ._results import EquationCheck, OracleResult, TensorCheck, Tolerance, VerifyReport
from ._calls import assert_agrees, candidate, oracle, verify

__all__ = [
    "Config",
    "oracle",
    "verify",
    "assert_agrees",
    "candidate",
    "OracleResult",
    "VerifyReport",
    "TensorCheck",
    "EquationCheck",
    "Tolerance",
    "DualpropError",
    "ShapeError",
    "NonFiniteError",
    "IllPosedError",
    "UnsupportedError",
    "ConfigError",
    "FormatError",
    "UnrepresentableError",
    "__version__",
]
