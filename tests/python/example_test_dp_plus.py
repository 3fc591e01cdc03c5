import numpy as np, dualprop
from dp_numpy import dual_propagation  # your implementation: (W, b, x, y, config dict) -> tensors by name

def test_dp_plus_agrees_with_the_oracle():
    rng = np.random.default_rng(0)
    W = [rng.normal(size=(6, 4)) / 2, rng.normal(size=(3, 6)) / 2]  # [out, in], like torch's Linear.weight
    b = [rng.normal(size=6) / 2, rng.normal(size=3) / 2]
    x, y = rng.normal(size=(8, 4)), np.eye(3)[rng.integers(0, 3, 8)]
    cfg = dualprop.Config(method="dp_plus", alpha=0.25, beta=0.5, iterations=30, activation="tanh")
    dualprop.assert_agrees(W, b, x, y, dual_propagation(W, b, x, y, cfg.to_dict()), cfg)
