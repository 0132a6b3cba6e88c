#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The kill-chaos test, longer than CI runs it: a child logging with the spool's journal on is
# SIGKILLed again and again (cluster up, down, flapping); after each round a new writer drains
# the spool and the topic is read back. Every record whose write returned must be there.
#
#   bash ci/soak.sh [KILLS]          # default 500 kills, a new cluster and spool every 20
#   KAFKA_LOG_CHAOS_SEED=N bash ci/soak.sh   # replay a failing run's kill points
#   KAFKA_LOG_CHAOS_NO_JOURNAL=1 bash ci/soak.sh 20   # shows what the journal prevents (fails)
#
# Other knobs (KAFKA_LOG_CHAOS_RATE, _THREADS, _MIN_RECORDS, _MAX_RECORDS, _ROUND) are listed
# at the top of tests/integration/kill_chaos_test.cpp. Builds with the ci preset first.
set -euo pipefail
cd "$(dirname "$0")/.."

kills="${1:-500}"
case "$kills" in
  ''|*[!0-9]*) echo "soak.sh: KILLS must be a number, got '$kills'" >&2; exit 2 ;;
esac

bash ci/install_deps.sh
cmake --preset ci
cmake --build --preset ci --target kafka_log_chaos_tests kafka_log_chaos_child
KAFKA_LOG_CHAOS_KILLS="$kills" ./build/ci/tests/kafka_log_chaos_tests
