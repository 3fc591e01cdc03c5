"""Interleaved JAX peer of `dualprop perf`: a long-lived process that answers one JSON request per stdin line with
one JSON reply per stdout line, so that `dualprop perf` can alternate the peer's steps with its own, round by
round, and compare steps taken under the same machine conditions. Every time it reports is measured in this
process (time.perf_counter around a jit-compiled call and block_until_ready).

The training step is the one of `dualprop::kernels::Trainer`: ReLU hidden layers, a linear output, least squares
1/2 ||z - y||^2 averaged over the batch, Adam (lr 3e-5, betas 0.9/0.999, eps 1e-8, bias-corrected as PyTorch).
Estimators:
  back_propagation   the exact gradient (jax.value_and_grad)
  dp_plus            DP+ (Eq. 8 hidden, Eq. 16 output), K up-down sweeps in a lax.fori_loop
  original_dp        original DP (Eq. 3: hidden rule with alpha and abar swapped, exact output min/max)
both dual variants starting from the feed-forward states and estimating the gradient as
-(1/(beta B)) sum_b delta_k zbar_{k-1}^T. The loop always runs K sweeps (no early exit).

Requests (one JSON object a line):
  {"op": "setup", "key": "...", "estimator": "...", "alpha": 0.5, "beta": 0.5, "k": 30,
   "widths": [784, 1000, 1000, 1000, 1000, 10], "batch": 100, "dtype": "f32"}
      compile and warm up; reply {"key": ..., "compile_s": ...}
  {"op": "step", "key": "...", "n": 1}          n training steps; reply {"s": [seconds of each]}
  {"op": "phases", "key": "...", "reps": 5}     the step's phases, each jit-compiled on its own; reply
                                                {"phases_s": {name: best seconds}}
  {"op": "gemm", "key": "...", "reps": 5}       the products of a back-propagation step alone (one jit);
                                                reply {"s": best seconds, "macs": multiply-adds}
  {"op": "drop", "key": "..."}                  forget a setup (frees its buffers)
  {"op": "quit"}
On start it prints {"ready": true, "jax": version, "backend": ...}. Errors reply {"error": "..."}.
"""

import json
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)  # f64 on request; f32 arrays stay f32

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

LR, B1, B2, EPS = 3e-5, 0.9, 0.999, 1e-8
DTYPES = {"f32": jnp.float32, "f64": jnp.float64}


def init(widths, dtype, seed=0):
    """PyTorch's default initialisation: U(-1/sqrt(n_in), 1/sqrt(n_in)) for weights and biases."""
    key = jax.random.PRNGKey(seed)
    params = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        key, kw, kb = jax.random.split(key, 3)
        bound = 1.0 / n_in**0.5
        params.append(
            (
                jax.random.uniform(kw, (n_out, n_in), dtype, -bound, bound),
                jax.random.uniform(kb, (n_out,), dtype, -bound, bound),
            )
        )
    return params


def forward(params, x):
    """Pre-activations and activations of every layer (row-major [batch, width])."""
    zs = [x]
    z = x
    for i, (w, b) in enumerate(params):
        a = z @ w.T + b
        z = a if i == len(params) - 1 else jnp.maximum(a, 0)
        zs.append(z)
    return zs


def loss_fn(params, x, y):
    z = forward(params, x)[-1]
    return 0.5 * jnp.sum((z - y) ** 2) / x.shape[0]


def adam(params, grads, m, v, t):
    t = t + 1
    bc1 = 1 - B1**t
    bc2 = 1 - B2**t
    leaves = jax.tree_util.tree_leaves
    new_p, new_m, new_v = [], [], []
    for p, g, mm, vv in zip(leaves(params), leaves(grads), leaves(m), leaves(v)):
        mm = B1 * mm + (1 - B1) * g
        vv = B2 * vv + (1 - B2) * g * g
        new_p.append(p - LR * (mm / bc1) / (jnp.sqrt(vv / bc2) + EPS))
        new_m.append(mm)
        new_v.append(vv)
    tree = jax.tree_util.tree_structure(params)
    unflat = lambda xs: jax.tree_util.tree_unflatten(tree, xs)  # noqa: E731
    return unflat(new_p), unflat(new_m), unflat(new_v), t


def backprop_gradient(params, x, y):
    return jax.grad(loss_fn)(params, x, y)


def dual_sweeps(params, x, y, method, alpha, beta, k):
    """K up-down sweeps (layers 1..L-1, L, L-1..1) from the feed-forward states; returns (plus, minus) per layer
    (index 0 is the clamped input)."""
    depth = len(params)
    abar = 1.0 - alpha
    # Hidden rule: DP+ nudges z+ by abar and z- by alpha (Eq. 8); original DP the other way round (Eq. 3).
    up, down = (abar, alpha) if method == "dp_plus" else (alpha, abar)
    zs = forward(params, x)
    plus = [z for z in zs]
    minus = [z for z in zs]

    def zbar(p, m):
        return alpha * p + abar * m

    def update(k_, plus, minus):
        w, b = params[k_ - 1]
        a = zbar(plus[k_ - 1], minus[k_ - 1]) @ w.T + b
        if k_ == depth:
            if method == "dp_plus":  # Eq. 16, g = beta (a - y)
                g = beta * (a - y)
                return a - abar * g, a + alpha * g
            # exact min/max of Eq. 3 for least squares
            return (a + alpha * beta * y) / (1 + alpha * beta), (a - abar * beta * y) / (1 - abar * beta)
        w_next = params[k_][0]
        fb = (plus[k_ + 1] - minus[k_ + 1]) @ w_next
        return jnp.maximum(a + up * fb, 0), jnp.maximum(a - down * fb, 0)

    order = list(range(1, depth)) + [depth] + list(range(depth - 1, 0, -1))

    def sweep(_, carry):
        plus, minus = list(carry[0]), list(carry[1])
        for k_ in order:
            plus[k_], minus[k_] = update(k_, plus, minus)
        return tuple(plus), tuple(minus)

    return lax.fori_loop(0, k, sweep, (tuple(plus), tuple(minus)))


def dual_gradient(params, states, alpha, beta, batch):
    plus, minus = states
    abar = 1.0 - alpha
    grads = []
    for k_ in range(1, len(params) + 1):
        delta = plus[k_] - minus[k_]
        zbar = alpha * plus[k_ - 1] + abar * minus[k_ - 1]
        scale = -1.0 / (beta * batch)
        grads.append((scale * delta.T @ zbar, scale * jnp.sum(delta, axis=0)))
    return grads


class Setup:
    """One estimator at one shape: its jit-compiled step, phases and state."""

    def __init__(self, req):
        self.estimator = req["estimator"]
        if self.estimator not in ("back_propagation", "dp_plus", "original_dp"):
            raise ValueError(f"unknown estimator {self.estimator!r}")
        self.widths = [int(w) for w in req["widths"]]
        self.batch = int(req["batch"])
        dtype = DTYPES[req["dtype"]]
        alpha, beta, k = float(req.get("alpha", 0.0)), float(req.get("beta", 0.5)), int(req.get("k", 1))
        self.params = init(self.widths, dtype)
        self.m = jax.tree_util.tree_map(jnp.zeros_like, self.params)
        self.v = jax.tree_util.tree_map(jnp.zeros_like, self.params)
        self.t = jnp.asarray(0, dtype)
        kx, ky = jax.random.split(jax.random.PRNGKey(1))
        self.x = jax.random.uniform(kx, (self.batch, self.widths[0]), dtype)
        n_out = self.widths[-1]
        self.y = jax.nn.one_hot(jax.random.randint(ky, (self.batch,), 0, n_out), n_out, dtype=dtype)
        est, batch = self.estimator, self.batch

        if est == "back_propagation":

            def gradient(params, x, y):
                return backprop_gradient(params, x, y)

            def inference(params, x, y):
                return forward(params, x)

        else:

            def inference(params, x, y):
                return dual_sweeps(params, x, y, est, alpha, beta, k)

            def gradient(params, x, y):
                return dual_gradient(params, inference(params, x, y), alpha, beta, batch)

        def step(params, m, v, t, x, y):
            return adam(params, gradient(params, x, y), m, v, t)

        self.step_fn = jax.jit(step, donate_argnums=(0, 1, 2))
        self.forward_fn = jax.jit(forward)
        self.inference_fn = jax.jit(inference)
        self.gradient_fn = jax.jit(gradient)
        self.adam_fn = jax.jit(adam)

    def step(self, n):
        times = []
        for _ in range(n):
            start = time.perf_counter()
            self.params, self.m, self.v, self.t = self.step_fn(self.params, self.m, self.v, self.t, self.x, self.y)
            jax.block_until_ready(self.params)
            times.append(time.perf_counter() - start)
        return times

    def phases(self, reps):
        """Best time of each cumulative stage; the caller takes differences."""

        def best(f, *args):
            jax.block_until_ready(f(*args))
            out = []
            for _ in range(reps):
                start = time.perf_counter()
                jax.block_until_ready(f(*args))
                out.append(time.perf_counter() - start)
            return min(out)

        p, x, y = self.params, self.x, self.y
        grads = self.gradient_fn(p, x, y)
        return {
            "forward": best(self.forward_fn, p, x),
            "forward_inference": best(self.inference_fn, p, x, y),
            "forward_inference_gradient": best(self.gradient_fn, p, x, y),
            "adam": best(self.adam_fn, p, grads, self.m, self.v, self.t),
        }

    def gemm(self, reps):
        """The products of a back-propagation step alone, in one jit (forward W z, backward W^T e but the first
        layer's, weight gradient e z^T), on the setup's shapes."""
        widths, batch = self.widths, self.batch
        dtype = self.x.dtype
        ws = [p[0] for p in self.params]
        src = jnp.ones((batch, max(widths)), dtype) * 0.01

        def products(ws, src):
            outs = []
            for i, w in enumerate(ws):
                n_out, n_in = w.shape
                z = src[:, :n_in]
                e = src[:, :n_out]
                outs.append(z @ w.T)
                if i > 0:
                    outs.append(e @ w)
                outs.append(e.T @ z)
            return outs  # every product materialised: nothing for XLA to simplify away

        f = jax.jit(products)
        jax.block_until_ready(f(ws, src))
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            jax.block_until_ready(f(ws, src))
            times.append(time.perf_counter() - start)
        p = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
        macs = batch * (3 * p - widths[0] * widths[1])
        return min(times), macs


def main():
    setups = {}
    print(json.dumps({"ready": True, "jax": jax.__version__, "backend": jax.default_backend()}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            op = req["op"]
            if op == "quit":
                break
            if op == "setup":
                start = time.perf_counter()
                s = Setup(req)
                s.step(2)  # compile and warm up
                setups[req["key"]] = s
                reply = {"key": req["key"], "compile_s": time.perf_counter() - start}
            elif op == "step":
                reply = {"s": setups[req["key"]].step(int(req.get("n", 1)))}
            elif op == "phases":
                reply = {"phases_s": setups[req["key"]].phases(int(req.get("reps", 5)))}
            elif op == "gemm":
                s, macs = setups[req["key"]].gemm(int(req.get("reps", 5)))
                reply = {"s": s, "macs": macs}
            elif op == "drop":
                setups.pop(req["key"], None)
                reply = {"key": req["key"]}
            else:
                reply = {"error": f"unknown op {op!r}"}
        except Exception as e:  # the reply says what went wrong; the process stays up
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
