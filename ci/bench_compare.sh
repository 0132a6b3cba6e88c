#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compares two builds of the benchmarks in one sitting: runs each binary's side-by-side
# benchmarks in turn, RUNS times, then prints per ratio the median after / before and a 90 %
# bootstrap interval (tests/bench/compare_pairs.py). Timings are never asserted.
#
#   bash ci/bench_compare.sh BEFORE_BENCH AFTER_BENCH [RUNS] [FILTER]
#     BEFORE_BENCH, AFTER_BENCH: two kafka_log_bench binaries (e.g. a build of an older commit
#     and build/ci/tests/bench/kafka_log_bench); RUNS defaults to 31, FILTER to SideBySide.
#
# Run it on an otherwise idle machine: one pair takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ]; then
  echo "usage: ci/bench_compare.sh BEFORE_BENCH AFTER_BENCH [RUNS] [FILTER]" >&2
  exit 2
fi
before="$1"; after="$2"; runs="${3:-31}"; filter="${4:-SideBySide}"
for b in "$before" "$after"; do
  [ -x "$b" ] || { echo "bench_compare.sh: $b is not an executable" >&2; exit 2; }
done
case "$runs" in ''|*[!0-9]*) echo "bench_compare.sh: RUNS must be a number, got '$runs'" >&2; exit 2 ;; esac

out="$(mktemp -d)"
for i in $(seq 1 "$runs"); do
  for side in before after; do
    bin="$before"; [ "$side" = after ] && bin="$after"
    "$bin" --benchmark_filter="$filter" --benchmark_repetitions=1 --benchmark_format=json \
      > "$out/$side-$i.json" 2>/dev/null
  done
  echo "bench_compare.sh: pair $i of $runs"
done
python3 tests/bench/compare_pairs.py "$out"
echo "bench_compare.sh: the runs are in $out"
