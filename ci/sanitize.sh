#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds with sanitizers and runs the unit and integration tests (librdkafka included, on the
# embedded cluster); any report fails the run.
#   ci/sanitize.sh          AddressSanitizer + UndefinedBehaviorSanitizer (preset asan)
#   ci/sanitize.sh tsan     ThreadSanitizer (preset tsan: a C11-threads shim for librdkafka
#                           and tests/support/tsan.supp for races inside uninstrumented libraries)
set -euo pipefail
cd "$(dirname "$0")/.."

preset="${1:-asan}"
bash ci/install_deps.sh
cmake --preset "$preset"
cmake --build --preset "$preset"
ctest --preset "$preset" -j "$(nproc)"
