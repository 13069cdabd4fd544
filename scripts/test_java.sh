#!/usr/bin/env bash
# The Java binding's tests: builds libeddy (release, if missing or stale), the
# JNI glue (cmake), then runs `mvn test` in bindings/java against both.
#
#   scripts/test_java.sh          build + JUnit tests (the example runs among them)
#   scripts/test_java.sh bench    also the per-row append benchmark (AppendBench)
#   scripts/test_java.sh asan     the tests with the glue built with ASan+UBSan
#
# Environment:
#   EDDY_BUILD_ROOT   where build trees go (default: <repo>/build)
#   CARGO_TARGET_DIR  cargo target dir (default: $EDDY_BUILD_ROOT/cargo-target)
#   MVN_ARGS          extra arguments for mvn (e.g. "-o" offline, "-Dtest=ErrorsTest")
# Missing tools (JDK 17+, Maven, CMake, a C compiler) are installed with
# apt-get when root (or with sudo); otherwise the script says what to install.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_ROOT="${EDDY_BUILD_ROOT:-$ROOT/build}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BUILD_ROOT/cargo-target}"
JNI_BUILD="$BUILD_ROOT/java-jni"
BENCH=0
SANITIZE=0
RUN_ENV=() # extra environment of the test JVMs
case "${1:-}" in
    "") ;;
    bench) BENCH=1 ;;
    asan) SANITIZE=1; JNI_BUILD="$BUILD_ROOT/java-jni-asan" ;;
    *) echo "usage: $0 [bench|asan]" >&2; exit 2 ;;
esac

# ---- tools ------------------------------------------------------------------
missing=()
java_ok() { # a JDK (javac) of version 17 or later
    command -v javac >/dev/null 2>&1 || return 1
    local v
    v="$(javac -version 2>&1 | sed -E 's/^javac ([0-9]+).*/\1/')"
    [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge 17 ]
}
java_ok || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
    if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
        echo "test_java.sh: installing ${missing[*]}"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "test_java.sh: missing ${missing[*]} (needs a JDK 17+ with javac, Maven, CMake and a C compiler);" \
            "install them, e.g. apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
if ! java_ok; then
    echo "test_java.sh: javac is $(javac -version 2>&1); JDK 17 or later is required" >&2
    exit 1
fi
if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "test_java.sh: cargo not found: install a Rust toolchain to build libeddy" >&2
        exit 1
    fi
fi
# The JDK of the javac on PATH, for CMake's FindJNI and for Maven.
if [ -z "${JAVA_HOME:-}" ]; then
    JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
    export JAVA_HOME
fi
echo "test_java.sh: $(javac -version 2>&1), $(mvn -v 2>/dev/null | head -n1 | sed 's/\x1b\[[0-9;]*m//g'), $(cmake --version | head -n1)"

# ---- libeddy ------------------------------------------------------------------
# cargo decides whether anything changed; a no-op build takes a second.
(cd "$ROOT" && cargo build --release --lib --no-default-features)
LIBEDDY="$CARGO_TARGET_DIR/release/libeddy.so"
[ -f "$LIBEDDY" ] || { echo "test_java.sh: $LIBEDDY was not built" >&2; exit 1; }

# ---- JNI glue ---------------------------------------------------------------------
if [ "$SANITIZE" -eq 1 ]; then
    san="-fsanitize=address,undefined -fno-omit-frame-pointer"
    cmake -S "$ROOT/bindings/java" -B "$JNI_BUILD" -DCMAKE_BUILD_TYPE=Debug \
        "-DCMAKE_C_FLAGS=$san" "-DCMAKE_SHARED_LINKER_FLAGS=$san" >/dev/null
    # java itself is not instrumented: preload the runtimes. The JVM uses
    # SIGSEGV for its own purposes, so ASan must leave that signal alone;
    # leak checking would report the JVM's own allocations.
    RUN_ENV=("LD_PRELOAD=$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)"
        "ASAN_OPTIONS=detect_leaks=0:handle_segv=0:allow_user_segv_handler=1:use_sigaltstack=0:halt_on_error=1"
        "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
else
    cmake -S "$ROOT/bindings/java" -B "$JNI_BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$JNI_BUILD" --parallel "$(nproc 2>/dev/null || echo 2)"
GLUE="$JNI_BUILD/libeddy_jni.so"
[ -f "$GLUE" ] || { echo "test_java.sh: $GLUE was not built" >&2; exit 1; }

# ---- mvn test -----------------------------------------------------------------------
cd "$ROOT/bindings/java"
rm -rf target/surefire-reports # so the count below is this run's
# shellcheck disable=SC2086 # MVN_ARGS is a list of words
env "${RUN_ENV[@]}" mvn -B -q -Dstyle.color=never ${MVN_ARGS:-} test \
    "-Deddy.jni.library=$GLUE" "-Deddy.library=$LIBEDDY"
# -q hides surefire's summary: print its counts (the line CI looks for).
command -v python3 >/dev/null 2>&1 && python3 - target/surefire-reports <<'EOF' || true
import glob, sys, xml.etree.ElementTree as ET
t = f = e = s = 0
for p in glob.glob(sys.argv[1] + "/TEST-*.xml"):
    r = ET.parse(p).getroot()
    t += int(r.get("tests")); f += int(r.get("failures")); e += int(r.get("errors")); s += int(r.get("skipped"))
print(f"Tests run: {t}, Failures: {f}, Errors: {e}, Skipped: {s}")
EOF

if [ "$BENCH" -eq 1 ]; then
    # The same row loop in C first: the binding's overhead is the difference.
    cc -std=c11 -O2 -Wall -I"$ROOT/include" examples/append_baseline.c -o "$JNI_BUILD/append_baseline" \
        "$LIBEDDY" -Wl,-rpath,"$(dirname "$LIBEDDY")"
    "$JNI_BUILD/append_baseline"
    mvn -B -q -Dstyle.color=never ${MVN_ARGS:-} dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >/dev/null
    java --add-opens=java.base/java.nio=ALL-UNNAMED \
        -cp "target/classes:target/test-classes:$(cat target/classpath.txt)" \
        "-Deddy.jni.library=$GLUE" "-Deddy.library=$LIBEDDY" AppendBench
fi
echo "test_java.sh: passed"
