#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo: installs dependencies, builds, and runs examples/concurrent_write — 10 threads x
# 10 000 records through Boost.Log into an embedded Kafka cluster (127.0.0.1), read back and
# accounted for. Arguments are passed on (see --help), e.g. ci/demo.sh --brokers host:9092.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install_deps.sh
cmake --preset ci >/dev/null
cmake --build --preset ci --target kafka_log_example_concurrent_write
exec build/ci/examples/concurrent_write "$@"
