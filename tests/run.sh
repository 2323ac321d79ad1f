#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, integration
# against a real Samba AD DC, system tests with the real binaries, short
# libFuzzer runs of tests/fuzz in a clang build of their own, build/fuzz);
# ends with ctest's summary. Extra arguments go to ctest (e.g. -L unit,
# -R Store, -L fuzz). The long fuzz run: tests/fuzz/run.sh --long.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/deploy/install-deps.sh"
export BUILD_DIR=${BUILD_DIR:-$root/build}
"$root/deploy/build.sh"
cd "$BUILD_DIR"
# Tests that start a DC run in their own network namespace, so two can run at once.
exec ctest --output-on-failure --timeout 900 -j 2 "$@"
