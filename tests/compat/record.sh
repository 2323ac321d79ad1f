#!/usr/bin/env bash
# Writes the compat fixtures of this checkout's store schema and agent
# protocol version into OUT_DIR, with this checkout's own binaries (a Samba AD
# DC, writeback-controller, writeback-agent, writebackctl; see
# tests/compat/README.md):
#
#   tests/compat/record.sh tests/compat/v2
#
# Builds what it needs in ${BUILD_DIR:-build} (-j ${JOBS:-2}), then runs the
# generator in its own network namespace (needs root, like the DC tests).
# Refuses an OUT_DIR that already holds files: fixtures of a released version
# are never regenerated; a new version gets a new directory.
set -euo pipefail

(($# == 1)) || { echo "usage: $0 OUT_DIR   (e.g. tests/compat/v2)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "$1")
if [[ -d $out && -n $(ls -A "$out") ]]; then
  echo "$0: $out already holds fixtures; they are never regenerated (a new version" \
       "gets a new directory, see tests/compat/README.md)" >&2
  exit 1
fi
build=${BUILD_DIR:-$root/build}

cmake -S "$root" -B "$build" -G Ninja >/dev/null
ninja -C "$build" -j "${JOBS:-2}" wb_compat_record writeback-controller writeback-agent writebackctl

# The golden DC as ctest's fixture makes it; a fresh test PKI (its
# certificates live two days, and only the identities end up in the fixture).
"$root/tests/fixtures/golden_if_stale.sh" "$build/samba/golden.tar" \
  "$root/deploy/schema/exchange-schema.ldif" "$root/tests/fixtures/samba_dc.sh"
tmp=$(mktemp -d /tmp/wb-compat-record.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$root/tests/fixtures/make_certs.sh" "$tmp/certs"

# Written to a scratch directory first, so a failed run leaves OUT_DIR as it was.
WB_GOLDEN_TAR="$build/samba/golden.tar" WB_CERT_DIR="$tmp/certs" WB_BUILD_DIR="$build" \
  "$root/tests/fixtures/netns_run.sh" "$build/tests/compat/wb_compat_record" "$tmp/out"
mkdir -p "$out"
cp "$tmp/out/store.db" "$tmp/out/agent_session.txt" "$tmp/out/expected.textpb" "$out/"
ls -l "$out"
echo "next: cd $build && ctest --output-on-failure -R compat   then commit $out"
