#!/usr/bin/env bash
# Peak memory (maximum resident set size) of verifying a 1 GB log (two years of entries), of
# the auditor's report of it and of its last quarter, and of appending 1,000,000 entries, each
# measured with GNU time in its own process.
#
#   bash benches/memory.sh [BYTES] [APPENDS]
set -euo pipefail
cd "$(dirname "$0")/.."
BYTES=${1:-1000000000}
APPENDS=${2:-1000000}
DIR=target/bench
mkdir -p "$DIR"
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
cargo build --release --quiet --features cli --bin acttrace
cargo bench --quiet --bench memory --no-run
BIN=$(ls -t target/release/deps/memory-* | grep -v '\.d$' | head -1)

peak() { grep "Maximum resident set size" "$1" | awk '{print $6}'; }

echo "== generating a log of about $BYTES bytes"
"$BIN" generate "$DIR/big.jsonl" "$BYTES"
ls -l "$DIR/big.jsonl" | awk '{printf "file: %.2f GB\n", $5/1e9}'

echo "== acttrace verify on it"
/usr/bin/time -v target/release/acttrace verify "$DIR/big.jsonl" 2> "$DIR/verify.time"
echo "verify: peak RSS $(peak "$DIR/verify.time") KiB, wall $(grep 'Elapsed (wall' "$DIR/verify.time" | awk '{print $8}')"

echo "== acttrace report on it"
/usr/bin/time -v target/release/acttrace report "$DIR/big.jsonl" -o "$DIR/big.html" 2> "$DIR/report.time"
echo "report: peak RSS $(peak "$DIR/report.time") KiB, wall $(grep 'Elapsed (wall' "$DIR/report.time" | awk '{print $8}'), page $(stat -c %s "$DIR/big.html") bytes"

echo "== acttrace report of its last quarter (2025-10-01 to 2026-01-01)"
/usr/bin/time -v target/release/acttrace report "$DIR/big.jsonl" --since 2025-10-01 --until 2026-01-01 -o "$DIR/quarter.html" 2> "$DIR/quarter.time"
echo "quarter: peak RSS $(peak "$DIR/quarter.time") KiB, wall $(grep 'Elapsed (wall' "$DIR/quarter.time" | awk '{print $8}'), page $(stat -c %s "$DIR/quarter.html") bytes"

echo "== appending $APPENDS entries (fsync per batch, 64 tasks)"
/usr/bin/time -v "$BIN" append "$DIR/append.jsonl" "$APPENDS" 2> "$DIR/append.time"
echo "append: peak RSS $(peak "$DIR/append.time") KiB, wall $(grep 'Elapsed (wall' "$DIR/append.time" | awk '{print $8}')"
