//! σ and σ′ of every activation on vectors, with the elementary functions they need written
//! from multiply-adds (no library calls), so that they vectorise on every instruction set.
//!
//! - tanh(x) = x P(x²) / Q(x²) on |x| ≤ 7.905 (clamped beyond, where tanh rounds to ±1 within
//!   3·10⁻⁷), the minimax rational approximation of degree 13/6 used by Eigen
//!   (`generic_fast_tanh_float`); a few ulp, exact to first order at 0.
//! - sigmoid(x) = ½ (1 + tanh(x / 2)), as the burn model computes it.
//! - exp(x) = 2ⁿ e^r, n = round(x / ln 2), r = x − n ln 2 (Cody–Waite, two parts of ln 2), e^r by
//!   the degree-7 polynomial of Cephes' `expf`; x clamped to [−87, 88]; about 1 ulp.
//! - erf(x) = x P(x²) / Q(x²) on |x| ≤ 4 (clamped beyond, where erf rounds to ±1), the
//!   rational approximation of degree 13/8 used by Eigen (`generic_fast_erf_float`);
//!   absolute error below 10⁻⁶.
//! - gelu(z) = z Φ(z), Φ(z) = ½ (1 + erf(z / √2)), gelu′(z) = Φ(z) + z φ(z),
//!   φ(z) = e^{−z²/2} / √(2π).
//!
//! The tests check each against the f64 functions.

use super::simd::Simd;

#[inline(always)]
fn horner<S: Simd>(s: S, x: S::V, coefficients: &[f32]) -> S::V {
    // coefficients from the highest degree down.
    let mut p = s.splat(coefficients[0]);
    for &c in &coefficients[1..] {
        p = s.fma(p, x, s.splat(c));
    }
    p
}

/// tanh(x), see the module documentation.
#[inline(always)]
pub(crate) fn tanh<S: Simd>(s: S, x: S::V) -> S::V {
    const CLAMP: f32 = 7.905_311;
    let x = s.clamp(x, CLAMP);
    let x2 = s.mul(x, x);
    let p = horner(
        s,
        x2,
        &[
            -2.760_768_5e-16,
            2.000_188e-13,
            -8.604_672e-11,
            5.122_297e-8,
            1.485_722_4e-5,
            6.372_619_3e-4,
            4.893_524_6e-3,
        ],
    );
    let q = horner(
        s,
        x2,
        &[1.198_258_4e-6, 1.185_347e-4, 2.268_434_6e-3, 4.893_525e-3],
    );
    s.div(s.mul(x, p), q)
}

/// ½ (1 + tanh(x / 2)).
#[inline(always)]
pub(crate) fn sigmoid<S: Simd>(s: S, x: S::V) -> S::V {
    let half = s.splat(0.5);
    s.fma(half, tanh(s, s.mul(half, x)), half)
}

/// e^x, see the module documentation.
#[inline(always)]
pub(crate) fn exp<S: Simd>(s: S, x: S::V) -> S::V {
    // 1.5 · 2²³: adding it rounds a float of magnitude < 2²² to an integer.
    const ROUND: f32 = 12_582_912.0;
    let x = s.max(s.min(x, s.splat(88.0)), s.splat(-87.0));
    let n = s.sub(
        s.fma(x, s.splat(std::f32::consts::LOG2_E), s.splat(ROUND)),
        s.splat(ROUND),
    );
    let r = s.fma(n, s.splat(-0.693_359_4), x);
    let r = s.fma(n, s.splat(2.121_944_4e-4), r);
    let p = horner(
        s,
        r,
        &[
            1.987_569_1e-4,
            1.398_199_9e-3,
            8.333_452e-3,
            4.166_579_6e-2,
            1.666_666_5e-1,
            5e-1,
        ],
    );
    let one = s.splat(1.0);
    let e_r = s.fma(p, s.mul(r, r), s.add(r, one));
    s.mul(e_r, s.exp2_int(n))
}

/// erf(x), see the module documentation.
#[inline(always)]
pub(crate) fn erf<S: Simd>(s: S, x: S::V) -> S::V {
    let x = s.max(s.min(x, s.splat(4.0)), s.splat(-4.0));
    let x2 = s.mul(x, x);
    let p = horner(
        s,
        x2,
        &[
            -2.726_142_3e-10,
            2.770_681_4e-8,
            -2.101_024e-6,
            -5.692_506_4e-5,
            -7.349_906_3e-4,
            -2.954_6e-3,
            -1.609_603_3e-2,
        ],
    );
    let q = horner(
        s,
        x2,
        &[
            -1.456_607_2e-5,
            -2.133_740_6e-4,
            -1.682_827e-3,
            -7.373_329e-3,
            -1.426_474e-2,
        ],
    );
    s.div(s.mul(x, p), q)
}

/// Φ(z) = ½ (1 + erf(z / √2)).
#[inline(always)]
fn normal_cdf<S: Simd>(s: S, z: S::V) -> S::V {
    let half = s.splat(0.5);
    s.fma(
        half,
        erf(s, s.mul(z, s.splat(std::f32::consts::FRAC_1_SQRT_2))),
        half,
    )
}

/// An activation σ on vectors: what the forward pass keeps for the backward pass, and σ′.
pub(crate) trait Act: Copy + Send + Sync + 'static {
    /// (σ(z), the value kept for the backward pass: σ(z), or z where σ′ needs it).
    fn forward<S: Simd>(s: S, z: S::V) -> (S::V, S::V);
    /// (σ′(z), σ(z)) from the kept value.
    fn backward<S: Simd>(s: S, kept: S::V) -> (S::V, S::V);
    /// (δ σ′(z), σ(z)) from the kept value: the backward pass's p = g ⊙ δ σ′(z) is then one
    /// product.
    #[inline(always)]
    fn scaled_slope<S: Simd>(s: S, kept: S::V, delta: S::V) -> (S::V, S::V) {
        let (slope, a) = Self::backward(s, kept);
        (s.mul(delta, slope), a)
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Tanh;
#[derive(Clone, Copy)]
pub(crate) struct Relu;
#[derive(Clone, Copy)]
pub(crate) struct Linear;
#[derive(Clone, Copy)]
pub(crate) struct Sigmoid;
#[derive(Clone, Copy)]
pub(crate) struct Gelu;
#[derive(Clone, Copy)]
pub(crate) struct Abs;

impl Act for Tanh {
    #[inline(always)]
    fn forward<S: Simd>(s: S, z: S::V) -> (S::V, S::V) {
        let a = tanh(s, z);
        (a, a)
    }
    /// tanh′ = 1 − a².
    #[inline(always)]
    fn backward<S: Simd>(s: S, a: S::V) -> (S::V, S::V) {
        (s.sub(s.splat(1.0), s.mul(a, a)), a)
    }
    /// δ − (δ a) a.
    #[inline(always)]
    fn scaled_slope<S: Simd>(s: S, a: S::V, delta: S::V) -> (S::V, S::V) {
        let minus_delta_a = s.mul(s.sub(s.splat(0.0), delta), a);
        (s.fma(minus_delta_a, a, delta), a)
    }
}

impl Act for Relu {
    #[inline(always)]
    fn forward<S: Simd>(s: S, z: S::V) -> (S::V, S::V) {
        let a = s.max(z, s.splat(0.0));
        (a, a)
    }
    /// relu′ = 1{z > 0} = 1{a > 0}.
    #[inline(always)]
    fn backward<S: Simd>(s: S, a: S::V) -> (S::V, S::V) {
        let zero = s.splat(0.0);
        (s.select_gt(a, zero, s.splat(1.0), zero), a)
    }
    #[inline(always)]
    fn scaled_slope<S: Simd>(s: S, a: S::V, delta: S::V) -> (S::V, S::V) {
        let zero = s.splat(0.0);
        (s.select_gt(a, zero, delta, zero), a)
    }
}

impl Act for Linear {
    #[inline(always)]
    fn forward<S: Simd>(_: S, z: S::V) -> (S::V, S::V) {
        (z, z)
    }
    #[inline(always)]
    fn backward<S: Simd>(s: S, a: S::V) -> (S::V, S::V) {
        (s.splat(1.0), a)
    }
    #[inline(always)]
    fn scaled_slope<S: Simd>(_: S, a: S::V, delta: S::V) -> (S::V, S::V) {
        (delta, a)
    }
}

impl Act for Sigmoid {
    #[inline(always)]
    fn forward<S: Simd>(s: S, z: S::V) -> (S::V, S::V) {
        let a = sigmoid(s, z);
        (a, a)
    }
    /// sigmoid′ = a (1 − a).
    #[inline(always)]
    fn backward<S: Simd>(s: S, a: S::V) -> (S::V, S::V) {
        (s.sub(a, s.mul(a, a)), a)
    }
}

impl Act for Gelu {
    /// Keeps z: gelu′ needs it.
    #[inline(always)]
    fn forward<S: Simd>(s: S, z: S::V) -> (S::V, S::V) {
        (s.mul(z, normal_cdf(s, z)), z)
    }
    /// gelu′ = Φ(z) + z φ(z).
    #[inline(always)]
    fn backward<S: Simd>(s: S, z: S::V) -> (S::V, S::V) {
        let cdf = normal_cdf(s, z);
        let pdf = s.mul(
            exp(s, s.mul(s.splat(-0.5), s.mul(z, z))),
            s.splat(0.398_942_3),
        );
        (s.fma(z, pdf, cdf), s.mul(z, cdf))
    }
}

impl Act for Abs {
    /// Keeps z: abs′ needs its sign.
    #[inline(always)]
    fn forward<S: Simd>(s: S, z: S::V) -> (S::V, S::V) {
        (s.max(z, s.sub(s.splat(0.0), z)), z)
    }
    /// abs′ = sign(z), 0 at 0.
    #[inline(always)]
    fn backward<S: Simd>(s: S, z: S::V) -> (S::V, S::V) {
        let (zero, one) = (s.splat(0.0), s.splat(1.0));
        let negative = s.select_gt(zero, z, s.splat(-1.0), zero);
        (
            s.select_gt(z, zero, one, negative),
            s.max(z, s.sub(zero, z)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::fused::simd::{Isa, Portable};

    /// f at the points, through the portable vectors (and the widest instruction set here), as f32.
    fn on_points(points: &[f32], f: impl Fn(Portable, [f32; 8]) -> [f32; 8]) -> Vec<f32> {
        points
            .chunks(8)
            .flat_map(|c| {
                let mut v = [0f32; 8];
                v[..c.len()].copy_from_slice(c);
                f(Portable, v)[..c.len()].to_vec()
            })
            .collect()
    }

    fn linspace(lo: f32, hi: f32, n: usize) -> Vec<f32> {
        (0..=n)
            .map(|i| lo + (hi - lo) * i as f32 / n as f32)
            .collect()
    }

    /// Largest |got − want| / max(|want|, floor).
    fn worst(points: &[f32], got: &[f32], want: impl Fn(f64) -> f64, floor: f64) -> f64 {
        points
            .iter()
            .zip(got)
            .map(|(&x, &g)| {
                let w = want(x as f64);
                (g as f64 - w).abs() / w.abs().max(floor)
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn elementary_functions_are_accurate() {
        let mut points = linspace(-12.0, 12.0, 24_000);
        points.extend([1e-30, -1e-20, 1e-8, 3e-4, -0.05, 0.0]);
        let tanh_err = worst(&points, &on_points(&points, tanh), f64::tanh, 0.0);
        assert!(tanh_err < 1e-6, "tanh relative error {tanh_err}");
        let sig = on_points(&points, sigmoid);
        let sig_err = worst(&points, &sig, |x| 1.0 / (1.0 + (-x).exp()), 1.0);
        assert!(sig_err < 3e-7, "sigmoid absolute error {sig_err}");
        let exp_points = linspace(-80.0, 80.0, 16_000);
        let exp_err = worst(&exp_points, &on_points(&exp_points, exp), f64::exp, 0.0);
        assert!(exp_err < 3e-7, "exp relative error {exp_err}");
        // erf against burn's f64 erf (libm).
        use crate::testing::TestBackend as B;
        use burn::tensor::{Tensor, TensorData};
        let z = Tensor::<B, 1>::from_data(
            TensorData::new(
                points.iter().map(|&x| x as f64).collect::<Vec<_>>(),
                [points.len()],
            ),
            &Default::default(),
        );
        let want: Vec<f64> = z.erf().into_data().to_vec().unwrap();
        let got = on_points(&points, erf);
        let erf_err = got
            .iter()
            .zip(&want)
            .map(|(&g, w)| (g as f64 - w).abs() / w.abs().max(1e-2))
            .fold(0.0, f64::max);
        assert!(erf_err < 1e-6, "erf error {erf_err}");
        assert!(!Isa::detect().name().is_empty());
    }
}
