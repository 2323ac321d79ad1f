#!/usr/bin/env bash
# Benchmarks. Today one: directory write throughput (issue 3) — the agent's
# apply layer against a plain pipelined libldap client on the same Samba AD DC,
# directly on loopback and through a proxy adding 5 ms of round trip.
#
#   tests/bench/run.sh [--only directory] [--users N] [--windows 1,4,16,64,128]
#                      [--rounds 2] [--delay-ms 2.5] [--dc-tmpdir DIR] [--skip-build]
#
# Installs what is missing (deploy/install-deps.sh), builds into
# ${BUILD_DIR:-build} (deploy/build.sh), then runs four passes, each on its own
# DC restored from the golden copy inside its own network namespace with N
# users created (default 2000): raw loopback, apply loopback, raw 5 ms, apply
# 5 ms. Each pass sweeps the window sizes `rounds` times and keeps its best
# step. The DCs live under --dc-tmpdir (default /dev/shm, a tmpfs: on disk,
# Samba's fsyncs per modify, not the client, set the pace). Prints JSON
# lines: every window step, each pass's best, then
#   {"metric":"apply_vs_raw_ldap","value":R,"apply_per_s":A,"raw_per_s":B,"users":N}
#   {"metric":"apply_vs_raw_ldap_5ms",...}
# Progress goes to stderr; logs stay in the work directory it names
# (WB_BENCH_KEEP=1 keeps it).
set -euo pipefail

readonly SELF="$(readlink -f "${BASH_SOURCE[0]}")"
readonly ROOT="$(cd "$(dirname "$SELF")/../.." && pwd)"
readonly FIXTURES="$ROOT/tests/fixtures"

die() { echo "run.sh: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

# One pass, inside its own network namespace (netns_run.sh):
#   _pass MODE LABEL DELAY_MS USERS WINDOWS ROUNDS WORK BUILD
run_pass() {
  local mode=$1 label=$2 delay=$3 users=$4 windows=$5 rounds=$6 work=$7 build=$8
  local certs=$work/certs t0=$SECONDS
  # Globals: the EXIT trap runs after this function has returned.
  dir=$work/dc-$mode-$label proxy_pid=""
  "$FIXTURES/samba_dc.sh" start "$build/samba/golden.tar" "$dir" "$certs" >"$dir.start.log" 2>&1 ||
    { cat "$dir.start.log" >&2; die "DC for $mode/$label did not start"; }
  trap '[[ -n $proxy_pid ]] && kill "$proxy_pid" 2>/dev/null; "$FIXTURES/samba_dc.sh" stop "$dir"' EXIT
  "$FIXTURES/samba_dc.sh" add-users "$dir" "$certs" "$users" >"$dir.users.tsv" 2>"$dir.users.log" ||
    { cat "$dir.users.log" >&2; die "creating $users users failed"; }
  local created
  created=$(wc -l <"$dir.users.tsv")
  ((created == users)) || die "$created users created, wanted $users"
  note "$mode/$label: DC up with $users users in $((SECONDS - t0)) s"

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

only=directory users=2000 windows=1,4,16,64,128 rounds=2 delay=2.5 build_it=1
dc_tmpdir=/dev/shm
[[ -d $dc_tmpdir && -w $dc_tmpdir ]] || dc_tmpdir=${TMPDIR:-/tmp}
while (($#)); do
  case $1 in
    --only) only=${2:?}; shift 2 ;;
    --users) users=${2:?}; shift 2 ;;
    --windows) windows=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --dc-tmpdir) dc_tmpdir=${2:?}; shift 2 ;;
    --delay-ms) delay=${2:?}; shift 2 ;;
    --skip-build) build_it=0; shift ;;
    -h | --help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$SELF"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[[ $only == directory ]] || die "unknown benchmark '$only' (there is: directory)"
[[ $users =~ ^[0-9]+$ ]] && ((users > 0)) || die "--users wants a positive number"
[[ $rounds =~ ^[0-9]+$ ]] && ((rounds > 0)) || die "--rounds wants a positive number"

export BUILD_DIR=${BUILD_DIR:-$ROOT/build}
build=$(mkdir -p "$BUILD_DIR" && cd "$BUILD_DIR" && pwd)
if ((build_it)); then
  "$ROOT/deploy/install-deps.sh"
  note "building into $build"
  "$ROOT/deploy/build.sh"
fi
for bin in directory_bench delay_proxy; do
  [[ -x $build/tests/bench/$bin ]] || die "missing $build/tests/bench/$bin (build first)"
done
# The same inputs as ctest's fixture.samba_golden, so either can reuse it.
"$FIXTURES/golden_if_stale.sh" "$build/samba/golden.tar" \
  "$ROOT/deploy/schema/exchange-schema.ldif" "$FIXTURES/samba_dc.sh" >&2

work=$(mktemp -d "$dc_tmpdir/wb-bench.XXXXXX")
if [[ ${WB_BENCH_KEEP:-} == 1 ]]; then
  note "work directory (kept): $work"
else
  trap 'rm -rf "$work"' EXIT
fi
# Fresh test PKI (its certificates live two days).
"$FIXTURES/make_certs.sh" "$work/certs" >/dev/null

delay_label="$(awk -v d="$delay" 'BEGIN{printf "%gms", 2 * d}')"
for pass in "raw loopback 0" "apply loopback 0" "raw $delay_label $delay" "apply $delay_label $delay"; do
  read -r mode label d <<<"$pass"
  "$FIXTURES/netns_run.sh" "$SELF" _pass "$mode" "$label" "$d" "$users" "$windows" "$rounds" "$work" \
    "$build" | tee "$work/$mode-$label.json"
done

python3 - "$work" "$users" "$delay_label" <<'PY'
import json, sys
work, users, delay_label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def best(mode, label):
    with open(f"{work}/{mode}-{label}.json") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("best"):
                return rec
    raise SystemExit(f"no result for {mode}/{label}")
for label, metric in (("loopback", "apply_vs_raw_ldap"), (delay_label, "apply_vs_raw_ldap_5ms")):
    raw, apply = best("raw", label), best("apply", label)
    ratio = apply["per_s"] / raw["per_s"] if raw["per_s"] > 0 else 0.0
    print(json.dumps({"metric": metric, "value": round(ratio, 3),
                      "apply_per_s": apply["per_s"], "raw_per_s": raw["per_s"],
                      "apply_window": apply["window"], "raw_window": raw["window"],
                      "users": users}, separators=(",", ":")))
PY
