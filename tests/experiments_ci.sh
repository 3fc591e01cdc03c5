#!/usr/bin/env bash
# Quick CI check of `dualprop reproduce table1`: a tiny budget (784-32-10 net, 200 training images, 1 epoch,
# 2 seeds) on the embedded MNIST subset, then the outputs' structure: files exist, the CSV's columns and rows,
# every JSON line parses, the report is written; a run forced to diverge (learning rate 1e30) is marked X; and
# the scheduler path: --plan, two jobs at once with xargs -P 2, a partial gather, the rest, a full gather equal to
# the sequential sweep, and the Slurm script's syntax (bash -n; there is no Slurm here).
# Idempotent (works in a fresh temporary directory), bounded (~10 s after the release build), exits non-zero
# on the first failure. Needs cargo and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "FAIL: $*" >&2; exit 1; }
check() { echo "check: $*"; }

command -v python3 >/dev/null || fail "python3 is needed to parse the JSON outputs"
cargo build --release --quiet --bin dualprop
BIN=target/release/dualprop
TMP=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT

TINY=(--widths 784,32,10 --train-subset 200 --epochs 1 --seeds 2 --learning-rate 1e-3 --alignment-every 1 --quiet)
start=$(date +%s)
env -u DUALPROP_MNIST "$BIN" reproduce table1 "${TINY[@]}" --out "$TMP/ok" --doc "$TMP/doc/reproduction.md" > "$TMP/ok.stdout" \
  || fail "reproduce table1 exited non-zero"

check "output files exist"
for f in table1.md table1.csv fig1.png fig1.svg fig2.png fig2.svg accuracy.png accuracy.svg; do
  [ -s "$TMP/ok/$f" ] || fail "missing or empty $f"
done
for f in reproduction.md figures/fig1.png figures/fig1.svg figures/fig2.png figures/fig2.svg figures/accuracy.png figures/accuracy.svg; do
  [ -s "$TMP/doc/$f" ] || fail "missing or empty report file $f"
done
head -c 4 "$TMP/ok/fig1.png" | grep -q PNG || fail "fig1.png is not a PNG"
grep -q "<svg" "$TMP/ok/fig2.svg" || fail "fig2.svg is not an SVG"
head -c 4 "$TMP/doc/figures/accuracy.png" | grep -q PNG || fail "accuracy.png is not a PNG"
grep -q "<svg" "$TMP/doc/figures/accuracy.svg" || fail "accuracy.svg is not an SVG"
sed -n '/### Test accuracy after each epoch (%)/,/^## /p' "$TMP/doc/reproduction.md" | grep '](figures/accuracy.png)' >/dev/null \
  || fail "the report does not embed the accuracy figure under the per-epoch table"

check "report's per-epoch table: one row per run, each cell the run's metrics.jsonl test accuracy (read by python)"
python3 - "$TMP/doc/reproduction.md" "$TMP/ok/runs" <<'PY' || fail "per-epoch table differs from metrics.jsonl"
import json, os, re, sys
doc, runs = sys.argv[1], sys.argv[2]
text = open(doc).read()
section = text.split("### Test accuracy after each epoch (%)")[1]
rows = {}
for line in section.splitlines():
    m = re.match(r"\| (\S+) \| (.*) \|$", line)
    if m and m.group(1) not in ("run", "---"):
        rows[m.group(1)] = [c.strip() for c in m.group(2).split("|")]
dirs = sorted(os.listdir(runs))
assert len(rows) == len(dirs) == 18, (len(rows), len(dirs))
for d in dirs:
    spec = json.load(open(os.path.join(runs, d, "spec.json")))
    lines = [json.loads(l) for l in open(os.path.join(runs, d, "metrics.jsonl")) if l.strip()]
    match = [cells for rid, cells in rows.items() if rid == d]
    assert match, f"run {d} has no row"
    for e, m in enumerate(lines):
        want = "X" if m.get("divergence") or m.get("test_accuracy") is None else f"{m['test_accuracy']:.2f}"
        assert match[0][e] == want, (d, e, match[0][e], want)
print("per-epoch rows:", len(rows))
PY

check "18 runs (9 configurations x 2 seeds), each with spec.json, metrics.jsonl and result.json"
runs=$(find "$TMP/ok/runs" -mindepth 1 -maxdepth 1 -type d | wc -l)
[ "$runs" -eq 18 ] || fail "expected 18 run directories, found $runs"
for d in "$TMP"/ok/runs/*; do
  for f in spec.json metrics.jsonl result.json; do [ -s "$d/$f" ] || fail "$d/$f missing"; done
done

check "CSV header, 9 rows, same number of columns everywhere"
header="method,alpha,iterations,seeds,completed,diverged,test_mean,test_std,validation_mean,validation_std,ours,paper_mean,paper_std,paper,first_divergence_epoch,first_divergence_step,epochs,capped_at_step,wall_seconds,steps,converged_fraction,bounded_fraction,diverged_fraction,non_finite_fraction"
[ "$(head -1 "$TMP/ok/table1.csv")" = "$header" ] || fail "CSV header differs"
[ "$(wc -l < "$TMP/ok/table1.csv")" -eq 10 ] || fail "CSV should have a header and 9 rows"
awk -F, -v n="$(echo "$header" | awk -F, '{print NF}')" 'NF != n { exit 1 }' "$TMP/ok/table1.csv" \
  || fail "a CSV row has the wrong number of columns"

check "every JSON and JSON-lines file parses; alignment logged in the DP+ K = 30 runs only"
python3 - "$TMP/ok" <<'PY' || fail "JSON check failed"
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
for run in sorted((out / "runs").iterdir()):
    spec = json.loads((run / "spec.json").read_text())
    result = json.loads((run / "result.json").read_text())
    assert result["status"] in ("completed", "diverged"), run
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    assert lines and all("test_accuracy" in l for l in lines), run
    align = run / "alignment.jsonl"
    records = [json.loads(l) for l in align.read_text().splitlines() if l.strip()] if align.exists() else []
    wants = spec["algorithm"] == "dp+" and spec["iterations"] == 30
    assert bool(records) == wants, (run, len(records))
    for r in records:
        assert len(r["layers"]) == 2 and all(-1 <= l["cosine"] <= 1 for l in r["layers"]), run
print("  parsed", len(list((out / "runs").iterdir())), "runs")
PY

check "re-running skips finished runs (results unchanged)"
before=$(cat "$TMP"/ok/runs/*/result.json | cksum)
env -u DUALPROP_MNIST "$BIN" reproduce table1 "${TINY[@]}" --out "$TMP/ok" > /dev/null || fail "re-run failed"
[ "$before" = "$(cat "$TMP"/ok/runs/*/result.json | cksum)" ] || fail "finished runs were re-run"

# (PyTorch's initialisation, whose inference converges at step 1 everywhere: the X comes from the learning rate.)
check "diverged runs are marked X with epoch and step (learning rate 1e30 overflows at step 2)"
env -u DUALPROP_MNIST "$BIN" reproduce table1 --widths 784,32,10 --train-subset 200 --epochs 1 --seeds 1 --init torch-default \
  --learning-rate 1e30 --quiet --out "$TMP/x" > /dev/null || fail "diverging sweep exited non-zero"
tail -n +2 "$TMP/x/table1.csv" | awk -F, '$6 != 1 || $11 != "X" || $15 != 1 || $16 != 2 { bad = 1 } END { exit bad }' \
  || fail "diverged runs not marked X at epoch 1 step 2: $(cat "$TMP/x/table1.csv")"
grep -q "X (1/1 seeds, first at epoch 1 step 2)" "$TMP/x/table1.md" || fail "table1.md lacks the X cells"

check "the X rule and the step fractions are in the table"
grep -q "X (our rule)" "$TMP/ok/table1.md" || fail "table1.md lacks the X rule"
tail -n +2 "$TMP/ok/table1.csv" | awk -F, '$1 != "backprop" { s = $21 + $22 + $23 + $24; if (s < 0.9999 || s > 1.0001) bad = 1 } END { exit bad }' \
  || fail "the step fractions of a configuration do not add up to 1"

check "plan: 18 self-contained jobs, a Slurm array script that parses, gather.sh"
env -u DUALPROP_MNIST "$BIN" reproduce table1 "${TINY[@]}" --out "$TMP/planned" --plan "$TMP/plan" > /dev/null \
  || fail "reproduce --plan exited non-zero"
[ "$(wc -l < "$TMP/plan/jobs.txt")" -eq 18 ] || fail "jobs.txt should list 18 jobs"
[ ! -d "$TMP/planned/runs" ] || fail "--plan trained something"
bash -n "$TMP/plan/slurm.sh" || fail "slurm.sh has a syntax error"
grep -q "^#SBATCH --array=0-17$" "$TMP/plan/slurm.sh" || fail "slurm.sh lacks the job array 0-17"
for f in "$TMP"/plan/jobs/*.sh; do sh -n "$f" || fail "$f has a syntax error"; done

check "two jobs in parallel (xargs -P 2), then a partial gather"
head -2 "$TMP/plan/jobs.txt" | xargs -P 2 -n 1 bash > /dev/null || fail "a job failed"
sh "$TMP/plan/gather.sh" > /dev/null || fail "gather.sh failed on partial results"
[ "$(find "$TMP/planned/runs" -name result.json | wc -l)" -eq 2 ] || fail "expected 2 finished runs"
[ "$(wc -l < "$TMP/planned/table1.csv")" -eq 3 ] || fail "the partial table should have a header and 1 configuration per finished run"

check "the remaining jobs, then the gathered results equal the sequential sweep's (same final weights)"
tail -n +3 "$TMP/plan/jobs.txt" | xargs -P 2 -n 1 bash > /dev/null || fail "a job failed"
bash "$(head -1 "$TMP/plan/jobs.txt")" > /dev/null || fail "re-running a finished job failed"
sh "$TMP/plan/gather.sh" > /dev/null || fail "gather.sh failed"
hashes() { for d in "$1"/runs/*; do python3 -c 'import json,sys; print(sys.argv[1].rsplit("/",1)[1], json.load(open(sys.argv[1]+"/result.json"))["weights_hash"])' "$d"; done; }
[ "$(hashes "$TMP/planned")" = "$(hashes "$TMP/ok")" ] || fail "planned runs differ from the sequential sweep"
cut -d, -f1-18 "$TMP/planned/table1.csv" > "$TMP/a.csv"; cut -d, -f1-18 "$TMP/ok/table1.csv" > "$TMP/b.csv"
cmp -s "$TMP/a.csv" "$TMP/b.csv" || fail "the gathered table differs from the sequential one"

echo "experiments CI: all checks passed in $(( $(date +%s) - start )) s (after the build)"
