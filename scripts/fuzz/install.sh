#!/usr/bin/env bash
# Installs the fuzzer used by scripts/fuzz/run.sh and ci.sh: cargo-afl (AFL++ for Rust, stable
# toolchain) from crates.io, which builds AFL++ and its LLVM runtime for the current rustc.
# Idempotent: does nothing when this cargo-afl version is installed and configured for this rustc.
# Needs: a Rust toolchain, a C compiler, make, and llvm (llvm-config) for AFL++'s LLVM mode.
set -euo pipefail

CARGO_AFL_VERSION="0.18.2"

if ! command -v llvm-config >/dev/null; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends llvm clang make >/dev/null
fi

installed="$(cargo afl --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$installed" != "$CARGO_AFL_VERSION" ]; then
    cargo install --locked --version "$CARGO_AFL_VERSION" cargo-afl
fi
# `cargo install` builds AFL++ for the current rustc; after a toolchain update it must be built
# again. `config --build` refuses (with a panic) to redo an existing build: that is success here.
if ! out="$(cargo afl config --build 2>&1)"; then
    if ! grep -q "already built" <<<"$out"; then
        echo "$out" >&2
        exit 1
    fi
fi
cargo afl --version
