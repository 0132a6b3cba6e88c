#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with clang-14 (the libraries instrumented too) and runs each for
# a bounded time: FUZZ_SECONDS per target (default 60). Installs clang-14 and its runtime when
# missing. Prints one summary line per target (executions, new units, seconds).
#
#   bash ci/fuzz.sh                  # every target, FUZZ_SECONDS each
#   FUZZ_SECONDS=600 bash ci/fuzz.sh kafka_log_settings_fuzz   # one target, longer
#   bash ci/fuzz_long.sh             # the long run: at least 10 million executions in all
#
# Targets and their seed corpora (tests/fuzz/corpus/<name>, copied to build/fuzz/corpus so that
# what the fuzzer adds stays out of the source tree):
#   kafka_log_json_fuzz              JsonWriter over arbitrary bytes
#   kafka_log_spool_reader_fuzz      SpoolReader over arbitrary segment bytes (seeds: spool)
#   kafka_log_producer_config_fuzz   ProducerConfig::from_string (seeds: producer_config)
#   kafka_log_settings_fuzz          a settings text through the sink factory (seeds: settings)
#   kafka_log_json_formatter_fuzz    json_formatter over random attribute sets
#   kafka_log_client_statistics_fuzz librdkafka's statistics JSON, checked against nlohmann's
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(kafka_log_json_fuzz kafka_log_spool_reader_fuzz kafka_log_producer_config_fuzz
             kafka_log_settings_fuzz kafka_log_json_formatter_fuzz kafka_log_client_statistics_fuzz)
targets=("$@")
[ "${#targets[@]}" -eq 0 ] && targets=("${all_targets[@]}")
seconds="${FUZZ_SECONDS:-60}"
min_total="${FUZZ_MIN_EXECUTIONS:-0}"  # ci/fuzz_long.sh: fail unless the total reaches it

bash ci/install_deps.sh
if ! command -v clang++-14 >/dev/null || [ ! -d /usr/lib/llvm-14/lib/clang ]; then
  sudo=(); [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  echo "fuzz.sh: installing clang-14 libclang-rt-14-dev"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    clang-14 libclang-rt-14-dev >/dev/null
fi

# librdkafka's rd_kafka_producev() macros use GNU statement expressions, which clang's
# -Wpedantic reports: silenced here only.
cmake -S . -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKAFKA_LOG_BUILD_FUZZERS=ON -DKAFKA_LOG_BUILD_EXAMPLES=OFF \
  "-DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link,address,undefined -Wno-gnu-statement-expression" \
  >/dev/null
cmake --build build/fuzz --target "${targets[@]}"

summary=()
total=0
for target in "${targets[@]}"; do
  seeds="${target#kafka_log_}"
  seeds="${seeds%_fuzz}"
  [ "$seeds" = spool_reader ] && seeds=spool
  corpus="build/fuzz/corpus/$seeds"
  mkdir -p "$corpus"
  if [ -d "tests/fuzz/corpus/$seeds" ]; then cp tests/fuzz/corpus/"$seeds"/* "$corpus"/; fi
  log="build/fuzz/$target.log"
  echo "fuzz.sh: $target for ${seconds}s (log: $log)"
  if ! "build/fuzz/tests/fuzz/$target" -max_total_time="$seconds" -max_len=4096 \
      -print_final_stats=1 -artifact_prefix="build/fuzz/$target-" "$corpus" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz.sh: $target FAILED (crash input: build/fuzz/$target-*)" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  units=$(sed -n 's/^stat::new_units_added: *//p' "$log")
  total=$((total + runs))
  summary+=("$(printf '%-32s %12s executions %6s new units %5ss' "$target" "$runs" "$units" \
    "$seconds")")
done
printf 'fuzz.sh: %s\n' "${summary[@]}"
echo "fuzz.sh: $total executions in total, no crash, no sanitizer report"
if [ "$total" -lt "$min_total" ]; then
  echo "fuzz.sh: fewer than FUZZ_MIN_EXECUTIONS=$min_total executions" >&2
  exit 1
fi
