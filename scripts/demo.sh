#!/usr/bin/env bash
# Builds libeddy (cargo, release) and the C quickstart (cmake + ninja), then
# runs the quickstart.
#
#   scripts/demo.sh            build dir: <repo>/build/demo
#   EDDY_BUILD_ROOT=/tmp/b scripts/demo.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_ROOT="${EDDY_BUILD_ROOT:-$ROOT/build}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BUILD_ROOT/cargo-target}"
DIR="$BUILD_ROOT/demo"

for tool in cargo cmake ninja cc; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        if [ "$tool" = cargo ] && [ -x "$HOME/.cargo/bin/cargo" ]; then
            export PATH="$HOME/.cargo/bin:$PATH"
            continue
        fi
        echo "demo: '$tool' is needed (Debian: apt-get install cmake ninja-build gcc; Rust: rustup)" >&2
        exit 1
    fi
done

echo "== cargo build --release --lib --no-default-features (libeddy.so, libeddy.a)"
cargo build --release --lib --no-default-features --manifest-path "$ROOT/Cargo.toml"

echo "== cmake + ninja: the quickstart"
cmake -S "$ROOT" -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DEDDY_BUILD_TESTS=OFF -DEDDY_BUILD_EXAMPLES=ON \
    "-DEDDY_CARGO_TARGET_DIR=$CARGO_TARGET_DIR" >/dev/null
cmake --build "$DIR" --target quickstart

echo "== run"
"$DIR/quickstart"
