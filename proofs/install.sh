#!/usr/bin/env bash
# Install the Coq proof checker used by proofs/Makefile (plain Coq only:
# the proofs use the standard library's Reals, Lra, Psatz and Field).
# Idempotent: does nothing if coqc is already on PATH.
set -euo pipefail
if command -v coqc >/dev/null 2>&1; then
  echo "coqc already installed: $(coqc --version | head -n1)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends coq
coqc --version
