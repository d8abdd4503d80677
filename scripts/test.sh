#!/usr/bin/env bash
# The project's test command (README "Test"; .ci/run calls it). Builds once, in release,
# into a cache outside the clone so that later runs are incremental, and runs every test
# on the CPU backend.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/resnet-scaling/target}"
# Real MNIST and the 20 real CIFAR-10 images that the data loaders are tested on.
eval "$(scripts/test-data.sh)"
cargo fmt --all -- --check
cargo test --release --workspace --locked
