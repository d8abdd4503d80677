//! The grid computed column by column: a column is one (L, H), whose n networks are drawn
//! once and probed at every β (as Marion et al. reset the scaling of one network), so that a
//! column is the unit of parallel work and of resuming.

use super::{Column, PhaseConfig, Probe};
use crate::model::scan::Scan;
use serde::{Deserialize, Serialize};

/// The quantiles of a ratio over the networks × inputs of a cell, nearest-rank (values that
/// occurred, so that they commute with log); `None` where the value overflowed (not finite).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    pub q10: Option<f64>,
    pub q25: Option<f64>,
    pub median: Option<f64>,
    pub q75: Option<f64>,
    pub q90: Option<f64>,
    /// Marion et al.'s cell value: the mean of log10 of the ratio (`None` if any overflowed).
    pub mean_log10: Option<f64>,
}

impl Quantiles {
    pub fn of(values: &[f64]) -> Self {
        // A NaN (∞ − ∞ after an overflow) counts as +∞.
        let mut v: Vec<f64> = values
            .iter()
            .map(|&x| if x.is_nan() { f64::INFINITY } else { x })
            .collect();
        v.sort_by(f64::total_cmp);
        let at =
            |q: f64| Some(v[((v.len() - 1) as f64 * q).round() as usize]).filter(|x| x.is_finite());
        let logs: Vec<f64> = v.iter().map(|x| x.log10()).collect();
        let mean = logs.iter().sum::<f64>() / logs.len() as f64;
        Self {
            q10: at(0.1),
            q25: at(0.25),
            median: at(0.5),
            q75: at(0.75),
            q90: at(0.9),
            mean_log10: Some(mean).filter(|m| m.is_finite()),
        }
    }
}

/// One cell of the grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseCell {
    pub depth: usize,
    pub hurst: f64,
    pub beta: f64,
    /// ‖h_L − h_0‖ / ‖h_0‖.
    pub forward: Quantiles,
    /// ‖g_0‖ / ‖g_L‖.
    pub backward: Quantiles,
    /// ‖g_0 − g_L‖ / ‖g_L‖.
    pub gradient_change: Quantiles,
}

impl PhaseConfig {
    /// The cells of one column, one per β, each over n networks × n inputs.
    pub fn column<B: Scan>(&self, column: Column, device: &B::Device) -> Vec<PhaseCell> {
        let betas = self.betas.values();
        let mut probes: Vec<Vec<Probe>> = vec![Vec::new(); betas.len()];
        for j in 0..self.n_networks {
            let network = self.network(column, j);
            let at_every_beta = network.probe::<B>(self.activation, &betas, device);
            for (i, p) in at_every_beta.into_iter().enumerate() {
                probes[i].push(p);
            }
        }
        let pooled = |p: &[Probe], f: fn(&Probe) -> &Vec<f64>| -> Quantiles {
            Quantiles::of(
                &p.iter()
                    .flat_map(|p| f(p).iter().copied())
                    .collect::<Vec<_>>(),
            )
        };
        betas
            .iter()
            .zip(&probes)
            .map(|(&beta, p)| PhaseCell {
                depth: column.depth,
                hurst: column.hurst,
                beta,
                forward: pooled(p, |p| &p.forward),
                backward: pooled(p, |p| &p.backward),
                gradient_change: pooled(p, |p| &p.gradient_change),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::Axis;
    use crate::testing::TestBackend as B;

    #[test]
    fn quantiles_are_nearest_rank_and_overflow_is_none() {
        let q = Quantiles::of(&[4.0, 1.0, 3.0, 2.0, 5.0]);
        assert_eq!((q.q25, q.median, q.q75), (Some(2.0), Some(3.0), Some(4.0)));
        let expected = [1.0f64, 2.0, 3.0, 4.0, 5.0]
            .iter()
            .map(|v| v.log10())
            .sum::<f64>()
            / 5.0;
        assert!((q.mean_log10.unwrap() - expected).abs() < 1e-12);
        let q = Quantiles::of(&[1.0, f64::NAN, f64::INFINITY]);
        assert_eq!(
            (q.q10, q.median, q.q90, q.mean_log10),
            (Some(1.0), None, None, None)
        );
    }

    #[test]
    fn a_cell_pools_the_single_network_probes() {
        let config = PhaseConfig {
            width: 6,
            depths: vec![30],
            betas: Axis::List(vec![0.25, 1.0]),
            hursts: Axis::List(vec![0.7]),
            n_networks: 3,
            n_inputs: 4,
            ..PhaseConfig::default()
        };
        let column = config.columns()[0];
        let cells = config.column::<B>(column, &Default::default());
        assert_eq!(cells.len(), 2);
        for cell in &cells {
            let mut forward = Vec::new();
            let mut backward = Vec::new();
            for j in 0..3 {
                let network = config.network(column, j);
                let mut p =
                    network.probe::<B>(config.activation, &[cell.beta], &Default::default());
                let p = p.pop().unwrap();
                forward.extend(p.forward);
                backward.extend(p.backward);
            }
            assert_eq!(cell.forward, Quantiles::of(&forward));
            assert_eq!(cell.backward, Quantiles::of(&backward));
        }
    }
}
