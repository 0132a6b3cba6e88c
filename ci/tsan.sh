#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ThreadSanitizer in CI: builds the tsan preset's test set (one executable, kafka_log_tsan_tests:
# the writer, the producer's threads and librdkafka's, the spool, its journal and drain; see
# tests/tsan/CMakeLists.txt) and runs it TSAN_RUNS times in a row (default 3). Any TSan report
# fails the step: the preset's TSAN_OPTIONS stop a reporting process (halt_on_error, exit code
# 66), and the output of every test, forked children included, is searched for a report.
# Races inside uninstrumented libraries: tests/support/tsan.supp, docs/reliability.md.
#   ci/tsan.sh                 the CI set, three times
#   TSAN_RUNS=10 ci/tsan.sh    more runs
#   ci/sanitize.sh tsan-all    every unit and integration test under TSan (slow: a developer tool)
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${TSAN_RUNS:-3}"
bash ci/install_deps.sh
cmake --preset tsan >/dev/null
cmake --build --preset tsan
log=build/tsan/Testing/Temporary/LastTest.log
for run in $(seq 1 "$runs"); do
  echo "tsan.sh: run $run of $runs"
  ctest --preset tsan -j "$(nproc)"
  if grep -n -B2 -A40 -E 'WARNING: ThreadSanitizer|ERROR: ThreadSanitizer' "$log" >&2; then
    echo "tsan.sh: ThreadSanitizer reported the above in run $run (full output: $log)" >&2
    exit 1
  fi
done
echo "tsan.sh: $runs runs, no ThreadSanitizer report"
