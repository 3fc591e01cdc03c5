"""Peer: one back-propagation training step (feed-forward, exact gradient, Adam) of the paper's network in JAX,
jit-compiled on the CPU, timed on this machine. Same network (784-1000-1000-1000-1000-10, ReLU, linear output,
least squares 1/2 ||z - y||^2 averaged over the batch), batch 100, Adam (lr 3e-5, betas 0.9/0.999, eps 1e-8,
bias-corrected as PyTorch), as `dualprop::kernels::Trainer` with `Estimator::Backprop`.

Prints one JSON object: {"f32": median seconds per step, "f64": ..., "f32_min": fastest step, "f64_min": ...,
"jax": version, "repeats": n}. The median is what `dualprop perf` compares with its own medians.
Usage: python jax_backprop.py [--repeats N]
"""

import argparse
import json
import time

import jax
import jax.numpy as jnp

WIDTHS = [784, 1000, 1000, 1000, 1000, 10]
BATCH = 100
LR, B1, B2, EPS = 3e-5, 0.9, 0.999, 1e-8


def init(key, dtype):
    params = []
    for n_in, n_out in zip(WIDTHS[:-1], WIDTHS[1:]):
        key, kw, kb = jax.random.split(key, 3)
        bound = 1.0 / n_in**0.5
        w = jax.random.uniform(kw, (n_out, n_in), dtype, -bound, bound)
        b = jax.random.uniform(kb, (n_out,), dtype, -bound, bound)
        params.append((w, b))
    return params


def loss_fn(params, x, y):
    z = x
    for i, (w, b) in enumerate(params):
        a = z @ w.T + b
        z = a if i == len(params) - 1 else jnp.maximum(a, 0)
    return 0.5 * jnp.sum((z - y) ** 2) / x.shape[0]


@jax.jit
def train_step(params, m, v, t, x, y):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    t = t + 1
    bc1 = 1 - B1**t
    bc2 = 1 - B2**t
    new_p, new_m, new_v = [], [], []
    for (p, g, mm, vv) in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(grads),
                               jax.tree_util.tree_leaves(m), jax.tree_util.tree_leaves(v)):
        mm = B1 * mm + (1 - B1) * g
        vv = B2 * vv + (1 - B2) * g * g
        p = p - LR * (mm / bc1) / (jnp.sqrt(vv / bc2) + EPS)
        new_p.append(p)
        new_m.append(mm)
        new_v.append(vv)
    tree = jax.tree_util.tree_structure(params)
    unflat = lambda xs: jax.tree_util.tree_unflatten(tree, xs)
    return unflat(new_p), unflat(new_m), unflat(new_v), t, loss


def time_dtype(dtype, repeats):
    key = jax.random.PRNGKey(0)
    params = init(key, dtype)
    m = jax.tree_util.tree_map(jnp.zeros_like, params)
    v = jax.tree_util.tree_map(jnp.zeros_like, params)
    t = jnp.asarray(0, dtype)
    kx, ky = jax.random.split(jax.random.PRNGKey(1))
    x = jax.random.uniform(kx, (BATCH, WIDTHS[0]), dtype)
    y = jax.nn.one_hot(jax.random.randint(ky, (BATCH,), 0, 10), 10, dtype=dtype)
    for _ in range(3):  # compile and warm up
        params, m, v, t, loss = train_step(params, m, v, t, x, y)
    jax.block_until_ready(params)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        params, m, v, t, loss = train_step(params, m, v, t, x, y)
        jax.block_until_ready(params)
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2], times[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    out = {"jax": jax.__version__, "repeats": args.repeats, "statistic": "median"}
    out["f32"], out["f32_min"] = time_dtype(jnp.float32, args.repeats)
    jax.config.update("jax_enable_x64", True)
    out["f64"], out["f64_min"] = time_dtype(jnp.float64, args.repeats)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
