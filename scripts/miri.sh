#!/usr/bin/env bash
# Miri over the unsafe code units that it can run: the input queue's ring,
# string arena and drop_oldest eviction, a producer and a consumer thread on
# one queue, and the Arrow C Data Interface round trip used by the C ABI
# (src/runtime/queue_tests.rs, tests named miri_*), plus the C ABI's
# panic-boundary and status unit tests (capi::tests).
#
# Miri cannot call foreign functions, so the C tests and anything that goes
# through the worker thread's parking stay with the sanitizers.
#
# Run by scripts/test.sh (stage "miri"), or alone:  bash scripts/miri.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_ROOT="${EDDY_BUILD_ROOT:-$ROOT/build}"
export CARGO_TARGET_DIR="$BUILD_ROOT/miri-target"

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! rustup component list --toolchain nightly --installed | grep -q '^miri'; then
    rustup component add miri rust-src --toolchain nightly
fi
cargo +nightly miri setup
# -Zmiri-disable-isolation: the tests read the clock (timeouts).
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-disable-isolation}"
cargo +nightly miri test --lib --no-default-features -- miri_ capi::tests::
