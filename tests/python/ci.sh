#!/usr/bin/env bash
# The oracle's Python example in CI: an independent numpy implementation (tests/python/dp_numpy.py) must pass
# `dualprop verify` on every committed vector (exit 0), on diverging original DP (exit 3 or 4) and on dampened
# original DP, converging where undamped original DP diverges (exit 0); deliberately wrong variants must fail it
# (exit 1) with the violated equation named. Needs Python 3.11 with pip (venv) and network access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=target/py-oracle-venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check numpy safetensors
PY="$VENV/bin/python"
cargo build --release --quiet --bin dualprop
BIN=target/release/dualprop
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
V=tests/vectors

echo "== the numpy implementation against every committed vector (expect exit 0)"
for cfg in "$V"/*.config.json; do
    name=$(basename "$cfg" .config.json)
    "$PY" tests/python/dp_numpy.py "$V/$name.case.safetensors" "$cfg" "$WORK/$name.safetensors"
    if ! "$BIN" verify "$V/$name.case.safetensors" "$WORK/$name.safetensors" --config "$cfg" > "$WORK/$name.json"; then
        echo "FAIL: verify rejected the numpy implementation on $name"; cat "$WORK/$name.json"; exit 1
    fi
    "$PY" - "$WORK/$name.json" "$name" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
worst = max(r["tensors"], key=lambda t: t["max_relative"])
tol = min(t["tolerance"]["relative"] for t in r["tensors"])
print(f"ok   {sys.argv[2]}: largest relative deviation {worst['max_relative']:.2g} ({worst['name']}), "
      f"smallest tolerance {tol:.2g}")
PYEOF
done

echo "== the same in float32 output (held to f32 tolerances)"
name=dp_plus_ahalf_k30_tanh_f64
"$PY" tests/python/dp_numpy.py "$V/$name.case.safetensors" "$V/$name.config.json" "$WORK/f32.safetensors" --float32
"$BIN" verify "$V/$name.case.safetensors" "$WORK/f32.safetensors" --config "$V/$name.config.json" > /dev/null
echo "ok   $name (float32)"

echo "== diverging original DP at K = 30, all passes (expect exit 3: both diverge; 4: the f32 output overflowed)"
# The committed original-DP case with its weights scaled by S and the identity activation: an expansive iteration
# whose states stay finite in f64 (about 1e22 to 1e55 x the feed-forward scale after 30 passes).
diverging() {
    local scale=$1 alpha=$2 float=$3 expect=$4 code=0
    "$PY" - "$V/original_dp_ahalf_k30_relu_f64.case.safetensors" "$WORK/div.safetensors" "$scale" <<'PYEOF'
import sys
from safetensors.numpy import load_file, save_file
t = load_file(sys.argv[1])
save_file({k: v * float(sys.argv[3]) if k.startswith("W.") else v for k, v in t.items()}, sys.argv[2])
PYEOF
    echo "{\"method\":\"original_dp\",\"alpha\":$alpha,\"beta\":0.5,\"K\":30,\"activation\":\"identity\"}" > "$WORK/div.json"
    "$PY" -W ignore tests/python/dp_numpy.py "$WORK/div.safetensors" "$WORK/div.json" "$WORK/div_out.safetensors" $float
    "$BIN" verify "$WORK/div.safetensors" "$WORK/div_out.safetensors" --config "$WORK/div.json" > "$WORK/div_report.json" || code=$?
    if [ "$code" != "$expect" ]; then
        echo "FAIL: verify exited $code on the diverging case (scale $scale, alpha $alpha, ${float:-float64}; expected $expect)"
        cat "$WORK/div_report.json"; exit 1
    fi
    "$PY" -c 'import json, sys; print("ok  ", json.load(open(sys.argv[1]))["summary"][:160])' "$WORK/div_report.json"
}
diverging 2 1 "" 3
diverging 2 0 "" 3
diverging 1.5 1 --float32 3
diverging 3 0 --float32 4

# expect_rejection NAME WRONG EQUATION: verify must exit 1 and name EQUATION among the violated equations.
expect_rejection() {
    local name=$1 wrong=$2 equation=$3 code=0
    "$PY" tests/python/dp_numpy.py "$V/$name.case.safetensors" "$V/$name.config.json" "$WORK/wrong.safetensors" --wrong "$wrong"
    "$BIN" verify "$V/$name.case.safetensors" "$WORK/wrong.safetensors" --config "$V/$name.config.json" > "$WORK/wrong.json" || code=$?
    if [ "$code" != 1 ]; then
        echo "FAIL: verify exited $code on --wrong $wrong (expected 1)"; cat "$WORK/wrong.json"; exit 1
    fi
    if ! "$PY" - "$WORK/wrong.json" "$equation" <<'PYEOF'
import json, sys
report = json.load(open(sys.argv[1]))
named = [e for e in report["violated_equations"] if sys.argv[2] in e]
print("     violated:", "; ".join(report["violated_equations"]))
sys.exit(0 if named else 1)
PYEOF
    then
        echo "FAIL: verify did not name $equation for --wrong $wrong"; exit 1
    fi
    echo "ok   --wrong $wrong rejected on $name, naming $equation"
}

echo "== dampened original DP on generated cases (the committed vector ran above)"
# The chain x -> z1 = z0 + 0.1 -> 1.5 z1 + 0.1 -> 1.5 z2 + 0.1 (tests/spec_dampened.rs, docs/oracle.md "When damping
# helps"), and the committed original-DP case with its weights doubled (the first diverging case above).
"$PY" - "$WORK/chain.safetensors" "$V/original_dp_ahalf_k30_relu_f64.case.safetensors" \
    "$WORK/scaled.safetensors" <<'PYEOF'
import sys
import numpy as np
from safetensors.numpy import load_file, save_file
m = lambda v: np.array([[v]])
save_file({"W.0": m(1.0), "W.1": m(1.5), "W.2": m(1.5), "b.0": np.array([0.1]), "b.1": np.array([0.1]),
           "b.2": np.array([0.1]), "x": m(0.7), "y": m(-1.0)}, sys.argv[1])
save_file({k: v * 2.0 if k.startswith("W.") else v for k, v in load_file(sys.argv[2]).items()}, sys.argv[3])
PYEOF
# dampened CASE CONFIG VERDICT EXIT [--float32]: the oracle's own verdict on CASE must be VERDICT, and verify must
# exit EXIT on the numpy implementation's output.
dampened() {
    local case=$1 config=$2 verdict=$3 expect=$4 float=${5:-} code=0
    echo "$config" > "$WORK/damp.json"
    "$BIN" oracle "$case" --config "$WORK/damp.json" --out "$WORK/damp_oracle.safetensors" > "$WORK/damp_oracle.json"
    "$PY" -W ignore tests/python/dp_numpy.py "$case" "$WORK/damp.json" "$WORK/damp_out.safetensors" $float
    "$BIN" verify "$case" "$WORK/damp_out.safetensors" --config "$WORK/damp.json" > "$WORK/damp_report.json" || code=$?
    if [ "$code" != "$expect" ]; then
        echo "FAIL: verify exited $code on $config ${float:-float64} (expected $expect)"
        cat "$WORK/damp_report.json"; exit 1
    fi
    "$PY" - "$WORK/damp_oracle.json" "$WORK/damp_report.json" "$verdict" "$config ${float}" <<'PYEOF'
import json, sys
verdict = json.load(open(sys.argv[1]))["verdict"]["verdict"]
r = json.load(open(sys.argv[2]))
worst = max(r["tensors"], key=lambda t: t["max_relative"])
tol = min(t["tolerance"]["relative"] for t in r["tensors"])
print(f"ok   {sys.argv[4]}\n     oracle {verdict}; verify {r['outcome']}: largest relative deviation "
      f"{worst['max_relative']:.2g} ({worst['name']}), smallest tolerance {tol:.2g}")
sys.exit(0 if verdict == sys.argv[3] else f"FAIL: the oracle's verdict is {verdict}, expected {sys.argv[3]}")
PYEOF
}
CHAIN='"beta":0.5,"K":200,"activation":"identity","output":"original_exact"'
DAMPED='"method":"original_dp_dampened"'
dampened "$WORK/chain.safetensors" "{\"method\":\"original_dp\",\"alpha\":1,$CHAIN}" diverged 3
dampened "$WORK/chain.safetensors" "{$DAMPED,\"alpha\":1,$CHAIN}" converged 0
dampened "$WORK/chain.safetensors" "{$DAMPED,\"alpha\":0,$CHAIN}" diverged 3
SCALED='"beta":0.5,"K":30'
POWER='"damping":{"power_iteration":{"iterations":300,"seed":0}}'
dampened "$WORK/scaled.safetensors" "{$DAMPED,\"alpha\":1,$SCALED,\"activation\":\"identity\"}" bounded 0
dampened "$WORK/scaled.safetensors" "{$DAMPED,\"alpha\":1,$SCALED,\"activation\":\"identity\"}" bounded 0 --float32
dampened "$WORK/scaled.safetensors" "{$DAMPED,\"alpha\":1,$SCALED,\"activation\":\"identity\",$POWER}" bounded 0
dampened "$WORK/scaled.safetensors" "{$DAMPED,\"alpha\":0.5,$SCALED,\"activation\":\"tanh\"}" bounded 0

echo "== deliberately wrong implementations (expect exit 1 and the equation named)"
expect_rejection dp_plus_a0_k1_relu_f64 swapped-alpha "Eq. 10 (+)"
expect_rejection dp_plus_a0_k1_relu_f64 swapped-alpha "fixed point of Eq. 8"
expect_rejection eq21_ahalf_k30_tanh_f64 eq21-printed-sign "Eq. 20 multiplier"
expect_rejection original_dp_dampened_a1_k30_tanh_f64 damping-undivided "fixed point of Eq. 3's update dampened"
expect_rejection original_dp_dampened_a1_k30_tanh_f64 damping-crossed "fixed point of Eq. 3's update dampened"
echo "python oracle CI: all checks passed"
