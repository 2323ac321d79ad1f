#!/usr/bin/env bash
# Fuzzing: builds the libFuzzer targets of tests/fuzz with clang (ASan +
# UBSan, -DWRITEBACK_FUZZ=ON) and runs each on a copy of its seed corpus.
#
#   tests/fuzz/run.sh [--short | --long | --seconds N] [--only TARGET]
#                     [--build-only | --skip-build] [--jobs N]
#
#   --short         each target 20 s (what ./tests/run.sh runs, as ctest's
#                   fuzz_short_TARGET tests, label fuzz)
#   --long          each target 10 minutes (the default)
#   --seconds N     each target N seconds
#   --only TARGET   one target: validation, proxy_address, config or
#                   job_planner (tests/fuzz/TARGET_fuzz.cc)
#   --build-only    configure and build, run nothing
#   --skip-build    run what is built
#   --jobs N        parallel compile jobs (default 2)
#
# The build directory is ${FUZZ_BUILD_DIR:-build-fuzz} (ctest uses
# build/fuzz), configured with CC=clang CXX=clang++, Ninja and ccache when
# there. Each run works on a copy of tests/fuzz/corpus/TARGET (the committed
# seeds are never written) with tests/fuzz/TARGET.dict when there. Any crash,
# leak, timeout (10 s per input) or out-of-memory fails the script (exit 1):
# it prints the end of the fuzzer's log and the reproducer's path, and keeps
# the work directory. Reproduce with
#   build-fuzz/tests/fuzz/TARGET_fuzz REPRODUCER
# and add the minimised input (-minimize_crash=1) to the seed corpus with the
# fix. WB_FUZZ_KEEP=1 keeps the work directory (and the grown corpus) of a
# passing run too.
set -euo pipefail

readonly SELF="$(readlink -f "${BASH_SOURCE[0]}")"
readonly HERE="$(dirname "$SELF")"
readonly ROOT="$(cd "$HERE/../.." && pwd)"

die() { echo "fuzz: $*" >&2; exit 2; }
note() { echo "fuzz: $*" >&2; }

seconds=600 only="" build=1 run=1 jobs=${JOBS:-2}
while (($#)); do
  case $1 in
    --short) seconds=20; shift ;;
    --long) seconds=600; shift ;;
    --seconds) seconds=${2:?}; shift 2 ;;
    --only) only=${2:?}; shift 2 ;;
    --build-only) run=0; shift ;;
    --skip-build) build=0; shift ;;
    --jobs) jobs=${2:?}; shift 2 ;;
    -h | --help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$SELF"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[[ $seconds =~ ^[0-9]+$ ]] && ((seconds > 0)) || die "--seconds wants a positive number"

targets=()
for src in "$HERE"/*_fuzz.cc; do
  name=$(basename "$src" _fuzz.cc)
  [[ -z $only || $only == "$name" ]] && targets+=("$name")
done
((${#targets[@]})) || die "unknown target '$only' (see --help)"

build_dir=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)
if ((build)); then
  command -v clang++ >/dev/null || die "clang++ is missing: run deploy/install-deps.sh"
  if ! grep -qs '^WRITEBACK_FUZZ:BOOL=ON' "$build_dir/CMakeCache.txt"; then
    note "configuring $build_dir"
    # -O1 with line tables, as usual for fuzzing: symbolized stacks; no
    # NDEBUG, so asserts stay on.
    CC=clang CXX=clang++ cmake -S "$ROOT" -B "$build_dir" -G Ninja -DWRITEBACK_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" \
      >"$build_dir/configure.log" 2>&1 ||
      { cat "$build_dir/configure.log" >&2; die "configure failed"; }
  fi
  t0=$SECONDS
  ninja -C "$build_dir" -j "$jobs" "${targets[@]/%/_fuzz}" >"$build_dir/build.log" 2>&1 ||
    { tail -n 40 "$build_dir/build.log" >&2; die "build failed (log: $build_dir/build.log)"; }
  note "built ${targets[*]} in $((SECONDS - t0)) s"
fi
((run)) || exit 0

work=$(mktemp -d "${TMPDIR:-/tmp}/wb-fuzz.XXXXXX")
failed=()
for t in "${targets[@]}"; do
  bin=$build_dir/tests/fuzz/${t}_fuzz
  [[ -x $bin ]] || die "missing $bin (build first, without --skip-build)"
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  if [[ -d $HERE/corpus/$t ]]; then cp -R "$HERE/corpus/$t/." "$work/$t/corpus/"; fi
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$work/$t/artifacts/")
  [[ -f $HERE/$t.dict ]] && args+=(-dict="$HERE/$t.dict")
  note "$t: $seconds s on $(find "$work/$t/corpus" -type f | wc -l) seeds"
  if "$bin" "${args[@]}" "$work/$t/corpus" >"$work/$t/fuzz.log" 2>&1; then
    note "$t: passed ($(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$work/$t/fuzz.log" |
      awk '{print $2}') runs)"
  else
    failed+=("$t")
    tail -n 60 "$work/$t/fuzz.log" >&2
    for a in "$work/$t/artifacts"/*; do
      [[ -e $a ]] || continue
      note "$t: FAILED; reproducer: $a"
      note "  reproduce: $bin $a"
    done
    note "$t: FAILED (log: $work/$t/fuzz.log)"
  fi
done
if ((${#failed[@]})); then
  note "failed: ${failed[*]}; work directory kept: $work"
  exit 1
fi
if [[ ${WB_FUZZ_KEEP:-} == 1 ]]; then
  note "work directory (kept): $work"
else
  rm -rf "$work"
fi
