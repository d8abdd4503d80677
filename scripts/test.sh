#!/usr/bin/env bash
# The project's test command (README "Test"; .ci/run calls it). Builds once, in release,
# into caches outside the clone so that later runs are incremental: every native test (the
# CPU backends, and the GPU kernels on burn-wgpu over Vulkan), then the browser app's tests
# (scripts/test-web.sh: wasm in headless Chromium, the built site end to end), after
# installing what they need once (scripts/setup-web.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/resnet-scaling/target}"
# Real MNIST and the 20 real CIFAR-10 images that the data loaders are tested on.
eval "$(scripts/test-data.sh)"
# NVRTC, the CUDA headers and ptxas (PyPI wheels): the kernels are compiled for NVIDIA GPUs.
eval "$(scripts/setup-cuda.sh)"
cargo fmt --all -- --check
# Lints, native (the wasm32 build is linted in scripts/test-web.sh): every warning is an error.
cargo clippy --workspace --all-targets --locked -- -D warnings
# The tools, once; among them the Vulkan driver that the GPU kernels' tests run on here.
scripts/setup-web.sh >/dev/null
# Headless machines have no runtime directory, which Mesa's Vulkan driver complains of.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
# A one-node Slurm for the job-array tests; stopped however the tests end.
slurm_env=$(scripts/slurm-local.sh start)
eval "$slurm_env"
trap 'scripts/slurm-local.sh stop' EXIT
cargo test --release --workspace --locked
# The page's MNIST asset is written by the `native` binary the tests above built.
RESNET_SCALING_NATIVE_BIN="$CARGO_TARGET_DIR/release/native" scripts/test-web.sh
