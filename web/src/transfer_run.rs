//! The training of a transfer grid in the page ("Across depth"): every network of one
//! parametrization's grid in order, η by η (each η's depths and seeds before the next, so that
//! the transfer figure's curves grow from the left), dealt as [`NetworkJob`]s to the page's
//! workers, each of which trains its network with core's fused step on one thread
//! ([`train_network`]) and answers what it ended at ([`Outcome`], as `native transfer`
//! records it). Also the lines the view prints about the grid's [`Transfer`].

use scaling_core::analysis::fit::Fit;
use scaling_core::data::synthetic::Dataset;
use scaling_core::sweep::config::{ConfigError, SweepConfig, Unit};
use scaling_core::train::fused::FusedStepper;
use scaling_core::train::session::train;
use scaling_core::transfer::grid::{Cell, Grid};
use scaling_core::transfer::optimum::{Outcome, Transfer};
use serde::{Deserialize, Serialize};

/// One network of a grid, as a worker receives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkJob {
    /// Its place in the grid's training order.
    pub index: usize,
    /// The sweep of its cell: the grid's, with the cell's parametrization and base η.
    pub config: SweepConfig,
    pub depth: usize,
    pub seed: u64,
}

/// Trains the network of `job` on `data` to the end of its budget, as core trains a network
/// of a sweep (one thread), and says what it ended at.
pub fn train_network(job: &NetworkJob, data: &Dataset) -> Result<Outcome, ConfigError> {
    let plan = job.config.plan()?;
    let unit = Unit {
        depth: job.depth,
        seed: job.seed,
    };
    let (model, config) = (plan.model(unit), plan.training(unit));
    let mut stepper = FusedStepper::new(
        &model.init_weights(),
        model.activation,
        model.delta,
        data,
        &config,
    );
    let trained = train(&mut stepper, data, &config, |_, _| {});
    Ok(Outcome::of(
        job.config.lr,
        unit,
        &trained,
        &stepper.to_weights(),
    ))
}

/// A grid in training: its networks in order and the outcomes of those done.
pub struct GridRun {
    grid: Grid,
    /// Every network of the grid, in training order.
    order: Vec<(Cell, Unit)>,
    /// What each network ended at, once done.
    outcomes: Vec<Option<Outcome>>,
}

impl GridRun {
    /// The grid's networks, none trained yet. The page trains the grid's first
    /// parametrization (its form names one).
    pub fn new(grid: Grid) -> Self {
        let parametrization = grid.parametrizations[0];
        let mut order = Vec::with_capacity(grid.networks());
        for &lr in &grid.lrs {
            let cell = Cell {
                parametrization,
                lr,
            };
            for &depth in &grid.depths {
                order.extend(grid.seeds.iter().map(|&seed| (cell, Unit { depth, seed })));
            }
        }
        let outcomes = vec![None; order.len()];
        Self {
            grid,
            order,
            outcomes,
        }
    }

    /// The job of the network at `index` of the training order.
    pub fn job(&self, index: usize) -> NetworkJob {
        let (cell, unit) = self.order[index];
        NetworkJob {
            index,
            config: self.grid.config(cell),
            depth: unit.depth,
            seed: unit.seed,
        }
    }

    /// Records what the network at `index` ended at.
    pub fn record(&mut self, index: usize, outcome: Outcome) {
        self.outcomes[index] = Some(outcome);
    }

    /// (networks done, networks in the grid).
    pub fn progress(&self) -> (usize, usize) {
        let done = self.outcomes.iter().flatten().count();
        (done, self.order.len())
    }

    /// The transfer of the networks done so far: η*(L), its law and the best η per depth.
    pub fn transfer(&self) -> Transfer {
        let done: Vec<(Cell, Vec<Outcome>)> = self
            .order
            .iter()
            .zip(&self.outcomes)
            .filter_map(|((cell, _), o)| Some((*cell, vec![(*o)?])))
            .collect();
        Transfer::of(&done, self.grid.parametrizations[0], self.grid.optimizer)
    }
}

/// What the parametrization sets: "δ = L^−0.5, η_L = η·L^−0 (sgd)".
pub fn scaling_line(grid: &Grid) -> String {
    let p = grid.parametrizations[0];
    let s = p.scaling(grid.optimizer);
    format!(
        "{}: δ = {}, η_L = η·L^−{} under {}",
        p.name(),
        s.delta.describe(),
        s.kappa,
        grid.optimizer.name()
    )
}

/// The law of η*(L) so far: "κ* = 0.08 [0.02, 0.15] (η* ≈ C·L^−κ*, over 5 depths × 3
/// seeds); 0 of 15 optima at the grid's edge; 2 of 165 networks diverged", or why there is no
/// fit yet.
pub fn fit_line(t: &Transfer) -> String {
    let law = match &t.fit {
        Fit::Fitted(p) => format!(
            "κ* = {} (η* ≈ C·L^−κ*, 95% over {} depths × {} seeds; 0 means η transfers)",
            p.with_interval(2),
            p.depths,
            p.seeds
        ),
        Fit::Impossible { reason } => format!("no law of η*(L) yet: {reason}"),
    };
    let diverged = t.outcomes.iter().filter(|o| o.diverged()).count();
    format!(
        "{law}; {} of {} optima at the grid's edge (left out); {diverged} of {} networks diverged",
        t.at_edge(),
        t.optima.len(),
        t.outcomes.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Form;
    use crate::transfer_settings::TransferSettings;
    use scaling_core::sweep::config::DataPlan;

    fn settings(pairs: &[(&str, &str)]) -> TransferSettings {
        let mut s = TransferSettings::default();
        for (key, value) in pairs {
            s.set(key, value);
        }
        s
    }

    fn data(grid: &Grid) -> Dataset {
        let DataPlan::Synthetic(c) = &grid.plan(grid.cells()[0]).unwrap().data else {
            unreachable!("synthetic")
        };
        c.generate()
    }

    /// A small grid where the largest η diverges: 3 η × 3 depths × 2 seeds, 30 updates of
    /// ReLU nets.
    fn small() -> TransferSettings {
        settings(&[
            ("parametrization", "standard"),
            ("activation", "relu"),
            ("n_samples", "64"),
            ("width", "4"),
            ("depths", "2,4,8"),
            ("seeds", "0,1"),
            ("lr_min", "0.01"),
            ("lr_max", "1e4"),
            ("lr_points", "3"),
            ("batch_size", "16"),
            ("max_steps", "30"),
        ])
    }

    #[test]
    fn every_network_is_a_job_a_worker_trains_as_core_does() {
        let grid = small().grid().unwrap();
        let data = data(&grid);
        let mut run = GridRun::new(grid.clone());
        assert_eq!(run.progress(), (0, 18));
        // η by η, each over its depths then seeds.
        let order: Vec<(f64, usize, u64)> = (0..18)
            .map(|i| run.job(i))
            .map(|j| (j.config.lr, j.depth, j.seed))
            .collect();
        let want: Vec<(f64, usize, u64)> = grid
            .lrs
            .iter()
            .flat_map(|&lr| {
                [2, 4, 8]
                    .into_iter()
                    .flat_map(move |l| [(lr, l, 0), (lr, l, 1)])
            })
            .collect();
        assert_eq!(order, want);
        // Done out of order, as workers finish: each outcome is core's training of the cell's
        // network, and the job survives its trip to a worker as JSON.
        for index in (0..18).rev() {
            let job = run.job(index);
            let sent: NetworkJob =
                serde_json::from_str(&serde_json::to_string(&job).unwrap()).unwrap();
            assert_eq!(sent, job);
            let outcome = train_network(&sent, &data).unwrap();
            let (cell, _) = run.order[index];
            let plan = grid.plan(cell).unwrap();
            assert_eq!(plan.train.optim.lr, cell.lr);
            assert_eq!(
                (outcome.lr, outcome.depth, outcome.seed),
                (cell.lr, job.depth, job.seed)
            );
            run.record(index, outcome);
        }
        assert_eq!(run.progress(), (18, 18));
        let t = run.transfer();
        assert_eq!(t.outcomes.len(), 18);
        let diverged = t.outcomes.iter().filter(|o| o.diverged()).count();
        assert!(diverged > 0, "the largest η diverges");
        // ReLU nets diverge at large η, not at the smallest (the shallowest survive all).
        assert!(t
            .outcomes
            .iter()
            .filter(|o| o.lr == 0.01)
            .all(|o| !o.diverged()));
        let line = fit_line(&t);
        assert!(
            line.contains(&format!("{diverged} of 18 networks diverged")),
            "{line}"
        );
    }

    #[test]
    #[cfg(not(target_arch = "wasm32"))]
    fn a_worker_trains_as_the_page_did_in_chunks_on_its_main_thread() {
        use crate::run::DepthRun;
        use futures::executor::block_on;
        let grid = small().grid().unwrap();
        let data = data(&grid);
        let run = GridRun::new(grid);
        for index in [1, 7, 17] {
            let job = run.job(index);
            let unit = Unit {
                depth: job.depth,
                seed: job.seed,
            };
            let plan = job.config.plan().unwrap();
            let mut chunked = DepthRun::<FusedStepper>::of(&plan, &data, unit, &());
            while chunked.stop.is_none() {
                block_on(chunked.advance(&data, || 0.0));
            }
            let weights = block_on(chunked.weights());
            let want = Outcome::of(job.config.lr, unit, &chunked.result().outcome, &weights);
            assert_eq!(train_network(&job, &data).unwrap(), want, "network {index}");
        }
    }

    #[test]
    fn the_lines_say_what_the_grid_sets_and_what_was_found() {
        let grid = settings(&[("optimizer", "adam")]).grid().unwrap();
        assert_eq!(
            scaling_line(&grid),
            "depth-mup: δ = L^−0.5, η_L = η·L^−0.5 under adam"
        );
        // Before any network: no law, and why.
        let run = GridRun::new(grid);
        let line = fit_line(&run.transfer());
        assert!(
            line.starts_with("no law of η*(L) yet: 0 usable depths"),
            "{line}"
        );
        assert!(line.ends_with("0 of 0 networks diverged"), "{line}");
    }
}
