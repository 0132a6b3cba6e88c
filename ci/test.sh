#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test command: installs dependencies, configures (warnings are errors), builds, and runs
# all of ctest — unit, package (and, once present, integration) tests. Fully offline.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install_deps.sh
cmake --preset ci
cmake --build --preset ci
ctest --preset ci -j "$(nproc)"
