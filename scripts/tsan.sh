#!/usr/bin/env bash
# ThreadSanitizer over eddy's threaded C tests: several producer threads, a
# polling host, close from another thread (test_threads, test_misuse,
# test_flush_poll, test_close, test_backpressure).
#
# A Rust library not built with TSan hides its own accesses from TSan (missed
# races) and its synchronisation too (false reports), so libeddy and the Rust
# standard library are both built instrumented: nightly cargo with
# -Zsanitizer=thread -Zbuild-std (needs the nightly toolchain's rust-src
# component; installed here if missing). The C tests are compiled with
# -fsanitize=thread and linked to the instrumented libeddy.a.
#
# Run by scripts/test.sh (stage "tsan"), or alone:  bash scripts/tsan.sh
# Environment: EDDY_BUILD_ROOT (default <repo>/build).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_ROOT="${EDDY_BUILD_ROOT:-$ROOT/build}"
# Its own cargo target dir: other RUSTFLAGS would rebuild the shared one.
TARGET_DIR="$BUILD_ROOT/tsan-target"
JOBS="$(nproc 2>/dev/null || echo 2)"
# tsan_canary races on purpose: it passes only when TSan reports it.
TESTS=(tsan_canary test_threads test_misuse test_flush_poll test_close test_backpressure)

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! rustup component list --toolchain nightly --installed | grep -q '^rust-src'; then
    rustup component add rust-src --toolchain nightly
fi

# The dev profile (opt-level 1): quicker to build than release's LTO, and
# TSan's slowdown matters more than the optimiser's speed-up here.
cmake -S "$ROOT" -B "$BUILD_ROOT/tsan" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DEDDY_CARGO_PROFILE=debug \
    "-DEDDY_CARGO_TARGET_DIR=$TARGET_DIR" \
    -DEDDY_SANITIZE_THREAD=ON -DEDDY_BUILD_EXAMPLES=OFF -DEDDY_INSTALL=OFF
cmake --build "$BUILD_ROOT/tsan" --parallel "$JOBS" --target "${TESTS[@]}"
regex="^($(IFS='|'; echo "${TESTS[*]}"))\$"
(cd "$BUILD_ROOT/tsan" && ctest --output-on-failure --no-tests=error -R "$regex")
# Again with no engine thread: producers and the polling host run the
# queries themselves, taking the runner from each other.
(cd "$BUILD_ROOT/tsan" && EDDY_TEST_ENGINE_OPTIONS=worker=caller \
    ctest --output-on-failure --no-tests=error -R "$regex" -E tsan_canary)
