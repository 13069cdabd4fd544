#!/usr/bin/env bash
# eddy's benchmark suite: WORKLOADS.md's W1..W5 on both ingestion paths,
# beside LaminarDB, in one run on one machine.
#
#   bash bench/run.sh            full run: N = 10M and 1M, 3 runs each, the peer,
#                                latency; writes bench/results/latest.{md,json,png}
#   bash bench/run.sh --quick    correctness smoke (CI): N = 200k, 1 run, no peer,
#                                no chart; every supported workload and path must
#                                give the expected answer. Writes build/bench/quick/
#
# Flags (or the environment variable named in brackets):
#   --n N            main N                          [N, default 10000000]
#   --small-n N      second N ("also report 1M"); 0 = none [SMALL_N, default 1000000]
#   --runs R         runs per workload x path x N    [RUNS, default 3]
#   --workloads "W1 W2 ..."                          [WORKLOADS, default W1..W5]
#   --no-peer        skip LaminarDB                  [PEER=0]
#   --no-latency     skip the latency runs           [LATENCY=0]
#   --lat-seconds S  length of each latency run      [LAT_SECONDS, default 2]
#   --out DIR        where results go                [OUT]
#   --quick          N=200000, SMALL_N=0, RUNS=1, no peer, short latency smoke, no PNG
# Also: EDDY_OPTIONS (engine options for every eddy run), CARGO_TARGET_DIR
# (default build/cargo-target), PEER_MAX_N_W4 / PEER_MAX_N_W5 (see below),
# PEER_TIMEOUT, PEER_SLOW_S, PEER_SETTLE_S (seconds of rest after each LaminarDB run).
#
# Exit status: non-zero if any eddy run's output differs from the expected
# answer, or an eddy run fails; LaminarDB's wrong answers are reported, not
# fatal.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

N="${N:-10000000}"
SMALL_N="${SMALL_N:-1000000}"
RUNS="${RUNS:-3}"
WORKLOADS="${WORKLOADS:-W1 W2 W3 W4 W5}"
PEER="${PEER:-1}"
LATENCY="${LATENCY:-1}"
LAT_SECONDS="${LAT_SECONDS:-2}"
LAT_RATES="${LAT_RATES:-100000 1000000}"
LAT_EXTRA="${LAT_EXTRA:-- idle_spin_us=0 worker=caller}"   # option sets for the latency runs ("-": the defaults)
QUICK=0
OUT="${OUT:-}"
# LaminarDB's W4 (MATCH_RECOGNIZE) is not applied and its W5 (interval join)
# emits its rows ~9 s after the input, so both run once at a small N: enough
# to show what they do, without minutes of waiting per run.
PEER_MAX_N_W4="${PEER_MAX_N_W4:-100000}"
PEER_MAX_N_W5="${PEER_MAX_N_W5:-100000}"
PEER_TIMEOUT="${PEER_TIMEOUT:-600}"   # seconds per LaminarDB run
PEER_SLOW_S="${PEER_SLOW_S:-120}"     # a LaminarDB run this slow (or timed out) is not repeated at that N
PEER_SETTLE_S="${PEER_SETTLE_S:-10}"  # pause after each LaminarDB run (see run_peer)

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --no-peer) PEER=0 ;;
        --no-latency) LATENCY=0 ;;
        --n) N="$2"; shift ;;
        --small-n) SMALL_N="$2"; shift ;;
        --runs) RUNS="$2"; shift ;;
        --workloads) WORKLOADS="$2"; shift ;;
        --lat-seconds) LAT_SECONDS="$2"; shift ;;
        --out) OUT="$2"; shift ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "bench/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ "$QUICK" -eq 1 ]; then
    N=200000; SMALL_N=0; RUNS=1; PEER=0; LAT_SECONDS=0.2; LAT_RATES=100000; LAT_EXTRA=-
    OUT="${OUT:-$ROOT/build/bench/quick}"
fi
OUT="${OUT:-$ROOT/bench/results}"
BUILD="$ROOT/build/bench"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/build/cargo-target}"
VENV="${BENCH_VENV:-$ROOT/build/bench-venv}"
mkdir -p "$OUT" "$BUILD"

need() { # <command> <what to install>
    command -v "$1" >/dev/null 2>&1 || { echo "bench/run.sh: '$1' not found: $2" >&2; exit 2; }
}
need cargo "install a Rust toolchain (https://rustup.rs), or put cargo on PATH"
need cc "install a C compiler (Debian: apt-get install gcc libc6-dev)"
need python3 "install Python 3 (Debian: apt-get install python3 python3-venv)"

# ---------------------------------------------------------------------------
echo "== building libeddy (release) and the driver"
cargo build --release --lib --no-default-features --quiet
LIBDIR="$CARGO_TARGET_DIR/release"
[ -f "$LIBDIR/libeddy.so" ] || { echo "bench/run.sh: $LIBDIR/libeddy.so missing after cargo build" >&2; exit 2; }
cc -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -I"$ROOT/include" -I"$ROOT/tests/c" \
    "$ROOT/bench/eddy_bench.c" -o "$BUILD/eddy_bench" \
    -L"$LIBDIR" -leddy -lpthread -lm -Wl,-rpath,"$LIBDIR"
DRIVER="$BUILD/eddy_bench"

# The venv: LaminarDB for the peer, numpy/pyarrow for its data, matplotlib
# for the chart. Only needed for the peer or the chart.
PY=""
if [ "$PEER" -eq 1 ] || [ "$QUICK" -eq 0 ]; then
    if [ ! -x "$VENV/bin/python" ]; then
        echo "== creating $VENV"
        python3 -m venv "$VENV" || { echo "bench/run.sh: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 2; }
    fi
    if ! "$VENV/bin/python" -c 'import laminardb, pyarrow, numpy, matplotlib' >/dev/null 2>&1 ||
       [ "$("$VENV/bin/python" -c 'import laminardb; print(laminardb.__version__)')" != "0.17.0" ]; then
        echo "== pip install laminardb==0.17.0 pyarrow numpy matplotlib into $VENV"
        "$VENV/bin/python" -m pip install -q laminardb==0.17.0 pyarrow numpy matplotlib ||
            { echo "bench/run.sh: pip could not install the peer's packages (is PyPI reachable?); use --no-peer" >&2; exit 2; }
    fi
    PY="$VENV/bin/python"
fi

# Raw runs and machine facts, one pair per mode so a --quick run (CI) does
# not clobber a full run's.
TAG="$([ "$QUICK" -eq 1 ] && echo quick || echo full)"
RAW="$BUILD/runs-$TAG.jsonl"
: >"$RAW"
FAILED=0
unsupported=" "

# Why a process gave no result: "timed out after 600 s", "killed by SIGSEGV after 212 s".
exit_reason() { # <exit status> <seconds>
    if [ "$1" -eq 124 ]; then echo "timed out after $2 s"
    elif [ "$1" -gt 128 ]; then echo "killed by SIG$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128))) after $2 s"
    else echo "exited $1 without a result after $2 s"; fi
}

# One line about a run's JSON: status, events/s, rows out / expected.
summary() {
    printf '%s' "$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r.get("status"), "%.2f M ev/s" % ((r.get("events_per_sec") or 0) / 1e6),
      "rows %s/%s" % (r.get("out_rows"), r.get("expected_rows")), r.get("mismatch") or r.get("error") or "")
' 2>/dev/null || echo "unreadable result: $1"
}

# run_eddy <N> <workload> <path> <run#>
run_eddy() {
    local n="$1" w="$2" p="$3" k="$4" line rc=0 t0
    [[ "$unsupported" == *" eddy:$w:$p "* ]] && return 0
    t0=$(date +%s)
    line="$(timeout 1800 "$DRIVER" -w "$w" -p "$p" -n "$n" ${EDDY_OPTIONS:+-o "$EDDY_OPTIONS"})" || rc=$?
    if [ -z "$line" ]; then
        line="{\"engine\":\"eddy\",\"workload\":\"$w\",\"path\":\"$p\",\"n\":$n,\"status\":\"error\",\"ok\":false,\"error\":\"eddy_bench $(exit_reason "$rc" $(( $(date +%s) - t0 )))\"}"
    fi
    echo "$line" | sed "s/^{/{\"run\":$k,/" >>"$RAW"
    local status
    status="$(summary "$line")"
    printf '  eddy      %-3s %-5s n=%-9s run %s: %s\n' "$w" "$p" "$n" "$k" "$status"
    case "$status" in unsupported*) unsupported+="eddy:$w:$p " ;; esac
    if [ "$rc" -ne 0 ]; then FAILED=1; fi
}

# run_peer <N> <workload> <run#> [extra laminar_bench.py arguments]
run_peer() {
    local n="$1" w="$2" k="$3" line rc=0 cap=""
    if [ -z "${4:-}" ]; then
        [[ "$unsupported" == *" peer:$w "* ]] && return 0
        [[ "$unsupported" == *" peer:$w:$n "* ]] && return 0
    fi
    case "$w" in W4) cap="$PEER_MAX_N_W4" ;; W5) cap="$PEER_MAX_N_W5" ;; esac
    if [ -n "$cap" ] && [ "$n" -gt "$cap" ]; then
        # One run at the capped N is enough to show it.
        [[ "$unsupported" == *" peer:$w:capped "* ]] && return 0
        unsupported+="peer:$w:capped "
        n="$cap"
    fi
    local t0 t1
    t0=$(date +%s)
    line="$(timeout "$PEER_TIMEOUT" "$PY" "$ROOT/bench/laminar_bench.py" -w "$w" -n "$n" ${4:+$4})" || rc=$?
    t1=$(date +%s)
    # A run that took minutes (LaminarDB's W2 stalls beyond ~2M rows) is not
    # repeated at this N: one such figure says enough, and the suite must fit.
    if [ $((t1 - t0)) -ge "$PEER_SLOW_S" ] || [ "$rc" -eq 124 ]; then unsupported+="peer:$w:$n "; fi
    # The machine needs seconds to take back LaminarDB's memory (GiBs): an
    # eddy run started right after it measured W2 per event at 14-17 M ev/s
    # against 21-24 on the quiet machine (docs/performance.md). Every run
    # gets a machine at rest.
    sleep "$PEER_SETTLE_S"
    if [ -z "$line" ]; then
        line="{\"engine\":\"laminardb\",\"workload\":\"$w\",\"path\":\"arrow\",\"n\":$n,\"status\":\"error\",\"ok\":false,\"error\":\"laminar_bench.py $(exit_reason "$rc" $((t1 - t0)))\"}"
    fi
    echo "$line" | sed "s/^{/{\"run\":$k,/" >>"$RAW"
    local status
    status="$(summary "$line")"
    printf '  laminardb %-3s %-5s n=%-9s run %s: %s %s\n' "$w" "batch" "$n" "$k" "$status" "${4:-}"
    case "$status" in unsupported*) unsupported+="peer:$w " ;; esac
}

# The machine's own state: how much of the time a thread spinning on the
# clock loses the CPU (other processes, the hypervisor). Recorded with the
# results, since a shared machine can make any figure meaningless.
# Twice: one spinning thread, then one per CPU (what a run keeping every
# CPU busy gets; on a shared VM it can lose far more).
baseline() { # <label>
    local line threads
    for threads in 1 "$(nproc 2>/dev/null || echo 2)"; do
        line="$("$DRIVER" --jitter "$([ "$QUICK" -eq 1 ] && echo 0.2 || echo 2)" --jitter-threads "$threads")"
        echo "$line" | sed "s/^{/{\"label\":\"$1\",/" >>"$RAW"
        printf '  machine baseline (%s, %s thread(s)): %s\n' "$1" "$threads" "$(printf '%s' "$line" | python3 -c 'import json,sys; j=json.load(sys.stdin); print("load %.1f, CPU lost %.1f %% of the time, %d gaps > 1 ms, longest %.0f us" % (j["loadavg_1m"], j["time_lost_pct"], j["gaps_over_1ms"], j["max_gap_us"]))')"
    done
}

T0=$(date +%s)
echo "== machine"
baseline "at the start"
# Both implementations of the expected answers (C in the driver, numpy in
# the peer script) must agree before any figure is trusted.
if [ -n "$PY" ]; then
    echo "== cross-checking the expected answers (C vs numpy, n = 100003)"
    for w in $WORKLOADS; do
        "$PY" - "$DRIVER" "$w" <<'EOF' || { echo "bench/run.sh: the C and numpy expected answers differ for $w" >&2; exit 1; }
import json, subprocess, sys
sys.path.insert(0, "bench")
import laminar_bench as lb
driver, w, n = sys.argv[1], sys.argv[2], 100003
c = json.loads(subprocess.check_output([driver, "-w", w, "-n", str(n), "--expected-only"]))
rows, chk, checks = lb.expected(w, n)
bad = [] if (c["expected_rows"], c["expected_checksum"]) == (rows, chk) else ["rows/checksum"]
for k, v in checks.items():
    cv = c["expected_checks"].get(k)
    if cv is None or (abs(cv - v) > 1e-6 * max(1, abs(v)) if isinstance(v, float) else cv != v):
        bad.append(k)
print(f"  {w}: {'agree' if not bad else 'DIFFER: ' + ', '.join(bad)} (rows {rows}, checksum {chk})")
sys.exit(1 if bad else 0)
EOF
    done
fi

for n in $N $([ "$SMALL_N" != 0 ] && [ "$SMALL_N" != "$N" ] && echo "$SMALL_N"); do
    echo "== throughput, n = $n, $RUNS run(s)"
    for w in $WORKLOADS; do
        # Interleaved (eddy rows, eddy arrow, peer) per run, so a noisy spell on
        # the machine hits every column alike.
        for k in $(seq 1 "$RUNS"); do
            run_eddy "$n" "$w" rows "$k"
            run_eddy "$n" "$w" arrow "$k"
            if [ "$PEER" -eq 1 ]; then run_peer "$n" "$w" "$k"; fi
        done
    done
    # LaminarDB's W2 with eddy's batch size (8192 rows, beyond its 1 s
    # watermark delay): fast, but it drops most rows as late. Once, for the
    # record: this is how its often-quoted tumbling figure is obtained.
    if [ "$PEER" -eq 1 ] && [[ " $WORKLOADS " == *" W2 "* ]]; then
        run_peer "$n" W2 1 "--any-batch"
    fi
done

if [ "$LATENCY" -eq 1 ]; then
    echo "== latency, W1 per-event, ${LAT_SECONDS}s per rate"
    baseline "before the latency runs"
    # Every consumer, with the engine's default options, with the worker
    # not spinning when idle (idle_spin_us=0: on two cores a worker that spins
    # between events competes with the producer and the consumer), and with
    # no worker thread at all (worker=caller: the producer runs the query).
    for extra in $LAT_EXTRA; do
        for rate in $LAT_RATES; do
            for c in thread inline; do
                for d in pull callback; do
                    rc=0
                    line="$(timeout 300 "$DRIVER" -w W1 -p rows --latency "$rate" --seconds "$LAT_SECONDS" -c "$c" -d "$d" \
                        ${EDDY_OPTIONS:+-o "$EDDY_OPTIONS"} $([ "$extra" != "-" ] && echo "-O $extra"))" || rc=$?
                    [ -n "$line" ] || line="{\"engine\":\"eddy\",\"mode\":\"latency\",\"workload\":\"W1\",\"rate\":$rate,\"consumer\":\"$c\",\"delivery\":\"$d\",\"status\":\"error\",\"ok\":false,\"error\":\"eddy_bench $(exit_reason "$rc" 0)\"}"
                    echo "$line" | sed "s/^{/{\"extra_options\":\"$([ "$extra" != "-" ] && echo "$extra")\",/" >>"$RAW"
                    printf '  %8s ev/s %-6s %-8s %-16s: %s\n' "$rate" "$c" "$d" "$([ "$extra" != "-" ] && echo "$extra" || echo defaults)" \
                        "$(printf '%s' "$line" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r.get("status"), "p50", r.get("p50_us"), "p99", r.get("p99_us"), "p99.9", r.get("p999_us"), "max", r.get("max_us"), "us", r.get("error") or "")' 2>/dev/null || echo "unreadable: $line")"
                    if [ "$rc" -ne 0 ]; then FAILED=1; fi
                done
            done
        done
    done
fi
echo "== machine"
baseline "at the end"
ELAPSED=$(( $(date +%s) - T0 ))

# ---------------------------------------------------------------------------
META="$BUILD/meta-$TAG.json"
python3 - "$META" "$N" "$SMALL_N" "$RUNS" "$ELAPSED" "$QUICK" "${EDDY_OPTIONS:-}" <<'EOF'
import json, os, platform, subprocess, sys, datetime
out, n, small, runs, elapsed, quick, opts = sys.argv[1:]
def sh(cmd):
    try: return subprocess.check_output(cmd, shell=True, text=True, stderr=subprocess.DEVNULL).strip()
    except Exception: return ""
mem_kib = int(sh("awk '/MemTotal/ {print $2}' /proc/meminfo") or 0)
meta = {
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "nproc": sh("nproc"), "cpu": sh("lscpu | sed -n 's/^Model name: *//p' | head -n1"),
    "memory_gib": round(mem_kib / 1048576, 1), "kernel": platform.release(),
    "loadavg_at_end": sh("cut -d' ' -f1-3 /proc/loadavg"),
    "git_commit": sh("git rev-parse --short HEAD"), "git_dirty": bool(sh("git status --porcelain -- src include")),
    "n": int(n), "small_n": int(small), "runs": int(runs), "elapsed_s": int(elapsed), "quick": quick == "1",
    "eddy_options": opts or None, "cc": sh("cc --version | head -n1"), "rustc": sh("rustc --version"),
}
json.dump(meta, open(out, "w"))
EOF

REPORT_ARGS=(--runs "$RAW" --meta "$META" --out "$OUT")
if [ "$QUICK" -eq 1 ]; then REPORT_ARGS+=(--no-png); fi
# A full run into bench/results also refreshes the table in docs/performance.md.
if [ "$QUICK" -eq 0 ] && [ "$(cd "$OUT" && pwd)" = "$ROOT/bench/results" ]; then
    REPORT_ARGS+=(--docs "$ROOT/docs/performance.md")
fi
"${PY:-python3}" "$ROOT/bench/report.py" "${REPORT_ARGS[@]}"

if [ "$FAILED" -ne 0 ]; then
    echo "bench/run.sh: FAILED: at least one eddy run gave a wrong answer or an error (see above and $OUT/latest.md)" >&2
    exit 1
fi
echo "bench/run.sh: every eddy run gave the expected answer (${ELAPSED}s); results in $OUT"
