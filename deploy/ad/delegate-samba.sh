#!/usr/bin/env bash
# Least privilege for the writeback agent's AD account (DESIGN §7): grants it
# read and write of the allowlisted attributes of user objects below each
# scope OU, and nothing else, on a Samba AD DC. Windows AD: see
# docs/least-privilege.md for the equivalent dsacls / PowerShell lines.
#
#   delegate-samba.sh --agent svc-writeback \
#       --scope-ou "OU=Mailboxes,DC=corp,DC=example,DC=com" [--scope-ou DN ...] \
#       --url ldaps://dc1.corp.example.com \
#       --admin-dn "CN=Administrator,CN=Users,DC=corp,DC=example,DC=com" \
#       --admin-password-file /root/admin.pass [--ca-file /etc/ssl/corp-ca.pem] \
#       [--agent-bin /usr/bin/writeback-agent [--agent-config /etc/writeback/agent.conf]] \
#       [--attributes proxyAddresses,mail,...] [--check] [--print]
#
# On each scope OU it adds, for every attribute, one inherit-only object ACE
# that applies to descendant user objects only:
#   (OA;CIIO;RPWP;<attribute schemaIDGUID>;<user class schemaIDGUID>;<agent SID>)
# The GUIDs and the SID are looked up on the DC at run time (never hard-coded:
# the Exchange attributes' schemaIDGUIDs come from the schema extension).
# ACEs already present are not added twice, so the script can be re-run, e.g.
# after the allowlist grew.
#
# The attribute list has one source of truth, the agent itself:
# `writeback-agent --print_allowlist [--config agent.conf]` prints the
# attributes that agent may write (its allowed_attributes, else the 24 of the
# default set). --attributes overrides it (comma-separated).
#
# Options (environment variables in brackets):
#   --agent NAME|DN         the agent's account: sAMAccountName or DN
#   --scope-ou DN           a scope OU; repeat for several
#   --url URL               the DC [WB_AD_URL]; ldaps:// or ldap:// (StartTLS)
#   --admin-dn DN           an account that may change the OUs' security
#                           descriptors [WB_AD_ADMIN_DN]
#   --admin-password-file F its password, a mode 0600 file [WB_AD_ADMIN_PASSWORD_FILE]
#   --ca-file F             CA that verifies the DC's certificate [LDAPTLS_CACERT]
#   --agent-bin PATH        writeback-agent to ask for the allowlist (default: on PATH)
#   --agent-config F        that agent's configuration (its allowed_attributes)
#   --attributes LIST       the attributes, comma-separated, instead of the agent's
#   --check                 change nothing; exit 1 naming every ACE that is missing
#   --print                 change nothing; print the ACEs (SDDL) for each OU
#
# Needs ldapsearch (ldap-utils) and samba-tool (python3-samba). The password
# never appears in argv: ldapsearch reads it with -y, samba-tool from
# PASSWD_FILE.
set -euo pipefail

die() { echo "delegate-samba.sh: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

agent="" url=${WB_AD_URL:-} admin_dn=${WB_AD_ADMIN_DN:-}
password_file=${WB_AD_ADMIN_PASSWORD_FILE:-} ca_file=${LDAPTLS_CACERT:-}
agent_bin="" agent_config="" attributes="" mode=set
scope_ous=()
while (($#)); do
  case $1 in
    --agent) agent=${2:?}; shift 2 ;;
    --scope-ou) scope_ous+=("${2:?}"); shift 2 ;;
    --url) url=${2:?}; shift 2 ;;
    --admin-dn) admin_dn=${2:?}; shift 2 ;;
    --admin-password-file) password_file=${2:?}; shift 2 ;;
    --ca-file) ca_file=${2:?}; shift 2 ;;
    --agent-bin) agent_bin=${2:?}; shift 2 ;;
    --agent-config) agent_config=${2:?}; shift 2 ;;
    --attributes) attributes=${2:?}; shift 2 ;;
    --check) mode=check; shift ;;
    --print) mode=print; shift ;;
    -h|--help) usage ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ -n $agent ]] || die "--agent is required (the agent account's sAMAccountName or DN)"
((${#scope_ous[@]})) || die "--scope-ou is required (one per scope OU)"
[[ -n $url ]] || die "--url (or WB_AD_URL) is required, e.g. ldaps://dc1.corp.example.com"
[[ -n $admin_dn ]] || die "--admin-dn (or WB_AD_ADMIN_DN) is required"
[[ -n $password_file && -r $password_file ]] ||
  die "--admin-password-file (or WB_AD_ADMIN_PASSWORD_FILE): a readable 0600 file is required"
if [[ $(stat -c %a "$password_file") != 600 && $(stat -c %a "$password_file") != 400 ]]; then
  die "$password_file: mode must be 0600 or 0400 (it holds a password)"
fi
[[ -z $ca_file ]] || export LDAPTLS_CACERT=$ca_file

# --- the attribute list ------------------------------------------------------
if [[ -z $attributes ]]; then
  [[ -n $agent_bin ]] || agent_bin=$(command -v writeback-agent) ||
    die "writeback-agent is not on PATH: give --agent-bin or --attributes"
  config_args=()
  [[ -z $agent_config ]] || config_args=(--config="$agent_config")
  attributes=$("$agent_bin" --print_allowlist "${config_args[@]}" | paste -sd, -) ||
    die "$agent_bin --print_allowlist failed"
fi
IFS=, read -r -a attr_list <<<"$attributes"
((${#attr_list[@]})) || die "the attribute list is empty"

# --- lookups on the DC -------------------------------------------------------
ldap_args=(-LLL -o ldif-wrap=no -x -H "$url" -D "$admin_dn" -y "$password_file")
[[ $url == ldaps://* ]] || ldap_args+=(-ZZ)

# Base64 of a 16-byte GUID -> its string form (first three fields little-endian).
guid_string() {
  local -a b
  read -r -a b <<<"$(base64 -d <<<"$1" | od -An -v -tx1 | tr -s ' \n' '  ')"
  ((${#b[@]} == 16)) || return 1
  printf '%s%s%s%s-%s%s-%s%s-%s%s-%s%s%s%s%s%s\n' "${b[3]}" "${b[2]}" "${b[1]}" "${b[0]}" \
    "${b[5]}" "${b[4]}" "${b[7]}" "${b[6]}" "${b[@]:8:8}"
}

# Base64 of a binary SID -> S-1-5-21-...
sid_string() {
  local -a b
  read -r -a b <<<"$(base64 -d <<<"$1" | od -An -v -tu1 | tr -s ' \n' '  ')"
  local n=${b[1]} auth=0 i sid
  ((${#b[@]} == 8 + 4 * n)) || return 1
  for i in 2 3 4 5 6 7; do auth=$((auth * 256 + b[i])); done
  sid="S-${b[0]}-$auth"
  for ((i = 0; i < n; i++)); do
    local o=$((8 + 4 * i))
    sid+="-$((b[o] + 256 * b[o + 1] + 65536 * b[o + 2] + 16777216 * b[o + 3]))"
  done
  echo "$sid"
}

# Prints the value of `attr` (base64 when binary) of the single entry found.
search_one() {
  local base=$1 scope=$2 filter=$3 attr=$4 out
  out=$(ldapsearch "${ldap_args[@]}" -b "$base" -s "$scope" "$filter" "$attr") ||
    die "LDAP search of $base for $filter failed"
  awk -v a="$attr" 'tolower($1) == tolower(a) ":" || tolower($1) == tolower(a) "::" { print $2 }' \
    <<<"$out"
}

root_dse=$(ldapsearch "${ldap_args[@]}" -b "" -s base "(objectClass=*)" \
  defaultNamingContext schemaNamingContext) || die "cannot bind to $url as $admin_dn"
base_dn=$(awk '/^defaultNamingContext: /{print $2}' <<<"$root_dse")
schema_dn=$(awk '/^schemaNamingContext: /{print $2}' <<<"$root_dse")
[[ -n $base_dn && -n $schema_dn ]] || die "$url: the rootDSE names no naming contexts"

if [[ $agent == *=* ]]; then
  sid_b64=$(search_one "$agent" base "(objectClass=*)" objectSid)
else
  sid_b64=$(search_one "$base_dn" sub "(&(objectCategory=person)(sAMAccountName=$agent))" objectSid)
fi
[[ $(wc -w <<<"$sid_b64") == 1 ]] || die "agent account '$agent': not found (or not unique)"
agent_sid=$(sid_string "$sid_b64") || die "agent account '$agent': unreadable objectSid"

schema_guid() {
  local b64 guid
  b64=$(search_one "$schema_dn" one "(lDAPDisplayName=$1)" schemaIDGUID)
  [[ $(wc -w <<<"$b64") == 1 ]] || die "the DC's schema has no attribute or class '$1'"
  guid=$(guid_string "$b64") || die "'$1': unreadable schemaIDGUID"
  echo "$guid"
}
user_guid=$(schema_guid user)
aces=""
for attr in "${attr_list[@]}"; do
  attr=${attr//[[:space:]]/}
  [[ $attr =~ ^[A-Za-z][A-Za-z0-9-]*$ ]] || die "'$attr' is not an attribute name"
  aces+="(OA;CIIO;RPWP;$(schema_guid "$attr");$user_guid;$agent_sid)"
done

# --- the scope OUs -----------------------------------------------------------
# samba-tool reads the password from PASSWD_FILE, never from argv.
# Samba's client verifies the certificate's name only against a host name
# ("ca_and_name_if_available": the CA always, the name when the URL has one;
# for an IP address ldapsearch above has checked the certificate's IP SAN).
samba_args=(-H "$url" --simple-bind-dn="$admin_dn" -s /dev/null
  --option="tls cafile=${ca_file:-/etc/ssl/certs/ca-certificates.crt}"
  --option="tls crlfile=" --option="tls verify peer=ca_and_name_if_available")

# The SDDL of the OU's security descriptor.
ou_sddl() {
  PASSWD_FILE=$password_file samba-tool dsacl get "${samba_args[@]}" --objectdn="$1" 2>&1 |
    grep -E '^O:|D:' || die "reading the security descriptor of $1 failed"
}

missing_total=0
for ou in "${scope_ous[@]}"; do
  ldapsearch "${ldap_args[@]}" -b "$ou" -s base "(objectClass=organizationalUnit)" dn \
    >/dev/null 2>&1 || die "scope OU '$ou' does not exist (or is not an OU)"
  if [[ $mode == print ]]; then
    echo "$ou: $aces"
    continue
  fi
  current=$(ou_sddl "$ou")
  missing=""
  while read -r ace; do
    [[ -z $ace ]] && continue
    # Samba prints GUIDs and SIDs as given; compare ignoring case.
    grep -qiF -- "$ace" <<<"$current" || missing+="$ace"
  done < <(sed 's/)(/)\n(/g' <<<"$aces")
  if [[ -z $missing ]]; then
    echo "$ou: all ${#attr_list[@]} ACEs present for $agent ($agent_sid)"
    continue
  fi
  if [[ $mode == check ]]; then
    echo "$ou: missing $(grep -o '(' <<<"$missing" | wc -l) ACEs: $missing" >&2
    missing_total=$((missing_total + 1))
    continue
  fi
  PASSWD_FILE=$password_file samba-tool dsacl set "${samba_args[@]}" --objectdn="$ou" \
    --sddl="$missing" >/dev/null || die "setting the ACEs on $ou failed"
  current=$(ou_sddl "$ou")
  while read -r ace; do
    [[ -z $ace ]] || grep -qiF -- "$ace" <<<"$current" || die "$ou: ACE $ace did not stick"
  done < <(sed 's/)(/)\n(/g' <<<"$missing")
  echo "$ou: granted $agent ($agent_sid) read/write of ${#attr_list[@]} attributes on user objects"
done
((missing_total == 0)) || exit 1
