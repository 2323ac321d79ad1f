#!/usr/bin/env bash
# The main job on the embedded defaults: installs what is missing, builds,
# starts a throwaway Samba AD DC (with the Exchange schema extension from
# deploy/schema/) on a private loopback, the controller (SQLite store) and one
# agent over mutual TLS, makes sample cloud-side changes with writebackctl,
# waits for the agent's acknowledgements and prints what AD now holds, read
# back with ldapsearch. Everything it started is stopped on exit, Ctrl-C or
# failure.
#
#   ./deploy/demo.sh            (as root, or with sudo rights for apt and namespaces)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fixtures=$root/tests/fixtures

if [[ ${WB_DEMO_INNER:-} != 1 ]]; then
  "$root/deploy/install-deps.sh"
  echo "== building (first time: a few minutes)"
  BUILD_DIR=${BUILD_DIR:-$root/build} "$root/deploy/build.sh"
  # A private network namespace: the DC's fixed ports (389, 636, 88, 135)
  # cannot clash with anything on this host, and nothing outlives the demo.
  SUDO=()
  [[ $(id -u) -eq 0 ]] || SUDO=(sudo --preserve-env=BUILD_DIR)
  exec "${SUDO[@]}" env WB_DEMO_INNER=1 BUILD_DIR="${BUILD_DIR:-$root/build}" \
    "$fixtures/netns_run.sh" "$0" "$@"
fi

build=$BUILD_DIR
bin_ctl=$build/controller/writebackctl
work=$(mktemp -d /tmp/writeback-demo.XXXXXX)
pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$fixtures/samba_dc.sh" stop "$work/dc" >/dev/null 2>&1 || true
  if ((rc != 0)); then
    for log in "$work"/controller.log "$work"/agent.log; do
      [[ -f $log ]] && { echo "--- last lines of $(basename "$log")"; tail -n 20 "$log"; } >&2
    done
    echo "demo FAILED (exit $rc)" >&2
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { echo; echo "== $*"; }

step "throwaway Samba AD DC with the Exchange schema extension"
golden=$build/samba/golden.tar
if [[ ! -f $golden ]]; then
  mkdir -p "$build/samba"
  "$fixtures/samba_dc.sh" golden "$golden"
fi
"$fixtures/make_certs.sh" "$work/certs" corp.example.test 1 >/dev/null
"$fixtures/samba_dc.sh" start "$golden" "$work/dc" "$work/certs"
eval "$("$fixtures/samba_dc.sh" env "$work/dc")"
echo "DC at $DC_URL, base $BASE_DN"

step "three users in OU=Mailboxes"
"$fixtures/samba_dc.sh" add-users "$work/dc" "$work/certs" 3 demo >"$work/users.tsv"
cut -f1 "$work/users.tsv"

step "controller (SQLite store $work/writeback.db) and one agent"
cat >"$work/controller.conf" <<CONF
# writeback.v1.ControllerConfig in text format
agent_listen: "127.0.0.1:0"
admin_listen: "127.0.0.1:0"
store_path: "$work/writeback.db"
ports_file: "$work/ports"
metrics_listen: "127.0.0.1:0"
tls { cert_file: "$work/certs/controller.pem" key_file: "$work/certs/controller.key" ca_file: "$work/certs/ca.pem" }
CONF
"$build/controller/writeback-controller" --config="$work/controller.conf" 2>"$work/controller.log" &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/ports ]] && break; sleep 0.1; done
[[ -s $work/ports ]] || { cat "$work/controller.log"; exit 1; }
agent_port=$(sed -n 's/^agent=//p' "$work/ports")
export WRITEBACK_CONTROLLER=127.0.0.1:$(sed -n 's/^admin=//p' "$work/ports")
# The controller's first start wrote a local operator's Admin API token
# beside its store (mode 0600); writebackctl authenticates with it.
export WRITEBACKCTL_TOKEN_FILE=$work/admin.token

cat >"$work/agent.conf" <<CONF
# writeback.v1.AgentConfig in text format
controller: "127.0.0.1:$agent_port"
tls { cert_file: "$work/certs/agent-1.pem" key_file: "$work/certs/agent-1.key" ca_file: "$work/certs/ca.pem" }
ldap { urls: "$DC_URL" ca_file: "$CA_FILE" bind_dn: "$ADMIN_DN" password_file: "$ADMIN_PASSWORD_FILE" }
scope_ous: "OU=Mailboxes,$BASE_DN"
metrics_listen: "127.0.0.1:0"
CONF
"$build/agent/writeback-agent" --config="$work/agent.conf" 2>"$work/agent.log" &
pids+=($!)

step "cloud side: register the forest and the three mailboxes"
"$bin_ctl" forest add corp.example.test --scope_ous="OU=Mailboxes,$BASE_DN"
ids=()
while IFS=$'\t' read -r dn guid; do
  id=$(cat /proc/sys/kernel/random/uuid)
  ids+=("$id")
  "$bin_ctl" mailbox add "$id" --forest=corp.example.test --anchor="$guid" >/dev/null
  echo "$id -> $dn"
done <"$work/users.tsv"

step "cloud side: change Exchange attributes with writebackctl"
n=0
while IFS=$'\t' read -r dn guid; do
  id=${ids[$n]}
  n=$((n + 1))
  user=$(sed -E 's/^CN=([^,]+),.*/\1/' <<<"$dn")
  new=$user.new@corp.example.test
  set -x
  "$bin_ctl" mailbox set "$id" \
    "proxyAddresses:=SMTP:$new" "proxyAddresses:=smtp:$user@corp.example.test" \
    "proxyAddresses:=smtp:$user.alias@corp.example.test" \
    "mail=$new" "extensionAttribute1=Demo-$n" "msExchRecipientTypeDetails=2147483648"
  { set +x; } 2>/dev/null
done <"$work/users.tsv"

step "waiting for the agent's acknowledgements"
"$bin_ctl" mailbox wait "${ids[@]}" --timeout_s=120

step "what Active Directory holds now (ldapsearch over LDAPS)"
while IFS=$'\t' read -r dn guid; do
  LDAPTLS_CACERT=$CA_FILE ldapsearch -LLL -o ldif-wrap=no -H "$DC_URL" -x -D "$ADMIN_DN" \
    -y "$ADMIN_PASSWORD_FILE" -b "$dn" -s base \
    mail proxyAddresses extensionAttribute1 msExchRecipientTypeDetails
done <"$work/users.tsv"

step "provisioning log (newest first)"
"$bin_ctl" log --limit=6
echo
echo "demo OK"
