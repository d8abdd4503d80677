#!/usr/bin/env python3
"""Steps per second of one SGD step (forward, backward, update) of the fully connected ResNet
h_{k+1} = h_k + |δ| tanh(A_k h_k + b_k), MSE loss, shared δ, B = 500, for

- `native bench` on the CPU: the project's fused step (scaling_core::fused),
- numpy with a hand-written adjoint backward (below),
- PyTorch eager with autograd (below), with 1 thread and with one per core
  (OMP_WAIT_POLICY=passive),
- JAX on the CPU (below): the step jit-compiled, lax.scan over the stacked layers, jax.grad,
  SGD, on XLA's own threads (every core),
- optionally (--burn) `native bench --backend ndarray` with the burn adjoint and autodiff,

over d in {10, 25, 32} and L in {10, 100, 1000, 10000}, printed as a markdown table with
ratios, after the machine's measured f32 matmul peak (numpy's and PyTorch's sgemm of
2048 x 2048 matrices, 1 thread and all cores) and with the fused step's flop rate
(6 B d^2 L flops per step: three products per layer) as a percentage of that peak.

--gpu: instead, for each (d, L) of the grid, `native bench --backend cuda --method adjoint`
(--gpu-backend: cuda, wgpu or ndarray) against the same PyTorch eager step on --torch-device
(default cuda), each step ending by reading one value back (so both wait for the device), as a
table with the ratio, the GPU's name and whether the target (≥ 20× PyTorch eager at d = 10,
L = 1000) is met.

--project CONFIG.toml ...: instead, a projection of each fully connected sweep's wall time at
Tmax steps per depth (an upper bound: training stops earlier at ε) from `native bench` at the
config's width and batch, on the fused CPU step, or with --gpu on the --gpu-backend adjoint.
At most --timed-depths depths of the grid are timed (log-spaced, the first and last included)
and the others interpolated linearly in L. The bench runs the config's activation and δ (a
shared δ standing for δ modes that are not trained); the loss on the n_train samples every
log_every steps is counted as n_train / B forward passes of a third of a step each. On the CPU it
also times each depth with one copy of the step on every core, one thread each, and gives the
total of `native sweep`'s pool, which trains the networks so (`--jobs`, every core).

PyTorch and JAX are optional: their columns are left out when the import fails. From PyPI,
`pip install torch` brings the CUDA build with about 4 GB of NVIDIA packages, which the CPU
runs do not use but the import needs; scripts/bench-venv.sh installs it into
~/.cache/resnet-scaling/bench-venv (pass --python that-venv/bin/python). A CPU-only build of
PyTorch, where one can be installed, works as well.

Usage: scripts/bench.py [--native PATH] [--python PYTHON] [--widths 10 25 32]
                        [--depths 10 100 1000 10000] [--batch 500] [--burn] [--quick]
                        [--gpu [--gpu-backend cuda|wgpu|ndarray] [--torch-device cuda]]
                        [--project CONFIG.toml ... [--timed-depths 8]]
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import tomllib

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
    return per_second(lambda: numpy_step(A, b, delta, x, y, 1e-3), steps, warmup)


def per_second(step, steps, warmup):
    """Calls of `step` per second over `steps` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


# --- the PyTorch reference -------------------------------------------------------------------

def bench_torch(d, batch, depth, steps, warmup, threads, device):
    """PyTorch eager as one writes it: a parameter per layer, autograd, torch.optim.SGD, on
    `device`. Each step ends by reading the loss back, which waits for the device (the update
    included), as `native bench` does."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    leaf = lambda t: t.to(device).requires_grad_()
    A = [leaf(torch.randn(d, d, generator=g) / d) for _ in range(depth)]
    b = [leaf(torch.randn(d, generator=g) / d ** 0.5) for _ in range(depth)]
    delta = leaf(torch.tensor([1.0 / depth]))
    x = torch.randn(batch, d, generator=g).to(device)
    y = torch.randn(batch, d, generator=g).to(device)
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
        loss.item()

    return per_second(step, steps, warmup)


# --- the JAX reference -----------------------------------------------------------------------

def bench_jax(d, batch, depth, steps, warmup):
    """JAX as one writes it for speed: the layers stacked, `lax.scan` over them, `jax.grad`,
    SGD, the whole step one `jax.jit`-compiled function (compiled during the warm-up), on
    the CPU. Each step waits for its loss, as `native bench` does."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    rng = np.random.default_rng(0)
    A = jnp.asarray((rng.standard_normal((depth, d, d)) / d).astype(np.float32))
    b = jnp.asarray((rng.standard_normal((depth, d)) / np.sqrt(d)).astype(np.float32))
    delta = jnp.asarray(np.array([1.0 / depth], dtype=np.float32))
    x = jnp.asarray(rng.standard_normal((batch, d)).astype(np.float32))
    y = jnp.asarray(rng.standard_normal((batch, d)).astype(np.float32))

    def loss(params):
        A, b, delta = params
        s = jnp.abs(delta[0])

        def layer(h, weights):
            a_k, b_k = weights
            return h + s * jnp.tanh(h @ a_k.T + b_k), None

        h, _ = jax.lax.scan(layer, x, (A, b))
        return jnp.mean((h - y) ** 2)

    @jax.jit
    def sgd(params):
        value, grads = jax.value_and_grad(loss)(params)
        return tuple(p - 1e-3 * g for p, g in zip(params, grads)), value

    state = [(A, b, delta)]

    def step():
        state[0], value = sgd(state[0])
        value.block_until_ready()

    return per_second(step, steps, max(warmup, 1))


# The blocks per stage of the conv ResNet (scaling_core::conv::DEPTHS) at the depths timed.
CONV_STAGES = {8: [2, 2, 2, 2], 20: [3, 4, 10, 3]}


def bench_torch_conv(depth, channels, batch, steps, warmup, device):
    """The CIFAR-10 ResNet of scaling_core::conv in PyTorch eager (stem conv 3×3 + ReLU,
    blocks ReLU(conv2(ReLU(conv1 x)) + shortcut x), strides 1, 2, 2, 2, no batch norm, no
    biases, average pooling 4, linear head), MSE on one-hot labels, SGD with momentum 0.9 and
    weight decay 1e-4, as `native sweep` trains it; updates per second on a fixed batch."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.manual_seed(0)
    conv = lambda i, o, k, s: nn.Conv2d(i, o, k, s, k // 2, bias=False)

    class Block(nn.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.conv1, self.conv2 = conv(c_in, c_out, 3, stride), conv(c_out, c_out, 3, 1)
            self.shortcut = (conv(c_in, c_out, 1, stride)
                             if stride != 1 or c_in != c_out else nn.Identity())

        def forward(self, x):
            return F.relu(self.conv2(F.relu(self.conv1(x))) + self.shortcut(x))

    blocks, c_in = [], channels
    for stage, count in enumerate(CONV_STAGES[depth]):
        c_out = channels << stage
        for i in range(count):
            blocks.append(Block(c_in, c_out, 2 if stage > 0 and i == 0 else 1))
            c_in = c_out
    net = nn.Sequential(conv(3, channels, 3, 1), nn.ReLU(), *blocks, nn.AvgPool2d(4),
                        nn.Flatten(), nn.Linear(8 * channels, 10)).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(batch, 3, 32, 32, device=device)
    y = F.one_hot(torch.randint(0, 10, (batch,), device=device), 10).float()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(net(x), y)
        loss.backward()
        opt.step()
        loss.item()

    return per_second(step, steps, warmup)


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
        print(bench_torch(args.width, args.batch, args.depth, args.steps, args.warmup, args.threads,
                          args.torch_device))
    elif args.worker in ("peak-numpy", "peak-torch"):
        print(sgemm_peak(args.worker.split("-")[1]))
    elif args.worker == "torch-conv":
        print(bench_torch_conv(args.depth, args.width, args.batch, args.steps, args.warmup,
                               args.torch_device))
    elif args.worker == "jax":
        print(bench_jax(args.width, args.batch, args.depth, args.steps, args.warmup))
    elif args.worker == "jax-version":
        import jax
        print(jax.__version__)
    elif args.worker == "torch-version":
        import torch
        print(torch.__version__)
    elif args.worker == "torch-device":
        import torch
        device = torch.device(args.torch_device)
        print(torch.cuda.get_device_name(device) if device.type == "cuda" else device.type)


def run_worker(python, kind, threads, **kw):
    """Runs this script as a worker; its number, or None when it fails (no PyTorch)."""
    env = dict(os.environ, OMP_WAIT_POLICY="passive", BENCH_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    cmd = [python, HERE, "--worker", kind, "--threads", str(threads)]
    for key, value in kw.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return out.stdout.strip().splitlines()[-1]


def native_bench(binary, backend, d, batch, depth, steps, warmup, method=None, net=None,
                 copies=1):
    """`native bench` (tanh, shared δ unless net = (activation, δ) says otherwise). With
    copies > 1, that many copies on one thread each at once, as `native sweep`'s pool runs
    networks side by side: their mean ms per step."""
    cmd = [binary, "bench", "--backend", backend, "--width", str(d), "--batch", str(batch),
           "--depth", str(depth), "--steps", str(steps), "--warmup", str(warmup)]
    if method:
        cmd += ["--method", method]
    if net:
        cmd += ["--activation", net[0], "--delta", net[1]]
    if copies > 1:
        cmd += ["--threads", "1"]
    runs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(copies)]
    lines = []
    for run in runs:
        out, err = run.communicate()
        if run.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{err.strip()}")
        lines.append(json.loads(out.strip().splitlines()[-1]))
    if copies == 1:
        return lines[0]
    return {**lines[0], "ms_per_step": sum(line["ms_per_step"] for line in lines) / copies}


def step_counts(depth, quick):
    """(timed steps of the references, timed steps of `native bench`, warm-up steps) at L."""
    budget = 1000 if quick else 4000
    steps = max(2 if quick else 3, min(50, budget // depth))
    return steps, max(steps, min(200, 20 * budget // depth)), 1 if depth >= 1000 else 2


def fmt(v, digits=2):
    return "—" if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None else a / b


def print_row(cells):
    print("| " + " | ".join(cells) + " |", flush=True)


def duration(seconds):
    return (f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min" if seconds < 7200
            else f"{seconds / 3600:.1f} h")


def print_machine():
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{cpu_model()}")
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
        if out.returncode == 0:
            print(out.stdout.strip())


# --- the CPU table ---------------------------------------------------------------------------

def cpu_table(args):
    cores = os.cpu_count()
    thread_counts = sorted({1, cores})
    torch_version = run_worker(args.python, "torch-version", 1)
    jax_version = run_worker(args.python, "jax-version", 1)
    print_machine()
    missing = "not installed (columns left out; see scripts/bench-venv.sh)"
    print(f"numpy: {run_worker(args.python, 'peak-numpy', 1) and 'yes'}; PyTorch: "
          + (torch_version or missing) + "; JAX: " + (jax_version or missing))
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

    other_cols = [f"torch {t}t" for t in thread_counts] if torch_version else []
    other_cols += ["jax"] if jax_version else []
    head = ["d", "L", "fused steps/s", "threads", "numpy steps/s"] + [c + " steps/s" for c in other_cols]
    if args.burn:
        head += ["burn adjoint", "burn autodiff"]
    head += ["fused/numpy"] + [f"fused/{c}" for c in other_cols]
    head += ["fused GFLOP/s", f"% of {cores}-core peak"]
    print_row(head)
    print("|" + "---|" * len(head))
    for d in args.widths:
        for depth in args.depths:
            steps, native_steps, warmup = step_counts(depth, args.quick)
            f = native_bench(args.native, "cpu", d, args.batch, depth, native_steps, warmup)
            fused = f["steps_per_sec"]
            ref = float(run_worker(args.python, "numpy", 1, width=d, batch=args.batch,
                                   depth=depth, steps=steps, warmup=warmup))
            others = []
            for t in (thread_counts if torch_version else []):
                v = run_worker(args.python, "torch", t, width=d, batch=args.batch,
                               depth=depth, steps=steps, warmup=warmup, torch_device="cpu")
                others.append(float(v) if v else None)
            if jax_version:
                v = run_worker(args.python, "jax", cores, width=d, batch=args.batch,
                               depth=depth, steps=steps, warmup=warmup)
                others.append(float(v) if v else None)
            row = [str(d), str(depth), fmt(fused), str(f.get("threads", "")), fmt(ref)]
            row += [fmt(v) for v in others]
            if args.burn:
                for method in ("adjoint", "autodiff"):
                    row.append(fmt(native_bench(args.native, "ndarray", d, args.batch, depth,
                                                steps, warmup, method)["steps_per_sec"]))
            row += [fmt(ratio(fused, ref))] + [fmt(ratio(fused, v)) for v in others]
            gflops = 6 * args.batch * d * d * depth * fused / 1e9
            row += [fmt(gflops, 1), fmt(100 * gflops / peak[cores], 0)]
            print_row(row)


# --- the GPU table ---------------------------------------------------------------------------

TARGET = (10, 1000, 20.0)  # d, L and the least speed-up over PyTorch eager on the same GPU


def gpu_table(args):
    backend, device = args.gpu_backend, args.torch_device
    torch_version = run_worker(args.python, "torch-version", 1)
    on_device = torch_version and run_worker(args.python, "torch-device", 1, torch_device=device)
    print_machine()
    print(f"PyTorch: {torch_version} on {device}: {on_device}" if on_device else
          f"PyTorch on {device}: " + ("not available" if torch_version else "not installed")
          + " (columns left blank; see scripts/bench-venv.sh)")
    print()
    head = ["d", "L", f"{backend} adjoint steps/s", "ms/step", f"torch {device} steps/s",
            "ms/step", f"{backend}/torch"]
    print_row(head)
    print("|" + "---|" * len(head))
    ratios, rows = {}, []
    for d in args.widths:
        for depth in args.depths:
            steps, native_steps, warmup = step_counts(depth, args.quick)
            native = native_bench(args.native, backend, d, args.batch, depth, native_steps,
                                  warmup, "adjoint")["steps_per_sec"]
            torch = on_device and run_worker(args.python, "torch", 1, width=d, batch=args.batch,
                                             depth=depth, steps=steps, warmup=warmup,
                                             torch_device=device)
            torch = float(torch) if torch else None
            ratios[d, depth] = ratio(native, torch)
            rows.append({"d": d, "L": depth, "steps_per_sec": native, "torch_steps_per_sec": torch,
                         "ratio": ratios[d, depth]})
            print_row([str(d), str(depth), fmt(native), fmt(1e3 / native, 3), fmt(torch),
                       fmt(torch and 1e3 / torch, 3), fmt(ratios[d, depth], 1)])
    d, depth, least = TARGET
    r = ratios.get((d, depth))
    verdict = ("not measured" if r is None else
               f"{'met' if r >= least else 'NOT met'} ({r:.1f}×, B = {args.batch})")
    print()
    print(f"target: {backend} ≥ {least:.0f}× PyTorch eager on {device} at d = {d}, "
          f"L = {depth}: {verdict}")
    return rows


# --- projection of a sweep's wall time -------------------------------------------------------

def geometric(lo, hi, base):
    """The distinct values ⌊base^n⌋ in [lo, hi], increasing (scaling_core::grid::geometric)."""
    depths, power = [], 1.0
    while power <= hi + 0.5:
        depth = int(power * (1 + 1e-12))
        if lo <= depth <= hi and depths[-1:] != [depth]:
            depths.append(depth)
        power *= base
    return depths


def sweep_config(path):
    """A fully connected sweep's config with the defaults of scaling_core::config::SweepConfig
    filled in, and its depths."""
    with open(path, "rb") as f:
        c = tomllib.load(f)
    c = {"dataset": "synthetic", "n_samples": 2000, "n_test": 500, "activation": "tanh",
         "delta": "shared", "batch_size": 100, "epsilon": 1e-3, "max_steps": 2000,
         "log_every": 100, "seed": 0, **c}
    if c["dataset"] == "cifar10":
        sys.exit(f"{path}: CIFAR-10 trains the convolutional ResNet, which --project does not time")
    c["width"] = 25 if c["dataset"] == "mnist" else c.get("width", 10)
    c["depths"] = sorted(c.get("depths") or geometric(
        c.get("depth_min", 3), c.get("depth_max", 300), c.get("depth_base", 1.2)))
    return c


def interpolate(x, xs, ys):
    """The piecewise linear function through (xs, ys), xs increasing, at x in [xs[0], xs[-1]]."""
    i = next(i for i, v in enumerate(xs) if v >= x)
    if xs[i] == x:
        return ys[i]
    return ys[i - 1] + (x - xs[i - 1]) * (ys[i] - ys[i - 1]) / (xs[i] - xs[i - 1])


def project(args):
    """Prints each sweep's projection; returns the totals in seconds by config path."""
    backend, method = (args.gpu_backend, "adjoint") if args.gpu else ("cpu", "fused")
    print_machine()
    totals = {}
    ms = {}  # ms per step by (d, B, L, activation, δ), shared by the configs
    side = {}  # the same with one copy on every core, one thread each
    cores = os.cpu_count()
    pool = backend == "cpu" and cores > 1
    for path in args.project:
        c = sweep_config(path)
        d, batch, depths = c["width"], c["batch_size"], c["depths"]
        trained = c["delta"] if c["delta"] in ("shared", "per-layer") else None
        net = (c["activation"], trained or "shared")
        k = min(max(args.timed_depths, 2), len(depths))
        timed = sorted({depths[round(i * (len(depths) - 1) / max(k - 1, 1))] for i in range(k)})
        for depth in timed:
            if (d, batch, depth, *net) not in ms:
                _, steps, warmup = step_counts(depth, args.quick)
                bench = native_bench(args.native, backend, d, batch, depth, steps, warmup, method,
                                     net)
                ms[d, batch, depth, *net] = bench["ms_per_step"]
                if pool:
                    side[d, batch, depth, *net] = native_bench(
                        args.native, backend, d, batch, depth, steps, warmup, method, net,
                        copies=cores)["ms_per_step"]
        tmax, every = c["max_steps"], c["log_every"]
        evals = tmax // every + 1 + (tmax % every > 0)
        # A forward pass costs about a third of a step (one product per layer of three).
        eval_steps = (evals * c["n_samples"] + c["n_test"]) / (3 * batch)
        print()
        print(f"{path}: {c['dataset']}, d = {d}, B = {batch}, {c['activation']}, "
              f"{c['delta']} δ, {len(depths)} depths {depths[0]}..{depths[-1]}, "
              f"Tmax = {tmax}, ε = {c['epsilon']}, seed {c['seed']}")
        print(f"step: `native bench --backend {backend} --method {method}` ({net[0]}, {net[1]} δ"
              + ("" if trained else f": an approximation of δ = {c['delta']}") + "), "
              f"timed at {len(timed)} depths ({', '.join(map(str, timed))})"
              + (", interpolated linearly in L between them" if len(timed) < len(depths) else ""))
        print(f"loss evaluations: {evals} on the {c['n_samples']} training samples and one on "
              f"{c['n_test']} test samples ≈ {eval_steps:.0f} steps (+{100 * eval_steps / tmax:.1f}%)")
        print()
        print_row(["L", "ms/step", f"ms/step, {cores} side by side" if pool else "—",
                   "ms/step from", "time at Tmax"])
        print("|---|---|---|---|---|")
        total, side_total, longest = 0.0, 0.0, 0.0
        for depth in depths:
            t = interpolate(depth, timed, [ms[d, batch, l, *net] for l in timed])
            total += (tmax + eval_steps) * t / 1e3
            t_side = interpolate(depth, timed, [side[d, batch, l, *net] for l in timed]) \
                if pool else None
            if pool:
                side_total += (tmax + eval_steps) * t_side / 1e3
                longest = max(longest, (tmax + eval_steps) * t_side / 1e3)
            print_row([str(depth), fmt(t, 3), fmt(t_side, 3),
                       "timed" if depth in timed else "interpolated",
                       duration((tmax + eval_steps) * t / 1e3)])
        print()
        print(f"total: {duration(total)} on {backend}, one network at a time (an upper bound: a "
              f"depth stops before Tmax once its training loss is below ε; one seed, one sweep)")
        if pool:
            # The pool trains the networks side by side, one thread each while others wait,
            # so the work is the side-by-side step's, shared by the cores; no sooner than its
            # longest network.
            pooled = max(side_total / cores, longest)
            print(f"with `native sweep --jobs {cores}` (the networks side by side on one thread "
                  f"each, {cores} at a time, timed so): about {duration(pooled)}")
        totals[path] = total
    return totals


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
    p.add_argument("--gpu", action="store_true",
                   help="the GPU table, or with --project the GPU step, instead of the CPU")
    p.add_argument("--gpu-backend", choices=["cuda", "wgpu", "ndarray"], default="cuda",
                   help="native's backend for --gpu (ndarray: to try the plumbing on a CPU)")
    p.add_argument("--torch-device", default="cuda", help="PyTorch's device for --gpu")
    p.add_argument("--project", nargs="+", metavar="CONFIG.toml",
                   help="project these sweeps' wall time instead of the table")
    p.add_argument("--timed-depths", type=int, default=8,
                   help="--project: depths timed per sweep (at least 2), the rest interpolated")
    # worker mode (internal)
    p.add_argument("--worker")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--width", type=int)
    p.add_argument("--depth", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--warmup", type=int, default=1)
    args = p.parse_args()
    if args.worker:
        worker(args)
    elif args.project:
        project(args)
    elif args.gpu:
        gpu_table(args)
    else:
        cpu_table(args)


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
