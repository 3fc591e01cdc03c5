#!/usr/bin/env python3
"""An independent dual-propagation implementation in numpy, written from the paper's equations, whose output
`dualprop verify` checks. It reads a case and a configuration in the oracle's format (docs/oracle.md) and writes
the oracle's tensor names.

    python dp_numpy.py CASE.safetensors CONFIG.json OUT.safetensors [--float32] [--wrong MISTAKE]

--wrong introduces a deliberate mistake, to show that `verify` catches it and names the violated equation:
  swapped-alpha      DP+ with original DP's feedback weights (alpha and 1 - alpha swapped in Eq. 8)
  eq21-printed-sign  Eq. 21 with its printed feedback sign (z- - z+) instead of (z+ - z-)
  damping-undivided  dampened original DP without the division by 1 + L_k
  damping-crossed    dampened original DP with z+ averaged with z-'s previous state and z- with z+'s
"""
import argparse
import json

import numpy as np


def activation(spec):
    """(f, f') of the configured hidden activation."""
    if isinstance(spec, dict):
        (name, params), = spec.items()
    else:
        name, params = spec, {}
    if name == "identity":
        return (lambda a: a), (lambda a: np.ones_like(a))
    if name == "relu":
        return (lambda a: np.where(a > 0, a, 0.0)), (lambda a: np.where(a > 0, 1.0, 0.0))
    if name == "leaky_relu":
        s = params["slope"]
        return (lambda a: np.where(a >= 0, a, s * a)), (lambda a: np.where(a >= 0, 1.0, s))
    if name == "tanh":
        return np.tanh, (lambda a: 1.0 - np.tanh(a) ** 2)
    sigmoid = lambda a: 1.0 / (1.0 + np.exp(-a))
    if name == "sigmoid":
        return sigmoid, (lambda a: sigmoid(a) * (1.0 - sigmoid(a)))
    if name == "softplus":
        return (lambda a: np.maximum(a, 0.0) + np.log1p(np.exp(-np.abs(a)))), sigmoid
    raise SystemExit(f"unknown activation {spec}")


def loss_gradient(loss, z, y):
    """l'(z) of the unweighted loss, per row."""
    if loss == "least_squares":
        return z - y
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True) - y


def damping_weights(spec, W, b):
    """L_1..L_{L-1} of dampened original DP (docs/oracle.md, "Dampened original DP"): L_k = max(0, (gamma_k^2 - 1)/2)
    with gamma_k the spectral norm of W_k, the weight whose transpose carries layer k's feedback, or given."""
    spec = spec or "spectral_norm"
    from_norm = lambda gamma: max(0.0, (gamma * gamma - 1.0) / 2.0)
    if spec == "spectral_norm":
        return [from_norm(np.linalg.norm(w, 2)) for w in W[1:]]
    (name, params), = spec.items()
    if name == "explicit":
        if len(params) != len(W) - 1 or not all(np.isfinite(l) and l >= 0 for l in params):
            raise SystemExit(f"need {len(W) - 1} finite damping weights >= 0, got {params}")
        return [float(l) for l in params]
    if name == "power_iteration":
        # The follow-up code's estimate: v <- W^T (W v [+ c]) / ||.|| from a random start, then ||W v [+ c]||.
        # numpy's random stream is not the oracle's, so this matches only once the iteration has converged.
        gammas = []
        for k, w in enumerate(W[1:], start=1):
            c = b[k] if params.get("with_bias") else 0.0
            v = np.random.default_rng(params["seed"] + k).standard_normal(w.shape[1])
            for _ in range(params["iterations"]):
                v = w.T @ (w @ v + c)
                v /= np.linalg.norm(v)
            gammas.append(np.linalg.norm(w @ v + c))
        return [from_norm(g) for g in gammas]
    raise SystemExit(f"unknown damping {spec}")


def layer_order(schedule, L):
    # The follow-up code's names are aliases of ours (docs/oracle.md).
    schedule = {"fwbwK": "up_down", "fwK": "forward_only", "bwK": "backward_only",
                "oddeven": "odd_even", "evenodd": "even_odd"}.get(schedule, schedule)
    ks = list(range(1, L + 1))
    return {
        "up_down": list(range(1, L)) + [L] + list(range(L - 1, 0, -1)),
        "forward_only": ks,
        "backward_only": ks[::-1],
        "odd_even": [k for k in ks if k % 2] + [k for k in ks if not k % 2],
        "even_odd": [k for k in ks if not k % 2] + [k for k in ks if k % 2],
    }[schedule]


def run(case, cfg, wrong=None):
    """The outputs for a case given as the oracle's tensor names (W.k, b.k, x, y)."""
    L = sum(1 for n in case if n.startswith("W."))
    W = [case[f"W.{k}"] for k in range(L)]
    b = [case[f"b.{k}"] for k in range(L)]
    return dual_propagation(W, b, case["x"], case["y"], cfg, wrong)


def dual_propagation(W, b, x, y, cfg, wrong=None):
    """The outputs (oracle tensor names to arrays) for weights W[k] [out, in], biases b[k], inputs x [batch, in]
    and targets y [batch, out], under a configuration dict in the oracle's JSON format."""
    L = len(W)
    method, alpha, beta, K = cfg["method"], cfg["alpha"], cfg["beta"], cfg.get("iterations", cfg.get("K"))
    abar = 1.0 - alpha
    f, df = activation(cfg["activation"])
    loss = cfg.get("loss", "least_squares")
    output = cfg.get("output") or {"original_dp": "original_exact",
                                   "original_dp_dampened": "original_linearized_frozen_gradient"}.get(method, "eq16")
    act = lambda k, a: a if k == L else f(a)
    dact = lambda k, a: np.ones_like(a) if k == L else df(a)

    # Feed-forward start: z+ = z- = the plain forward pass (delta = 0).
    zs = [x]
    for k in range(1, L + 1):
        zs.append(act(k, zs[-1] @ W[k - 1].T + b[k - 1]))
    zp, zm = [z.copy() for z in zs], [z.copy() for z in zs]
    frozen_g = beta * loss_gradient(loss, zs[L], y)

    # The hidden layers' alpha (rules and means), apart from the output's when `hidden_alpha` is given.
    ha = alpha if cfg.get("hidden_alpha") is None else cfg["hidden_alpha"]
    hbar = 1.0 - ha
    mean = lambda k: alpha * zp[k] + abar * zm[k] if k == L else ha * zp[k] + hbar * zm[k]
    pre = lambda k: mean(k - 1) @ W[k - 1].T + b[k - 1]  # a_k = W_{k-1} zbar_{k-1} + b_{k-1}

    # Hidden-rule weights (z+ gets +wp * feedback, z- gets -wm * feedback) and where the feedback enters.
    if method == "dp_plus":  # Eq. 8
        wp, wm = (ha, hbar) if wrong == "swapped-alpha" else (hbar, ha)
        outside = False
    elif method in ("original_dp", "original_dp_dampened"):  # Eq. 3's stationarity
        wp, wm, outside = ha, hbar, False
    elif method in ("eq21", "eq21_printed", "lagrangian_settled", "lagrangian_printed"):  # Eq. 21
        sign = -1.0 if (method in ("eq21_printed", "lagrangian_printed") or wrong == "eq21-printed-sign") else 1.0
        wp, wm, outside = sign * hbar, sign * ha, True
    else:
        raise SystemExit(f"unknown method {method}")

    # Damping weight of hidden layer k (0 = original DP's update).
    damp = [0.0] + damping_weights(cfg.get("damping"), W, b) if method == "original_dp_dampened" else [0.0] * L

    def update(k):
        a = pre(k)
        if k == L:
            if output == "original_exact":
                zp[k] = (a + alpha * beta * y) / (1 + alpha * beta)
                zm[k] = (a - abar * beta * y) / (1 - abar * beta)
                return
            g = frozen_g if output.endswith("frozen_gradient") else beta * loss_gradient(loss, a, y)
            cp, cm = (alpha, abar) if output.startswith("original_linearized") else (abar, alpha)
            zp[k], zm[k] = a - cp * g, a + cm * g  # Eq. 16 (or the named convention)
            return
        d = zp[k + 1] - zm[k + 1]
        if outside:
            d = d * dact(k + 1, pre(k + 1))  # D_{k+1} at the next layer's current pre-activation
        fb = d @ W[k]  # W_k^T delta_{k+1}, one row per sample
        if outside:
            zp[k], zm[k] = f(a) + wp * fb, f(a) - wm * fb
        elif damp[k]:
            # Eq. 3's update dampened (follow-up code): z = f((a +- b + L_k z_prev) / (1 + L_k)), z_prev the state
            # this update replaces.
            l, prev_p, prev_m = damp[k], zp[k], zm[k]
            if wrong == "damping-crossed":
                prev_p, prev_m = prev_m, prev_p
            n = 1.0 if wrong == "damping-undivided" else 1.0 + l
            zp[k], zm[k] = f((a + wp * fb + l * prev_p) / n), f((a - wm * fb + l * prev_m) / n)
        else:
            zp[k], zm[k] = f(a + wp * fb), f(a - wm * fb)

    for _ in range(K):
        for k in layer_order(cfg.get("schedule", "up_down"), L):
            update(k)

    out = {}
    B = x.shape[0]
    for k in range(1, L + 1):
        out[f"z_plus.{k}"], out[f"z_minus.{k}"] = zp[k], zm[k]
        d = zp[k] - zm[k]
        if outside:
            d = d * dact(k, pre(k))
        out[f"grad_W.{k - 1}"] = -(d.T @ mean(k - 1)) / (beta * B)
        out[f"grad_b.{k - 1}"] = -d.sum(axis=0) / (beta * B)

    # Back-propagation through the plain forward pass, averaged over the batch.
    e = loss_gradient(loss, zs[L], y)
    for k in range(L, 0, -1):
        out[f"bp_grad_W.{k - 1}"] = e.T @ zs[k - 1] / B
        out[f"bp_grad_b.{k - 1}"] = e.sum(axis=0) / B
        if k > 1:
            e = (e @ W[k - 1]) * df(zs[k - 2] @ W[k - 2].T + b[k - 2])
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case")
    p.add_argument("config")
    p.add_argument("out")
    p.add_argument("--float32", action="store_true", help="write float32 tensors")
    p.add_argument("--wrong", choices=["swapped-alpha", "eq21-printed-sign", "damping-undivided", "damping-crossed"])
    args = p.parse_args()
    # Imported here so that the implementation itself needs only numpy (tests/python/test_package.py imports it).
    from safetensors.numpy import load_file, save_file

    case = {n: t.astype(np.float64) for n, t in load_file(args.case).items()}
    with open(args.config) as fh:
        cfg = json.load(fh)
    out = run(case, cfg, args.wrong)
    dtype = np.float32 if args.float32 else np.float64
    save_file({n: np.ascontiguousarray(t, dtype=dtype) for n, t in out.items()}, args.out)


if __name__ == "__main__":
    main()
