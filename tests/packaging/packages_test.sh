#!/usr/bin/env bash
# Builds the writeback-agent and writeback-controller Debian packages from a
# build tree into a temporary directory and checks them from the outside:
# control fields and Depends, files and modes, conffiles, maintainer scripts
# (syntax, and what they do with adduser/systemctl/install shimmed), --version
# of each extracted binary, the packaged configurations, the units
# (systemd-analyze verify and security on the extracted tree), and that no key,
# certificate or build path is packaged.
#   tests/packaging/packages_test.sh BUILD_DIR SOURCE_DIR VERSION
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
version=$3

tmp=$(mktemp -d /tmp/wb-packages.XXXXXX)
controller_pid=
cleanup() {
  if [[ -n $controller_pid ]]; then kill "$controller_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
# expect_match TEXT REGEX WHAT
expect_match() { if grep -Eq -- "$2" <<<"$1"; then pass "$3"; else fail "$3: no /$2/ in: $1"; fi; }
expect_no_match() { if grep -Eq -- "$2" <<<"$1"; then fail "$3: /$2/ in: $1"; else pass "$3"; fi; }
start=$(date +%s)

# --- build the packages ----------------------------------------------------------------
touch "$tmp/stamp"
sleep 1  # file times of a second's resolution must not count as written after the stamp
if ! cpack --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1; then
  cat "$tmp/cpack.log" >&2
  echo "FAIL: cpack" >&2
  exit 1
fi
changed=$(find "$src" \( -path "$src/.git" -o -path "$build" \) -prune -o -newer "$tmp/stamp" -print)
if [[ -z $changed ]]; then pass "cpack wrote nothing into the source tree"; else fail "cpack wrote into the source tree: $changed"; fi

deb_version="$version-1"
arch=$(dpkg --print-architecture)
agent_deb="$tmp/out/writeback-agent_${deb_version}_${arch}.deb"
controller_deb="$tmp/out/writeback-controller_${deb_version}_${arch}.deb"
for deb in "$agent_deb" "$controller_deb"; do
  [[ -f $deb ]] || { ls -l "$tmp/out" >&2; echo "FAIL: no $deb" >&2; exit 1; }
done
pass "both packages built"

# --- control fields -------------------------------------------------------------------
field() { dpkg-deb --field "$1" "$2"; }
for pkg in agent controller; do
  deb=$tmp/out/writeback-${pkg}_${deb_version}_${arch}.deb
  name=writeback-$pkg
  [[ $(field "$deb" Package) == "$name" ]] && pass "$name: Package" || fail "$name: Package $(field "$deb" Package)"
  [[ $(field "$deb" Version) == "$deb_version" ]] && pass "$name: Version $deb_version" || fail "$name: Version $(field "$deb" Version)"
  [[ $(field "$deb" Architecture) == "$arch" ]] && pass "$name: Architecture" || fail "$name: Architecture"
  [[ $(field "$deb" Section) == admin ]] && pass "$name: Section" || fail "$name: Section $(field "$deb" Section)"
  expect_match "$(field "$deb" Maintainer)" '^[^<]+ <[^@ ]+@[^> ]+>$' "$name: Maintainer"
  expect_match "$(field "$deb" Homepage)" '^https://' "$name: Homepage"
  desc=$(field "$deb" Description)
  expect_match "$(head -1 <<<"$desc")" "^writeback $pkg" "$name: Description summary"
  [[ $(wc -l <<<"$desc") -ge 5 ]] && pass "$name: long description" || fail "$name: long description: $desc"
  depends=$(field "$deb" Depends)
  # Computed by dpkg-shlibdeps from the binaries, plus adduser for postinst.
  for dep in adduser 'libc6 \(>= ' 'libgrpc\+\+1\.51' 'libprotobuf32' 'libabsl20220623' \
             'libssl3 \(>= ' 'libstdc\+\+6'; do
    expect_match "$depends" "(^|, )$dep" "$name: Depends $dep"
  done
  info=$(dpkg-deb --info "$deb")
  for script in postinst prerm postrm conffiles; do
    expect_match "$info" "^ +[0-9]+ bytes, +[0-9]+ lines +[*]? *$script( |$)" "$name: control member $script"
  done
done
expect_match "$(field "$agent_deb" Depends)" '(^|, )libldap-2\.5-0' "writeback-agent: Depends libldap"
expect_match "$(field "$agent_deb" Recommends)" 'libsasl2-modules-gssapi-mit' "writeback-agent: Recommends GSSAPI plugin"
expect_match "$(field "$controller_deb" Depends)" '(^|, )libsqlite3-0' "writeback-controller: Depends libsqlite3"

# --- files and modes -------------------------------------------------------------------
# "mode owner path" of every regular file and link, against the exact expected list.
listing() { dpkg-deb --contents "$1" | awk '$1 !~ /^d/ {print $1, $2, $6}' | sort; }
expected_agent="-rw-r--r-- root/root ./etc/writeback/agent.conf
-rw-r--r-- root/root ./lib/systemd/system/writeback-agent.service
-rw-r--r-- root/root ./usr/share/doc/writeback-agent/packaging.md
-rwxr-xr-x root/root ./usr/bin/writeback-agent"
expected_controller="-rw-r--r-- root/root ./etc/writeback/controller.conf
-rw-r--r-- root/root ./lib/systemd/system/writeback-controller.service
-rw-r--r-- root/root ./usr/share/doc/writeback-controller/packaging.md
-rwxr-xr-x root/root ./usr/bin/writebackctl
-rwxr-xr-x root/root ./usr/bin/writeback-controller"
for pkg in agent controller; do
  deb=$tmp/out/writeback-${pkg}_${deb_version}_${arch}.deb
  want=expected_$pkg
  got=$(listing "$deb")
  if [[ $got == "$(sort <<<"${!want}")" ]]; then pass "writeback-$pkg: files and modes"
  else fail "writeback-$pkg: files and modes:"$'\n'"$got"$'\n'"expected:"$'\n'"${!want}"; fi
  dirs=$(dpkg-deb --contents "$deb" | awk '$1 ~ /^d/ && $1 != "drwxr-xr-x" {print}')
  [[ -z $dirs ]] && pass "writeback-$pkg: directories 0755" || fail "writeback-$pkg: directories: $dirs"
  expect_no_match "$(dpkg-deb --contents "$deb")" '\./var/' "writeback-$pkg: state directory made by postinst, not shipped"
done

# --- extract ------------------------------------------------------------------------------
root=$tmp/root
mkdir -p "$root" "$tmp/control"
for pkg in agent controller; do
  deb=$tmp/out/writeback-${pkg}_${deb_version}_${arch}.deb
  dpkg-deb -x "$deb" "$root"
  dpkg-deb -e "$deb" "$tmp/control/$pkg"
done
for pkg in agent controller; do
  c=$tmp/control/$pkg
  [[ $(cat "$c/conffiles") == "/etc/writeback/$pkg.conf" ]] && pass "writeback-$pkg: conffiles" \
    || fail "writeback-$pkg: conffiles: $(cat "$c/conffiles")"
  [[ -f $root/etc/writeback/$pkg.conf ]] || fail "writeback-$pkg: conffile not in the package"
  for s in postinst prerm postrm; do
    [[ $(stat -c %a "$c/$s") == 755 ]] && pass "writeback-$pkg: $s mode 0755" || fail "writeback-$pkg: $s mode $(stat -c %a "$c/$s")"
    [[ $(head -1 "$c/$s") == '#!/bin/sh' ]] && pass "writeback-$pkg: $s is /bin/sh" || fail "writeback-$pkg: $s shebang"
    grep -qx 'set -e' "$c/$s" && pass "writeback-$pkg: $s set -e" || fail "writeback-$pkg: $s without set -e"
    if sh -n "$c/$s" && dash -n "$c/$s"; then pass "writeback-$pkg: $s syntax (sh, dash)"; else fail "writeback-$pkg: $s syntax"; fi
    expect_no_match "$(cat "$c/$s")" '@[A-Z_]+@' "writeback-$pkg: $s fully configured"
  done
done

# --- binaries: --version, and the packaged configurations ------------------------------------
for bin in writeback-agent writeback-controller writebackctl; do
  out=$("$root/usr/bin/$bin" --version 2>&1) || fail "$bin --version exit status"
  [[ $out == "$bin $version" ]] && pass "$bin --version: $out" || fail "$bin --version printed: $out"
done
# The whole agent.conf parses (a text-format error or unknown field fails) and its policy is valid.
if out=$("$root/usr/bin/writeback-agent" --config="$root/etc/writeback/agent.conf" --print_allowlist 2>&1); then
  expect_match "$out" '^proxyAddresses$' "packaged agent.conf parses"
else
  fail "packaged agent.conf: $out"
fi
grep -Eq '^ *sasl_mechanism: "GSSAPI"' "$root/etc/writeback/agent.conf" && grep -Eq '^ *keytab_file: "/etc/writeback/agent.keytab"' "$root/etc/writeback/agent.conf" \
  && pass "packaged agent.conf binds with the keytab" || fail "packaged agent.conf: no keytab bind"
grep -Eq '^state_dir: "/var/lib/writeback-agent"' "$root/etc/writeback/agent.conf" \
  && pass "packaged agent.conf: state_dir is the unit's StateDirectory" || fail "packaged agent.conf: state_dir"
grep -Eq '^store_path: "/var/lib/writeback/' "$root/etc/writeback/controller.conf" \
  && pass "packaged controller.conf: store in the unit's StateDirectory" || fail "packaged controller.conf: store_path"
# The controller starts with its packaged configuration (listeners on ports the
# kernel picks, the state in a temporary directory) and writes CA and tokens beside the store.
state=$tmp/controller-state
mkdir -m 0700 "$state"
"$root/usr/bin/writeback-controller" --config="$root/etc/writeback/controller.conf" \
  --store="$state/controller.db" --agent_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 \
  --enroll_listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --ports_file="$state/ports" >"$tmp/controller.log" 2>&1 &
controller_pid=$!
for _ in $(seq 100); do [[ -s $state/ports ]] && break; kill -0 "$controller_pid" 2>/dev/null || break; sleep 0.1; done
if [[ -s $state/ports ]]; then
  pass "controller starts with the packaged controller.conf"
  [[ -f $state/ca/ca.pem && -f $state/admin.token ]] && pass "controller: ca/ and admin.token beside the store" \
    || fail "controller: no ca/ or admin.token beside the store: $(ls -R "$state")"
  kill -TERM "$controller_pid"
  if wait "$controller_pid"; then pass "controller exits 0 on SIGTERM"; else fail "controller exit status $? on SIGTERM"; fi
else
  fail "controller did not start with the packaged controller.conf: $(cat "$tmp/controller.log")"
fi
controller_pid=

# --- units -----------------------------------------------------------------------------------------
# verify resolves dependencies (sysinit.target, ...) and ExecStart inside --root:
# give the extracted tree the host's unit directory beside the packaged units.
cp -an /lib/systemd/system/. "$root/lib/systemd/system/"
for unit in writeback-agent writeback-controller; do
  f=$root/lib/systemd/system/$unit.service
  if out=$(systemd-analyze verify --root="$root" "$f" 2>&1) && [[ -z $out ]]; then
    pass "$unit.service: systemd-analyze verify"
  else
    fail "$unit.service: systemd-analyze verify: $out"
  fi
  # Exposure 1.4 when written; a loosened sandbox goes past 2.0.
  if out=$(systemd-analyze security --offline=yes --root="$root" --threshold=20 "$f" 2>&1); then
    pass "$unit.service: $(grep -o 'Overall exposure level.*' <<<"$out")"
  else
    fail "$unit.service: systemd-analyze security: $(grep -v '✓' <<<"$out")"
  fi
  u=$(cat "$f")
  for line in 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
      'PrivateDevices=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'StateDirectoryMode=0700' \
      'Restart=on-failure' 'CapabilityBoundingSet=' 'WantedBy=multi-user.target'; do
    grep -qxF "$line" <<<"$u" && pass "$unit.service: $line" || fail "$unit.service: no $line"
  done
  expect_match "$u" "^ExecStart=/usr/bin/$unit (run )?--config=/etc/writeback/${unit#writeback-}\.conf$" "$unit.service: ExecStart"
  expect_no_match "$u" '^(ReadWritePaths|User=root|DynamicUser)' "$unit.service: nothing writable beyond the state directory"
done
expect_match "$(cat "$root/lib/systemd/system/writeback-controller.service")" '^User=writeback$' "controller runs as writeback"
expect_match "$(cat "$root/lib/systemd/system/writeback-controller.service")" '^StateDirectory=writeback$' "controller state directory"
expect_match "$(cat "$root/lib/systemd/system/writeback-agent.service")" '^User=writeback-agent$' "agent runs as writeback-agent"
expect_match "$(cat "$root/lib/systemd/system/writeback-agent.service")" '^StateDirectory=writeback-agent$' "agent state directory"
expect_match "$(cat "$root/lib/systemd/system/writeback-agent.service")" '^Environment=KRB5CCNAME=FILE:/var/lib/writeback-agent/' "agent ticket cache in its state directory"

# --- no secrets, no build paths -----------------------------------------------------------------
names=$(dpkg-deb --contents "$agent_deb"; dpkg-deb --contents "$controller_deb")
expect_no_match "$names" '\.(pem|key|crt|p12|keytab|token|db)$' "no key, certificate, keytab, token or store file packaged"
pkgfiles=$(cd "$root" && find etc usr lib/systemd/system/writeback-*.service -type f)
# A PEM block: the BEGIN line followed by base64 (the binaries hold the bare
# marker strings to parse PEM, which is no key).
if (cd "$root" && grep -laPz -- '-----BEGIN [A-Z ]+-----\r?\n[A-Za-z0-9+/=]{40,}' $pkgfiles); then
  fail "a PEM key or certificate is packaged"
else pass "no PEM key or certificate in any packaged file"; fi
for p in "$src" "$build"; do
  if (cd "$root" && grep -laF -- "$p" $pkgfiles $(ls "$tmp"/control/*/*)); then fail "build path $p packaged"
  else pass "no $p in any packaged file"; fi
done
for bin in writeback-agent writeback-controller writebackctl; do
  expect_no_match "$(readelf -S "$root/usr/bin/$bin")" '\.(debug_info|symtab) ' "$bin stripped"
done

# --- maintainer scripts, run ---------------------------------------------------------------------
# adduser, addgroup, getent, systemctl and install are shims that record their
# calls ($calls) and keep users and groups in files; DPKG_ROOT puts the state
# directory and /run/systemd/system under $sys. The scripts run as dpkg runs
# them: executed, with dpkg's arguments.
shims=$tmp/shims
mkdir -p "$shims"
cat >"$shims/getent" <<'SHIM'
#!/bin/sh
echo "getent $*" >>"$SHIM_CALLS"
grep -q "^$2\$" "$SHIM_DB/$1" 2>/dev/null
SHIM
cat >"$shims/addgroup" <<'SHIM'
#!/bin/sh
echo "addgroup $*" >>"$SHIM_CALLS"
for name; do :; done
if grep -q "^$name\$" "$SHIM_DB/group" 2>/dev/null; then echo "addgroup: $name exists" >&2; exit 1; fi
echo "$name" >>"$SHIM_DB/group"
SHIM
cat >"$shims/adduser" <<'SHIM'
#!/bin/sh
echo "adduser $*" >>"$SHIM_CALLS"
for name; do :; done
if grep -q "^$name\$" "$SHIM_DB/passwd" 2>/dev/null; then echo "adduser: $name exists" >&2; exit 1; fi
echo "$name" >>"$SHIM_DB/passwd"
SHIM
cat >"$shims/systemctl" <<'SHIM'
#!/bin/sh
echo "systemctl $*" >>"$SHIM_CALLS"
SHIM
# install: recorded, then the real install without -o/-g (the users are not real).
cat >"$shims/install" <<'SHIM'
#!/bin/sh
echo "install $*" >>"$SHIM_CALLS"
n=$#
i=0
while [ "$i" -lt "$n" ]; do
  a=$1; shift; i=$((i + 1))
  case "$a" in
    -o|-g) shift; i=$((i + 1)) ;;
    *) set -- "$@" "$a" ;;
  esac
done
exec /usr/bin/install "$@"
SHIM
chmod +x "$shims"/*

# run_script PKG SCRIPT ARGS...: runs it, its calls in $calls, its status in $status.
run_script() {
  local pkg=$1 script=$2; shift 2
  : >"$tmp/calls"
  status=0
  env PATH="$shims:$PATH" DPKG_ROOT="$sys" SHIM_CALLS="$tmp/calls" SHIM_DB="$sys/db" \
    "$tmp/control/$pkg/$script" "$@" >"$tmp/script.out" 2>&1 || status=$?
  calls=$(cat "$tmp/calls")
}
expect_call() { if grep -qxF -- "$1" <<<"$calls"; then pass "$2"; else fail "$2: no '$1' in calls: $calls"; fi; }
expect_no_call() { if grep -Eq -- "$1" <<<"$calls"; then fail "$2: /$1/ in calls: $calls"; else pass "$2"; fi; }

for pkg in agent controller; do
  name=writeback-$pkg
  if [[ $pkg == agent ]]; then user=writeback-agent dir=/var/lib/writeback-agent
  else user=writeback dir=/var/lib/writeback; fi
  sys=$tmp/sys-$pkg
  mkdir -p "$sys/db" "$sys/run/systemd/system"

  run_script "$pkg" postinst configure
  [[ $status == 0 ]] || fail "$name postinst configure: status $status: $(cat "$tmp/script.out")"
  expect_call "addgroup --system --quiet $user" "$name postinst: creates the system group"
  expect_call "adduser --system --quiet --ingroup $user --home $dir --no-create-home --shell /usr/sbin/nologin $user" \
    "$name postinst: creates the system user"
  expect_call "install -d -o $user -g $user -m 0700 $sys$dir" "$name postinst: state directory owned by $user, 0700"
  [[ -d $sys$dir && $(stat -c %a "$sys$dir") == 700 ]] && pass "$name postinst: $dir exists, mode 0700" \
    || fail "$name postinst: $dir missing or mode $(stat -c %a "$sys$dir" 2>/dev/null)"
  expect_call "systemctl daemon-reload" "$name postinst: daemon-reload"
  expect_no_call 'systemctl .*(start|enable|restart)' "$name postinst: a first install starts and enables nothing"

  touch "$sys$dir/agent.key"  # a file of the service, which a reconfigure must keep
  run_script "$pkg" postinst configure
  [[ $status == 0 ]] && pass "$name postinst configure again: status 0" || fail "$name postinst again: $status $(cat "$tmp/script.out")"
  expect_no_call '^(adduser|addgroup) ' "$name postinst again: user and group left as they are"
  [[ -f $sys$dir/agent.key ]] && pass "$name postinst again: state kept" || fail "$name postinst again: state lost"

  run_script "$pkg" postinst configure 0.3.0
  [[ $status == 0 ]] || fail "$name postinst upgrade: status $status"
  expect_call "systemctl try-restart $name.service" "$name postinst upgrade: restarts the service only if it runs"
  expect_no_call 'systemctl .*(enable| start)' "$name postinst upgrade: enables and starts nothing"

  run_script "$pkg" prerm upgrade "$version-2"
  [[ $status == 0 && -z $calls ]] && pass "$name prerm upgrade: service left running" || fail "$name prerm upgrade: $status $calls"

  run_script "$pkg" prerm remove
  [[ $status == 0 ]] || fail "$name prerm remove: status $status"
  expect_call "systemctl stop $name.service" "$name prerm remove: stops the service"
  expect_call "systemctl --root=$sys disable --quiet $name.service" "$name prerm remove: disables the unit"

  run_script "$pkg" postrm remove
  [[ $status == 0 ]] || fail "$name postrm remove: status $status"
  expect_call "systemctl daemon-reload" "$name postrm remove: daemon-reload"
  [[ -d $sys$dir ]] && pass "$name postrm remove: state kept" || fail "$name postrm remove: state removed"

  for round in 1 2; do
    run_script "$pkg" postrm purge
    [[ $status == 0 ]] || fail "$name postrm purge ($round): status $status $(cat "$tmp/script.out")"
  done
  if [[ $pkg == agent ]]; then
    [[ ! -e $sys$dir ]] && pass "$name postrm purge: $dir removed" || fail "$name postrm purge: $dir still there"
  else
    [[ -f $sys$dir/agent.key ]] && pass "$name postrm purge: $dir kept (store, CA key)" || fail "$name postrm purge: $dir removed"
    expect_match "$(cat "$tmp/script.out")" "kept $sys$dir" "$name postrm purge: says the state was kept"
  fi
  expect_no_call '^(deluser|delgroup|userdel|groupdel) ' "$name postrm purge: system user kept"

  # Without a running systemd (a container, a chroot): no systemctl call, still status 0.
  rm -rf "$sys/run/systemd"
  run_script "$pkg" postinst configure
  [[ $status == 0 ]] && pass "$name postinst without systemd: status 0" || fail "$name postinst without systemd: $status"
  expect_no_call '^systemctl ' "$name postinst without systemd: no systemctl"

  for script in postinst prerm postrm; do
    run_script "$pkg" "$script" bogus-argument
    [[ $status == 1 ]] && pass "$name $script: unknown argument refused" || fail "$name $script bogus-argument: status $status"
  done
done

echo "packaging test: $(($(date +%s) - start)) s, $failures failure(s)"
[[ $failures == 0 ]]
