#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds with sanitizers and runs the unit and integration tests (librdkafka included, on the
# embedded cluster); any report fails the run.
#   ci/sanitize.sh          AddressSanitizer + UndefinedBehaviorSanitizer (preset asan)
#   ci/sanitize.sh tsan     ThreadSanitizer, the CI set once (ci/tsan.sh runs it three times)
#   ci/sanitize.sh tsan-all ThreadSanitizer, every unit and integration test (a C11-threads shim
#                           for librdkafka, tests/support/tsan.supp; see docs/reliability.md)
set -euo pipefail
cd "$(dirname "$0")/.."

preset="${1:-asan}"
bash ci/install_deps.sh
cmake --preset "${preset%-all}"
cmake --build --preset "$preset"
ctest --preset "$preset" -j "$(nproc)"
