//! Statistics of a weight path k ↦ W_k, k = 0 .. L−1 (W = A, b, δ or the effective weights
//! |δ_k| A_k, |δ_k| b_k), whose scaling with the depth L the analysis measures.

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

/// A path of L weights, each an array of the shape `shape` (`[d, d]`, `[d]` or `[]`), stored
/// row-major one after the other.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightPath {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

impl WeightPath {
    /// The path of `values` laid out as L arrays of `shape`.
    pub fn new(shape: Vec<usize>, values: Vec<f64>) -> Self {
        let size: usize = shape.iter().product();
        assert!(
            size > 0 && values.len().is_multiple_of(size),
            "{} values do not make layers of shape {shape:?}",
            values.len()
        );
        Self { shape, values }
    }

    /// The number of entries of one W_k.
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }

    /// L.
    pub fn depth(&self) -> usize {
        self.values.len() / self.size()
    }

    /// W_k.
    pub fn layer(&self, k: usize) -> &[f64] {
        let m = self.size();
        &self.values[k * m..(k + 1) * m]
    }

    pub fn layers(&self) -> impl Iterator<Item = &[f64]> {
        self.values.chunks_exact(self.size())
    }

    /// ‖W_k‖_F for every k.
    pub fn norms(&self) -> Vec<f64> {
        self.layers().map(norm).collect()
    }

    /// ‖W_{k+1} − W_k‖_F for k = 0 .. L−2.
    pub fn increment_norms(&self) -> Vec<f64> {
        (1..self.depth())
            .map(|k| distance(self.layer(k), self.layer(k - 1)))
            .collect()
    }

    /// The path c_k · W_k (the effective weights |δ_k| W_k).
    pub fn scaled(&self, c: &[f64]) -> Self {
        assert_eq!(c.len(), self.depth());
        let m = self.size();
        let values = self
            .values
            .iter()
            .enumerate()
            .map(|(i, w)| c[i / m] * w)
            .collect();
        Self::new(self.shape.clone(), values)
    }
}

/// The Frobenius norm ‖x‖ = (Σ x_i²)^{1/2}.
pub fn norm(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// ‖x − y‖.
pub fn distance(x: &[f64], y: &[f64]) -> f64 {
    squared_distance(x, y).sqrt()
}

/// ‖x − y‖², summed in four lanes so that the compiler can vectorise it.
fn squared_distance(x: &[f64], y: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 4];
    let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
    let tail: f64 = xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    for (a, b) in xc.zip(yc) {
        for i in 0..4 {
            lanes[i] += (a[i] - b[i]) * (a[i] - b[i]);
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// The spectral norm ‖W‖₂ = σ_max(W) of an n×m matrix, row-major, from its singular values.
///
/// Computed as s·σ_max(W/s) with s = max |w_ij|, so that huge entries cannot overflow; NaN
/// when an entry is not finite or the SVD does not converge (nalgebra's own loop would spin
/// forever on a NaN).
pub fn spectral_norm(w: &[f64], rows: usize, cols: usize) -> f64 {
    if w.iter().any(|v| !v.is_finite()) {
        return f64::NAN;
    }
    let scale = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if scale == 0.0 {
        return 0.0;
    }
    let m = DMatrix::from_row_slice(rows, cols, w) / scale;
    m.try_svd(false, false, f64::EPSILON, 10_000)
        .map_or(f64::NAN, |svd| scale * svd.singular_values.max())
}

/// Every statistic of one path at one depth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathStats {
    /// max_k ‖W_k‖_F.
    pub max_norm: f64,
    /// max_k ‖W_k‖₂ (matrices only).
    pub max_spectral: Option<f64>,
    /// (Σ_k ‖W_k‖_F²)^{1/2}.
    pub root_ssq: f64,
    /// Σ_k ‖W_{k+1} − W_k‖_F².
    pub quadratic_variation: f64,
    /// (L · Σ_k ‖W_{k+1} − W_k‖_F²)^{1/2}.
    pub sobolev: f64,
    /// max_k ‖W_{k+1} − W_k‖_F (the analysis rescales it by L^β).
    pub max_increment: f64,
    /// ‖Σ_k W_k‖_F (paths of one shape).
    pub cumulative_sum: Option<f64>,
    /// max_k ‖S_k − S̄_k‖_F, see [`detrended_cumulative_sum`] (paths of one shape).
    pub detrended_cumulative_sum: Option<f64>,
    /// ‖W‖_{p-var} for p = 1, 2, 3, see [`p_variations`] (paths of one shape).
    pub p_variation: Option<[f64; 3]>,
}

impl PathStats {
    pub fn of(path: &WeightPath) -> Self {
        let depth = path.depth() as f64;
        let norms = path.norms();
        let increments = path.increment_norms();
        let quadratic_variation = increments.iter().map(|x| x * x).sum::<f64>();
        let max_spectral = match path.shape[..] {
            [rows, cols] => Some(
                path.layers()
                    .map(|w| spectral_norm(w, rows, cols))
                    .fold(0.0, f64::max),
            ),
            _ => None,
        };
        Self {
            max_norm: norms.iter().copied().fold(0.0, f64::max),
            max_spectral,
            root_ssq: norm(&norms),
            quadratic_variation,
            sobolev: (depth * quadratic_variation).sqrt(),
            max_increment: increments.iter().copied().fold(0.0, f64::max),
            cumulative_sum: Some(norm(&partial_sums(path)[path.depth()])),
            detrended_cumulative_sum: Some(detrended_cumulative_sum(path)),
            p_variation: Some(p_variations(path)),
        }
    }

    /// The statistics that the norms ‖W_k‖ and the increments ‖W_{k+1} − W_k‖ determine, for
    /// paths whose layers change shape (the conv ResNet, whose norms are spectral norms).
    pub fn from_norms(norms: &[f64], increments: &[f64]) -> Self {
        let quadratic_variation = increments.iter().map(|x| x * x).sum::<f64>();
        Self {
            max_norm: norms.iter().copied().fold(0.0, f64::max),
            max_spectral: None,
            root_ssq: norm(norms),
            quadratic_variation,
            sobolev: (norms.len() as f64 * quadratic_variation).sqrt(),
            max_increment: increments.iter().copied().fold(0.0, f64::max),
            cumulative_sum: None,
            detrended_cumulative_sum: None,
            p_variation: None,
        }
    }
}

/// The partial sums S_0 = 0, S_k = Σ_{j<k} W_j, k = 0 .. L.
pub fn partial_sums(path: &WeightPath) -> Vec<Vec<f64>> {
    let mut sums = vec![vec![0.0; path.size()]];
    for w in path.layers() {
        let next = sums
            .last()
            .unwrap()
            .iter()
            .zip(w)
            .map(|(s, x)| s + x)
            .collect();
        sums.push(next);
    }
    sums
}

/// The detrended cumulative sum max_{0<k<L} ‖S_k − S̄_k‖_F, where S̄_k is the mean of the
/// partial sums S_j over the centred window |j − k| ≤ h_k, h_k = min(w, k, L − k), with
/// w = max(3, ⌊0.1 L⌋): what is left of the cumulative sum once its local trend is removed.
pub fn detrended_cumulative_sum(path: &WeightPath) -> f64 {
    let depth = path.depth();
    let sums = partial_sums(path);
    let window = 3.max(depth / 10);
    let m = path.size();
    (1..depth)
        .map(|k| {
            let h = window.min(k).min(depth - k);
            let count = (2 * h + 1) as f64;
            let mut mean = vec![0.0; m];
            for s in &sums[k - h..=k + h] {
                mean.iter_mut().zip(s).for_each(|(a, x)| *a += x / count);
            }
            distance(&sums[k], &mean)
        })
        .fold(0.0, f64::max)
}

/// The p-variations ‖W‖_{p-var} = (sup_{t_0<…<t_n} Σ_i ‖W_{t_{i+1}} − W_{t_i}‖^p)^{1/p} for
/// p = 1, 2, 3, exactly, by dynamic programming over the partition's last point:
/// V(j) = max_{i<j} V(i) + ‖W_j − W_i‖^p, V(0) = 0, and the supremum is max_j V(j).
/// For p = 1 the finest partition is optimal (triangle inequality), so it is Σ_k ‖ΔW_k‖;
/// p = 2, 3 take O(L²) distances, shared between them.
pub fn p_variations(path: &WeightPath) -> [f64; 3] {
    let depth = path.depth();
    let total_variation = path.increment_norms().iter().sum::<f64>();
    let mut v2 = vec![0.0f64; depth];
    let mut v3 = vec![0.0f64; depth];
    for j in 1..depth {
        let wj = path.layer(j);
        let (mut best2, mut best3) = (0.0f64, 0.0f64);
        for i in 0..j {
            let d2 = squared_distance(path.layer(i), wj);
            best2 = best2.max(v2[i] + d2);
            best3 = best3.max(v3[i] + d2 * d2.sqrt());
        }
        v2[j] = best2;
        v3[j] = best3;
    }
    let sup = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    [total_variation, sup(&v2).sqrt(), sup(&v3).cbrt()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar_path(values: &[f64]) -> WeightPath {
        WeightPath::new(vec![], values.to_vec())
    }

    /// sup over all subsets of indices of Σ |x_{t_{i+1}} − x_{t_i}|^p, by enumeration.
    fn brute_force_p_variation(x: &[f64], p: f64) -> f64 {
        let n = x.len();
        let mut best = 0.0f64;
        for mask in 1u32..(1 << n) {
            let points: Vec<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
            let sum = points
                .windows(2)
                .map(|w| (x[w[1]] - x[w[0]]).abs().powf(p))
                .sum::<f64>();
            best = best.max(sum);
        }
        best.powf(1.0 / p)
    }

    #[test]
    fn p_variation_of_hand_worked_sequences() {
        // 0,1,0: every partition point counts for p = 1; for p = 2, 1² + 1² beats (0 − 0)².
        let v = p_variations(&scalar_path(&[0.0, 1.0, 0.0]));
        assert_eq!(v, [2.0, 2f64.sqrt(), 2f64.cbrt()]);
        // 0,1,2: the coarsest partition wins for p > 1: 2² > 1² + 1².
        let v = p_variations(&scalar_path(&[0.0, 1.0, 2.0]));
        assert_eq!(v, [2.0, 2.0, 2.0]);
        // 0,2,1,3: p = 2: 3² = 2² + 1² + 2² = 9; p = 3: 3³ = 27 > 8 + 1 + 8.
        let v = p_variations(&scalar_path(&[0.0, 2.0, 1.0, 3.0]));
        assert_eq!(v, [5.0, 3.0, 3.0]);
        // A constant path has no variation; a single layer neither.
        assert_eq!(p_variations(&scalar_path(&[4.0; 5])), [0.0; 3]);
        assert_eq!(p_variations(&scalar_path(&[4.0])), [0.0; 3]);
    }

    #[test]
    fn p_variation_equals_enumeration_of_all_partitions() {
        let mut rng = crate::model::init::rng(7, 0);
        for n in 2..=11 {
            let x: Vec<f64> = crate::model::init::normal_vec(&mut rng, n, 1.0)
                .into_iter()
                .map(f64::from)
                .collect();
            let v = p_variations(&scalar_path(&x));
            for (i, p) in [1.0, 2.0, 3.0].into_iter().enumerate() {
                let exact = brute_force_p_variation(&x, p);
                assert!(
                    (v[i] - exact).abs() < 1e-12,
                    "n={n} p={p}: {} vs {exact}",
                    v[i]
                );
            }
        }
    }

    #[test]
    fn spectral_norm_of_a_matrix_with_known_singular_values() {
        // W = R(θ) diag(3, 0.5) R(φ)ᵀ has singular values 3 and 0.5.
        let rot = |t: f64| DMatrix::from_row_slice(2, 2, &[t.cos(), -t.sin(), t.sin(), t.cos()]);
        let w =
            rot(0.3) * DMatrix::from_row_slice(2, 2, &[3.0, 0.0, 0.0, 0.5]) * rot(1.1).transpose();
        let row_major: Vec<f64> = w.transpose().iter().copied().collect();
        assert!((spectral_norm(&row_major, 2, 2) - 3.0).abs() < 1e-12);
        // Against power iteration on WᵀW for a random 6×4 matrix.
        let mut rng = crate::model::init::rng(3, 0);
        let values: Vec<f64> = crate::model::init::normal_vec(&mut rng, 24, 1.0)
            .into_iter()
            .map(f64::from)
            .collect();
        let w = DMatrix::from_row_slice(6, 4, &values);
        let wtw = w.transpose() * &w;
        let mut v = nalgebra::DVector::from_element(4, 1.0);
        for _ in 0..2000 {
            v = &wtw * &v;
            v /= v.norm();
        }
        let power = (&w * &v).norm();
        assert!((spectral_norm(&values, 6, 4) - power).abs() < 1e-9);
        // ‖W‖₂ ≤ ‖W‖_F, with equality for rank one.
        assert!(spectral_norm(&values, 6, 4) < norm(&values));
        let rank_one = [1.0, 2.0, 2.0, 4.0];
        assert!((spectral_norm(&rank_one, 2, 2) - norm(&rank_one)).abs() < 1e-12);
        // Huge entries do not overflow; a non-finite one is NaN at once, never a hang.
        let huge: Vec<f64> = rank_one.iter().map(|v| v * 1e300).collect();
        assert!((spectral_norm(&huge, 2, 2) / 1e300 - norm(&rank_one)).abs() < 1e-9);
        assert_eq!(spectral_norm(&[0.0; 4], 2, 2), 0.0);
        for bad in [f64::NAN, f64::INFINITY] {
            assert!(spectral_norm(&[1.0, bad, 0.0, 2.0], 2, 2).is_nan());
        }
    }

    #[test]
    fn statistics_of_a_small_path() {
        // W_k = [k, 1] for k = 0, 1, 2: ‖W‖ = 1, √2, √5; increments [1, 0].
        let path = WeightPath::new(vec![2], vec![0.0, 1.0, 1.0, 1.0, 2.0, 1.0]);
        let s = PathStats::of(&path);
        assert_eq!(s.max_norm, 5f64.sqrt());
        assert_eq!(s.max_spectral, None);
        assert!((s.root_ssq - 8f64.sqrt()).abs() < 1e-12);
        assert_eq!(s.quadratic_variation, 2.0);
        assert!((s.sobolev - 6f64.sqrt()).abs() < 1e-12);
        assert_eq!(s.max_increment, 1.0);
        assert_eq!(s.cumulative_sum, Some(norm(&[3.0, 3.0])));
        assert_eq!(s.p_variation.unwrap()[..2], [2.0, 2.0]);
        // S = [0,0], [0,1], [1,2], [3,3]; windows h_1 = h_2 = 1:
        // S_1 − mean(S_0..S_2) = [−1/3, 0], S_2 − mean(S_1..S_3) = [−1/3, 0].
        assert!((s.detrended_cumulative_sum.unwrap() - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn effective_weights_scale_each_layer() {
        let path = WeightPath::new(vec![1, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let scaled = path.scaled(&[2.0, -1.0]);
        assert_eq!(scaled.values, vec![2.0, 4.0, -3.0, -4.0]);
        assert_eq!(scaled.depth(), 2);
    }
}
