#!/usr/bin/env bash
# This crate against the Python reference (cendor-acttrace 1.14.0), the same work on both
# sides, in one run:
#
#   bash benches/compare.sh [ENTRIES]
#
# 1. verify: the same ENTRIES-entry file (default 100,000 realistic entries, 44 MB), whole
#    commands, process start included, best of 5: ours on one thread (`--threads 1`) and on
#    all cores, the reference's `acttrace verify` (one thread: Python's verifier has no other).
# 2. durable appends of the reference's own benchmark entry (`log.flag("probe",
#    severity="info", data=i)`, a policy_flag): one caller against one caller, and 64
#    concurrent tasks against 64 threads of the reference. Ours syncs once per batch
#    (`Durability::Fsync`); the reference syncs every entry.
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
echo "== cargo bench --bench chain (writes the file; library figures)"
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
ONE=$(best_of_5 target/release/acttrace verify --threads 1 "$FILE")
ALL=$(best_of_5 target/release/acttrace verify "$FILE")
THEIRS=$(best_of_5 target/pyref/bin/acttrace verify "$FILE")
"$PY" - "$N" "$ONE" "$ALL" "$THEIRS" <<'PYEOF'
import sys
n, one, all_, theirs = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print(f"== verify, {n} entries, whole command wall time, best of 5")
print(f"this crate, one thread:  {one:.4f} s  {n/one:,.0f} entries/s  {theirs/one:.1f}x the reference")
print(f"this crate, all cores:   {all_:.4f} s  {n/all_:,.0f} entries/s  {theirs/all_:.1f}x the reference")
print(f"reference (one thread):  {theirs:.4f} s  {n/theirs:,.0f} entries/s")
PYEOF

echo "== durable appends of the reference's benchmark entry"
for TASKS in 1 64; do
  COUNT=$(( TASKS == 1 ? 5000 : 6400 ))
  cargo bench --quiet --bench chain -- --appends-only --flags --entries "$COUNT" --tasks "$TASKS" --dir "$DIR" \
    | sed "s/^/this crate: /"
  "$PY" - "$DIR/ref-append.jsonl" "$COUNT" "$TASKS" <<'PYEOF'
import os, sys, threading, time
from cendor.acttrace import AuditLog
path, n, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
best = float("inf")
for _ in range(3):
    if os.path.exists(path):
        os.remove(path)
    log = AuditLog(system="bench", path=path, mirror=False)
    per = n // threads
    def work(t):
        for i in range(per):
            log.flag("probe", severity="info", data=t * per + i)
    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    best = min(best, time.perf_counter() - t0)
    log.detach()
print(f"reference:  append ({threads} threads): {per * threads} entries in {best:.3f} s, "
      f"{per * threads / best:,.0f} entries/s (best of 3)")
PYEOF
done

echo "== one caller appending without fsync (ours: Durability::Flush, a write per entry; the"
echo "   reference: os.fsync made a no-op), 20,000 entries, best of 3, with and without redaction"
for REDACT in on off; do
  FLAG=$([ "$REDACT" = off ] && echo --no-redaction || true)
  cargo bench --quiet --bench chain -- --appends-only --flags --entries 20000 --tasks 1 \
    --durability flush $FLAG --dir "$DIR" | sed "s/^/this crate (redaction $REDACT): /"
  "$PY" - "$DIR/ref-nosync.jsonl" 20000 "$REDACT" <<'PYEOF'
import os, sys, time
os.fsync = lambda fd: None  # the same work as ours: write, no sync
from cendor.acttrace import AuditLog
path, n, redact = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "on"
best = float("inf")
for _ in range(3):
    if os.path.exists(path):
        os.remove(path)
    log = AuditLog(system="bench", path=path, mirror=False, redact=redact)
    t0 = time.perf_counter()
    for i in range(n):
        log.flag("probe", severity="info", data=i)
    best = min(best, time.perf_counter() - t0)
    log.detach()
print(f"reference (redaction {sys.argv[3]}): append (1 thread, no fsync): {n} entries in "
      f"{best:.3f} s, {n / best:,.0f} entries/s (best of 3)")
PYEOF
done
