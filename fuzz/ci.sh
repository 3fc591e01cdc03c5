#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (default 60 s each; `bash fuzz/ci.sh 10` for 10 s) and fails on any
# crash, panic or kernel/reference disagreement. Seeds: the committed test vectors (cases and configurations).
#
# cargo-fuzz passes nightly-only rustc flags (-Zsanitizer=address, ...); the stable toolchain accepts them with
# RUSTC_BOOTSTRAP=1 (checked with rustc 1.95.0 and cargo-fuzz 0.13.2). cargo-fuzz is installed from crates.io
# when missing. The first build of the fuzz crate compiles the whole dependency tree with coverage
# instrumentation: about 20 minutes on 2 busy cores.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET=${1:-60}
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version > /dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
FLAGS=(-O)

# Seed corpora (the corpus directories are git-ignored; libFuzzer adds what it finds to the first one).
mkdir -p corpus/case_reader corpus/config_reader corpus/differential
cp ../tests/vectors/*.case.safetensors ../tests/vectors/*.expected.safetensors corpus/case_reader/
cp ../tests/vectors/*.config.json corpus/config_reader/
# A few random seeds for the differential target (it decodes raw bytes into a network).
for i in 1 2 3 4; do head -c 512 /dev/urandom > "corpus/differential/seed$i"; done

# The findings kept as regression tests (fuzz/tests/findings.rs), each with what explains it.
cargo test --quiet
cargo fuzz build "${FLAGS[@]}"
for target in case_reader config_reader differential; do
    echo "=== $target: ${SECONDS_PER_TARGET}s"
    cargo fuzz run "${FLAGS[@]}" "$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1
done
echo "fuzz CI: no crash in ${SECONDS_PER_TARGET}s per target"
