#!/usr/bin/env bash
# The configuration corpus (tests/corpus/README.md): starts the real
# writeback-controller and writeback-agent with each bad configuration of
# tests/corpus/config/{controller,agent}/*.conf and checks that the binary
# refuses it at once: a nonzero exit (not a hang: 20 s guard), every expected
# substring on stderr, and, for the controller, no store file and no ports
# file left behind (nothing was opened or served).
#
#   config_corpus_test.sh CONTROLLER_BIN AGENT_BIN CORPUS_DIR
#
# A case file's first line is `# expect: A | B | ...`: the substrings that
# stderr must hold. In the whole file @DIR@ is replaced by the case's own
# empty directory and @CONF@ by the path the configuration is written to.
# Two cases per binary need no file: a --config path that does not exist and
# one that is a directory.
set -uo pipefail

(($# == 3)) || { echo "usage: $0 CONTROLLER_BIN AGENT_BIN CORPUS_DIR" >&2; exit 2; }
declare -A bin=([controller]=$1 [agent]=$2)
corpus=$3
work=$(mktemp -d /tmp/wb-config-corpus.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0 cases=0

fail() { echo "FAIL $1: $2" >&2; failures=$((failures + 1)); }

# run_case NAME KIND CONFIG_PATH DIR EXPECT...: runs the binary, checks the result.
run_case() {
  local name=$1 kind=$2 conf=$3 dir=$4
  shift 4
  cases=$((cases + 1))
  local err=$dir/stderr
  timeout -k 5 20 "${bin[$kind]}" --config="$conf" >"$dir/stdout" 2>"$err"
  local rc=$?
  if ((rc == 0)); then
    fail "$name" "exited 0 (accepted the configuration)"
  elif ((rc == 124 || rc == 137)); then
    fail "$name" "still running after 20 s (did not refuse the configuration)"
  fi
  local before=$failures want
  for want in "$@"; do
    grep -qF -- "$want" "$err" || fail "$name" "stderr lacks \"$want\": $(head -c 600 "$err")"
  done
  if [[ $kind == controller ]]; then
    [[ -e $dir/writeback.db ]] && fail "$name" "a store file was created"
    [[ -e $dir/ports ]] && fail "$name" "a ports file was written (it served)"
  fi
  ((failures == before)) && echo "ok   $name: $(head -c 200 "$err" | tr '\n' ' ')"
}

for kind in controller agent; do
  for file in "$corpus/$kind"/*.conf; do
    name=$kind/$(basename "$file" .conf)
    dir=$work/$name
    mkdir -p "$dir"
    conf=$dir/$(basename "$file")
    expect=$(head -n 1 "$file")
    if [[ $expect != "# expect: "* ]]; then
      fail "$name" "first line is not '# expect: ...'"
      continue
    fi
    # LC_ALL=C: some cases hold bytes that are not UTF-8 on purpose.
    # An agent's simple bind reads this file (mode 0600) before it opens anything else.
    [[ $kind == agent ]] && (umask 077 && printf 'not-a-real-password' >"$dir/password")
    LC_ALL=C sed -e "s|@DIR@|$dir|g" -e "s|@CONF@|$conf|g" "$file" >"$conf"
    expect=${expect#\# expect: }
    expect=${expect//@DIR@/$dir}
    expect=${expect//@CONF@/$conf}
    IFS='|' read -r -a wants <<<"$expect"
    trimmed=()
    for w in "${wants[@]}"; do
      w=${w#"${w%%[![:space:]]*}"}
      trimmed+=("${w%"${w##*[![:space:]]}"}")
    done
    run_case "$name" "$kind" "$conf" "$dir" "${trimmed[@]}"
  done
  # No file at all, and a directory where the file should be.
  dir=$work/$kind/missing-file
  mkdir -p "$dir"
  run_case "$kind/missing-file" "$kind" "$dir/absent.conf" "$dir" "$dir/absent.conf"
  dir=$work/$kind/directory
  mkdir -p "$dir/conf.d"
  run_case "$kind/directory" "$kind" "$dir/conf.d" "$dir" "$dir/conf.d"
done

echo "$cases cases, $failures failures"
((cases >= 12)) || { echo "FAIL: the corpus shrank to $cases cases" >&2; exit 1; }
((failures == 0))
