#!/usr/bin/env bash
# Starts the interleaved JAX peer (jax_peer.py, a long-lived process answering JSON requests on stdin), first
# installing benches/peers/requirements.txt into a virtual environment (once): $DUALPROP_PEER_VENV, by default
# target/peers-venv. Installation logs go to stderr; stdout carries only the peer's replies.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="${DUALPROP_PEER_VENV:-$root/target/peers-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import jax" 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --upgrade pip >&2
  "$venv/bin/pip" install --quiet -r "$root/benches/peers/requirements.txt" >&2
fi
exec "$venv/bin/python" -u "$root/benches/peers/jax_peer.py" "$@"
