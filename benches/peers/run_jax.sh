#!/usr/bin/env bash
# Installs JAX (CPU) into a virtual environment under target/ (once) and runs the peer benchmark.
# Prints the peer's JSON line on stdout; installation logs go to stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="$root/target/peers-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import jax" 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --upgrade pip >&2
  "$venv/bin/pip" install --quiet "jax[cpu]" >&2
fi
exec "$venv/bin/python" "$root/benches/peers/jax_backprop.py" "$@"
