#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The tree's shape, checked: clang-format clean (.clang-format, 100 columns), no line over 100
# columns, no adapter including src/detail, no source file over 400 lines outside tests/, and
# no kafka_log::detail symbol exported from the libraries built shared (in BUILD_DIR-shared).
# Usage: ci/lint.sh [BUILD_DIR] (default build/ci).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build/ci}
status=0

mapfile -t sources < <(git ls-files '*.cpp' '*.hpp' '*.h')

if ! clang-format --dry-run --Werror "${sources[@]}" 2>/tmp/kafka_log-lint-format.$$; then
    head -n 40 /tmp/kafka_log-lint-format.$$ >&2
    echo "lint: clang-format finds the files above unformatted: run clang-format -i on them" >&2
    status=1
fi
rm -f /tmp/kafka_log-lint-format.$$

# Characters, not bytes (a comment may hold an ellipsis or a dash).
if LC_ALL=C.UTF-8 grep -nP '^.{101,}' "${sources[@]}" >&2; then
    echo "lint: lines over 100 columns (above)" >&2
    status=1
fi

# Layers: the adapters (and the tools, mocks and examples) use the core's public headers only.
if grep -nE '#include +"[^"]*detail/' $(git ls-files 'src/boost_log/*' 'src/glog/*' 'tools/*' \
        'mocks/*' 'examples/*' | grep -E '\.(cpp|hpp)$') >&2; then
    echo "lint: an adapter, tool, mock or example includes the core's private src/detail (above)" >&2
    status=1
fi

for f in "${sources[@]}"; do
    case "$f" in tests/*) continue ;; esac
    lines=$(wc -l <"$f")
    if [ "$lines" -gt 400 ]; then
        echo "lint: $f has $lines lines (at most 400 outside tests/)" >&2
        status=1
    fi
done

# Exports: the libraries built shared (symbols hidden unless KAFKA_LOG_EXPORT), then every
# exported kafka_log::detail symbol is a finding. A static archive cannot tell: its objects
# keep every global symbol for the final link.
if [ "${KAFKA_LOG_LINT_SKIP_EXPORTS:-0}" != 1 ]; then
    shared_dir="$build_dir-shared"
    cmake -S . -B "$shared_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
        -DKAFKA_LOG_BUILD_TESTS=OFF -DKAFKA_LOG_BUILD_EXAMPLES=OFF -DKAFKA_LOG_BUILD_TOOLS=OFF \
        -DKAFKA_LOG_BUILD_MOCKS=OFF -DKAFKA_LOG_INSTALL=OFF >/dev/null
    cmake --build "$shared_dir" >/dev/null
    mapfile -t libraries < <(find "$shared_dir" -maxdepth 1 -name 'libkafka_log*.so' | sort)
    if [ ${#libraries[@]} -eq 0 ]; then
        echo "lint: no libkafka_log*.so built in $shared_dir" >&2
        status=1
    fi
    for l in "${libraries[@]}"; do
        exported=$(nm -D --defined-only "$l" | awk '{ print $3 }' | c++filt |
                   grep -E '(^|[^[:alnum:]_])kafka_log::detail::' | sort -u || true)
        if [ -n "$exported" ]; then
            echo "lint: $(basename "$l") exports kafka_log::detail symbols:" >&2
            echo "$exported" | head -n 20 | sed 's/^/  /' >&2
            status=1
        fi
    done
    echo "lint: exported symbols checked in ${#libraries[@]} shared libraries"
fi

[ "$status" -eq 0 ] && echo "lint: format, columns, file sizes and exports OK (${#sources[@]} files)"
exit "$status"
