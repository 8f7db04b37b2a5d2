#!/usr/bin/env bash
# Alternating runs of the decode-latency, quality and class load benchmarks in two checkouts of the project
# (the code before a change, e.g. `git worktree add ../before REV`, and after it): before, after, before, ...
# Usage: bash benchmarks/before_after.sh BEFORE_DIR AFTER_DIR OUT_DIR [ROUNDS]
# Each run's output lands in OUT_DIR/<benchmark>_<before|after>_<round>.txt (and .json where the script writes one).
set -u
before=$(cd "$1" && pwd); after=$(cd "$2" && pwd); out=$3; rounds=${4:-3}
mkdir -p "$out"; out=$(cd "$out" && pwd)
for i in $(seq 1 "$rounds"); do
  for side in before after; do
    dir=$before; [ "$side" = after ] && dir=$after
    cd "$dir" || exit 1
    python3 benchmarks/decode_latency.py --json "$out/decode_${side}_$i.json" > "$out/decode_${side}_$i.txt" 2>&1
    python3 benchmarks/quality.py > "$out/quality_${side}_$i.txt" 2>&1
    python3 benchmarks/load_test.py --malloc-arenas 2 --json "$out/load_${side}_$i.json" > "$out/load_${side}_$i.txt" 2>&1
  done
done
