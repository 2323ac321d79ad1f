#!/usr/bin/env bash
# Benchmarks, each measured side by side with its physical limit in one run
# (docs/BENCHMARKS.md explains every figure).
#
#   tests/bench/run.sh [--quick] [--only e2e|controller|directory] [--users N]
#                      [--windows 1,4,16,64,128] [--rounds 2] [--delay-ms 2.5]
#                      [--dc-tmpdir DIR] [--skip-build] [--no-docs]
#
#  e2e        writeback end to end (writebackctl mailbox import → controller →
#             agents → AD, every job acknowledged and verified by search)
#             against a plain pipelined libldap client (best of a window
#             sweep), each on its own DC restored from one golden copy holding
#             N users (default 10000, loaded offline: samba_dc.sh
#             users-golden), on loopback and through a proxy adding 5 ms of
#             round trip (2 × --delay-ms); one agent and two; then the latency
#             from change accepted to acknowledged at half the raw rate, and
#             the memory and CPU of the controller and the agent.
#  controller the controller alone with 1,000,000 mailboxes and 1,000 mTLS
#             agents against a plain gRPC echo (tests/bench/controller_bench.sh).
#  directory  the agent's apply layer against the raw client (issue 3;
#             default 2000 users).
# Without --only: e2e, then controller. --quick: e2e with 3000 users, one
# round of windows 1,16,64,128, controller_bench.sh --quick (under 15
# minutes on 2 cores).
#
# Installs what is missing (deploy/install-deps.sh) and builds into
# ${BUILD_DIR:-build} (deploy/build.sh) unless --skip-build. Prints JSON lines
# on stdout: every pass's own lines, then one line per metric,
#   {"metric":"e2e_vs_raw_ldap","value":0.93,...}
# and rewrites the results table of docs/BENCHMARKS.md (machine, command,
# figures) unless --no-docs. DCs live under --dc-tmpdir (default /dev/shm:
# on disk Samba's fsync per modify, not the client, sets the pace). Progress
# goes to stderr; WB_BENCH_KEEP=1 keeps the work directory.
set -euo pipefail

readonly SELF="$(readlink -f "${BASH_SOURCE[0]}")"
readonly ROOT="$(cd "$(dirname "$SELF")/../.." && pwd)"
readonly FIXTURES="$ROOT/tests/fixtures"

die() { echo "run.sh: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

# One directory_bench pass, inside its own network namespace (netns_run.sh):
#   _pass MODE LABEL DELAY_MS USERS_TAR WINDOWS ROUNDS WORK BUILD
run_pass() {
  local mode=$1 label=$2 delay=$3 users_tar=$4 windows=$5 rounds=$6 work=$7 build=$8
  local certs=$work/certs t0=$SECONDS
  # Globals: the EXIT trap runs after this function has returned.
  dir=$work/dc-$mode-$label proxy_pid=""
  "$FIXTURES/samba_dc.sh" start "$users_tar" "$dir" "$certs" >"$dir.start.log" 2>&1 ||
    { cat "$dir.start.log" >&2; die "DC for $mode/$label did not start"; }
  # The DC's files go with it (at 200,000 users each copy takes 2.6 GB of /dev/shm).
  trap '[[ -n $proxy_pid ]] && kill "$proxy_pid" 2>/dev/null; "$FIXTURES/samba_dc.sh" stop "$dir"; rm -rf "$dir"' EXIT
  local url=ldaps://127.0.0.1
  if [[ $delay != 0 ]]; then
    "$build/tests/bench/delay_proxy" --target=127.0.0.1:636 --delay-ms="$delay" \
      --port-file="$dir.proxy.port" --idle-exit-s=120 >/dev/null 2>"$dir.proxy.log" &
    proxy_pid=$!
    local i
    for ((i = 0; i < 100; i++)); do [[ -s $dir.proxy.port ]] && break; sleep 0.05; done
    [[ -s $dir.proxy.port ]] || die "delay proxy did not start"
    url=ldaps://127.0.0.1:$(<"$dir.proxy.port")
  fi
  "$build/tests/bench/directory_bench" --mode="$mode" --label="$label" --url="$url" \
    --ca-file="$dir/tls/ca.pem" --password-file="$dir/admin.pass" --windows="$windows" --rounds="$rounds" \
    2>"$dir.bench.log" || { tail -n 20 "$dir.bench.log" >&2; die "$mode/$label failed"; }
  note "$mode/$label: done in $((SECONDS - t0)) s"
}

if [[ ${1:-} == _pass ]]; then
  shift
  run_pass "$@"
  exit 0
fi

only=all users=10000 windows=1,4,16,64,128 rounds=2 delay=2.5 build_it=1 quick=0 docs=1
users_set=0 windows_set=0 rounds_set=0
dc_tmpdir=/dev/shm
[[ -d $dc_tmpdir && -w $dc_tmpdir ]] || dc_tmpdir=${TMPDIR:-/tmp}
args=("$@")
while (($#)); do
  case $1 in
    --quick) quick=1; shift ;;
    --only) only=${2:?}; shift 2 ;;
    --users) users=${2:?}; users_set=1; shift 2 ;;
    --windows) windows=${2:?}; windows_set=1; shift 2 ;;
    --rounds) rounds=${2:?}; rounds_set=1; shift 2 ;;
    --dc-tmpdir) dc_tmpdir=${2:?}; shift 2 ;;
    --delay-ms) delay=${2:?}; shift 2 ;;
    --skip-build) build_it=0; shift ;;
    --no-docs) docs=0; shift ;;
    -h | --help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$SELF"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[[ $only == directory ]] && ((!users_set)) && users=2000
if ((quick)); then
  ((users_set)) || users=3000
  ((windows_set)) || windows=1,16,64,128
  ((rounds_set)) || rounds=1
fi
case $only in all | e2e | controller | directory) ;; *) die "unknown benchmark '$only' (e2e, controller, directory)" ;; esac
[[ $users =~ ^[0-9]+$ ]] && ((users > 0)) || die "--users wants a positive number"
[[ $rounds =~ ^[0-9]+$ ]] && ((rounds > 0)) || die "--rounds wants a positive number"

export BUILD_DIR=${BUILD_DIR:-$ROOT/build}
build=$(mkdir -p "$BUILD_DIR" && cd "$BUILD_DIR" && pwd)
if ((build_it)); then
  "$ROOT/deploy/install-deps.sh"
  note "building into $build"
  "$ROOT/deploy/build.sh"
fi
for bin in directory_bench delay_proxy e2e_bench; do
  [[ -x $build/tests/bench/$bin ]] || die "missing $build/tests/bench/$bin (build first)"
done
started=$SECONDS
work=$(mktemp -d "$dc_tmpdir/wb-bench.XXXXXX")
if [[ ${WB_BENCH_KEEP:-} == 1 ]]; then
  note "work directory (kept): $work"
else
  trap 'rm -rf "$work"' EXIT
fi
results=$work/results.jsonl failed=""
: >"$results"
delay_label="$(awk -v d="$delay" 'BEGIN{printf "%gms", 2 * d}')"

# Shared inputs of the DC benchmarks: the golden copy (the same stamp as
# ctest's fixture.samba_golden, so either reuses it), one with the users, a
# fresh test PKI (its certificates live two days).
dc_inputs() {
  "$FIXTURES/golden_if_stale.sh" "$build/samba/golden.tar" \
    "$ROOT/deploy/schema/exchange-schema.ldif" "$FIXTURES/samba_dc.sh" >&2
  TMPDIR=$dc_tmpdir "$FIXTURES/samba_dc.sh" users-golden "$build/samba/golden.tar" \
    "$work/users.tar" "$users" >&2
  "$FIXTURES/make_certs.sh" "$work/certs" >/dev/null
}

# directory_bench MODE LABEL DELAY in its own namespace; its lines to stdout
# and to $work/MODE-LABEL.json.
directory_pass() {
  "$FIXTURES/netns_run.sh" "$SELF" _pass "$1" "$2" "$3" "$work/users.tar" "$windows" "$rounds" \
    "$work" "$build" | tee "$work/$1-$2.json"
}

# e2e_bench in its own namespace: e2e_pass NAME e2e_bench-flags...
e2e_pass() {
  local name=$1 t0=$SECONDS
  shift
  WB_GOLDEN_TAR=$work/users.tar WB_CERT_DIR=$work/certs WB_DC_TMPDIR=$dc_tmpdir \
    "$FIXTURES/netns_run.sh" "$build/tests/bench/e2e_bench" --delay_proxy="$build/tests/bench/delay_proxy" \
    "$@" 2>"$work/e2e-$name.log" | tee "$work/e2e-$name.json" ||
    { tail -n 20 "$work/e2e-$name.log" >&2; die "e2e pass $name failed"; }
  note "e2e/$name: done in $((SECONDS - t0)) s"
}

if [[ $only == all || $only == e2e ]]; then
  dc_inputs
  directory_pass raw loopback 0
  directory_pass raw "$delay_label" "$delay"
  raw_per_s=$(python3 "$ROOT/tests/bench/summarize.py" best-rate "$work/raw-loopback.json")
  half=$(awk -v r="$raw_per_s" 'BEGIN{printf "%.0f", r / 2}')
  e2e_pass 1agent-loopback --agents=1 --label=loopback --latency_rate="$half"
  e2e_pass 1agent-delay --agents=1 --label="$delay_label" --delay_ms="$delay"
  e2e_pass 2agents-loopback --agents=2 --label=loopback
  python3 "$ROOT/tests/bench/summarize.py" e2e "$work" "$delay_label" | tee -a "$results"
fi
if [[ $only == directory ]]; then
  dc_inputs
  for pass in "raw loopback 0" "apply loopback 0" "raw $delay_label $delay" "apply $delay_label $delay"; do
    read -r mode label d <<<"$pass"
    directory_pass "$mode" "$label" "$d"
  done
  python3 "$ROOT/tests/bench/summarize.py" directory "$work" "$delay_label" | tee -a "$results"
fi
if [[ $only == all || $only == controller ]]; then
  ctl_args=(--skip-build)
  ((quick)) && ctl_args+=(--quick)
  # A stalled or failed run still prints what it reached; the table shows it
  # and this script fails at the end.
  BUILD_DIR=$build "$ROOT/tests/bench/controller_bench.sh" "${ctl_args[@]}" | tee "$work/controller.json" ||
    failed="controller_bench.sh failed (see its lines above)"
  grep '"metric"' "$work/controller.json" >>"$results" || true
fi
if ((docs)); then
  python3 "$ROOT/tests/bench/summarize.py" docs "$results" "$ROOT/docs/BENCHMARKS.md" \
    "tests/bench/run.sh ${args[*]}" "$((SECONDS - started))"
  note "results table written to docs/BENCHMARKS.md"
fi
note "finished in $((SECONDS - started)) s"
[[ -z $failed ]] || die "$failed"
