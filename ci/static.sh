#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# KAFKA_LOG_STATIC_DEPS, checked both ways a user takes kafka_log:
#  1. add_subdirectory (tests/package/static_deps): builds examples/concurrent_write;
#  2. find_package: the same build installed into a prefix, examples/ built against it;
#  3. KAFKA_LOG_SASL_GSSAPI=OFF (no libsasl2): a librdkafka probe whose GSSAPI must fail.
# Each binary must need no shared librdkafka, Boost, lz4, zstd, OpenSSL or zlib (ldd), and runs a
# small load on the embedded cluster (127.0.0.1), reading every record back.
# What stays shared and why: docs/static-linking.md. Usage: ci/static.sh [BUILD_DIR] (build/static)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build/static}
mkdir -p "$build"
build=$(cd "$build" && pwd)
jobs=${KAFKA_LOG_JOBS:-2}

bash ci/install_deps.sh
# The static archives of librdkafka's private dependencies (libssl-dev and zlib1g-dev come with
# the packages above).
missing=()
for p in liblz4-dev libzstd-dev libssl-dev zlib1g-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    echo "static.sh: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# Shared objects a static build must not need.
forbidden='lib(rdkafka|boost_[a-z_]+|lz4|zstd|ssl|crypto|z)\.so'
check() {
    local binary=$1
    echo "static.sh: ldd $binary"
    ldd "$binary" | sed 's/^/  /'
    if ldd "$binary" | grep -E "$forbidden"; then
        echo "static.sh: FAIL: $binary needs the shared objects above" >&2
        exit 1
    fi
    "$binary" --threads 4 --records 2500 --spool "$build/spool-$(basename "$(dirname "$binary")")"
}

# 1. add_subdirectory
cmake -S tests/package/static_deps -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DKAFKA_LOG_SOURCE_DIR="$root" -DCMAKE_INSTALL_PREFIX="$build/prefix" >/dev/null
cmake --build "$build" -j "$jobs" --target kafka_log_example_concurrent_write
check "$build/examples/concurrent_write"

# 2. find_package, against the same build installed
cmake --install "$build" >/dev/null
cmake -S examples -B "$build/installed" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$build/prefix" >/dev/null
cmake --build "$build/installed" -j "$jobs" --target kafka_log_example_concurrent_write
check "$build/installed/concurrent_write"

# 3. KAFKA_LOG_SASL_GSSAPI=OFF: the stub instead of libsasl2 (tests/package/no_gssapi)
cmake -S tests/package/no_gssapi -B "$build/no_gssapi" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DKAFKA_LOG_SOURCE_DIR="$root" >/dev/null
cmake --build "$build/no_gssapi" -j "$jobs"
echo "static.sh: ldd $build/no_gssapi/no_gssapi_probe"
ldd "$build/no_gssapi/no_gssapi_probe" | sed 's/^/  /'
if ldd "$build/no_gssapi/no_gssapi_probe" | grep -E "$forbidden|libsasl2"; then
    echo "static.sh: FAIL: the probe built without GSSAPI needs the shared objects above" >&2
    exit 1
fi
"$build/no_gssapi/no_gssapi_probe" 2>/dev/null

echo "static.sh: OK: concurrent_write needs no shared librdkafka or Boost, by add_subdirectory" \
     "and by find_package; with KAFKA_LOG_SASL_GSSAPI=OFF, no libsasl2 either"
