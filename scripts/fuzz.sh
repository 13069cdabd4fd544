#!/usr/bin/env bash
# Fuzzing eddy with cargo-fuzz (libFuzzer). Targets and what they cover:
# fuzz/README.md.
#
#   scripts/fuzz.sh SECONDS [TARGET...]   each target for SECONDS (a campaign)
#   scripts/fuzz.sh --runs N [TARGET...]  each target for N executions
#   scripts/fuzz.sh --smoke               CI: build every target, run each over
#                                         its committed seed corpus, then a short
#                                         random run (about a minute in all)
#   scripts/fuzz.sh --asan [TARGET...]    replay every input a campaign kept
#                                         (work/<target>/) and the seeds once
#                                         under AddressSanitizer
#
# Campaigns run one target at a time, one libFuzzer job in-process (the
# default; -jobs=1 -workers=1 runs the same single job in a child whose
# fuzz-0.log in the working directory collides between runs), under `nice -n 19`
# (the machine is shared), write new inputs to fuzz/work/<target>/ (the
# committed seeds in fuzz/corpus/<target>/ are only read), logs to
# fuzz/logs/<target>.log (smoke: smoke-<target>.log) and crashes to
# fuzz/artifacts/<target>/. At the end
# a table gives executions, seconds and executions per second per target.
#
# Environment:
#   FUZZ_BUILD_FLAGS  flags for `cargo fuzz build` (by default the smoke uses
#                     "--dev -s none --target-dir target/smoke", campaigns
#                     "-s none --target-dir target/nosan": release + debug
#                     assertions, no AddressSanitizer, which costs 5-9 times
#                     the executions per second (fuzz/README.md); "" builds
#                     cargo-fuzz's default with ASan in fuzz/target)
#   FUZZ_ARGS         extra libFuzzer flags for every target
#
# Each target runs from a copy of its binary (fuzz/logs/bin/), so a rebuild
# while a long campaign runs cannot replace the binary under it.
#
# Needs a nightly toolchain and cargo-fuzz; both are installed when missing
# (rustup toolchain install nightly; cargo install cargo-fuzz --locked).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/fuzz"
ALL_TARGETS=(sql sql_grammar arrow_import appender)

MODE=time
SECONDS_PER=""
RUNS=""
case "${1:-}" in
    --smoke) MODE=smoke; shift ;;
    --runs) MODE=runs; RUNS="${2:?--runs needs a number}"; shift 2 ;;
    --asan) MODE=asan; shift ;;
    '' | -h | --help) sed -n '2,36p' "$ROOT/scripts/fuzz.sh" | sed 's/^# \{0,1\}//'; exit 2 ;;
    *) SECONDS_PER="$1"; shift ;;
esac
TARGETS=("$@")
[ "${#TARGETS[@]}" -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "installing the nightly toolchain (cargo-fuzz needs it)"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    t0=$(date +%s)
    cargo install cargo-fuzz --locked
    echo "cargo-fuzz installed in $(( $(date +%s) - t0 ))s"
fi

LOG_PREFIX=""
if [ "$MODE" = smoke ]; then
    LOG_PREFIX="smoke-"
    # A debug build without sanitizer in its own target dir: the cheapest
    # cold build, and no rebuild of the campaign build (other flags).
    BUILD_FLAGS=(${FUZZ_BUILD_FLAGS:---dev -s none --target-dir target/smoke})
    NICE=()
elif [ "$MODE" = asan ]; then
    # cargo-fuzz's default build: release, debug assertions, ASan.
    LOG_PREFIX="asan-"
    BUILD_FLAGS=(${FUZZ_BUILD_FLAGS:-})
    NICE=(nice -n 19)
else
    BUILD_FLAGS=(${FUZZ_BUILD_FLAGS--s none --target-dir target/nosan})
    NICE=(nice -n 19)
fi

# Per-target libFuzzer options: the sql target gets the SQL dictionary.
target_args() {
    case "$1" in
        sql) echo "-dict=dict/sql.dict" ;;
        *) echo "" ;;
    esac
}

t0=$(date +%s)
"${NICE[@]}" cargo +nightly fuzz build "${BUILD_FLAGS[@]}"
echo "fuzz build: $(( $(date +%s) - t0 ))s"

# Where `cargo fuzz build` put the binaries for these flags.
TARGET_DIR=target
PROFILE=release
prev=""
for f in "${BUILD_FLAGS[@]}"; do
    case "$prev" in --target-dir) TARGET_DIR="$f" ;; esac
    case "$f" in -D | --dev) PROFILE=debug ;; --target-dir=*) TARGET_DIR="${f#--target-dir=}" ;; esac
    prev="$f"
done
BIN_DIR="$TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/$PROFILE"

mkdir -p logs
RESULTS=()
FAILED=0

# run_target <target> <work dir> <libFuzzer args...>: runs, records execs.
run_target() {
    local t="$1" work="$2"
    shift 2
    local log="logs/$LOG_PREFIX$t.log" start rc=0 execs secs
    mkdir -p "$work" "artifacts/$t" logs/bin
    cp "$BIN_DIR/$t" "logs/bin/$LOG_PREFIX$t"
    start=$(date +%s)
    # shellcheck disable=SC2046
    "${NICE[@]}" "logs/bin/$LOG_PREFIX$t" "$work" "corpus/$t" \
        -timeout=60 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" $(target_args "$t") ${FUZZ_ARGS:-} "$@" >"$log" 2>&1 || rc=$?
    secs=$(( $(date +%s) - start ))
    execs=$(grep -aoE 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+$' || true)
    execs="${execs:-?}"
    if [ "$rc" -ne 0 ]; then
        FAILED=1
        echo "!! $t failed (exit $rc); last lines of $log:"
        tail -n 40 "$log"
    fi
    local rate="?"
    if [ "$execs" != "?" ] && [ "$secs" -gt 0 ]; then rate=$(( execs / secs )); fi
    RESULTS+=("$(printf '%-14s %12s %8ss %10s/s %s' "$t" "$execs" "$secs" "$rate" "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)")")
    echo "${RESULTS[-1]}"
}

for t in "${TARGETS[@]}"; do
    case "$MODE" in
        smoke)
            # 1. every committed seed once (no mutation), 2. a short random
            # run from those seeds, in a throw-away work dir.
            work="$(mktemp -d)"
            run_target "$t" "$work" -runs=0
            run_target "$t" "$work" -max_total_time=10
            rm -rf "$work"
            ;;
        # -reload=0: libFuzzer re-reads (stats every file of) its corpus
        # directory every second to pick up other processes' finds; alone on
        # its directory that is wasted, and at 18,000 inputs it took a fifth
        # of sql_grammar's time (perf, 2026-12-07).
        runs) run_target "$t" "work/$t" -runs="$RUNS" -reload=0 ;;
        asan) mkdir -p "work/$t"; run_target "$t" "work/$t" -runs=0 ;;
        time) run_target "$t" "work/$t" -max_total_time="$SECONDS_PER" -reload=0 ;;
    esac
done

printf '\n%-14s %12s %9s %12s\n' target executions time exec/s
for r in "${RESULTS[@]}"; do echo "$r"; done
echo "total: $(( $(date +%s) - t0 ))s"
exit "$FAILED"
