#!/usr/bin/env bash
# The Python package in CI (issue 12, docs/python.md): a fresh virtual environment, `pip install .` (maturin
# builds the crate's `python` feature in release mode), then the pytest suite tests/python/test_package.py:
# the numpy implementation verified through the module on every committed vector, the module's oracle equal to
# the committed vectors bit for bit, the two wrong implementations rejected with the equation named, bad input
# raising the right exception, and the ten-line example of docs/python.md passing (and failing when wrong).
# Needs Python >= 3.9 with venv and pip, network access to PyPI, and the Rust toolchain.
# The build reuses target/release where the default build left compatible dependencies.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=target/py-package-venv
rm -rf "$VENV"
python3 -m venv "$VENV"
PIP=("$VENV/bin/pip" --disable-pip-version-check)
t0=$(date +%s)
"${PIP[@]}" install --quiet numpy pytest safetensors
t1=$(date +%s)
echo "== pip install . (builds the native module)"
"${PIP[@]}" install --quiet .
t2=$(date +%s)
echo "   test dependencies $((t1 - t0)) s, pip install . $((t2 - t1)) s"
echo "== pytest tests/python/test_package.py (from tests/python, importing the installed package)"
cd tests/python
PYTHONDONTWRITEBYTECODE=1 "../../$VENV/bin/python" -m pytest -p no:cacheprovider -q test_package.py
echo "   pytest $(($(date +%s) - t2)) s"
