#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test command: installs dependencies, configures (warnings are errors), builds, and runs
# all of ctest — unit, package (and, once present, integration) tests. Fully offline.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install_deps.sh
cmake --preset ci
cmake --build --preset ci
# The fault matrix (label faults, docs/reliability.md) on its own, so its time shows; then the
# rest: every test runs once.
status=0
ctest --preset ci -j "$(nproc)" -L '^faults$' || status=1
ctest --preset ci -j "$(nproc)" -LE '^faults$' || status=1
exit "$status"
