#!/usr/bin/env python3
"""Steps per second of one SGD step (forward, adjoint backward, update) of the fully
connected ResNet h_{k+1} = h_k + |δ| tanh(A_k h_k + b_k), B = 500, shared δ:

- a plain numpy reference with the hand-written adjoint backward (below), and
- `native bench` with the explicit adjoint and with burn's autodiff (same backend),

over d ∈ {10, 32} and L ∈ {10, 100, 1000}, printed as a markdown table with ratios.
Usage: scripts/bench.py [--native PATH] [--backend ndarray] [--widths 10 32] [--depths ...]
"""
import argparse
import json
import subprocess
import time

import numpy as np


def numpy_step(A, b, delta, x, y, lr):
    """One SGD step on the MSE loss, mean over samples and coordinates."""
    L = A.shape[0]
    n, d = x.shape
    hs, acts = [], []
    h = x
    s = abs(delta[0])
    for k in range(L):
        a = np.tanh(h @ A[k].T + b[k])
        hs.append(h)
        acts.append(a)
        h = h + s * a
    r = h - y
    g = 2.0 * r / (n * d)
    gA = np.empty_like(A)
    gb = np.empty_like(b)
    gdelta = 0.0
    for k in range(L - 1, -1, -1):
        a = acts[k]
        gdelta += float(np.sum(g * a))
        gz = s * g * (1.0 - a * a)
        gA[k] = gz.T @ hs[k]
        gb[k] = gz.sum(axis=0)
        g = g + gz @ A[k]
    A -= lr * gA
    b -= lr * gb
    delta -= lr * np.sign(delta) * gdelta
    return float(np.mean(r * r))


def bench_numpy(d, batch, depth, steps, warmup=2):
    rng = np.random.default_rng(0)
    A = (rng.standard_normal((depth, d, d)) / d).astype(np.float32)
    b = (rng.standard_normal((depth, d)) / np.sqrt(d)).astype(np.float32)
    delta = np.array([1.0 / depth], dtype=np.float32)
    x = rng.standard_normal((batch, d)).astype(np.float32)
    y = rng.standard_normal((batch, d)).astype(np.float32)
    for _ in range(warmup):
        numpy_step(A, b, delta, x, y, 1e-3)
    start = time.perf_counter()
    for _ in range(steps):
        numpy_step(A, b, delta, x, y, 1e-3)
    return steps / (time.perf_counter() - start)


def bench_native(binary, backend, d, batch, depth, steps, method):
    out = subprocess.run(
        [binary, "bench", "--backend", backend, "--width", str(d), "--batch", str(batch),
         "--depth", str(depth), "--steps", str(steps), "--method", method],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["steps_per_sec"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--native", default="target/release/native")
    p.add_argument("--backend", default="ndarray")
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--widths", type=int, nargs="+", default=[10, 32])
    p.add_argument("--depths", type=int, nargs="+", default=[10, 100, 1000])
    args = p.parse_args()
    print(f"| d | L | numpy steps/s | adjoint steps/s | autodiff steps/s | adjoint/numpy | adjoint/autodiff |")
    print("|---|---|---|---|---|---|---|")
    for d in args.widths:
        for depth in args.depths:
            steps = max(3, min(50, 3000 // depth))
            ref = bench_numpy(d, args.batch, depth, steps)
            adj = bench_native(args.native, args.backend, d, args.batch, depth, steps, "adjoint")
            ad = bench_native(args.native, args.backend, d, args.batch, depth, steps, "autodiff")
            print(f"| {d} | {depth} | {ref:.2f} | {adj:.2f} | {ad:.2f} | {adj / ref:.2f} | {adj / ad:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
