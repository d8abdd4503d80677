//! The best base learning rate of each depth and seed, η*(L), and its power law in L.
//!
//! η*(L, seed) minimises the final training loss over the grid's η. Where the grid's best
//! point has finite neighbours on both sides, η* is the vertex of the parabola through the
//! three points in (log η, log loss), so that η* is not stuck to the grid; at either end of
//! the grid it is only a bound ("at the edge") and is left out of the fit. The fit is
//! [`fit_power_law`]'s, η* ≈ C·L^{−κ*}, with its 95% interval over the seeds: κ* is the depth
//! exponent that the base η still needs under the parametrization, 0 where η transfers.

use super::grid::Cell;
use crate::analysis::fit::{fit_power_law, Fit};
use crate::model::delta::DeltaMode;
use crate::model::weights::Weights;
use crate::sweep::config::parametrization::Parametrization;
use crate::sweep::config::Unit;
use crate::train::optim::Optimizer;
use crate::train::results::{StopReason, TrainOutcome};
use serde::{Deserialize, Serialize};

/// What one network of a grid ended at.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The base learning rate η (the network's is η·L^{−κ}).
    pub lr: f64,
    pub depth: usize,
    pub seed: u64,
    /// The final losses; `None` where the network diverged (a loss or a weight not finite).
    pub train_loss: Option<f64>,
    pub test_loss: Option<f64>,
}

impl Outcome {
    /// What the network `unit` of the cell trained at base η = `lr` ended at: diverged when
    /// its training stopped on a loss that was not finite, or when a weight is not finite. A
    /// ReLU layer maps NaN to 0 (max(z, 0)), so a network can hold weights that are not finite
    /// and still have a finite loss.
    pub fn of(lr: f64, unit: Unit, trained: &TrainOutcome, weights: &Weights) -> Self {
        let diverged =
            trained.stop_reason == StopReason::Diverged || weights.check_finite().is_err();
        let loss = |l: Option<f64>| l.filter(|_| !diverged);
        Self {
            lr,
            depth: unit.depth,
            seed: unit.seed,
            train_loss: loss(trained.final_train_loss),
            test_loss: loss(trained.final_test_loss),
        }
    }

    pub fn diverged(&self) -> bool {
        self.train_loss.is_none()
    }
}

/// The best base learning rate of one depth and seed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Optimum {
    pub depth: usize,
    pub seed: u64,
    /// η*: the parabola's vertex, or the grid's best η where there is none.
    pub lr: f64,
    /// The final training loss at the grid's best η.
    pub train_loss: f64,
    /// The best η is the grid's smallest or largest: η* is beyond it, a bound only.
    pub at_edge: bool,
}

/// The best η of one depth and seed from its outcomes over η (any order); `None` when every
/// network diverged.
pub fn optimum(outcomes: &[Outcome]) -> Option<Optimum> {
    let mut sorted = outcomes.to_vec();
    sorted.sort_by(|a, b| a.lr.total_cmp(&b.lr));
    let (i, best) = sorted
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.train_loss.map(|l| (i, l)))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let at_edge = i == 0 || i == sorted.len() - 1;
    let point = |o: &Outcome| {
        o.train_loss
            .map(|l| (o.lr.ln(), l.max(f64::MIN_POSITIVE).ln()))
    };
    let vertex = match at_edge {
        true => None,
        false => match (
            point(&sorted[i - 1]),
            point(&sorted[i]),
            point(&sorted[i + 1]),
        ) {
            (Some(a), Some(b), Some(c)) => parabola_vertex(a, b, c),
            _ => None,
        },
    };
    Some(Optimum {
        depth: sorted[i].depth,
        seed: sorted[i].seed,
        lr: vertex.map_or(sorted[i].lr, f64::exp),
        train_loss: best,
        at_edge,
    })
}

/// The abscissa of the vertex of the parabola through a, b, c (a.0 < b.0 < c.0, b lowest),
/// kept within [a.0, c.0]; `None` unless the parabola opens upwards.
fn parabola_vertex(a: (f64, f64), b: (f64, f64), c: (f64, f64)) -> Option<f64> {
    let (p, q) = ((b.0 - a.0) * (b.1 - c.1), (b.0 - c.0) * (b.1 - a.1));
    let denominator = p - q;
    let curvature = (c.1 - b.1) / (c.0 - b.0) - (b.1 - a.1) / (b.0 - a.0);
    if !(curvature > 0.0 && denominator != 0.0) {
        return None;
    }
    let x = b.0 - 0.5 * ((b.0 - a.0) * p - (b.0 - c.0) * q) / denominator;
    x.is_finite().then_some(x.clamp(a.0, c.0))
}

/// One parametrization's grid: every outcome, η*(L) per seed, and its power law.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub parametrization: Parametrization,
    /// δ and κ (η_L = η·L^{−κ}) under the grid's optimiser.
    pub delta: DeltaMode,
    pub kappa: f64,
    pub outcomes: Vec<Outcome>,
    /// η*(L) of every depth and seed with a network that did not diverge.
    pub optima: Vec<Optimum>,
    /// η* ≈ C·L^{−κ*} over the optima not at the grid's edge (the fit's `beta` is κ*).
    pub fit: Fit,
    /// Per depth, the grid's η with the lowest final training loss averaged over the seeds
    /// (over the η where no seed diverged), and that loss: where the trained weights are
    /// analysed.
    pub best: Vec<Best>,
}

/// The grid's best η of one depth, all seeds at one η.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Best {
    pub depth: usize,
    pub lr: f64,
    /// The final training loss, the mean over the seeds.
    pub train_loss: f64,
    pub test_loss: f64,
}

impl Transfer {
    /// The transfer of `parametrization` from its grid's outcomes under `optimizer`.
    pub fn of(
        cell_outcomes: &[(Cell, Vec<Outcome>)],
        parametrization: Parametrization,
        optimizer: Optimizer,
    ) -> Self {
        let outcomes: Vec<Outcome> = cell_outcomes
            .iter()
            .filter(|(cell, _)| cell.parametrization == parametrization)
            .flat_map(|(_, o)| o.iter().copied())
            .collect();
        let keys = distinct(outcomes.iter().map(|o| (o.depth, o.seed)));
        let optima: Vec<Optimum> = keys
            .iter()
            .filter_map(|&(depth, seed)| {
                let line: Vec<Outcome> = outcomes
                    .iter()
                    .filter(|o| (o.depth, o.seed) == (depth, seed))
                    .copied()
                    .collect();
                optimum(&line)
            })
            .collect();
        let scaling = parametrization.scaling(optimizer);
        Self {
            parametrization,
            delta: scaling.delta,
            kappa: scaling.kappa,
            fit: fit_optima(&optima),
            best: best_per_depth(&outcomes),
            outcomes,
            optima,
        }
    }

    /// How many optima lie at the grid's edge (left out of the fit).
    pub fn at_edge(&self) -> usize {
        self.optima.iter().filter(|o| o.at_edge).count()
    }
}

/// η* ≈ C·L^{−κ*} fitted per seed over the optima inside the grid.
fn fit_optima(optima: &[Optimum]) -> Fit {
    let seeds = distinct(optima.iter().map(|o| o.seed));
    let samples: Vec<Vec<(usize, f64)>> = seeds
        .iter()
        .map(|&s| {
            optima
                .iter()
                .filter(|o| o.seed == s && !o.at_edge)
                .map(|o| (o.depth, o.lr))
                .collect()
        })
        .collect();
    fit_power_law(&samples)
}

/// Per depth, the η whose seed-mean training loss is lowest among those where no seed
/// diverged.
fn best_per_depth(outcomes: &[Outcome]) -> Vec<Best> {
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    depths(outcomes)
        .into_iter()
        .filter_map(|depth| {
            lrs(outcomes.iter().filter(|o| o.depth == depth))
                .into_iter()
                .filter_map(|lr| {
                    let at: Vec<&Outcome> = outcomes
                        .iter()
                        .filter(|o| o.depth == depth && o.lr == lr)
                        .collect();
                    let train: Option<Vec<f64>> = at.iter().map(|o| o.train_loss).collect();
                    let test: Option<Vec<f64>> = at.iter().map(|o| o.test_loss).collect();
                    Some(Best {
                        depth,
                        lr,
                        train_loss: mean(train?),
                        test_loss: mean(test?),
                    })
                })
                .min_by(|a, b| a.train_loss.total_cmp(&b.train_loss))
        })
        .collect()
}

/// The distinct values of `items`, increasing.
fn distinct<T: Ord>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut values: Vec<T> = items.into_iter().collect();
    values.sort_unstable();
    values.dedup();
    values
}

/// The depths of `outcomes`, increasing.
pub(super) fn depths(outcomes: &[Outcome]) -> Vec<usize> {
    distinct(outcomes.iter().map(|o| o.depth))
}

/// The base learning rates of `outcomes`, increasing.
pub(super) fn lrs<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Vec<f64> {
    let mut lrs: Vec<f64> = outcomes.into_iter().map(|o| o.lr).collect();
    lrs.sort_by(f64::total_cmp);
    lrs.dedup();
    lrs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loss with its minimum at η = `best`: a parabola in log η on a log scale.
    fn outcome(lr: f64, depth: usize, seed: u64, best: f64) -> Outcome {
        let loss = (0.3 * (lr / best).ln().powi(2)).exp() * 1e-3;
        Outcome {
            lr,
            depth,
            seed,
            train_loss: Some(loss),
            test_loss: Some(2.0 * loss),
        }
    }

    fn grid() -> Vec<f64> {
        (0..9).map(|i| 1e-3 * 10f64.powf(i as f64 / 2.0)).collect()
    }

    #[test]
    fn the_vertex_finds_an_optimum_between_grid_points() {
        let line: Vec<Outcome> = grid().iter().map(|&lr| outcome(lr, 8, 0, 0.0234)).collect();
        let o = optimum(&line).unwrap();
        assert!((o.lr / 0.0234 - 1.0).abs() < 1e-9, "{o:?}");
        assert!(!o.at_edge);
        // Beyond the grid: a bound at its edge.
        let line: Vec<Outcome> = grid().iter().map(|&lr| outcome(lr, 8, 0, 100.0)).collect();
        let o = optimum(&line).unwrap();
        assert_eq!((o.lr, o.at_edge), (10.0, true));
    }

    #[test]
    fn diverged_networks_are_never_the_optimum_and_stop_the_vertex() {
        let mut line: Vec<Outcome> = grid().iter().map(|&lr| outcome(lr, 8, 0, 0.09)).collect();
        // 0.1 is the grid's best; the next η diverges.
        line[5].train_loss = None;
        let o = optimum(&line).unwrap();
        assert_eq!((o.lr, o.at_edge), (line[4].lr, false));
        for o in &mut line {
            o.train_loss = None;
        }
        assert_eq!(optimum(&line), None);
    }

    #[test]
    fn the_fit_recovers_a_known_depth_exponent_with_its_interval() {
        // η*(L) = 0.5·L^{−0.75}·(1 + noise of the seed): κ* = 0.75.
        let mut outcomes = Vec::new();
        for seed in 0..4u64 {
            for depth in [4, 8, 16, 32, 64, 128] {
                let noise = 1.0 + 0.03 * ((seed * 7 + depth as u64) % 5) as f64 / 4.0;
                let best = 0.5 * (depth as f64).powf(-0.75) * noise;
                let lrs: Vec<f64> = (0..25).map(|i| 1e-3 * 10f64.powf(i as f64 / 8.0)).collect();
                outcomes.extend(lrs.iter().map(|&lr| outcome(lr, depth, seed, best)));
            }
        }
        let cell = Cell {
            parametrization: Parametrization::DepthMup,
            lr: 0.0,
        };
        let t = Transfer::of(
            &[(cell, outcomes)],
            Parametrization::DepthMup,
            Optimizer::ADAM,
        );
        assert_eq!((t.kappa, t.optima.len(), t.at_edge()), (0.5, 24, 0));
        let fit = t.fit.power_law().unwrap();
        assert!((fit.beta - 0.75).abs() < 0.02, "{fit:?}");
        assert!(fit.ci95[0] <= 0.75 && 0.75 <= fit.ci95[1], "{fit:?}");
        assert_eq!(t.best.len(), 6);
        assert!(t.best.iter().all(|b| b.test_loss == 2.0 * b.train_loss));
    }

    #[test]
    fn a_network_diverged_when_its_loss_or_a_weight_is_not_finite() {
        let trained = |stop_reason, loss: Option<f64>| TrainOutcome {
            steps: 10,
            stop_reason,
            final_train_loss: loss,
            final_test_loss: loss.map(|l| 2.0 * l),
            final_test_accuracy: None,
            history: Vec::new(),
        };
        let weights = |a: f32| Weights {
            depth: 1,
            width: 1,
            a: vec![a],
            b: vec![0.0],
            delta: None,
        };
        let unit = Unit { depth: 1, seed: 3 };
        let fine = Outcome::of(
            0.5,
            unit,
            &trained(StopReason::MaxSteps, Some(0.1)),
            &weights(1.0),
        );
        assert_eq!(
            (
                fine.lr,
                fine.depth,
                fine.seed,
                fine.train_loss,
                fine.test_loss
            ),
            (0.5, 1, 3, Some(0.1), Some(0.2))
        );
        // A ReLU net with a NaN weight can report a finite loss: it diverged all the same.
        let nan = Outcome::of(
            0.5,
            unit,
            &trained(StopReason::MaxSteps, Some(0.1)),
            &weights(f32::NAN),
        );
        let stopped = Outcome::of(
            0.5,
            unit,
            &trained(StopReason::Diverged, Some(0.1)),
            &weights(1.0),
        );
        for o in [nan, stopped] {
            assert!(o.diverged() && o.test_loss.is_none(), "{o:?}");
        }
    }
}
