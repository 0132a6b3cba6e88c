#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets (JSON encoder, spool reader) with clang-14 and runs each for a bounded time
# (FUZZ_SECONDS, default 60). Installs clang-14 and its runtime when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install_deps.sh
if ! command -v clang++-14 >/dev/null || [ ! -d /usr/lib/llvm-14/lib/clang ]; then
  sudo=(); [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  echo "fuzz.sh: installing clang-14 libclang-rt-14-dev"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev >/dev/null
fi

cmake -S . -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKAFKA_LOG_BUILD_FUZZERS=ON -DKAFKA_LOG_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build/fuzz --target kafka_log_json_fuzz kafka_log_spool_reader_fuzz \
  kafka_log_client_statistics_fuzz
mkdir -p build/fuzz/corpus/json
build/fuzz/tests/fuzz/kafka_log_json_fuzz -max_total_time="${FUZZ_SECONDS:-60}" -max_len=4096 \
  -print_final_stats=1 build/fuzz/corpus/json
# The spool reader starts from real segments (tests/fuzz/corpus/spool), copied so that what
# the fuzzer adds stays out of the source tree.
mkdir -p build/fuzz/corpus/spool
cp tests/fuzz/corpus/spool/* build/fuzz/corpus/spool/
build/fuzz/tests/fuzz/kafka_log_spool_reader_fuzz -max_total_time="${FUZZ_SECONDS:-60}" -max_len=4096 \
  -print_final_stats=1 build/fuzz/corpus/spool
mkdir -p build/fuzz/corpus/statistics
build/fuzz/tests/fuzz/kafka_log_client_statistics_fuzz -max_total_time="${FUZZ_SECONDS:-60}" \
  -max_len=4096 -print_final_stats=1 build/fuzz/corpus/statistics
