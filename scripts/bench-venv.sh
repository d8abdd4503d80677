#!/usr/bin/env bash
# The Python environment of scripts/bench.py's PyTorch and JAX columns: a virtual environment
# in ~/.cache/resnet-scaling/bench-venv with numpy, PyTorch and JAX (its CPU build) from PyPI. PyPI's Linux PyTorch is
# the CUDA build: it brings about 4 GB of NVIDIA packages (the venv is about 5 GB), which the
# CPU benchmark does not use but `import torch` needs. Then:
#   scripts/bench.py --python ~/.cache/resnet-scaling/bench-venv/bin/python
set -euo pipefail
venv="${BENCH_VENV:-$HOME/.cache/resnet-scaling/bench-venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet numpy torch jax
"$venv/bin/python" -c 'import numpy, torch, jax; print("numpy", numpy.__version__, "torch", torch.__version__, "jax", jax.__version__)'
