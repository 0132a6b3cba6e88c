#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The soak (not in CI): for MINUTES, cycle after cycle, a child logging with the spool's journal
# on meets random faults together (cluster down / down then up / flapping, a broker slower than
# message.timeout.ms, leaders moving, retriable and non-retriable produce errors, a small
# producer queue, records too large) and ends SIGKILLed at a random moment or closed with
# records in flight; after each cycle the identities and the read-back (topic and spool) are
# checked. Prints a line per cycle and one summary line:
#   soak: cycles=N records=N lost=N duplicates=N (flagged=N live_twice=N replay_twice=N) ...
# and exits non-zero when a record was lost or duplicated without the possibly-duplicate flag.
#
#   bash ci/soak.sh [MINUTES [BUILD_DIR]]     # default 30 minutes, the ci preset's build/ci
#   KAFKA_LOG_SOAK_SEED=N bash ci/soak.sh 5   # replay a run's fault choices (printed seed)
#   KAFKA_LOG_SOAK_SEED=N KAFKA_LOG_SOAK_FIRST_CYCLE=C KAFKA_LOG_SOAK_CYCLES=1 bash ci/soak.sh
#                                             # replay one cycle
#   KAFKA_LOG_CHAOS_KILLS=500 bash ci/soak.sh 0   # the kill-chaos test with 500 kills first
#
# Other knobs (KAFKA_LOG_SOAK_RATE, _THREADS, _LIVES) are listed at the top of
# tests/integration/soak_test.cpp. Configures and builds with the ci preset first, or builds the
# targets in BUILD_DIR, a build directory already configured with KAFKA_LOG_BUILD_TESTS=ON.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes="${1:-30}"
case "$minutes" in
  ''|*[!0-9.]*|*.*.*|.) echo "soak.sh: MINUTES must be a number, got '$minutes'" >&2; exit 2 ;;
esac

build_dir="${2:-}"
if [ -z "$build_dir" ]; then
  bash ci/install_deps.sh
  cmake --preset ci
  build_dir=build/ci
fi
[ -f "$build_dir/CMakeCache.txt" ] || { echo "soak.sh: $build_dir is not a build directory" >&2; exit 2; }
cmake --build "$build_dir" --target kafka_log_soak_tests kafka_log_chaos_tests kafka_log_chaos_child
if [ -n "${KAFKA_LOG_CHAOS_KILLS:-}" ]; then
  "$build_dir/tests/kafka_log_chaos_tests"
fi
KAFKA_LOG_SOAK_MINUTES="$minutes" "$build_dir/tests/kafka_log_soak_tests"
