#!/usr/bin/env python3
"""Steps per second of one SGD step (forward, backward, update) of the fully connected ResNet
h_{k+1} = h_k + |δ| tanh(A_k h_k + b_k), MSE loss, shared δ, B = 500, for

- `native bench` on the CPU: the project's fused step (scaling_core::fused),
- numpy with a hand-written adjoint backward (below),
- PyTorch eager with autograd (below), with 1 thread and with one per core
  (OMP_WAIT_POLICY=passive),
- optionally (--burn) `native bench --backend ndarray` with the burn adjoint and autodiff,

over d in {10, 25, 32} and L in {10, 100, 1000, 10000}, printed as a markdown table with
ratios, after the machine's measured f32 matmul peak (numpy's and PyTorch's sgemm of
2048 x 2048 matrices, 1 thread and all cores) and with the fused step's flop rate
(6 B d^2 L flops per step: three products per layer) as a percentage of that peak.

PyTorch is optional: its columns are left out when `import torch` fails. From PyPI,
`pip install torch` brings the CUDA build with about 4 GB of NVIDIA packages, which the CPU
runs do not use but the import needs; scripts/bench-venv.sh installs it into
~/.cache/resnet-scaling/bench-venv (pass --python that-venv/bin/python). A CPU-only build of
PyTorch, where one can be installed, works as well.

Usage: scripts/bench.py [--native PATH] [--python PYTHON] [--widths 10 25 32]
                        [--depths 10 100 1000 10000] [--batch 500] [--burn] [--quick]
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.abspath(__file__)


# --- the numpy reference ---------------------------------------------------------------------

def numpy_step(A, b, delta, x, y, lr):
    """One SGD step on the MSE loss (mean over samples and coordinates), adjoint backward."""
    import numpy as np
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


def bench_numpy(d, batch, depth, steps, warmup):
    import numpy as np
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


# --- the PyTorch reference -------------------------------------------------------------------

def bench_torch(d, batch, depth, steps, warmup, threads):
    """PyTorch eager as one writes it: a parameter per layer, autograd, torch.optim.SGD."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    A = [(torch.randn(d, d, generator=g) / d).requires_grad_() for _ in range(depth)]
    b = [(torch.randn(d, generator=g) / d ** 0.5).requires_grad_() for _ in range(depth)]
    delta = torch.tensor([1.0 / depth], requires_grad=True)
    x = torch.randn(batch, d, generator=g)
    y = torch.randn(batch, d, generator=g)
    opt = torch.optim.SGD(A + b + [delta], lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        s = delta.abs()
        h = x
        for k in range(depth):
            h = h + s * torch.tanh(F.linear(h, A[k], b[k]))
        loss = F.mse_loss(h, y)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


# --- matmul peak -----------------------------------------------------------------------------

def sgemm_peak(lib, n=2048, reps=5):
    """GFLOP/s of an n x n x n f32 matrix product (best of `reps`), with the threads the
    library was started with."""
    if lib == "numpy":
        import numpy as np
        a = np.random.default_rng(0).random((n, n), dtype=np.float32)
        b = a.copy()
        mm = lambda: a @ b
    else:
        import torch
        torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
        a = torch.rand(n, n)
        b = a.clone()
        mm = lambda: a @ b
    mm()
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        mm()
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


# --- workers: each measurement in its own process, with its own thread settings -------------

def worker(args):
    if args.worker == "numpy":
        print(bench_numpy(args.width, args.batch, args.depth, args.steps, args.warmup))
    elif args.worker == "torch":
        print(bench_torch(args.width, args.batch, args.depth, args.steps, args.warmup, args.threads))
    elif args.worker in ("peak-numpy", "peak-torch"):
        print(sgemm_peak(args.worker.split("-")[1]))
    elif args.worker == "torch-version":
        import torch
        print(torch.__version__)


def run_worker(python, kind, threads, **kw):
    """Runs this script as a worker; its number, or None when it fails (no PyTorch)."""
    env = dict(os.environ, OMP_WAIT_POLICY="passive", BENCH_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    cmd = [python, HERE, "--worker", kind, "--threads", str(threads)]
    for key, value in kw.items():
        cmd += [f"--{key}", str(value)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return out.stdout.strip().splitlines()[-1]


def native_bench(binary, backend, d, batch, depth, steps, warmup, method=None):
    cmd = [binary, "bench", "--backend", backend, "--width", str(d), "--batch", str(batch),
           "--depth", str(depth), "--steps", str(steps), "--warmup", str(warmup)]
    if method:
        cmd += ["--method", method]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt(v, digits=2):
    return "—" if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None else a / b


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--native", default=os.path.expanduser(
        os.environ.get("CARGO_TARGET_DIR", "~/.cache/resnet-scaling/target") + "/release/native"))
    p.add_argument("--python", default=sys.executable,
                   help="interpreter for the numpy and PyTorch measurements")
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--widths", type=int, nargs="+", default=[10, 25, 32])
    p.add_argument("--depths", type=int, nargs="+", default=[10, 100, 1000, 10000])
    p.add_argument("--burn", action="store_true",
                   help="also burn's adjoint and autodiff on ndarray (slow at large L)")
    p.add_argument("--quick", action="store_true", help="fewer timed steps")
    # worker mode (internal)
    p.add_argument("--worker")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--width", type=int)
    p.add_argument("--depth", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--warmup", type=int, default=1)
    args = p.parse_args()
    if args.worker:
        return worker(args)

    cores = os.cpu_count()
    thread_counts = sorted({1, cores})
    torch_version = run_worker(args.python, "torch-version", 1)
    print(f"machine: {platform.processor() or platform.machine()}, {cores} cores; "
          f"{cpu_model()}")
    print(f"numpy: {run_worker(args.python, 'peak-numpy', 1) and 'yes'}; PyTorch: "
          + (torch_version or "not installed (columns left out; see scripts/bench-venv.sh)"))
    print()
    print("f32 matmul peak, 2048 x 2048 x 2048 (GFLOP/s):")
    print()
    print("| threads | numpy | PyTorch |")
    print("|---|---|---|")
    peak = {}
    for t in thread_counts:
        np_peak = run_worker(args.python, "peak-numpy", t)
        th_peak = run_worker(args.python, "peak-torch", t) if torch_version else None
        np_peak = float(np_peak) if np_peak else None
        th_peak = float(th_peak) if th_peak else None
        peak[t] = max(v for v in (np_peak, th_peak) if v is not None)
        print(f"| {t} | {fmt(np_peak, 1)} | {fmt(th_peak, 1)} |", flush=True)
    print()
    print(f"peak: {peak[cores]:.1f} GFLOP/s on {cores} cores, {peak[1]:.1f} on one")
    print()

    torch_cols = [f"torch {t}t" for t in thread_counts] if torch_version else []
    head = ["d", "L", "fused steps/s", "threads", "numpy steps/s"] + [c + " steps/s" for c in torch_cols]
    if args.burn:
        head += ["burn adjoint", "burn autodiff"]
    head += ["fused/numpy"] + [f"fused/{c}" for c in torch_cols]
    head += ["fused GFLOP/s", f"% of {cores}-core peak"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    budget = 1000 if args.quick else 4000
    for d in args.widths:
        for depth in args.depths:
            steps = max(2 if args.quick else 3, min(50, budget // depth))
            warmup = 1 if depth >= 1000 else 2
            f = native_bench(args.native, "cpu", d, args.batch, depth,
                             max(steps, min(200, 20 * budget // depth)), warmup)
            fused = f["steps_per_sec"]
            ref = float(run_worker(args.python, "numpy", 1, width=d, batch=args.batch,
                                   depth=depth, steps=steps, warmup=warmup))
            torch = []
            for t in (thread_counts if torch_version else []):
                v = run_worker(args.python, "torch", t, width=d, batch=args.batch,
                               depth=depth, steps=steps, warmup=warmup)
                torch.append(float(v) if v else None)
            row = [str(d), str(depth), fmt(fused), str(f.get("threads", "")), fmt(ref)]
            row += [fmt(v) for v in torch]
            if args.burn:
                for method in ("adjoint", "autodiff"):
                    row.append(fmt(native_bench(args.native, "ndarray", d, args.batch, depth,
                                                steps, warmup, method)["steps_per_sec"]))
            row += [fmt(ratio(fused, ref))] + [fmt(ratio(fused, v)) for v in torch]
            gflops = 6 * args.batch * d * d * depth * fused / 1e9
            row += [fmt(gflops, 1), fmt(100 * gflops / peak[cores], 0)]
            print("| " + " | ".join(row) + " |", flush=True)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


if __name__ == "__main__":
    main()
