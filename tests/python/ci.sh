#!/usr/bin/env bash
# The oracle's Python example in CI: an independent numpy implementation (tests/python/dp_numpy.py) must pass
# `dualprop verify` on every committed vector (exit 0), and two deliberately wrong variants must fail it (exit 1)
# with the violated equation named. Needs Python 3.11 with pip (venv) and network access to PyPI.
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

echo "== deliberately wrong implementations (expect exit 1 and the equation named)"
expect_rejection dp_plus_a0_k1_relu_f64 swapped-alpha "Eq. 10 (+)"
expect_rejection dp_plus_a0_k1_relu_f64 swapped-alpha "fixed point of Eq. 8"
expect_rejection eq21_ahalf_k30_tanh_f64 eq21-printed-sign "Eq. 20 multiplier"
echo "python oracle CI: all checks passed"
