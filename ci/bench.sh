#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds and runs the benchmarks (a few minutes), then writes tests/bench/RESULTS.md and
# tests/bench/results.png. Timings are never asserted: they are reported as ratios measured
# side by side in this one run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install_deps.sh
missing=()
for p in python3 gnuplot-nox; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=(); [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  echo "bench.sh: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake --preset ci >/dev/null
cmake --build --preset ci --target kafka_log_bench kafka_log_bench_json
out=build/ci/bench.json
# Five repetitions after a warm-up, medians reported: on a small shared machine single runs
# of the same benchmark differ by up to 2x. The repetitions of all benchmarks are interleaved
# at random, so a slow minute of the machine does not fall on one side of a ratio only.
build/ci/tests/bench/kafka_log_bench --benchmark_min_time="${BENCH_MIN_TIME:-0.5}" \
  --benchmark_min_warmup_time="${BENCH_WARMUP_TIME:-0.2}" \
  --benchmark_repetitions="${BENCH_REPETITIONS:-5}" --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=false \
  --benchmark_out="$out" --benchmark_out_format=json
/usr/bin/python3 tests/bench/report.py "$out" tests/bench/RESULTS.md tests/bench/results.png
