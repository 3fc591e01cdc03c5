#!/usr/bin/env bash
# Regenerates the numbers of docs/oracle.md's "Conventions of public implementations" section: how far the
# public-code output rules move the results away from the paper's rules, on committed vectors, per alpha.
# Usage: bash tests/python/conventions.sh [path/to/dualprop]   (default: target/release/dualprop)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-target/release/dualprop}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
V=tests/vectors

# row VECTOR PAPER_RULE CONVENTION ALPHA: the convention's output verified against the paper's rule.
row() {
    local name=$1 paper=$2 convention=$3 alpha=$4 code=0
    "$BIN" oracle "$V/$name.case.safetensors" --config "$V/$name.config.json" --alpha "$alpha" \
        --output-rule "$convention" --out "$WORK/c.safetensors" > /dev/null
    "$BIN" verify "$V/$name.case.safetensors" "$WORK/c.safetensors" --config "$V/$name.config.json" \
        --alpha "$alpha" --output-rule "$paper" > "$WORK/r.json" || code=$?
    python3 - "$WORK/r.json" "$name" "$convention" "$paper" "$alpha" "$code" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
name, conv, paper, alpha, code = sys.argv[2:]
t = {x["name"]: x for x in r["tensors"]}
worst = max(r["tensors"], key=lambda x: x["max_relative"])
print(f"| {name} | {conv} vs {paper} | {alpha} | {t['z_plus.3']['max_relative']:.3g} | "
      f"{t['grad_W.0']['max_relative']:.3g} | {worst['name']} {worst['max_relative']:.3g} | {code} |")
PYEOF
}

echo "| vector | rule compared | alpha | z_plus.3 rel. dev. | grad_W.0 rel. dev. | worst tensor | verify exit |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for a in 0 0.5 1; do
    row dp_plus_ahalf_k30_tanh_f64 eq16 eq16_frozen_gradient "$a"
done
for a in 0 0.5 1; do
    row original_dp_ahalf_k30_relu_f64 original_exact original_linearized "$a"
done
