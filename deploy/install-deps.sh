#!/usr/bin/env bash
# Installs the Debian 12 packages writeback needs to build, test and run its
# demo, when any is missing. Safe to run again: it does nothing when all are there.
#   deploy/install-deps.sh            build + test + demo packages
set -euo pipefail

PACKAGES=(
  # build
  cmake ninja-build g++ pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libldap-dev libsasl2-dev libssl-dev libsqlite3-dev libgtest-dev libgmock-dev
  libkrb5-dev
  # the libFuzzer targets of tests/fuzz (tests/fuzz/run.sh, ctest label fuzz):
  # clang, and its libFuzzer, ASan and UBSan runtimes with FuzzedDataProvider.h
  clang libclang-rt-14-dev
  # the grpc.health.v1 and grpc.reflection .proto files (health_reflection_test's client stubs)
  grpc-proto
  # the /metrics HTTP endpoint of both binaries (common/metrics/metrics_server.h)
  libcivetweb-dev
  # the throwaway Samba AD DC of the demo and the tests
  samba samba-ad-dc samba-ad-provision samba-dsdb-modules python3-samba ldb-tools krb5-user
  # GSSAPI binds (the agent's Kerberos keytab login) and their tests
  libsasl2-modules-gssapi-mit
  ldap-utils openssl iproute2 util-linux
  # the Debian packages (cmake/Packaging.cmake) and their test (tests/packaging):
  # dpkg-shlibdeps computes Depends; systemd-analyze verifies the units;
  # binutils' readelf checks that packaged binaries are stripped
  dpkg-dev systemd binutils
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=()
if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Installing samba on a host with systemd starts its services; the project
# runs its own DCs in private directories and network namespaces instead.
if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
  "${SUDO[@]}" systemctl disable --now samba-ad-dc smbd nmbd winbind >/dev/null 2>&1 || true
fi
