#!/usr/bin/env bash
# Reads the output of `coqc VFILE` (a sequence of Print Assumptions reports;
# VFILE defaults to Assumptions.v) on stdin and fails unless every reported
# assumption is one of the standard-library real-number axioms listed in
# assumptions-allowlist.txt or in the optional extra allowlist EXTRA.
#   ./check_assumptions.sh [VFILE [EXTRA]] < log
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
vfile="${1:-Assumptions.v}"
extra="${2:-}"
allow="$(mktemp)"
trap 'rm -f "$allow"' EXIT
cat "$here/assumptions-allowlist.txt" > "$allow"
if [ -n "$extra" ]; then cat "$here/$extra" >> "$allow"; fi
log="$(cat)"
reports=$(printf '%s\n' "$log" | grep -c -E '^(Axioms:|Closed under the global context)' || true)
expected=$(grep -c '^Print Assumptions' "$here/$vfile")
if [ "$reports" != "$expected" ]; then
  echo "check_assumptions: expected $expected reports, found $reports" >&2
  printf '%s\n' "$log" >&2
  exit 1
fi
bad=0
# Names are the lines starting at column 0 (types are indented or follow " : ").
while IFS= read -r line; do
  case "$line" in
    ""|"Axioms:"|"Closed under the global context") continue ;;
    " "*) continue ;;
  esac
  name="${line%% *}"
  if ! grep -qxF -- "$name" "$allow"; then
    echo "check_assumptions: non-standard assumption: $name" >&2
    bad=1
  fi
done <<< "$log"
if [ "$bad" != 0 ]; then exit 1; fi
if [ -n "$extra" ]; then
  echo "check_assumptions: $vfile: $expected theorems, only standard real-number axioms and $extra"
else
  echo "check_assumptions: $vfile: $expected theorems, only standard real-number axioms"
fi
