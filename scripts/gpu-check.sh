#!/usr/bin/env bash
# The first GPU hour, prepared: one run on a machine with an NVIDIA GPU (no network, no
# build: it uses the binary of scripts/gpu-bundle.sh), in under 8 minutes, that checks and
# measures the CUDA path and prints one JSON summary line last:
#   1. losses: `native --backend cuda` trains a small synthetic sweep (depths 3 and 17, 40
#      updates) for every activation × δ mode under SGD with momentum and under Adam; every
#      logged training loss must equal the fused CPU step's within 1e-4 (relative, or
#      absolute below 1);
#   2. bench: the CubeCL kernels' SGD step at d = 10, 25, 32, B = 500, L = 100, 1000, 10000
#      against PyTorch eager on the same GPU (the machine's own PyTorch; none is installed),
#      with the ratio (target: ≥ 20× at d = 10, L = 1000) — scripts/bench.py --gpu;
#   3. CIFAR-10: the conv ResNet at depths 8 and 20, c = 64, B = 128, on official-format
#      fixture images: ms per update (from 60 and 10 updates after a warm-up run, so that
#      start-up and autotuning cancel)
#      against the same network in PyTorch eager;
#   4. projections: the paper's synthetic sweeps (44 depths to 9100, Tmax = 10^5) and the
#      CIFAR-10 sweep (16 depths, Tmax = 10^5) on this GPU.
# Usage: scripts/gpu-check.sh [NATIVE]        (default target/gpu/native)
#   GPU_CHECK_BACKEND=wgpu GPU_CHECK_QUICK=1 scripts/gpu-check.sh BIN   tries the script on a
#   machine without a GPU (software Vulkan, smaller sizes).
set -uo pipefail
cd "$(dirname "$0")/.."
export NATIVE="${1:-target/gpu/native}" BACKEND="${GPU_CHECK_BACKEND:-cuda}"
export QUICK="${GPU_CHECK_QUICK:-}" WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
[ -x "$NATIVE" ] || { echo "gpu-check: no binary at $NATIVE (scripts/gpu-bundle.sh)" >&2; exit 1; }
python3 scripts/gpu_check.py
