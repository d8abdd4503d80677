#!/usr/bin/env python3
"""The rational approximation of tanh used by the fused CPU step
(crates/core/src/train/fused/math.rs):

    tanh(x) ≈ x P(x²) / Q(x²) on |x| ≤ C, clamped beyond,
    P(u) = 1 + p1 u + p2 u² + p3 u³,  Q(u) = 1 + q1 u + q2 u² + q3 u³ + q4 u⁴,

degree 7/8, exact to first order at 0 (P(0) = Q(0) = 1): 7 multiply-adds against the 9 of
Eigen's 13/6 (`generic_fast_tanh_float`), for the same accuracy in f32.

The coefficients minimise the largest relative error on (0, C] (Lawson's iteration on the
linearised problem: weighted least squares of (x P − tanh(x) Q) / (tanh(x) Q_prev), weights
multiplied by |error|^½ each round), then each is rounded to f32. The script prints them with
the worst relative error of the f32 evaluation (Horner, as the kernels do, on numpy's f32) on
the points of the Rust test `elementary_functions_are_accurate`, and Eigen's for comparison.

Usage: scripts/fit-tanh.py [--clamp 8.0] [--rounds 200]   (numpy)
"""
import argparse

import numpy as np


def fit(clamp, rounds):
    x = np.concatenate([np.geomspace(1e-6, 1e-2, 200), np.linspace(1e-2, clamp, 20000)])
    t, u = np.tanh(x), x * x
    # Unknowns p1..p3, q1..q4: x (1 + Σ p_k u^k) − t (1 + Σ q_k u^k) = 0.
    cols = [x * u**k for k in (1, 2, 3)] + [-t * u**k for k in (1, 2, 3, 4)]
    q_prev, w = np.ones_like(x), np.ones_like(x)
    for _ in range(rounds):
        scale = np.sqrt(w) / (t * q_prev)
        m = np.stack(cols, 1) * scale[:, None]
        c, *_ = np.linalg.lstsq(m, (t - x) * scale, rcond=None)
        p, q = np.concatenate([[1.0], c[:3]]), np.concatenate([[1.0], c[3:]])
        q_prev = np.polyval(q[::-1], u)
        err = (x * np.polyval(p[::-1], u) / q_prev - t) / t
        w = w * np.sqrt(np.abs(err)) + 1e-300
        w /= w.sum()
    return p.astype(np.float32), q.astype(np.float32)


def evaluate(p, q, clamp, x):
    """x P(x²)/Q(x²) in f32, x clamped to ±clamp, by Horner from the highest degree."""
    f = np.float32
    x = np.clip(x.astype(f), f(-clamp), f(clamp))
    u = x * x

    def horner(c):
        acc = np.full_like(u, c[-1])
        for k in c[-2::-1]:
            acc = acc * u + k
        return acc

    return x * horner(p) / horner(q)


def worst(got, x):
    want = np.tanh(x.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nanmax(np.abs(got - want) / np.abs(want))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clamp", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=200)
    a = ap.parse_args()
    p, q = fit(a.clamp, a.rounds)
    x = np.concatenate([np.linspace(-12, 12, 24001), [1e-30, -1e-20, 1e-8, 3e-4, -0.05]]).astype(np.float32)
    print("P (from u^0):", ", ".join(str(v) for v in p))
    print("Q (from u^0):", ", ".join(str(v) for v in q))
    print(f"worst relative error in f32: {worst(evaluate(p, q, a.clamp, x), x):.2e}")
    ep = np.float32([4.893_524_6e-3, 6.372_619_3e-4, 1.485_722_4e-5, 5.122_297e-8,
                     -8.604_672e-11, 2.000_188e-13, -2.760_768_5e-16])
    eq = np.float32([4.893_525e-3, 2.268_434_6e-3, 1.185_347e-4, 1.198_258_4e-6])
    print(f"Eigen's 13/6, the same way: {worst(evaluate(ep, eq, 7.905_311, x), x):.2e}")


if __name__ == "__main__":
    main()
