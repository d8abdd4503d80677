#!/usr/bin/env python3
"""The GPU check's measurements (scripts/gpu-check.sh runs it; see there for what it checks).
Reads NATIVE, BACKEND, QUICK and WORK from the environment; prints one JSON summary line last."""
import argparse, concurrent.futures, json, os, subprocess, sys, time
sys.path.insert(0, "scripts")
import bench

native, backend, quick, work = (os.environ[k] for k in ("NATIVE", "BACKEND", "QUICK", "WORK"))
quick = bool(quick)
summary = {"backend": backend}


def sweep(config, out, on):
    """`native sweep` of `config` (TOML text) into WORK/out on backend `on`; its results."""
    path = os.path.join(work, out + ".toml")
    with open(path, "w") as f:
        f.write(config)
    run = subprocess.run([native, "--backend", on, "sweep", "--config", path, "--out",
                          os.path.join(work, out), "--no-report"], capture_output=True, text=True)
    if run.returncode != 0:
        return {"error": (run.stderr.strip().splitlines() or ["?"])[-1]}
    results = {}
    for depth in sorted(int(d.split("_")[1]) for d in os.listdir(os.path.join(work, out))
                        if d.startswith("depth_")):
        with open(os.path.join(work, out, f"depth_{depth}", "result.json")) as f:
            results[depth] = json.load(f)
    return results


def losses():
    """Every activation × δ mode × optimiser on `backend` against the fused CPU step."""
    acts = ["tanh", "relu"] if quick else ["linear", "tanh", "relu", "sigmoid", "gelu"]
    cases = [(act, delta, opt) for act in acts
             for delta in ["none", "shared", "per-layer", "fixed"] for opt in ["sgd", "adam"]]

    def case(c):
        act, delta, opt = c
        config = (f'n_samples = 200\nn_test = 40\nwidth = 10\nactivation = "{act}"\n'
                  f'delta = "{delta}"\ndepths = [3, 17]\nbatch_size = 50\nepsilon = 0.0\n'
                  f'max_steps = 40\nlog_every = 10\noptimizer = "{opt}"\n'
                  + ('beta = 0.5\n' if delta == "fixed" else "")
                  + ('lr = 0.001\n' if opt == "adam" else 'lr = 0.05\nmomentum = 0.9\n'))
        name = f"{act}-{delta}-{opt}"
        gpu, cpu = sweep(config, name + "-gpu", backend), sweep(config, name + "-cpu", "cpu")
        if "error" in gpu or "error" in cpu:
            return name, None, gpu.get("error") or cpu.get("error")
        worst = 0.0
        for depth in cpu:
            for a, b in zip(gpu[depth]["history"], cpu[depth]["history"]):
                x, y = a["train_loss"], b["train_loss"]
                if x is None or y is None:
                    worst = max(worst, 0.0 if x == y else float("inf"))
                else:
                    worst = max(worst, abs(x - y) / max(1.0, abs(y)))
        return name, worst, None

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(case, cases))
    print("## Losses: CUDA kernels against the fused CPU step (largest relative deviation)\n")
    for name, worst, error in results:
        print(f"| {name} | {error or f'{worst:.2e}'} | {'ok' if worst is not None and worst <= 1e-4 else 'FAIL'} |")
    failed = [n for n, w, _ in results if w is None or w > 1e-4]
    summary["losses"] = {"cases": len(results), "failed": failed,
                         "max_deviation": max((w for _, w, _ in results if w is not None), default=None)}


def args(**kw):
    base = dict(native=native, python=sys.executable, gpu=True, gpu_backend=backend,
                torch_device="cuda", batch=500, quick=quick, timed_depths=4 if quick else 8,
                widths=[10] if quick else [10, 25, 32],
                depths=[100, 1000] if quick else [100, 1000, 10000])
    return argparse.Namespace(**{**base, **kw})


def kernels():
    print("\n## SGD step: CubeCL kernels against PyTorch eager\n")
    summary["bench"] = bench.gpu_table(args())


def cifar():
    """ms per update of the conv ResNet, native (from 60 − 10 updates) and PyTorch eager."""
    data = os.path.join(work, "cifar")
    os.makedirs(data)
    per_batch = 8 if quick else 64
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        with open(os.path.join(data, name), "wb") as f:
            for _ in range(per_batch):
                f.write(bytes([os.urandom(1)[0] % 10]) + os.urandom(3072))
    channels, batch = (8, 16) if quick else (64, 128)
    config = lambda steps: (f'dataset = "cifar10"\ndata_dir = "{data}"\nn_samples = {5 * per_batch}\n'
                            f'n_test = {per_batch}\nbatch_size = {batch}\ndepths = [8, 20]\n'
                            f'base_channels = {channels}\naugment = false\nlr = 0.01\n'
                            f'max_steps = {steps}\nlog_every = {steps}\n')
    # A first run fills burn's autotune cache, so that the two timed runs start alike.
    sweep(config(10), "cifar-warm-up", backend)
    short, long = sweep(config(10), "cifar-10", backend), sweep(config(60), "cifar-60", backend)
    print("\n## CIFAR-10 conv ResNet, c = %d, B = %d: ms per update\n" % (channels, batch))
    rows = {}
    for depth in [8, 20]:
        if "error" in short or "error" in long:
            rows[depth] = {"error": short.get("error") or long.get("error")}
            continue
        ms = 1e3 * (long[depth]["wall_time_s"] - short[depth]["wall_time_s"]) / 50
        if ms <= 0:
            rows[depth] = {"error": f"60 updates took less than 10 ({ms:.1f} ms per update)"}
            continue
        torch = bench.run_worker(sys.executable, "torch-conv", 1, depth=depth, width=channels,
                                 batch=batch, steps=20, warmup=3, torch_device="cuda")
        torch_ms = 1e3 / float(torch) if torch else None
        rows[depth] = {"ms_per_update": ms, "torch_ms_per_update": torch_ms,
                       "ratio": torch_ms / ms if torch_ms else None}
        print(f"| L = {depth} | {ms:.2f} ms | torch {torch_ms and f'{torch_ms:.2f} ms'} |")
    summary["cifar"] = rows
    summary["cifar_projection_h"] = None
    if all("ms_per_update" in r for r in rows.values()):
        # Linear in L through the two depths, over the paper's 16 depths at Tmax = 10^5.
        (a, b) = (rows[8]["ms_per_update"], rows[20]["ms_per_update"])
        depths = [8, 11, 12, 14, 16, 18, 20, 24, 28, 33, 42, 50, 65, 80, 100, 121]
        total = sum(1e5 * (a + (l - 8) * (b - a) / 12) / 1e3 for l in depths)
        summary["cifar_projection_h"] = total / 3600
        print(f"\nCIFAR-10 sweep (16 depths, Tmax = 10^5, at c = {channels}): {bench.duration(total)}")


def projection():
    print("\n## Projected wall time of the paper's synthetic sweeps\n")
    configs = ["configs/synthetic-tanh-shared.toml", "configs/synthetic-relu-per-layer.toml"]
    if quick:
        configs = [c.replace(".toml", "-quick.toml") for c in configs]
    totals = bench.project(args(project=configs))
    summary["synthetic_projection_h"] = {os.path.basename(k): v / 3600 for k, v in totals.items()}


start = time.time()
for part in [losses, kernels, cifar, projection]:
    try:
        part()
    except SystemExit as e:
        summary[part.__name__ + "_error"] = str(e)
    except Exception as e:  # every part runs and says what failed
        summary[part.__name__ + "_error"] = repr(e)
summary["wall_s"] = round(time.time() - start, 1)
summary["ok"] = (not summary.get("losses", {}).get("failed", [None])
                 and all("error" not in r for r in summary.get("cifar", {"": {"error": 1}}).values())
                 and not any(k.endswith("_error") for k in summary))
print()
print(json.dumps(summary))
