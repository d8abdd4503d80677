//! The trend/noise decomposition of a path: the trend W̄ from the rescaled cumulative sums of
//! the largest depths, and the deepest network's path as trend plus noise.

use super::paths::{named_paths, PathAnalysis, Trained};
use super::PathName;
use crate::analysis::stats::WeightPath;
use serde::{Deserialize, Serialize};

/// The trend W̄ of a path, from the rescaled cumulative sums of the largest depths, and the
/// decomposition of the deepest network's path into trend and noise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendNoise {
    pub path: PathName,
    pub beta: f64,
    /// The depths whose rescaled cumulative sums were averaged.
    pub averaged_depths: Vec<usize>,
    /// W̄ on the cells [i/G, (i+1)/G), i < G: [G, entries], row-major.
    pub grid: usize,
    pub shape: Vec<usize>,
    pub trend: Vec<f64>,
    /// The entry shown: the one whose trend varies most.
    pub entry: usize,
    /// The deepest network (depth, seed) and, along k/L, the entry's rescaled weight
    /// L^β W_k, its trend W̄(k/L) and its noise L^{β−1} Σ_{j<k} (W_j − L^{−β} W̄(j/L)).
    pub depth: usize,
    pub seed: u64,
    pub rescaled: Vec<f64>,
    pub trend_along_k: Vec<f64>,
    pub noise: Vec<f64>,
}

impl TrendNoise {
    /// W̄(t) for t in [0, 1).
    pub fn at(&self, t: f64) -> &[f64] {
        let m = self.trend.len() / self.grid;
        let i = ((t * self.grid as f64) as usize).min(self.grid - 1);
        &self.trend[i * m..(i + 1) * m]
    }

    /// The path L^{−β} W̄(k/L), k < L.
    pub fn denoised(&self, depth: usize) -> Vec<f64> {
        let scale = (depth as f64).powf(-self.beta);
        (0..depth)
            .flat_map(|k| self.at(k as f64 / depth as f64).iter().map(|w| scale * w))
            .collect()
    }
}

/// The trend of a path from the rescaled cumulative sums C_L(t) = L^{β−1} Σ_{j<Lt} W_j of
/// the `count` largest used depths (all seeds), interpolated linearly onto t = i/G (G the
/// smallest of those depths), averaged, and differentiated: W̄ = G (C̄((i+1)/G) − C̄(i/G)).
pub(super) fn trend_noise(
    path: &PathAnalysis,
    runs: &[&Trained],
    count: usize,
) -> Option<TrendNoise> {
    let beta = path.beta()?;
    let mut depths: Vec<usize> = runs.iter().map(|r| r.result.depth).collect();
    depths.sort_unstable();
    depths.dedup();
    let averaged: Vec<usize> = depths.iter().rev().take(count.max(1)).copied().collect();
    let grid = *averaged.last()?;
    let path_of = |r: &Trained| {
        named_paths(&r.weights)
            .into_iter()
            .find(|(n, _)| *n == path.name)
            .map(|(_, p)| p)
    };
    let chosen: Vec<(&Trained, WeightPath)> = runs
        .iter()
        .filter(|r| averaged.contains(&r.result.depth))
        .filter_map(|r| Some((*r, path_of(r)?)))
        .collect();
    let first = &chosen.first()?.1;
    let (shape, m) = (first.shape.clone(), first.size());
    let mut mean_sum = vec![0.0; (grid + 1) * m];
    for (_, p) in &chosen {
        let c = rescaled_cumulative_sum(p, beta);
        let l = p.depth();
        for i in 0..=grid {
            let x = i as f64 * l as f64 / grid as f64;
            let k = (x.floor() as usize).min(l - 1);
            let frac = x - k as f64;
            for e in 0..m {
                let v = (1.0 - frac) * c[k * m + e] + frac * c[(k + 1) * m + e];
                mean_sum[i * m + e] += v / chosen.len() as f64;
            }
        }
    }
    let trend: Vec<f64> = (0..grid * m)
        .map(|j| grid as f64 * (mean_sum[j + m] - mean_sum[j]))
        .collect();
    let entry = (0..m)
        .max_by(|&x, &y| {
            let range = |e: usize| {
                let v = trend.iter().skip(e).step_by(m);
                v.clone().fold(f64::MIN, |a, &b| a.max(b)) - v.fold(f64::MAX, |a, &b| a.min(b))
            };
            range(x).total_cmp(&range(y))
        })
        .unwrap_or(0);
    let mut result = TrendNoise {
        path: path.name,
        beta,
        averaged_depths: averaged,
        grid,
        shape,
        trend,
        entry,
        depth: 0,
        seed: 0,
        rescaled: vec![],
        trend_along_k: vec![],
        noise: vec![],
    };
    let (deepest, p) = chosen
        .iter()
        .max_by_key(|(r, _)| (r.result.depth, r.seed))?;
    let l = p.depth();
    let scale = (l as f64).powf(beta);
    let denoised = result.denoised(l);
    let mut noise = 0.0;
    for k in 0..l {
        let w = p.layer(k)[entry];
        let bar = result.at(k as f64 / l as f64)[entry];
        result.rescaled.push(scale * w);
        result.trend_along_k.push(bar);
        result.noise.push(noise);
        noise += scale / l as f64 * (w - denoised[k * m + entry]);
    }
    result.depth = deepest.result.depth;
    result.seed = deepest.seed;
    Some(result)
}

/// C_L(k/L) = L^{β−1} Σ_{j<k} W_j for k = 0 .. L, row-major [L + 1, entries].
fn rescaled_cumulative_sum(path: &WeightPath, beta: f64) -> Vec<f64> {
    let l = path.depth() as f64;
    let scale = l.powf(beta - 1.0);
    crate::analysis::stats::partial_sums(path)
        .into_iter()
        .flat_map(|s| s.into_iter().map(move |x| scale * x))
        .collect()
}
