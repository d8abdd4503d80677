//! Exact singular values of 2-D convolution layers, by the method of Sedghi, Gupta & Long,
//! "The singular values of convolutional layers" (ICLR 2019).
//!
//! A kernel K of shape [c_out, c_in, k, k] (row-major) acts on c_in×n×n inputs as the
//! *circular* (periodic) stride-1 cross-correlation of deep-learning frameworks,
//!
//!   out[o][x][y] = Σ_i Σ_{a,b<k} K[o][i][a][b] · in[i][(x + a) mod n][(y + b) mod n].
//!
//! The 2-D DFT over (x, y) block-diagonalises this operator: at each frequency (u, v) it acts
//! on the channels as the complex c_out×c_in matrix
//!
//!   P(u, v)[o][i] = Σ_{a,b<k} K[o][i][a][b] · ω^(u·a + v·b),   ω = e^(−2πi/n),
//!
//! the DFT of the slice K[o][i] zero-padded to n×n (up to conjugation, which the shift and flip
//! conventions change but the singular values do not). The singular values of the convolution
//! are the union over the n² frequencies of those of P(u, v), and its spectral norm is
//! max_{u,v} ‖P(u, v)‖₂. For a real kernel P(−u, −v) = conj(P(u, v)), so only one frequency
//! of each conjugate pair is decomposed.
//!
//! What the numbers are, and are not:
//! - The circular operator on n×n is not the zero-padded one on n×n: the zero-padded
//!   ("same") convolution on n×n inputs is a restriction of the circular one on N×N inputs
//!   for any N ≥ n + k − 1, so its norm is bounded above by `conv_spectral_norm(.., N)`
//!   (but it may exceed the circular norm at N = n; see the tests).
//! - A stride-2 convolution is measured as its stride-1 operator. Striding keeps a subset of
//!   the outputs, a projection of norm ≤ 1, so the stride-1 norm bounds the strided one above.
//!
//! Cost: c_out·c_in·k² complex multiply-adds per frequency for the P(u, v) (cheaper than an FFT
//! of the padded slices when k ≪ n), plus one complex SVD of a c_out×c_in matrix for each of
//! about n²/2 frequencies, shared out over the available cores.

use crate::parallel;
use nalgebra::{DMatrix, DVector};
use rustfft::num_complex::Complex;
use std::f64::consts::PI;

/// The spectral norm max_{u,v} ‖P(u, v)‖₂ of the circular stride-1 convolution with the
/// kernel [c_out, c_in, k, k] on n×n inputs (see the module documentation).
///
/// Panics unless 1 ≤ k ≤ n and `kernel.len() == c_out·c_in·k²`.
pub fn conv_spectral_norm(kernel: &[f32], c_out: usize, c_in: usize, k: usize, n: usize) -> f64 {
    frequency_singular_values(kernel, c_out, c_in, k, n)
        .iter()
        .map(|(s, _)| s.max())
        .fold(0.0, f64::max)
}

/// All n²·min(c_out, c_in) singular values of the circular stride-1 convolution with the
/// kernel [c_out, c_in, k, k] on n×n inputs, with multiplicity, sorted descending.
///
/// Panics unless 1 ≤ k ≤ n and `kernel.len() == c_out·c_in·k²`.
pub fn conv_singular_values(
    kernel: &[f32],
    c_out: usize,
    c_in: usize,
    k: usize,
    n: usize,
) -> Vec<f64> {
    let mut values: Vec<f64> = Vec::with_capacity(n * n * c_out.min(c_in));
    for (s, multiplicity) in frequency_singular_values(kernel, c_out, c_in, k, n) {
        for _ in 0..multiplicity {
            values.extend(s.iter());
        }
    }
    values.sort_by(|a, b| b.total_cmp(a));
    values
}

/// The singular values of P(u, v) at one frequency of each conjugate pair {(u, v), (−u, −v)}
/// (the one with the smaller row-major index u·n + v), with the pair's size: 1 where
/// (u, v) ≡ (−u, −v), else 2. The frequencies are shared out over the available cores.
fn frequency_singular_values(
    kernel: &[f32],
    c_out: usize,
    c_in: usize,
    k: usize,
    n: usize,
) -> Vec<(DVector<f64>, usize)> {
    assert!(
        (1..=n).contains(&k),
        "conv spectral norm: kernel size k = {k} must satisfy 1 ≤ k ≤ n = {n}"
    );
    assert_eq!(
        kernel.len(),
        c_out * c_in * k * k,
        "conv spectral norm: kernel length must be c_out·c_in·k² = {c_out}·{c_in}·{k}²"
    );
    let omega: Vec<Complex<f64>> = (0..n)
        .map(|m| Complex::from_polar(1.0, -2.0 * PI * m as f64 / n as f64))
        .collect();
    let symbol = |u: usize, v: usize| {
        // The phase ω^(u·a + v·b) of tap (a, b), in the kernel's row-major tap order.
        let phases: Vec<Complex<f64>> = (0..k * k)
            .map(|t| omega[(u * (t / k) + v * (t % k)) % n])
            .collect();
        DMatrix::from_fn(c_out, c_in, |o, i| {
            let taps = &kernel[(o * c_in + i) * k * k..][..k * k];
            taps.iter()
                .zip(&phases)
                .map(|(&w, &z)| z * f64::from(w))
                .sum::<Complex<f64>>()
        })
    };
    let pairs: Vec<(usize, usize)> = (0..n * n)
        .filter_map(|f| {
            let conjugate = ((n - f / n) % n) * n + (n - f % n) % n;
            (conjugate >= f).then_some((f, if conjugate == f { 1 } else { 2 }))
        })
        .collect();
    parallel::map(&pairs, |&(f, size)| {
        (symbol(f / n, f % n).singular_values(), size)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::init::{normal_vec, rng};

    /// The dense (c_out·n²)×(c_in·n²) matrix of the stride-1 cross-correlation
    /// out[o][x][y] = Σ_i Σ_{a,b} K[o][i][a][b] · in[i][x + a − p][y + b − p]: circular
    /// (indices mod n, p = 0) or zero-padded "same" (p = (k − 1)/2, zero outside 0..n).
    fn dense(
        kernel: &[f32],
        c_out: usize,
        c_in: usize,
        k: usize,
        n: usize,
        circular: bool,
    ) -> DMatrix<f64> {
        let pad = if circular { 0 } else { (k - 1) / 2 };
        let index = |x: usize, a: usize| {
            let j = (x + a) as isize - pad as isize;
            if circular {
                Some(j.rem_euclid(n as isize) as usize)
            } else {
                (0..n as isize).contains(&j).then_some(j as usize)
            }
        };
        let mut m = DMatrix::zeros(c_out * n * n, c_in * n * n);
        for o in 0..c_out {
            for i in 0..c_in {
                for (t, &w) in kernel[(o * c_in + i) * k * k..][..k * k].iter().enumerate() {
                    for x in 0..n {
                        for y in 0..n {
                            if let (Some(xi), Some(yi)) = (index(x, t / k), index(y, t % k)) {
                                m[((o * n + x) * n + y, (i * n + xi) * n + yi)] += f64::from(w);
                            }
                        }
                    }
                }
            }
        }
        m
    }

    fn random_kernel(c_out: usize, c_in: usize, k: usize, seed: u64) -> Vec<f32> {
        normal_vec(&mut rng(seed, 0), c_out * c_in * k * k, 1.0)
    }

    #[test]
    fn spectral_singular_values_match_the_dense_circular_operator() {
        for (c_out, c_in, k, n) in [(3, 2, 3, 4), (1, 1, 2, 3), (2, 4, 3, 5)] {
            let kernel = random_kernel(c_out, c_in, k, 7);
            let mut expected: Vec<f64> = dense(&kernel, c_out, c_in, k, n, true)
                .singular_values()
                .iter()
                .copied()
                .collect();
            expected.sort_by(|a, b| b.total_cmp(a));
            let values = conv_singular_values(&kernel, c_out, c_in, k, n);
            assert_eq!(values.len(), expected.len());
            let scale = expected[0];
            for (s, e) in values.iter().zip(&expected) {
                assert!(
                    (s - e).abs() <= 1e-9 * scale,
                    "{s} vs {e} at {c_out},{c_in},{k},{n}"
                );
            }
            let norm = conv_spectral_norm(&kernel, c_out, c_in, k, n);
            assert!((norm - scale).abs() <= 1e-9 * scale);
        }
    }

    #[test]
    fn spectral_norm_of_a_1x1_kernel_is_the_matrix_norm() {
        let kernel = random_kernel(5, 3, 1, 11);
        let matrix: Vec<f64> = kernel.iter().map(|&w| f64::from(w)).collect();
        let expected = crate::analysis::stats::spectral_norm(&matrix, 5, 3);
        assert!((conv_spectral_norm(&kernel, 5, 3, 1, 6) - expected).abs() <= 1e-12 * expected);
    }

    #[test]
    fn spectral_norm_of_a_single_tap_and_of_all_ones() {
        // One tap c at (1, 2): the operator is c times a cyclic shift, all singular values |c|.
        let mut tap = vec![0.0f32; 9];
        tap[5] = -2.5;
        let values = conv_singular_values(&tap, 1, 1, 3, 4);
        assert!(values.iter().all(|s| (s - 2.5).abs() < 1e-12));
        // All ones: P(0, 0) = k², and P(u, v) = 0 elsewhere when k = n.
        for (k, n) in [(3, 5), (2, 7), (4, 4)] {
            let ones = vec![1.0f32; k * k];
            let norm = conv_spectral_norm(&ones, 1, 1, k, n);
            assert!(
                (norm - (k * k) as f64).abs() < 1e-12,
                "k = {k}, n = {n}: {norm}"
            );
        }
    }

    #[test]
    fn spectral_norm_is_absolutely_homogeneous() {
        let kernel = random_kernel(4, 3, 3, 5);
        let scaled: Vec<f32> = kernel.iter().map(|w| -2.0 * w).collect();
        let norm = conv_spectral_norm(&kernel, 4, 3, 3, 6);
        assert!((conv_spectral_norm(&scaled, 4, 3, 3, 6) - 2.0 * norm).abs() <= 1e-12 * norm);
    }

    #[test]
    fn spectral_norm_bounds_zero_padding_only_on_a_large_enough_grid() {
        // Zero-padded norm ≤ circular norm on N = n + k − 1.
        let (c_out, c_in, k, n) = (2, 3, 3, 4);
        let kernel = random_kernel(c_out, c_in, k, 9);
        let padded = dense(&kernel, c_out, c_in, k, n, false)
            .singular_values()
            .max();
        assert!(padded <= conv_spectral_norm(&kernel, c_out, c_in, k, n + k - 1) + 1e-12);
        // But not on N = n: K = [[1, −1], [0, 0]] on 3×3 acts on each row as the bidiagonal
        // I − shift, of norm 2cos(π/7) ≈ 1.80, while its circular norm is |1 − ω| = √3.
        let kernel = [1.0, -1.0, 0.0, 0.0];
        let padded = dense(&kernel, 1, 1, 2, 3, false).singular_values().max();
        assert!((padded - 2.0 * (PI / 7.0).cos()).abs() < 1e-12);
        assert!((conv_spectral_norm(&kernel, 1, 1, 2, 3) - 3f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn spectral_norm_of_a_wide_layer_is_bounded_by_its_taps() {
        // 512×512×3×3 at n = 4; ‖conv‖ ≤ Σ_{a,b} ‖K[:, :, a, b]‖₂ ≤ Σ_{a,b} ‖K[:, :, a, b]‖_F.
        let (c, k) = (512, 3);
        let kernel = normal_vec(
            &mut rng(1, 0),
            c * c * k * k,
            1.0 / ((c * k * k) as f64).sqrt(),
        );
        let norm = conv_spectral_norm(&kernel, c, c, k, 4);
        let bound: f64 = (0..k * k)
            .map(|t| {
                kernel[t..]
                    .iter()
                    .step_by(k * k)
                    .map(|&w| f64::from(w).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .sum();
        assert!(
            norm.is_finite() && norm > 0.0 && norm <= bound,
            "{norm} vs {bound}"
        );
    }

    #[test]
    #[should_panic(expected = "1 ≤ k ≤ n")]
    fn spectral_norm_rejects_a_kernel_larger_than_the_input() {
        conv_spectral_norm(&[0.0; 9], 1, 1, 3, 2);
    }
}
