#!/usr/bin/env bash
# Kernels CI step: builds the benchmarks (criterion's and the phase split, both on the library's perf engine)
# without running them, then runs `dualprop perf --quick` (a < 1 minute measurement that exercises every path of
# the perf command and writes target/performance-quick.md and .json, never docs/performance.md). The JAX peer
# runs only with DUALPROP_CI_PEER=1 (it needs Python and downloads JAX); the scaling sweep (`perf --scaling`)
# never runs here.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
echo "== kernels CI: cargo bench --no-run"
cargo bench --no-run
echo "== kernels CI: dualprop perf --quick"
cargo run --release -- perf --quick --out target/performance-quick.md
test -s target/performance-quick.md
grep -q "## Targets" target/performance-quick.md
test -s target/performance-quick.json
echo "== kernels CI: ok in $(( $(date +%s) - start )) s"
