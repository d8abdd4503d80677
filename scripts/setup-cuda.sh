#!/usr/bin/env bash
# Installs, once, NVIDIA's CUDA compiler pieces that the CUDA-compile tests need (no GPU, no
# CUDA toolkit): NVRTC (libnvrtc.so.12), the CUDA runtime headers it compiles against, and
# ptxas, from PyPI wheels into a cache outside the clone; prints the `export` lines that
# point the tests at them:
#   RESNET_SCALING_NVRTC         libnvrtc.so.12               (nvidia-cuda-nvrtc-cu12)
#   RESNET_SCALING_CUDA_INCLUDE  cuda_runtime.h and friends   (nvidia-cuda-runtime-cu12)
#   RESNET_SCALING_PTXAS         ptxas                        (nvidia-cuda-nvcc-cu12)
# Prints nothing (and says why on stderr) when the wheels cannot be installed: the tests
# then skip with one line. Needs python3 with pip.
set -euo pipefail
version=12.9
root="${RESNET_SCALING_TOOLS:-$HOME/.cache/resnet-scaling/tools}/cuda-$version"
if [ ! -f "$root/.complete" ]; then
    rm -rf "$root"
    if ! python3 -m pip install --quiet --no-deps --target "$root" \
        "nvidia-cuda-nvrtc-cu12==12.9.86" "nvidia-cuda-runtime-cu12==12.9.79" \
        "nvidia-cuda-nvcc-cu12==12.9.86" >&2; then
        echo "setup-cuda: the NVIDIA wheels could not be installed; CUDA-compile tests will skip" >&2
        exit 0
    fi
    touch "$root/.complete"
fi
echo "export RESNET_SCALING_NVRTC=$root/nvidia/cuda_nvrtc/lib/libnvrtc.so.12"
echo "export RESNET_SCALING_CUDA_INCLUDE=$root/nvidia/cuda_runtime/include"
echo "export RESNET_SCALING_PTXAS=$root/nvidia/cuda_nvcc/bin/ptxas"
