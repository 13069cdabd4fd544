#!/usr/bin/env bash
# The full overload run (tests/c/test_overload.c): a producer more than 10x
# faster than a slow reader for a minute under each overflow policy, with the exact
# accounting checks of the CI version (which runs 2 s per policy). Prints one
# line of figures per policy; docs/reliability.md records them.
#
#   bash scripts/overload.sh [seconds per policy, default 60]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_ROOT="${EDDY_BUILD_ROOT:-$ROOT/build}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BUILD_ROOT/cargo-target}"
SECS="${1:-60}"
if [ ! -f "$BUILD_ROOT/normal/build.ninja" ]; then
    cmake -S "$ROOT" -B "$BUILD_ROOT/normal" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DEDDY_CARGO_PROFILE=release "-DEDDY_CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
fi
cmake --build "$BUILD_ROOT/normal" --target test_overload
EDDY_OVERLOAD_SECONDS="$SECS" "$BUILD_ROOT/normal/test_overload"
