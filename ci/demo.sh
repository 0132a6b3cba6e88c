#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo: installs dependencies, builds, and runs examples/concurrent_write — 10 threads x
# 10 000 records through Boost.Log into an embedded Kafka cluster (127.0.0.1) at 20 000 records/s,
# with every broker down for 2 s half-way through: what went to the spool meanwhile is sent back
# by the writer itself; then the topic is read back and every record accounted for. Arguments
# replace those defaults (see --help), e.g. ci/demo.sh --brokers host:9092.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install_deps.sh
cmake --preset ci >/dev/null
cmake --build --preset ci --target kafka_log_example_concurrent_write
if [ "$#" -eq 0 ]; then
  set -- --rate 20000 --outage-ms 2000
fi
exec build/ci/examples/concurrent_write "$@"
