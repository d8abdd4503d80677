//! The settings of a phase diagram: the grid over depth L × Hurst index H × β, and the
//! random draws of every network.

use super::{Block, Network};
use crate::model::activation::Activation;
use crate::model::init::Init;
use crate::sweep::config::limits;
use serde::{Deserialize, Serialize};

/// The values of one axis: a list, or `count` evenly spaced values from `from` to `to`
/// (numpy's `linspace`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Axis {
    List(Vec<f64>),
    Linspace { from: f64, to: f64, count: usize },
}

impl Axis {
    pub fn values(&self) -> Vec<f64> {
        match self {
            Axis::List(v) => v.clone(),
            Axis::Linspace { count: 1, from, .. } => vec![*from],
            // The last value is `to` itself, not a rounding of it.
            Axis::Linspace { from, to, count } => (0..*count)
                .map(|i| match i + 1 == *count {
                    true => *to,
                    false => from + (to - from) * i as f64 / (*count - 1) as f64,
                })
                .collect(),
        }
    }
}

/// One (β, H) phase diagram per depth. Every key has a default: tanh, d = 40 (theirs),
/// L = 100 and 400, a 14 × 10 grid, 5 networks × 10 inputs per cell, Eq. (1); unknown keys
/// are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhaseConfig {
    /// Width d.
    pub width: usize,
    /// The depths L: one heat map each, and the trend in L.
    pub depths: Vec<usize>,
    /// The exponents β of δ = L^{−β}.
    pub betas: Axis,
    /// The Hurst indices H of the fractional Gaussian noise along k (H = ½: i.i.d.).
    pub hursts: Axis,
    /// Networks per column (drawn once, probed at every β).
    pub n_networks: usize,
    /// Inputs h_0 per network.
    pub n_inputs: usize,
    pub activation: Activation,
    /// The residual block: Eq. (1) or Marion et al.'s res-3 ([`Block`]).
    pub block: Block,
    pub seed: u64,
}

impl Default for PhaseConfig {
    fn default() -> Self {
        Self {
            width: 40,
            depths: vec![100, 400],
            betas: Axis::Linspace {
                from: 0.0,
                to: 1.3,
                count: 14,
            },
            hursts: Axis::Linspace {
                from: 0.05,
                to: 0.95,
                count: 10,
            },
            n_networks: 5,
            n_inputs: 10,
            activation: Activation::Tanh,
            block: Block::Eq1,
            seed: 0,
        }
    }
}

/// A key of a phase config out of its range: "key why".
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{key} {why}")]
pub struct BadKey {
    pub key: &'static str,
    pub why: String,
}

/// A unit of work: every β at one depth and Hurst index.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub depth: usize,
    pub hurst: f64,
}

impl PhaseConfig {
    /// Checks every key, naming the first bad one in a one-line error.
    pub fn check(&self) -> Result<(), BadKey> {
        let bad = |key: &'static str, why: &str| {
            Err(BadKey {
                key,
                why: why.to_string(),
            })
        };
        if !(1..=limits::WIDTH).contains(&self.width) {
            return bad("width", &format!("must be in 1..={}", limits::WIDTH));
        }
        if self.depths.is_empty()
            || self
                .depths
                .iter()
                .any(|&l| !(1..=limits::DEPTH).contains(&l))
        {
            return bad(
                "depths",
                &format!(
                    "must be a non-empty list of depths in 1..={}",
                    limits::DEPTH
                ),
            );
        }
        for (key, axis) in [("betas", &self.betas), ("hursts", &self.hursts)] {
            if let Axis::Linspace { count: 0, .. } | Axis::Linspace { count: 10001.., .. } = axis {
                return bad(key, "needs a count in 1..=10000");
            }
            let values = axis.values();
            if values.is_empty() || values.len() > 10000 {
                return bad(key, "must have 1 to 10000 values");
            }
            if values.iter().any(|v| !v.is_finite()) {
                return bad(key, "must be finite");
            }
        }
        if self.betas.values().iter().any(|&b| b < 0.0) {
            return bad("betas", "must be ≥ 0");
        }
        if self.hursts.values().iter().any(|&h| h <= 0.0 || h >= 1.0) {
            return bad("hursts", "must be in (0, 1)");
        }
        if !(1..=10000).contains(&self.n_networks) {
            return bad("n_networks", "must be in 1..=10000");
        }
        if !(1..=limits::SAMPLES).contains(&self.n_inputs) {
            return bad("n_inputs", &format!("must be in 1..={}", limits::SAMPLES));
        }
        Ok(())
    }

    /// Every column, depth-major.
    pub fn columns(&self) -> Vec<Column> {
        let hursts = self.hursts.values();
        let columns = self
            .depths
            .iter()
            .flat_map(|&depth| hursts.iter().map(move |&hurst| Column { depth, hurst }));
        columns.collect()
    }

    /// Network j of a column with its inputs. The generator's stream is (L, j), not H, so
    /// that the columns of one depth share their random numbers: neighbouring H differ by the
    /// law, not by the draw.
    pub fn network(&self, column: Column, j: usize) -> Network {
        let mut rng = crate::model::init::rng(self.seed, ((column.depth as u64) << 20) + j as u64);
        let init = Init::Fgn {
            hurst: column.hurst,
        };
        let (l, d, n) = (column.depth, self.width, self.n_inputs);
        Network::draw(self.block, init, l, d, n, &mut rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_where_they_say_and_bad_keys_are_named() {
        let axis = Axis::Linspace {
            from: 0.05,
            to: 1.0,
            count: 10,
        };
        assert_eq!(axis.values().last(), Some(&1.0));
        let config = |hursts| PhaseConfig {
            hursts,
            ..PhaseConfig::default()
        };
        assert!(config(axis)
            .check()
            .unwrap_err()
            .to_string()
            .starts_with("hursts"));
        let empty = PhaseConfig {
            depths: vec![],
            ..PhaseConfig::default()
        };
        assert!(empty.check().unwrap_err().to_string().starts_with("depths"));
        assert_eq!(PhaseConfig::default().check(), Ok(()));
        let list: Axis = serde_json::from_str("[0.5, 0.7]").unwrap();
        assert_eq!(list.values(), vec![0.5, 0.7]);
    }
}
