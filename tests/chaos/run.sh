#!/usr/bin/env bash
# The fault-injection (chaos) suite: the ctest tests labelled `chaos`
# (tests/chaos/*_test.cc), each on its own Samba AD DC in its own network
# namespace, with the real controller and agents. Every scenario runs a
# stream of cloud changes (several generations of every mailbox) while one
# fault happens: an agent SIGKILLed, the controller SIGKILLed, an agent
# SIGSTOPped past its lease, the DC stopped and restarted, the agent streams
# cut mid-batch by a TCP proxy, on-prem writes racing the cloud. Each ends
# with the invariant of tests/chaos/invariants.h: nothing lost, no stale write
# (the DC's audit log), AD equal to the desired state (an LDAP search).
# ./tests/run.sh runs them at the moderate default size.
#
#   tests/chaos/run.sh [--long] [--mailboxes N] [--generations G] [--skip-build]
#                      [-- CTEST_ARGS...]
#
# --long: 2000 mailboxes, 8 generations each (default: 200 and 4; the
# environment variables WB_CHAOS_MAILBOXES and WB_CHAOS_GENERATIONS carry the
# sizes into the tests). Installs what is missing (deploy/install-deps.sh) and
# builds into ${BUILD_DIR:-build} (deploy/build.sh) unless --skip-build, then
# runs `ctest -L chaos` one test at a time. Arguments after -- go to ctest
# (e.g. -R chaos_stream_cut).
set -euo pipefail

readonly SELF="$(readlink -f "${BASH_SOURCE[0]}")"
readonly ROOT="$(cd "$(dirname "$SELF")/../.." && pwd)"

die() { echo "run.sh: $*" >&2; exit 1; }

mailboxes="" generations="" build_it=1 ctest_args=()
while (($#)); do
  case $1 in
    --long) mailboxes=${mailboxes:-2000}; generations=${generations:-8}; shift ;;
    --mailboxes) mailboxes=${2:?}; shift 2 ;;
    --generations) generations=${2:?}; shift 2 ;;
    --skip-build) build_it=0; shift ;;
    --) shift; ctest_args=("$@"); break ;;
    -h | --help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$SELF"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
for n in "$mailboxes" "$generations"; do
  [[ -z $n || $n =~ ^[1-9][0-9]*$ ]] || die "sizes must be positive numbers, got '$n'"
done
[[ -n $mailboxes ]] && export WB_CHAOS_MAILBOXES=$mailboxes
[[ -n $generations ]] && export WB_CHAOS_GENERATIONS=$generations

export BUILD_DIR=${BUILD_DIR:-$ROOT/build}
if ((build_it)); then
  "$ROOT/deploy/install-deps.sh"
  "$ROOT/deploy/build.sh"
fi
[[ -f $BUILD_DIR/CTestTestfile.cmake ]] || die "no build in $BUILD_DIR (build first or drop --skip-build)"
echo "chaos: ${WB_CHAOS_MAILBOXES:-200} mailboxes, ${WB_CHAOS_GENERATIONS:-4} generations" >&2
cd "$BUILD_DIR"
# One at a time: each test loads the DC and both cores.
exec ctest -L chaos --output-on-failure -j 1 "${ctest_args[@]}"
