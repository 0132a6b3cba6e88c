#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The fault matrix (docs/reliability.md, section "## The fault matrix") against a build: each
# row of its table names a test (`Suite.Test` in the second column) that exists in BUILD_DIR's
# ctest and carries the label `faults`, and no other test carries that label.
# Usage: ci/check_fault_matrix.sh BUILD_DIR (a configured and built tree, e.g. build/ci).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 1 ]; then
    echo "usage: ci/check_fault_matrix.sh BUILD_DIR" >&2
    exit 2
fi
build_dir=$1
doc=docs/reliability.md
if [ ! -f "$build_dir/CTestTestfile.cmake" ]; then
    echo "check_fault_matrix: $build_dir has no CTestTestfile.cmake (not a configured build)" >&2
    exit 2
fi

# The section's table rows (every line starting with '|' up to the next heading).
mapfile -t lines < <(awk '
    /^## The fault matrix[[:space:]]*$/ { in_section = 1; next }
    in_section && /^#/ { exit }
    in_section && /^\|/ { print }' "$doc")
if [ ${#lines[@]} -lt 3 ]; then
    echo "check_fault_matrix: $doc has no table under \"## The fault matrix\"" >&2
    exit 1
fi

status=0
tests=()
for line in "${lines[@]:2}"; do  # after the header and the separator
    IFS='|' read -r -a cells <<<"$line"
    cell=${cells[2]:-}
    cell=${cell#"${cell%%[![:space:]]*}"}
    cell=${cell%"${cell##*[![:space:]]}"}
    if [[ ! "$cell" =~ ^\`([A-Za-z0-9_./-]+)\`$ ]]; then
        echo "check_fault_matrix: $doc: a row names no test as \`Suite.Test\`: $line" >&2
        status=1
        continue
    fi
    tests+=("${BASH_REMATCH[1]}")
done

list_tests() {  # the test names `ctest -N` lists, with the extra arguments given
    ctest --test-dir "$build_dir" -N "$@" | sed -n 's/^ *Test *#[0-9]*: //p' | sort -u
}
all=$(list_tests)
labelled=$(list_tests -L '^faults$')
if [ -z "$all" ]; then
    echo "check_fault_matrix: ctest lists no test in $build_dir" >&2
    exit 1
fi

declare -A in_table=()
for t in "${tests[@]}"; do
    if [ -n "${in_table[$t]:-}" ]; then
        echo "check_fault_matrix: $doc names $t twice" >&2
        status=1
    fi
    in_table[$t]=1
    if ! grep -qxF -- "$t" <<<"$all"; then
        echo "check_fault_matrix: $t (a row of the fault matrix) is not a test in $build_dir" >&2
        status=1
    elif ! grep -qxF -- "$t" <<<"$labelled"; then
        echo "check_fault_matrix: $t (a row of the fault matrix) lacks the ctest label faults" >&2
        status=1
    fi
done
while IFS= read -r t; do
    if [ -n "$t" ] && [ -z "${in_table[$t]:-}" ]; then
        echo "check_fault_matrix: $t has the label faults but no row in $doc" >&2
        status=1
    fi
done <<<"$labelled"

[ "$status" -eq 0 ] &&
    echo "check_fault_matrix: ${#tests[@]} rows, each a test of $build_dir labelled faults"
exit "$status"
