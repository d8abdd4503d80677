//! Initial weight paths k ↦ (A_k, b_k), k = 0..L−1, all seeded and deterministic.
//!
//! Every init has the xavier scale: an entry of A has standard deviation s/d and an entry of b
//! s/√d, with s = `initial_sd`; what changes is how entries are correlated along the depth.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rustfft::{num_complex::Complex, FftPlanner};
use serde::{Deserialize, Serialize};

/// How the layer path of the weights is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Init {
    /// i.i.d. A_ij ~ N(0, (s/d)²), b_i ~ N(0, (s/√d)²) at every layer.
    Xavier,
    /// As `Xavier`, with both standard deviations divided by L.
    XavierDepth,
    /// Each entry is a stationary Gaussian process over t = k/L with the RBF kernel
    /// exp(−(t − t')² / (2 ℓ²)), ℓ = `length_scale`, times the xavier standard deviation.
    Smooth { length_scale: f64 },
    /// Each entry is σ_xavier · B^H((k+1)/L), with B^H a fractional Brownian motion of Hurst
    /// index H on [0, 1] (so the last layer has the xavier variance; H = ½ is Brownian).
    Fbm { hurst: f64 },
    /// Each entry is σ_xavier · G_k with (G_k) a fractional Gaussian noise of Hurst index H:
    /// the unit-variance increments of a fractional Brownian motion, so that Σ_k G_k ~ L^H
    /// (H = ½ is i.i.d.). Marion et al.'s "fbm" init (their `generate_fbm(L, H)[1]`).
    Fgn { hurst: f64 },
}

/// A random generator for one (seed, stream) pair: the same pair always gives the same draws.
pub fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Draws n i.i.d. N(0, std²) values.
pub fn normal_vec(rng: &mut impl Rng, n: usize, std: f64) -> Vec<f32> {
    (0..n)
        .map(|_| (std * rng.sample::<f64, _>(StandardNormal)) as f32)
        .collect()
}

/// The initial A [L·d·d, row-major (k, i, j)] and b [L·d, row-major (k, i)].
pub fn weight_paths(
    init: Init,
    initial_sd: f64,
    depth: usize,
    width: usize,
    rng: &mut impl Rng,
) -> (Vec<f32>, Vec<f32>) {
    let (std_a, std_b) = (
        initial_sd / width as f64,
        initial_sd / (width as f64).sqrt(),
    );
    let (na, nb) = (width * width, width);
    match init {
        Init::Xavier | Init::XavierDepth => {
            let shrink = if init == Init::Xavier {
                1.0
            } else {
                depth as f64
            };
            let a = normal_vec(rng, depth * na, std_a / shrink);
            let b = normal_vec(rng, depth * nb, std_b / shrink);
            (a, b)
        }
        Init::Smooth { length_scale } => {
            let paths = rbf_paths(depth, length_scale, na + nb, rng);
            interleave(depth, &paths, na, std_a, std_b)
        }
        Init::Fbm { hurst } => {
            let paths = fbm_paths(depth, hurst, na + nb, rng);
            interleave(depth, &paths, na, std_a, std_b)
        }
        Init::Fgn { hurst } => {
            let paths = fgn_paths(depth, hurst, na + nb, rng);
            interleave(depth, &paths, na, std_a, std_b)
        }
    }
}

/// Lays out `paths` (one unit-variance path of length L per entry, A's entries first) as
/// the stacked A and b, scaling A's entries by std_a and b's by std_b.
fn interleave(
    depth: usize,
    paths: &[Vec<f64>],
    na: usize,
    std_a: f64,
    std_b: f64,
) -> (Vec<f32>, Vec<f32>) {
    let nb = paths.len() - na;
    let mut a = vec![0f32; depth * na];
    let mut b = vec![0f32; depth * nb];
    for (e, path) in paths.iter().enumerate() {
        for (k, v) in path.iter().enumerate() {
            if e < na {
                a[k * na + e] = (std_a * v) as f32;
            } else {
                b[k * nb + e - na] = (std_b * v) as f32;
            }
        }
    }
    (a, b)
}

/// `count` independent samples of the stationary RBF Gaussian process on t = k/L, k < L,
/// with unit variance. The grid is extended until the kernel is below 1e−10 so that the
/// circulant embedding is (numerically) positive semi-definite.
pub fn rbf_paths(
    depth: usize,
    length_scale: f64,
    count: usize,
    rng: &mut impl Rng,
) -> Vec<Vec<f64>> {
    let l = depth as f64;
    let reach = (7.0 * length_scale * l).ceil() as usize + 1;
    let n = depth.max(reach);
    let cov: Vec<f64> = (0..n)
        .map(|j| (-(j as f64 / l).powi(2) / (2.0 * length_scale * length_scale)).exp())
        .collect();
    let mut paths = stationary_gaussian(&cov, count, rng);
    paths.iter_mut().for_each(|p| p.truncate(depth));
    paths
}

/// `count` independent paths k ↦ B^H((k+1)/L), k < L, of a standard fractional Brownian
/// motion: the cumulative sums of L^{−H} times the fractional Gaussian noise of [`fgn_paths`].
pub fn fbm_paths(depth: usize, hurst: f64, count: usize, rng: &mut impl Rng) -> Vec<Vec<f64>> {
    let step = (depth as f64).powf(-hurst);
    fgn_paths(depth, hurst, count, rng)
        .into_iter()
        .map(|noise| {
            noise
                .iter()
                .scan(0.0, |sum, w| {
                    *sum += step * w;
                    Some(*sum)
                })
                .collect()
        })
        .collect()
}

/// `count` independent samples of fractional Gaussian noise G_0, …, G_{L−1}: the stationary
/// Gaussian sequence with autocovariance ½(|j+1|^{2H} − 2|j|^{2H} + |j−1|^{2H}) at lag j, the
/// increments B^H(k+1) − B^H(k) of a fractional Brownian motion (Davies–Harte, exact).
pub fn fgn_paths(depth: usize, hurst: f64, count: usize, rng: &mut impl Rng) -> Vec<Vec<f64>> {
    let h2 = 2.0 * hurst;
    let cov: Vec<f64> = (0..depth)
        .map(|j| {
            let j = j as f64;
            0.5 * ((j + 1.0).powf(h2) - 2.0 * j.powf(h2) + (j - 1.0).abs().powf(h2))
        })
        .collect();
    stationary_gaussian(&cov, count, rng)
}

/// `count` independent samples of a stationary Gaussian sequence of length n = cov.len() with
/// autocovariance cov[j] = E[X_i X_{i+j}], by circulant embedding: the circulant matrix of size
/// m = 2(n−1) with first row (c_0, …, c_{n−1}, c_{n−2}, …, c_1) has eigenvalues λ = FFT(row);
/// with ξ complex standard normal, the real and imaginary parts of FFT(√(λ/m) ξ) are two
/// independent samples. Eigenvalues below zero (round-off) are set to zero.
pub fn stationary_gaussian(cov: &[f64], count: usize, rng: &mut impl Rng) -> Vec<Vec<f64>> {
    let n = cov.len();
    if n == 1 {
        return (0..count)
            .map(|_| vec![cov[0].sqrt() * rng.sample::<f64, _>(StandardNormal)])
            .collect();
    }
    let m = 2 * (n - 1);
    let mut row: Vec<Complex<f64>> = cov
        .iter()
        .chain(cov[1..n - 1].iter().rev())
        .map(|&c| Complex::new(c, 0.0))
        .collect();
    let fft = FftPlanner::new().plan_fft_forward(m);
    fft.process(&mut row);
    let amplitude: Vec<f64> = row
        .iter()
        .map(|l| (l.re.max(0.0) / m as f64).sqrt())
        .collect();
    let mut out = Vec::with_capacity(count);
    let mut buf = vec![Complex::new(0.0, 0.0); m];
    while out.len() < count {
        for (z, amp) in buf.iter_mut().zip(&amplitude) {
            let re: f64 = rng.sample(StandardNormal);
            let im: f64 = rng.sample(StandardNormal);
            *z = Complex::new(amp * re, amp * im);
        }
        fft.process(&mut buf);
        out.push(buf[..n].iter().map(|z| z.re).collect());
        if out.len() < count {
            out.push(buf[..n].iter().map(|z| z.im).collect());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Empirical autocovariance at lag j over many paths, averaged along the path.
    fn autocov(paths: &[Vec<f64>], j: usize) -> f64 {
        let n = paths[0].len();
        let mut total = 0.0;
        for p in paths {
            total += (0..n - j).map(|i| p[i] * p[i + j]).sum::<f64>() / (n - j) as f64;
        }
        total / paths.len() as f64
    }

    #[test]
    fn circulant_embedding_reproduces_the_covariance() {
        let cov: Vec<f64> = (0..40).map(|j| (-(j as f64 / 8.0).powi(2)).exp()).collect();
        let paths = stationary_gaussian(&cov, 4000, &mut rng(1, 0));
        for j in [0, 1, 4, 8, 16] {
            let c = autocov(&paths, j);
            assert!((c - cov[j]).abs() < 0.05, "lag {j}: {c} vs {}", cov[j]);
        }
    }

    #[test]
    fn fbm_has_variance_t_to_the_2h() {
        for hurst in [0.25, 0.5, 0.8] {
            let depth = 64;
            let paths = fbm_paths(depth, hurst, 6000, &mut rng(2, 0));
            for k in [15, 31, 63] {
                let t = (k + 1) as f64 / depth as f64;
                let var = paths.iter().map(|p| p[k] * p[k]).sum::<f64>() / paths.len() as f64;
                let expected = t.powf(2.0 * hurst);
                assert!(
                    (var / expected - 1.0).abs() < 0.08,
                    "H={hurst}, t={t}: variance {var}, expected {expected}"
                );
            }
        }
    }

    #[test]
    fn fgn_is_unit_variance_and_its_sums_grow_like_l_to_the_h() {
        for hurst in [0.3, 0.5, 0.8] {
            let depth = 256;
            let paths = fgn_paths(depth, hurst, 4000, &mut rng(4, 0));
            let var = autocov(&paths, 0);
            assert!((var - 1.0).abs() < 0.05, "H={hurst}: variance {var}");
            // Var(Σ_{k<n} G_k) = n^{2H}.
            for n in [16, 256] {
                let sums: Vec<f64> = paths.iter().map(|p| p[..n].iter().sum()).collect();
                let var = sums.iter().map(|s| s * s).sum::<f64>() / sums.len() as f64;
                let expected = (n as f64).powf(2.0 * hurst);
                assert!(
                    (var / expected - 1.0).abs() < 0.08,
                    "H={hurst}, n={n}: {var} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn rbf_paths_are_smooth_and_unit_variance() {
        let depth = 200;
        let paths = rbf_paths(depth, 0.2, 2000, &mut rng(3, 0));
        let var = autocov(&paths, 0);
        assert!((var - 1.0).abs() < 0.06, "variance {var}");
        // Increments of a smooth path over a step 1/L are O(1/L): mean square ≈ (1/(Lℓ))².
        let inc: f64 = paths
            .iter()
            .map(|p| {
                (1..depth).map(|k| (p[k] - p[k - 1]).powi(2)).sum::<f64>() / (depth - 1) as f64
            })
            .sum::<f64>()
            / paths.len() as f64;
        let expected = 1.0 / (depth as f64 * 0.2).powi(2);
        assert!((inc / expected - 1.0).abs() < 0.1, "{inc} vs {expected}");
    }

    #[test]
    fn weight_paths_are_deterministic_and_xavier_scaled() {
        let (d, depth) = (10, 300);
        for init in [
            Init::Xavier,
            Init::XavierDepth,
            Init::Smooth { length_scale: 0.1 },
            Init::Fbm { hurst: 0.5 },
            Init::Fgn { hurst: 0.8 },
        ] {
            let (a, b) = weight_paths(init, 2.0, depth, d, &mut rng(7, depth as u64));
            let (a2, b2) = weight_paths(init, 2.0, depth, d, &mut rng(7, depth as u64));
            assert_eq!((a.len(), b.len()), (depth * d * d, depth * d));
            assert!(a == a2 && b == b2, "{init:?} is not deterministic");
            // Last-layer entries of A have variance (s/d)² (divided by L² for xavier-depth).
            let last = &a[(depth - 1) * d * d..];
            let var = last.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / last.len() as f64;
            let expected = match init {
                Init::XavierDepth => (0.2 / depth as f64).powi(2),
                _ => 0.04,
            };
            assert!(
                (var / expected - 1.0).abs() < 0.35,
                "{init:?}: variance {var}, expected {expected}"
            );
        }
    }
}
