#!/usr/bin/env bash
# Configures and builds writeback into ${BUILD_DIR:-build} (Release with debug info, Ninja).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja "$@" >/dev/null
# Two parallel jobs: the machines have 2 cores; more only thrashes.
ninja -C "$build" -j "${JOBS:-2}"
