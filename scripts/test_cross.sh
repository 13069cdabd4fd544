#!/usr/bin/env bash
# The cross-language check (tests/cross/README.md): a C program, a C++
# program (eddy.hpp), a Go program, a Java program and a Python script run the
# same scenario — a filter and a tumbling-window aggregation over the same
# 10,000 event-time rows — and must print byte-identical canonical results,
# with the line count and the values this script's own model
# (tests/cross/expected.py, plain Python without eddy) expects.
#
#   1. tools: cc, c++, go >= 1.25, JDK >= 17 (javac, java), mvn, cmake,
#      python3 with pyarrow — all required; a missing one fails the run
#   2. libeddy.so from $CARGO_TARGET_DIR/release, built only if missing
#   3. build the five programs, run them, compare
#
# Outputs and build trees go to $EDDY_BUILD_ROOT/cross: <lang>.txt (stdout),
# <lang>.err (stderr), the build logs.
#
# Environment:
#   EDDY_BUILD_ROOT   where build trees go (default: <repo>/build)
#   CARGO_TARGET_DIR  cargo target dir (default: $EDDY_BUILD_ROOT/cargo-target)
#   CC, CXX           C and C++ compilers (default: cc, c++)
#   GO                the go command (default: go on PATH, else /usr/local/go/bin/go)
#   PYTHON            the Python interpreter (default: python3)
#   MVN_ARGS          extra arguments for mvn (e.g. "-o" offline)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_ROOT="${EDDY_BUILD_ROOT:-$ROOT/build}"
case "$BUILD_ROOT" in /*) ;; *) BUILD_ROOT="$ROOT/$BUILD_ROOT" ;; esac
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BUILD_ROOT/cargo-target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$ROOT/$CARGO_TARGET_DIR" ;; esac
OUT="$BUILD_ROOT/cross"
LANGS=(c cpp go java python)

die() {
    echo "scripts/test_cross.sh: FAILED: $*" >&2
    exit 1
}
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
START="$(now)"

# --- tools ---------------------------------------------------------------------
CC="${CC:-cc}"
CXX="${CXX:-c++}"
PYTHON="${PYTHON:-python3}"
if [ -z "${GO:-}" ]; then
    if command -v go >/dev/null 2>&1; then GO=go; else GO=/usr/local/go/bin/go; fi
fi
missing=()
command -v "$CC" >/dev/null 2>&1 || missing+=("a C compiler ($CC)")
command -v "$CXX" >/dev/null 2>&1 || missing+=("a C++17 compiler ($CXX)")
if command -v "$GO" >/dev/null 2>&1; then
    gov="$("$GO" env GOVERSION 2>/dev/null || true)"
    if ! [[ "$gov" =~ ^go1\.([0-9]+) ]] || [ "${BASH_REMATCH[1]}" -lt 25 ]; then
        missing+=("Go >= 1.25 (found '${gov:-nothing}' at $GO)")
    fi
else
    missing+=("Go >= 1.25 (no '$GO'; set GO=/path/to/go)")
fi
javac_v="$(javac -version 2>&1 | sed -nE 's/^javac ([0-9]+).*/\1/p' || true)"
if ! [[ "$javac_v" =~ ^[0-9]+$ ]] || [ "$javac_v" -lt 17 ]; then
    missing+=("a JDK >= 17 with javac (found '${javac_v:-none}')")
fi
command -v java >/dev/null 2>&1 || missing+=("java")
command -v mvn >/dev/null 2>&1 || missing+=("Maven (mvn)")
command -v cmake >/dev/null 2>&1 || missing+=("CMake")
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    missing+=("Python 3 ($PYTHON)")
elif ! "$PYTHON" -c 'import pyarrow' >/dev/null 2>&1; then
    missing+=("pyarrow for $PYTHON (pip install pyarrow)")
fi
if [ "${#missing[@]}" -gt 0 ]; then
    printf 'scripts/test_cross.sh: missing toolchain: %s\n' "${missing[@]}" >&2
    die "every language must run for the check to mean anything; install the above"
fi
if [ -z "${JAVA_HOME:-}" ]; then # the JDK of javac, for CMake's FindJNI
    JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
    export JAVA_HOME
fi
echo "tools: $("$CC" --version | head -n1); $("$CXX" --version | head -n1); $("$GO" env GOVERSION);" \
    "javac $javac_v; $("$PYTHON" --version) with pyarrow $("$PYTHON" -c 'import pyarrow; print(pyarrow.__version__)')"

# --- the library -----------------------------------------------------------------
LIB_DIR="$CARGO_TARGET_DIR/release"
LIB="$LIB_DIR/libeddy.so"
if [ ! -f "$LIB" ]; then
    command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"
    command -v cargo >/dev/null 2>&1 || die "no $LIB and no cargo to build it"
    echo "no $LIB: cargo build --release --lib --no-default-features"
    cargo build --release --lib --no-default-features
    [ -f "$LIB" ] || die "no $LIB after the build"
fi
echo "libeddy: $LIB"

# --- expected counts (computed without eddy) ------------------------------------------
read -r N_BIG N_GROUPS < <("$PYTHON" tests/cross/expected.py counts) || true
[[ "${N_BIG:-}" =~ ^[0-9]+$ && "${N_GROUPS:-}" =~ ^[0-9]+$ ]] || die "tests/cross/expected.py counts failed"
EXPECTED_LINES=$((N_BIG + N_GROUPS + 1)) # + the Stats line
echo "expected: $N_BIG Big rows + $N_GROUPS PerSec groups + 1 Stats line = $EXPECTED_LINES lines"

# --- build ---------------------------------------------------------------------------
rm -rf "$OUT/java-classes"
mkdir -p "$OUT"
rm -f "$OUT"/*.txt "$OUT"/*.err

# build <name> <command...>: runs it with output to $OUT/build-<name>.log
build() {
    local name="$1" t0
    shift
    t0="$(now)"
    if ! "$@" >"$OUT/build-$name.log" 2>&1; then
        tail -n 40 "$OUT/build-$name.log" >&2
        die "building the $name program failed (log: $OUT/build-$name.log)"
    fi
    echo "built $name ($(since "$t0"))"
}

build c "$CC" -std=c11 -O2 -Wall -Wextra -Werror -I"$ROOT/include" tests/cross/cross.c \
    -o "$OUT/cross_c" -L"$LIB_DIR" -leddy -Wl,-rpath,"$LIB_DIR"
build cpp "$CXX" -std=c++17 -O2 -Wall -Wextra -Werror -I"$ROOT/include" tests/cross/cross.cpp \
    -o "$OUT/cross_cpp" -L"$LIB_DIR" -leddy -Wl,-rpath,"$LIB_DIR"

go_build() ( # a subshell: it changes directory
    cd "$ROOT/tests/cross/go" || exit 1
    unformatted="$(gofmt -l .)"
    [ -z "$unformatted" ] || { echo "not gofmt-clean: $unformatted"; exit 1; }
    CGO_ENABLED=1 CGO_CFLAGS="-O2 -I$ROOT/include" \
        CGO_LDFLAGS="-L$LIB_DIR -Wl,-rpath,$LIB_DIR" \
        "$GO" build -o "$OUT/cross_go" .
)
build go go_build

java_build() {
    cmake -S "$ROOT/bindings/java" -B "$OUT/java-jni" -DCMAKE_BUILD_TYPE=Release &&
        cmake --build "$OUT/java-jni" &&
        # The binding's classes and its dependencies' jars (Arrow; slf4j-nop
        # keeps Arrow's logging quiet).
        (cd "$ROOT/bindings/java" &&
            # shellcheck disable=SC2086 # MVN_ARGS is a list of words
            mvn -B -q -Dstyle.color=never ${MVN_ARGS:-} compile dependency:build-classpath \
                "-Dmdep.outputFile=$OUT/java-classpath.txt") &&
        javac -Xlint:all -Werror -d "$OUT/java-classes" \
            -cp "$ROOT/bindings/java/target/classes:$(cat "$OUT/java-classpath.txt")" \
            tests/cross/java/Cross.java
}
build java java_build

# --- run -------------------------------------------------------------------------------
run_c() { "$OUT/cross_c"; }
run_cpp() { "$OUT/cross_cpp"; }
run_go() { "$OUT/cross_go"; }
run_java() {
    java --add-opens=java.base/java.nio=ALL-UNNAMED \
        -cp "$OUT/java-classes:$ROOT/bindings/java/target/classes:$(cat "$OUT/java-classpath.txt")" \
        "-Deddy.jni.library=$OUT/java-jni/libeddy_jni.so" "-Deddy.library=$LIB" Cross
}
run_python() { PYTHONPATH="$ROOT/bindings/python" EDDY_LIB="$LIB" "$PYTHON" tests/cross/cross.py; }

failures=()
ran=()
for lang in "${LANGS[@]}"; do
    t0="$(now)"
    if "run_$lang" >"$OUT/$lang.txt" 2>"$OUT/$lang.err"; then
        lines="$(wc -l <"$OUT/$lang.txt")"
        echo "ran $lang ($(since "$t0")): $lines lines"
        if [ "$lines" -ne "$EXPECTED_LINES" ]; then
            failures+=("$lang printed $lines lines, expected $EXPECTED_LINES ($OUT/$lang.txt)")
        fi
        ran+=("$lang")
    else
        st=$?
        echo "ran $lang ($(since "$t0")): FAILED with exit status $st; its stderr:" >&2
        sed 's/^/    /' "$OUT/$lang.err" | tail -n 30 >&2
        failures+=("$lang exited with status $st ($OUT/$lang.err)")
    fi
done

# --- compare ---------------------------------------------------------------------------------
if [ "${#ran[@]}" -gt 0 ]; then
    ref="${ran[0]}"
    for lang in "${ran[@]:1}"; do
        if ! cmp -s "$OUT/$ref.txt" "$OUT/$lang.txt"; then
            echo "$lang differs from $ref; first differences (< $ref, > $lang; doubles decoded in brackets):" >&2
            diff "$OUT/$ref.txt" "$OUT/$lang.txt" | grep '^[<>]' | head -n 20 |
                "$PYTHON" tests/cross/expected.py decode | sed 's/^/    /' >&2 || true
            failures+=("$lang's output differs from $ref's ($OUT/$lang.txt vs $OUT/$ref.txt)")
        fi
    done
    # The five agree (or not): either way, check one against the model.
    if ! "$PYTHON" tests/cross/expected.py check "$OUT/$ref.txt"; then
        failures+=("$ref's output does not match the model of tests/cross/expected.py")
    fi
fi

if [ "${#failures[@]}" -gt 0 ]; then
    printf 'scripts/test_cross.sh: %s\n' "${failures[@]}" >&2
    die "${#failures[@]} problem(s), see above ($(since "$START"))"
fi
echo "scripts/test_cross.sh: passed: C, C++, Go, Java and Python printed the same $EXPECTED_LINES lines," \
    "matching the model ($(since "$START"))"
