#!/usr/bin/env bash
# Tests of the Go binding (bindings/go), against the in-tree release library:
#   1. cargo build --release --lib    (a no-op when libeddy is up to date)
#   2. gofmt, go vet                  with the cgo flags pointing in-tree
#   3. go test -race -count=1         the binding's tests and examples
#   4. go run ./examples/quickstart
#   5. the eddy_pkgconfig build tag, through a generated eddy.pc
#
# Modules (arrow-go) come through the Go module proxy on first use.
#
# Environment:
#   EDDY_BUILD_ROOT   where build trees go (default: <repo>/build)
#   CARGO_TARGET_DIR  cargo target dir (default: $EDDY_BUILD_ROOT/cargo-target)
#   GO                the go command (default: go on PATH, else /usr/local/go/bin/go)
#   EDDY_GO_TESTFLAGS extra go test flags (e.g. "-run Callback -v")
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_ROOT="${EDDY_BUILD_ROOT:-$ROOT/build}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BUILD_ROOT/cargo-target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$ROOT/$CARGO_TARGET_DIR" ;; esac

die() {
    echo "scripts/test_go.sh: $*" >&2
    exit 1
}

# --- tools -----------------------------------------------------------------
GO="${GO:-}"
if [ -z "$GO" ]; then
    if command -v go >/dev/null 2>&1; then
        GO=go
    elif [ -x /usr/local/go/bin/go ]; then
        GO=/usr/local/go/bin/go
    else
        die "Go is not installed (need Go >= 1.25: https://go.dev/dl/, or set GO=/path/to/go)"
    fi
fi
GOVERSION="$("$GO" env GOVERSION)" || die "'$GO env GOVERSION' failed"
read -r GO_MAJOR GO_MINOR < <(echo "$GOVERSION" | sed -E 's/^go([0-9]+)\.([0-9]+).*/\1 \2/')
if [ "$GO_MAJOR" -lt 1 ] || { [ "$GO_MAJOR" -eq 1 ] && [ "$GO_MINOR" -lt 25 ]; }; then
    die "$GOVERSION is too old: the Go binding needs Go >= 1.25"
fi
command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 ||
    die "no C compiler (cc/gcc): cgo needs one"
echo "go: $GOVERSION ($(command -v "$GO" || echo "$GO"))"

# --- the library -------------------------------------------------------------
LIB_DIR="$CARGO_TARGET_DIR/release"
if command -v cargo >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo" ]; then
    command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"
    echo "cargo build --release --lib --no-default-features (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    # The library alone, as CMake builds it (no CLI features): one release build.
    cargo build --release --lib --no-default-features
elif [ -f "$LIB_DIR/libeddy.so" ]; then
    echo "cargo not found: testing the existing $LIB_DIR/libeddy.so"
else
    die "cargo not found and no $LIB_DIR/libeddy.so: install Rust or build the library first"
fi
[ -f "$LIB_DIR/libeddy.so" ] || die "no $LIB_DIR/libeddy.so after the build"

export CGO_ENABLED=1
export CGO_CFLAGS="-O2 -g -I$ROOT/include"
export CGO_LDFLAGS="-L$LIB_DIR -Wl,-rpath,$LIB_DIR"
export LD_LIBRARY_PATH="$LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

cd "$ROOT/bindings/go"

# --- format, vet, test -------------------------------------------------------
unformatted="$(gofmt -l .)"
[ -z "$unformatted" ] || die "not gofmt-clean: $unformatted"

echo "go vet ./..."
"$GO" vet ./...

echo "go test -race -count=1 ./... ${EDDY_GO_TESTFLAGS:-}"
# -count=1: the test cache does not see libeddy.so change.
# shellcheck disable=SC2086
"$GO" test -race -count=1 ${EDDY_GO_TESTFLAGS:-} ./...

echo "go run ./examples/quickstart"
"$GO" run ./examples/quickstart

# --- pkg-config linking ------------------------------------------------------
# The installed route (cmake --install writes eddy.pc); a generated .pc
# pointing in-tree checks the build tag and its #cgo directive.
if command -v pkg-config >/dev/null 2>&1; then
    PC_DIR="$BUILD_ROOT/go-pkgconfig"
    mkdir -p "$PC_DIR"
    version="$(sed -nE 's/^#define EDDY_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+)/\2/p' "$ROOT/include/eddy.h" | paste -sd.)"
    cat >"$PC_DIR/eddy.pc" <<EOF
Name: eddy
Description: eddy in-tree build (scripts/test_go.sh)
Version: $version
Libs: -L$LIB_DIR -Wl,-rpath,$LIB_DIR -leddy
Libs.private: -lpthread -ldl -lm
Cflags: -I$ROOT/include
EOF
    echo "go run -tags eddy_pkgconfig ./examples/quickstart (PKG_CONFIG_PATH=$PC_DIR)"
    env -u CGO_CFLAGS -u CGO_LDFLAGS PKG_CONFIG_PATH="$PC_DIR" \
        "$GO" run -tags eddy_pkgconfig ./examples/quickstart >/dev/null
else
    echo "pkg-config not found: skipping the eddy_pkgconfig build"
fi

echo "scripts/test_go.sh: all Go binding checks passed"
