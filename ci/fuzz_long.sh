#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The long fuzzing run (not in CI): every target for FUZZ_SECONDS (default 600 s each, about
# 50 minutes), failing unless the targets ran at least 10 million inputs in total.
# Its last figures are in docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS="${FUZZ_SECONDS:-600}" FUZZ_MIN_EXECUTIONS="${FUZZ_MIN_EXECUTIONS:-10000000}" \
  exec bash ci/fuzz.sh "$@"
