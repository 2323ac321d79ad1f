#!/usr/bin/env bash
# Controller at scale (issue 8): the real writeback-controller with its real
# SQLite store on disk, mailboxes loaded through the Admin API
# (ImportMailboxes), and fake agents (tests/bench/fake_agents) that each hold
# their own mutual-TLS connection and client certificate and acknowledge
# every read and job at once, without a directory. Then the same fake agents
# against a plain gRPC echo of the agent stream (tests/bench/grpc_echo) with
# the same streams, message sizes, batching and credit: the transport's limit.
#
#   tests/bench/controller_bench.sh [--quick | --smoke] [--mailboxes N] [--agents N]
#       [--forests N] [--credit 64] [--store-dir DIR] [--lease-ms 3000] [--connect-per-s 100]
#       [--stall-s 60] [--no-failover] [--load-only] [--skip-build]
#
# --credit: the max_in_flight each fake agent announces in Hello (default 64,
# the real agent's default), for the echo too.
# Defaults: 1,000,000 mailboxes, 1,000 agents over 10 forests (100 each),
# store under ${TMPDIR:-/tmp} (disk). --quick: 20,000 mailboxes, same agents,
# --stall-s 30. --load-only: load, connect the agents (forests paused), print
# controller_import_per_s and controller_rss_mb_1m, stop (no work, no check).
# --smoke (the ctest controller_bench_smoke): 2,000 mailboxes, 20 agents over
# 2 forests, no failover, a 1 s echo. Agents connect at --connect-per-s (0:
# all at once, a reconnect storm); forests are paused while they connect and
# resumed together: the rate counts from the resume to the last answer. The
# controller's lease is --lease-ms (heartbeats at a third of it; the
# product's default 3000), its LDAP timeout 3000. Agent 0 runs in a process
# of its own and leaves every read and job unanswered (an agent whose
# directory hangs: it holds its full credit of work, however fast the
# others are); once 30% of the mailboxes are in sync it is killed with SIGKILL
# (failover_s: until another agent answered every job and read it held; the
# fence is lease + LDAP timeout).
# The run ends with the final check (bench_admin check): one provisioning
# log record per job and read, applied_gen = desired_gen for every mailbox;
# a violation fails the run. So does a stall (no mailbox got in sync for
# --stall-s): the metrics are printed with what was reached ("completed":
# false), the check is skipped, the exit status is 1. Prints JSON lines:
#   controller_import_per_s, controller_jobs_per_s, grpc_echo_msgs_per_s,
#   controller_vs_grpc_echo, controller_rss_mb_1m, failover_s,
#   controller_final_check
# Progress goes to stderr; logs stay in the work directory it names
# (WB_BENCH_KEEP=1 keeps it).
set -euo pipefail

readonly SELF="$(readlink -f "${BASH_SOURCE[0]}")"
readonly ROOT="$(cd "$(dirname "$SELF")/../.." && pwd)"

die() { echo "controller_bench.sh: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

mailboxes=1000000 agents=1000 forests=10 credit=64 store_dir="" failover=1 build_it=1
echo_s=10 echo_warmup_s=2 lease_ms=3000 connect_per_s=100 stall_s=60 load_only=0
while (($#)); do
  case $1 in
    --quick) mailboxes=20000 stall_s=30; shift ;;
    --smoke) mailboxes=2000 agents=20 forests=2 failover=0 echo_s=1 echo_warmup_s=1; shift ;;
    --mailboxes) mailboxes=${2:?}; shift 2 ;;
    --agents) agents=${2:?}; shift 2 ;;
    --forests) forests=${2:?}; shift 2 ;;
    --credit) credit=${2:?}; shift 2 ;;
    --store-dir) store_dir=${2:?}; shift 2 ;;
    --lease-ms) lease_ms=${2:?}; shift 2 ;;
    --connect-per-s) connect_per_s=${2:?}; shift 2 ;;
    --no-failover) failover=0; shift ;;
    --stall-s) stall_s=${2:?}; shift 2 ;;
    --load-only) load_only=1; shift ;;
    --skip-build) build_it=0; shift ;;
    -h | --help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$SELF"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[[ $mailboxes =~ ^[0-9]+$ ]] && ((mailboxes > 0)) || die "--mailboxes wants a positive number"
[[ $forests =~ ^[0-9]+$ ]] && ((forests > 0)) || die "--forests wants a positive number"
[[ $credit =~ ^[0-9]+$ ]] && ((credit > 0)) || die "--credit wants a positive number"
[[ $agents =~ ^[0-9]+$ ]] && ((agents >= forests && agents % forests == 0)) ||
  die "--agents wants a positive multiple of --forests"
((failover == 0 || agents / forests >= 2)) || die "failover needs two agents per forest"
per_forest=$((agents / forests))

build=${BUILD_DIR:-$ROOT/build}
if ((build_it)); then
  note "building into $build"
  cmake -S "$ROOT" -B "$build" -G Ninja >/dev/null
  ninja -C "$build" -j "${JOBS:-2}" writeback-controller fake_agents grpc_echo bench_admin >&2
fi
ctl_bin=$build/controller/writeback-controller
for bin in "$ctl_bin" "$build/tests/bench/fake_agents" "$build/tests/bench/grpc_echo" \
  "$build/tests/bench/bench_admin"; do
  [[ -x $bin ]] || die "missing $bin (build first)"
done
fake=$build/tests/bench/fake_agents echo_bin=$build/tests/bench/grpc_echo
admin_bin=$build/tests/bench/bench_admin

# Two TLS connections per agent (controller and echo run apart), a few
# descriptors each side: raise the limit as far as allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= 4 * agents + 256)) || die "open-file limit $(ulimit -n) is too low for $agents agents"

work=$(mktemp -d "${TMPDIR:-/tmp}/wb-ctlbench.XXXXXX")
pids=()
cleanup() {
  local p
  if [[ ${WB_BENCH_KEEP:-} == 1 ]]; then note "work directory (kept): $work"; fi
  exec 2>/dev/null  # no "Killed" notes for the helpers stopped here
  for p in "${pids[@]}"; do kill -9 "$p" || true; done
  wait || true
  [[ ${WB_BENCH_KEEP:-} == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT
[[ -n $store_dir ]] || store_dir=$work/store
mkdir -p "$store_dir"
estate=(--forests="$forests" --agents_per_forest="$per_forest")
agent_args=("${estate[@]}" --max_in_flight="$credit")

wait_file() {  # FILE SECONDS WHAT
  local i
  for ((i = 0; i < $2 * 20; i++)); do [[ -s $1 ]] && return 0; sleep 0.05; done
  die "$3 (no $1 after $2 s)"
}
json_int() { sed -n "s/.*\"$2\":\([0-9.-]*\).*/\1/p" "$1"; }
now_ms() { date +%s%3N; }

t_start=$SECONDS
"$fake" --make_pki --pki_dir="$work/pki" "${estate[@]}" || die "making the PKI failed"
note "PKI for $agents agents made in $((SECONDS - t_start)) s"

heartbeat_ms=$((lease_ms / 3)) ldap_timeout_ms=3000
cat >"$work/controller.conf" <<EOF
agent_listen: "127.0.0.1:0"
admin_listen: "127.0.0.1:0"
enroll_listen: "127.0.0.1:0"
metrics_listen: "127.0.0.1:0"
ports_file: "$work/ports"
store_path: "$store_dir/writeback.db"
ca_dir: "$work/ca"
tls { ca_file: "$work/pki/ca.pem" }
heartbeat_interval_ms: $heartbeat_ms
lease_ms: $lease_ms
ldap_timeout_ms: $ldap_timeout_ms
mass_change_threshold: 0
# Agent 0 answers nothing until it is killed: it must not be cut as stuck first.
answer_timeout_ms: 3600000
EOF
"$ctl_bin" --config="$work/controller.conf" 2>"$work/controller.log" &
ctl_pid=$!
pids+=("$ctl_pid")
wait_file "$work/ports" 60 "the controller did not start"
admin_port=$(sed -n 's/^admin=//p' "$work/ports")
agent_port=$(sed -n 's/^agent=//p' "$work/ports")
admin=("$admin_bin" --admin="127.0.0.1:$admin_port" --token_file="$store_dir/admin.token"
  "${estate[@]}" --mailboxes="$mailboxes" --stall_s="$stall_s")

note "loading $mailboxes mailboxes through ImportMailboxes"
"${admin[@]}" load >"$work/load.json" || die "loading failed"
rss_loaded_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$ctl_pid/status")
note "loaded: $(cat "$work/load.json"); controller RSS $((rss_loaded_kb / 1024)) MB"
"${admin[@]}" pause >/dev/null || die "pausing the forests failed"

mkdir -p "$work/samples"
first=0
if ((failover)); then
  "$fake" --target="127.0.0.1:$agent_port" --server_ca="$work/ca/trust.pem" --pki_dir="$work/pki" \
    "${agent_args[@]}" --first=0 --count=1 --answer_delay_ms=86400000 --ready_file="$work/lone.ready" \
    --stats_file="$work/lone.json" 2>"$work/lone.log" &
  lone_pid=$!
  pids+=("$lone_pid")
  first=1
fi
"$fake" --target="127.0.0.1:$agent_port" --server_ca="$work/ca/trust.pem" --pki_dir="$work/pki" \
  "${agent_args[@]}" --first=$first --ready_file="$work/agents.ready" --stats_file="$work/agents.json" \
  --sample_dir="$work/samples" --connect_per_s="$connect_per_s" 2>"$work/agents.log" &
agents_pid=$!
pids+=("$agents_pid")
wait_file "$work/agents.ready" 300 "the fake agents did not all connect"
((failover == 0)) || wait_file "$work/lone.ready" 60 "the lone agent did not connect"
note "$agents agents connected in $((SECONDS - t_start)) s since start; resuming the forests"

if ((load_only)); then
  hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$ctl_pid/status")
  rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$ctl_pid/status")
  cat "$work/load.json"
  printf '{"metric":"controller_rss_mb_1m","value":%.1f,"vmrss_mb":%.1f,"phase":"%s","mailboxes":%d,"agents":%d,"forests":%d}\n' \
    "$(awk -v k="$hwm_kb" 'BEGIN{print k / 1024}')" "$(awk -v k="$rss_kb" 'BEGIN{print k / 1024}')" \
    "loaded, agents connected, forests paused: nothing run" "$mailboxes" "$agents" "$forests"
  exit 0
fi
t0_ms=$("${admin[@]}" resume) || die "resuming failed"
# A run whose mailboxes stop getting in sync (bench_admin wait exits 3 after
# --stall_s) is reported with what it reached, skips the final check, and
# fails.
completed=1 failed_over=0 rc=0
if ((failover)); then
  "${admin[@]}" wait --fraction=0.3 >"$work/wait.json" || rc=$?
  ((rc == 0 || rc == 3)) || die "waiting for work to flow failed"
  if ((rc == 0)); then
    kill -9 "$lone_pid"
    kill_ms=$(now_ms)
    note "SIGKILLed agent 0 ($(json_int "$work/lone.json" jobs) jobs answered by then)"
    lone_agent=$(printf 'f00-agent-%04d' 0)
    if "${admin[@]}" failover --agent="$lone_agent" --since_ms="$kill_ms" --guard_s=120 \
      >"$work/failover.json"; then
      failed_over=1
      note "failover: $(cat "$work/failover.json")"
    else
      note "failover did not complete within 120 s"
    fi
  else
    completed=0
  fi
fi
if ((completed)); then
  rc=0
  "${admin[@]}" wait >"$work/wait.json" || rc=$?
  ((rc == 0 || rc == 3)) || die "waiting for the mailboxes failed"
  ((rc == 0)) || completed=0
fi
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$ctl_pid/status")
hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$ctl_pid/status")
kill -TERM "$agents_pid"
wait "$agents_pid" || true
note "agents: $(cat "$work/agents.json")"

if ((completed)); then
  "${admin[@]}" check --stats="$work/agents.json" ${lone_agent:+--agent="$lone_agent"} \
    >"$work/check.json" || { cat "$work/check.json" >&2; die "the final check FAILED"; }
  note "final check passed: $(cat "$work/check.json")"
else
  note "STALLED: $(cat "$work/wait.json"); the final check is skipped and the run fails"
  echo '{"metric":"controller_final_check","value":0,"skipped":"the run stalled"}' >"$work/check.json"
fi
kill -TERM "$ctl_pid"
wait "$ctl_pid" || true

# The echo: the same agents, messages, batching and credit, no controller.
jobs=$(json_int "$work/agents.json" jobs) batches=$(json_int "$work/agents.json" job_batches)
batch=$(((jobs + batches / 2) / (batches > 0 ? batches : 1)))
((batch > 0)) || batch=1
"$echo_bin" --pki_dir="$work/pki" --sample_dir="$work/samples" --batch="$batch" \
  --streams="$agents" --port_file="$work/echo.port" --result_file="$work/echo.json" \
  --measure_s="$echo_s" --warmup_s="$echo_warmup_s" 2>"$work/echo.log" &
echo_pid=$!
pids+=("$echo_pid")
wait_file "$work/echo.port" 30 "the echo server did not start"
"$fake" --target="127.0.0.1:$(<"$work/echo.port")" --server_ca="$work/pki/ca.pem" \
  --pki_dir="$work/pki" "${agent_args[@]}" --connect_per_s="$connect_per_s" \
  2>"$work/echo_agents.log" &
pids+=("$!")
wait_file "$work/echo.json" $((echo_s + 300)) "the echo measurement did not end"
note "echo: $(cat "$work/echo.json")"

cuts=$(grep -c "lease expired: \|presumed stuck" "$work/controller.log" || true)
python3 - "$cuts" "$connect_per_s" "$completed" "$failed_over" "$credit" "$work" "$t0_ms" "$mailboxes" "$agents" "$forests" "$batch" "$hwm_kb" "$rss_kb" \
  "$rss_loaded_kb" "$lease_ms" "$ldap_timeout_ms" "$failover" "$store_dir" <<'PY'
import json, sys
cuts, connect_per_s, completed, failed_over, credit = (int(a) for a in sys.argv[1:6])
del sys.argv[1:6]
(work, t0_ms, mailboxes, agents, forests, batch, hwm_kb, rss_kb, rss_loaded_kb, lease_ms,
 ldap_ms, failover, store_dir) = sys.argv[1:]
def load(name):
    with open(f"{work}/{name}") as f:
        return json.loads(f.readline())
def out(metric, value, **extra):
    print(json.dumps({"metric": metric, "value": value, **extra}, separators=(",", ":")))
ag, check, echo, imp = load("agents.json"), load("check.json"), load("echo.json"), load("load.json")
if completed:
    seconds = (ag["last_answer_us"] / 1000 - int(t0_ms)) / 1000
    jobs, reads = check["job_records"], check["read_records"]
else:  # what got in sync by the stall: one read and one job each
    wait = load("wait.json")
    seconds, jobs = wait["seconds"], wait["in_sync"]
    reads = jobs
items = (jobs + reads) / seconds
common = {"mailboxes": int(mailboxes), "agents": int(agents), "forests": int(forests)}
print(json.dumps(imp, separators=(",", ":")))
out("controller_jobs_per_s", round(jobs / seconds, 1), reads_per_s=round(reads / seconds, 1),
    items_per_s=round(items, 1), seconds=round(seconds, 1), jobs_per_batch=int(batch),
    credit=credit, lease_ms=int(lease_ms), connect_per_s=connect_per_s, sessions_cut=cuts,
    agent_reconnects=ag["reconnects"], completed=bool(completed), store_dir=store_dir, **common)
out("grpc_echo_msgs_per_s", round(echo["items_per_s"], 1), jobs_per_s=echo["jobs_per_s"],
    reads_per_s=echo["reads_per_s"], seconds=echo["seconds"], streams=echo["streams"],
    jobs_per_batch=echo["batch"], credit=credit, job_bytes=echo["job_bytes"],
    read_request_bytes=echo["read_request_bytes"])
out("controller_vs_grpc_echo", round(items / echo["items_per_s"], 3),
    units="reads+jobs answered per second on both sides")
out("controller_rss_mb_1m", round(int(hwm_kb) / 1024, 1), vmrss_mb=round(int(rss_kb) / 1024, 1),
    vmrss_after_load_mb=round(int(rss_loaded_kb) / 1024, 1), **common)
if failed_over:
    fo = load("failover.json")
    out("failover_s", fo["answered_s"], in_sync_s=fo["in_sync_s"],
        detached_after_s=fo["detached_after_s"], lost=fo["lost"], lost_jobs=fo["lost_jobs"],
        lease_ms=int(lease_ms), ldap_timeout_ms=int(ldap_ms))
elif failover == "1":
    out("failover_s", None, completed=False, lease_ms=int(lease_ms), ldap_timeout_ms=int(ldap_ms))
print(json.dumps(check, separators=(",", ":")))
PY
note "done in $((SECONDS - t_start)) s"
((completed)) || die "the run stalled: the controller stopped getting mailboxes in sync"
