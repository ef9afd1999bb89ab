#!/usr/bin/env bash
# Side by side, in one run: `acttrace verify` vs the Python reference's verify on the same
# 100,000-entry file, and durable appends from 64 concurrent tasks.
#
#   bash benches/compare.sh [ENTRIES]
#
# Prints the figures recorded in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
DIR=target/bench
mkdir -p "$DIR"

PY=target/pyref/bin/python
if ! "$PY" -c 'import cendor.acttrace' >/dev/null 2>&1; then
  python3 -m venv target/pyref
  "$PY" -m pip install --quiet cendor-acttrace==1.14.0 cendor-core==1.21.0
fi

cargo build --release --quiet --features cli --bin acttrace
echo "== cargo bench --bench chain (library figures, also writes the file)"
cargo bench --quiet --bench chain -- --entries "$N" --tasks 64 --dir "$DIR"

FILE="$DIR/verify.jsonl"
# Best wall time of 5 runs of a command, in seconds.
best_of_5() {
  "$PY" - "$@" <<'PYEOF'
import subprocess, sys, time
best = float("inf")
for _ in range(5):
    t = time.perf_counter()
    r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    best = min(best, time.perf_counter() - t)
    if r.returncode != 0:
        sys.exit(f"{sys.argv[1:]} failed: {r.stdout}{r.stderr}")
print(f"{best:.4f}")
PYEOF
}
OURS=$(best_of_5 target/release/acttrace verify "$FILE")
THEIRS=$(best_of_5 target/pyref/bin/acttrace verify "$FILE")
"$PY" - "$N" "$OURS" "$THEIRS" <<'PYEOF'
import sys
n, ours, theirs = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"== verify, {n} entries, whole command wall time, best of 5")
print(f"acttrace verify (this crate): {ours:.4f} s  {n/ours:,.0f} entries/s")
print(f"acttrace verify (reference):  {theirs:.4f} s  {n/theirs:,.0f} entries/s")
print(f"ratio: {theirs/ours:.1f}x")
PYEOF

echo "== reference appends (fsync per entry, one thread), for context"
"$PY" - "$DIR/ref-append.jsonl" <<'PYEOF'
import os, sys, time
from cendor.acttrace import AuditLog
path = sys.argv[1]
if os.path.exists(path):
    os.remove(path)
log = AuditLog(system="bench", path=path, mirror=False)
n = 5000
t = time.perf_counter()
for i in range(n):
    log.flag("probe", severity="info", data=i)
dt = time.perf_counter() - t
log.detach()
print(f"reference append: {n} entries in {dt:.3f} s, {n/dt:,.0f} entries/s")
PYEOF
