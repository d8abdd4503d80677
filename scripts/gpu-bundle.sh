#!/usr/bin/env bash
# Builds `native` for an NVIDIA GPU machine that cannot build (no network, no toolchain):
# x86-64 Linux, CUDA only (`--no-default-features --features cuda`: no wgpu), in Cargo's `gpu`
# profile (release, codegen-units = 1, thin LTO, stripped; unwinding kept for the CUDA
# probe), into
# target/gpu/native. The CUDA driver and NVRTC are loaded at run time, so nothing else is
# needed there. Fails when the binary is over 48 MiB (a GPU machine gets at most 64 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/resnet-scaling/target}"
cargo build --profile gpu -p native --no-default-features --features cuda --locked
mkdir -p target/gpu
cp "$CARGO_TARGET_DIR/gpu/native" target/gpu/native
bytes=$(stat -c %s target/gpu/native)
echo "target/gpu/native: $bytes bytes ($((bytes >> 20)) MiB)"
if [ "$bytes" -gt $((48 << 20)) ]; then
    echo "gpu-bundle: target/gpu/native is over 48 MiB" >&2
    exit 1
fi
