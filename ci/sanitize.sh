#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the unit and integration
# tests (librdkafka included, on the embedded cluster); any
# report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install_deps.sh
cmake --preset asan
cmake --build --preset asan
ctest --preset asan -j "$(nproc)"
