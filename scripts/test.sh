#!/usr/bin/env bash
# eddy's whole test suite, in order:
#   1. cargo test                  Rust unit + integration tests (incl. the
#                                  include/eddy.h drift test); the engine,
#                                  window and bad-input suites again with
#                                  worker=caller (EDDY_TEST_ENGINE_OPTIONS)
#   2. cmake + ctest               C examples and C tests against libeddy, the
#                                  C tests again with worker=caller
#   3. cmake + ctest, sanitized    the same with ASan + UBSan (EDDY_SANITIZE=ON)
#   4. valgrind                    the quickstart under memcheck, 0 bytes
#                                  definitely lost
#   5. pytest                      the pyarrow <-> C ABI test
#   6. pytest                      the Python binding, pip-installed into a venv
#                                  (with the DuckDB differential window test)
#   7. go                          the Go binding: go vet, go test -race
#   8. java                        the Java binding: JNI glue (cmake) + JUnit (mvn test)
#   9. cross                       one scenario in C, C++, Go, Java, Python: identical output
#  10. bench                       benchmark correctness smoke: bench/run.sh --quick (every
#                                  supported workload and path, expected counts and checksums)
#  11. fuzz                        cargo-fuzz smoke: every fuzz target built and run
#                                  over its seed corpus, then briefly at random
#                                  (scripts/fuzz.sh --smoke; fuzz/README.md)
#  12. tsan                      the threaded C tests under ThreadSanitizer, with
#                                  libeddy and std instrumented (scripts/tsan.sh)
#  13. miri                      Miri over the queue and FFI unit tests (scripts/miri.sh)
#
# Stages 12 and 13 build the Rust standard library and every dependency
# again (instrumented, or for Miri): about 7 minutes each on the 2-core CI
# machine (measured cold 2026-12-07), which the 40-minute budget holds.
# Also outside CI: scripts/overload.sh, the minute-per-policy overload run
# (the C test test_overload runs 2 s per policy in stage 2).
#
# One cargo target dir is shared by every stage, so the release library is
# built once. Missing tools are installed (apt-get, pip) when possible.
#
# Environment:
#   EDDY_BUILD_ROOT   where build trees go (default: <repo>/build)
#   CARGO_TARGET_DIR  shared cargo target dir (default: $EDDY_BUILD_ROOT/cargo-target)
#   EDDY_SKIP         space-separated stages to skip: cargo cmake sanitize valgrind python go java cross bench fuzz tsan miri
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_ROOT="${EDDY_BUILD_ROOT:-$ROOT/build}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BUILD_ROOT/cargo-target}"
JOBS="$(nproc 2>/dev/null || echo 2)"
SKIP=" ${EDDY_SKIP:-} "
T0=$(date +%s)
STAGE_T0=$T0
TIMINGS=()

section() {
    local now
    now=$(date +%s)
    if [ -n "${CURRENT_STAGE:-}" ]; then
        TIMINGS+=("$(printf '%-28s %4ds' "$CURRENT_STAGE" $((now - STAGE_T0)))")
    fi
    CURRENT_STAGE="$1"
    STAGE_T0=$now
    printf '\n==================== %s ====================\n' "$1"
}

skipped() { [[ "$SKIP" == *" $1 "* ]]; }

finish() {
    local rc=$? now
    now=$(date +%s)
    if [ -n "${CURRENT_STAGE:-}" ]; then
        TIMINGS+=("$(printf '%-28s %4ds' "$CURRENT_STAGE" $((now - STAGE_T0)))")
    fi
    printf '\n==================== summary ====================\n'
    for t in "${TIMINGS[@]}"; do echo "  $t"; done
    printf '  %-28s %4ds\n' "total" $((now - T0))
    if [ "$rc" -eq 0 ]; then
        echo "scripts/test.sh: all stages passed"
    else
        echo "scripts/test.sh: FAILED in stage '${CURRENT_STAGE:-setup}' (exit $rc)"
    fi
}
trap finish EXIT

# ---------------------------------------------------------------------------
section "tools"

APT_UPDATED=0
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "cannot install $*: no apt-get; install them by hand" >&2
        return 1
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
            echo "cannot install $*: not root and no sudo" >&2
            return 1
        fi
    fi
    if [ "$APT_UPDATED" -eq 0 ]; then
        $sudo apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v ninja >/dev/null 2>&1 || missing+=(ninja-build)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! skipped valgrind; then command -v valgrind >/dev/null 2>&1 || missing+=(valgrind); fi
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-pip)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt_install "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "cargo not found: install a Rust toolchain (rust-version in Cargo.toml)" >&2
        exit 1
    fi
fi

if ! skipped python; then
    if ! python3 -c 'import pyarrow, pytest' >/dev/null 2>&1; then
        echo "installing pyarrow and pytest with pip"
        python3 -m pip install -q pyarrow pytest || {
            echo "pip could not install pyarrow/pytest" >&2
            exit 1
        }
    fi
fi

echo "cargo:  $(cargo --version)"
echo "cc:     $(cc --version | head -n1)"
echo "cmake:  $(cmake --version | head -n1)"
echo "ninja:  $(ninja --version)"
command -v valgrind >/dev/null 2>&1 && echo "valgrind: $(valgrind --version)"
echo "python: $(python3 --version)"
echo "CARGO_TARGET_DIR=$CARGO_TARGET_DIR  jobs=$JOBS"

# ---------------------------------------------------------------------------
if ! skipped cargo; then
    section "cargo test"
    cargo test --jobs "$JOBS"
    section "cargo test: engine, windows, bad input with worker=caller"
    EDDY_TEST_ENGINE_OPTIONS=worker=caller cargo test --jobs "$JOBS" --test engine --test windows --test bad_input --test joins_patterns
fi

configure_build() { # <build dir> <cmake args...>
    local dir="$1"
    shift
    cmake -S "$ROOT" -B "$dir" -G Ninja \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DEDDY_CARGO_PROFILE=release \
        "-DEDDY_CARGO_TARGET_DIR=$CARGO_TARGET_DIR" \
        "$@"
    cmake --build "$dir" --parallel "$JOBS"
}

# ---------------------------------------------------------------------------
if ! skipped cmake; then
    section "cmake build + ctest"
    configure_build "$BUILD_ROOT/normal" -DEDDY_SANITIZE=OFF
    (cd "$BUILD_ROOT/normal" && ctest --output-on-failure --no-tests=error -j "$JOBS" -E '^valgrind_')
    # The C suites again with no engine thread (the pushing thread runs the queries).
    (cd "$BUILD_ROOT/normal" && EDDY_TEST_ENGINE_OPTIONS=worker=caller \
        ctest --output-on-failure --no-tests=error -j "$JOBS" -R '^test_')
fi

# ---------------------------------------------------------------------------
if ! skipped sanitize; then
    section "cmake build + ctest (ASan+UBSan)"
    configure_build "$BUILD_ROOT/sanitize" -DEDDY_SANITIZE=ON
    (cd "$BUILD_ROOT/sanitize" && ctest --output-on-failure --no-tests=error -j "$JOBS")
    (cd "$BUILD_ROOT/sanitize" && EDDY_TEST_ENGINE_OPTIONS=worker=caller \
        ctest --output-on-failure --no-tests=error -j "$JOBS" -R '^test_')
fi

# ---------------------------------------------------------------------------
if ! skipped valgrind; then
    section "valgrind"
    if [ ! -f "$BUILD_ROOT/normal/build.ninja" ]; then
        configure_build "$BUILD_ROOT/normal" -DEDDY_SANITIZE=OFF
    else
        # Re-configure: valgrind may have been installed after the first one.
        cmake "$BUILD_ROOT/normal" >/dev/null
        cmake --build "$BUILD_ROOT/normal" --parallel "$JOBS"
    fi
    (cd "$BUILD_ROOT/normal" && ctest --output-on-failure --no-tests=error -R '^valgrind_')
fi

# ---------------------------------------------------------------------------
if ! skipped python; then
    section "pytest: pyarrow ABI"
    if [ ! -f "$CARGO_TARGET_DIR/release/libeddy.so" ]; then
        cargo build --release --lib --no-default-features
    fi
    EDDY_LIB="$CARGO_TARGET_DIR/release/libeddy.so" python3 -m pytest -q tests/python
fi


# ---------------------------------------------------------------------------
if ! skipped python; then
    section "pytest: Python binding (pip install ./bindings/python)"
    VENV="$BUILD_ROOT/pyenv"
    if [ ! -x "$VENV/bin/python" ]; then
        # System site-packages: reuse the pyarrow installed above.
        python3 -m venv --system-site-packages "$VENV"
    fi
    if ! "$VENV/bin/python" -c 'import pandas, duckdb' >/dev/null 2>&1; then
        # duckdb is the oracle of the windowed-aggregation differential test.
        "$VENV/bin/python" -m pip install -q pandas duckdb
    fi
    "$VENV/bin/python" -m pip install -q --force-reinstall --no-deps ./bindings/python
    EDDY_LIB="$CARGO_TARGET_DIR/release/libeddy.so" "$VENV/bin/python" -m pytest -q bindings/python/tests
fi

# ---------------------------------------------------------------------------
if ! skipped go; then
    section "go: vet + test -race (bindings/go)"
    bash scripts/test_go.sh
fi

# ---------------------------------------------------------------------------
if ! skipped java; then
    section "java: JNI glue + mvn test (bindings/java)"
    bash scripts/test_java.sh
fi

# ---------------------------------------------------------------------------
if ! skipped cross; then
    section "cross-language: C, C++, Go, Java, Python give identical results"
    bash scripts/test_cross.sh
fi

# ---------------------------------------------------------------------------
if ! skipped bench; then
    section "bench: correctness smoke (bench/run.sh --quick)"
    # Reuses the release libeddy the stages above built (same cargo target
    # dir and arguments, so cargo finds nothing to do); results go to
    # $BUILD_ROOT/bench/quick, not bench/results.
    bash bench/run.sh --quick --out "$BUILD_ROOT/bench/quick"
fi

# ---------------------------------------------------------------------------
if ! skipped fuzz; then
    section "fuzz: cargo-fuzz smoke (seed corpus + short random run)"
    bash scripts/fuzz.sh --smoke
fi

# ---------------------------------------------------------------------------
if ! skipped tsan; then
    section "ThreadSanitizer: threaded C tests (nightly, -Zbuild-std)"
    bash scripts/tsan.sh
fi

# ---------------------------------------------------------------------------
if ! skipped miri; then
    section "miri: queue and FFI unit tests"
    bash scripts/miri.sh
fi
