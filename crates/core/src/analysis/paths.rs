//! The named weight paths of trained networks, the input of the analysis: a network's
//! weights read as paths k ↦ W_k (A, b, δ and the effective weights δ_k A_k), or known
//! only by their norms (the conv ResNet); and each path's statistics, fits and verdict.

use super::fit::Fit;
use super::stats::{PathStats, WeightPath};
use super::{PathName, Statistic, Verdict};
use crate::model::activation::Activation;
use crate::model::delta::DeltaMode;
use crate::model::weights::Weights;
use crate::train::results::DepthResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The trained network of one depth and one seed.
#[derive(Clone, Debug)]
pub struct Trained {
    pub seed: u64,
    pub result: DepthResult,
    pub weights: Weights,
}

/// The statistics of one path at one used depth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathPoint {
    pub depth: usize,
    pub seed: u64,
    pub stats: PathStats,
}

/// A weight path's statistics, fits and verdict over the sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathAnalysis {
    pub name: PathName,
    pub points: Vec<PathPoint>,
    pub fits: BTreeMap<Statistic, Fit>,
    /// Paths with one weight per network (shared δ) have no verdict.
    pub verdict: Option<Verdict>,
}

impl PathAnalysis {
    pub fn beta(&self) -> Option<f64> {
        self.fits[&Statistic::MaxNorm].power_law().map(|p| p.beta)
    }

    /// (L, value) of a statistic at every used depth (all seeds).
    pub fn series(&self, statistic: Statistic) -> Vec<(f64, f64)> {
        let beta = self.beta();
        self.points
            .iter()
            .filter_map(|p| {
                let v = statistic.value(&p.stats, p.depth, beta)?;
                Some((p.depth as f64, v))
            })
            .collect()
    }
}

/// The main path of an experiment: the effective weights |δ_k| A_k when only their product is
/// identifiable (per-layer δ, or a positively homogeneous σ with a trained δ), else A.
pub fn main_path(activation: Activation, delta: DeltaMode) -> PathName {
    let homogeneous = matches!(activation, Activation::Relu | Activation::Linear);
    match delta {
        DeltaMode::PerLayer => PathName::DeltaA,
        DeltaMode::Shared if homogeneous => PathName::DeltaA,
        _ => PathName::A,
    }
}

/// The named weight paths of a network.
pub fn named_paths(w: &Weights) -> Vec<(PathName, WeightPath)> {
    let (l, d) = (w.depth, w.width);
    let f64s = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
    let a = WeightPath::new(vec![d, d], f64s(&w.a));
    let b = WeightPath::new(vec![d], f64s(&w.b));
    let mut paths = vec![(PathName::A, a.clone()), (PathName::B, b.clone())];
    if let Some(delta) = &w.delta {
        let delta = f64s(delta);
        let steps: Vec<f64> = if delta.len() == l {
            delta.iter().map(|x| x.abs()).collect()
        } else {
            vec![delta[0].abs(); l]
        };
        paths.push((PathName::Delta, WeightPath::new(vec![], delta)));
        paths.push((PathName::DeltaA, a.scaled(&steps)));
        paths.push((PathName::DeltaB, b.scaled(&steps)));
    }
    paths
}

/// A path known only by the norms of its layers and of their increments (the conv ResNet,
/// whose layers change shape between stages).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NormPath {
    pub name: PathName,
    /// ‖W_k‖, k < L.
    pub norms: Vec<f64>,
    /// ‖W_{k+1} − W_k‖ where both have the same shape.
    pub increments: Vec<f64>,
}

/// A trained network known by its norm paths.
#[derive(Clone, Debug)]
pub struct NormTrained {
    pub seed: u64,
    pub result: DepthResult,
    pub paths: Vec<NormPath>,
}

/// Every layer's norm of one path at one depth, for the figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerNorms {
    pub path: PathName,
    pub depth: usize,
    pub seed: u64,
    pub norms: Vec<f64>,
}
