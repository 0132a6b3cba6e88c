#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Instructions per record on the logging thread, which callgrind counts the same on a busy or
# an idle machine: the instructions inside Boost.Log's core::push_record (the formatter, the
# sink, the writer and the hand-over to the producer) divided by its calls.
#
#   bash ci/bench_callgrind.sh BENCH FILTER [MIN_TIME]
#     BENCH: a kafka_log_bench binary; FILTER: one benchmark, e.g.
#     'BM_KafkaLog_RealProducerBursts/'; MIN_TIME: --benchmark_min_time (default 0.5)
#
# Compare two builds by running it on each binary. Needs valgrind (installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ]; then
  echo "usage: ci/bench_callgrind.sh BENCH FILTER [MIN_TIME]" >&2
  exit 2
fi
bench="$1"; filter="$2"; min_time="${3:-0.5}"
[ -x "$bench" ] || { echo "bench_callgrind.sh: $bench is not an executable" >&2; exit 2; }
if ! command -v valgrind >/dev/null; then
  sudo=(); [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  echo "bench_callgrind.sh: installing valgrind"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    valgrind >/dev/null
fi
out="$(mktemp -d)"
valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*core::push_record*' \
  --callgrind-out-file="$out/callgrind.%p" "$bench" --benchmark_filter="$filter" \
  --benchmark_min_time="$min_time" > "$out/bench.txt" 2> "$out/valgrind.txt"
python3 - "$out" "$filter" <<'PY'
import glob, re, sys
total = calls = 0
for path in glob.glob(sys.argv[1] + "/callgrind.*"):
    names, callee = {}, ""
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("summary:"):
                total += int(line.split()[1])
            m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
            if m:
                if m.group(3):
                    names[m.group(2)] = m.group(3).strip()
                callee = names.get(m.group(2), "") if m.group(1) == "cfn" else callee
            elif line.startswith("calls=") and "push_record" in callee:
                calls += int(line[6:].split()[0])
if calls == 0:
    sys.exit(f"bench_callgrind.sh: no record was logged by '{sys.argv[2]}'")
print(f"{sys.argv[2]}: {total / calls:.0f} instructions per record on the logging thread "
      f"({total} in {calls} records)")
PY
