//! The training of a transfer grid in the page ("Across depth"): every network of one
//! parametrization's grid, η by η (each η's depths and seeds before the next, so that the
//! transfer figure's curves grow from the left), trained one chunk at a time with core's
//! fused step on the CPU, and what each ended at ([`Outcome`]), as `native transfer` records
//! it. Also the lines the view prints about the grid's [`Transfer`].

use crate::run::DepthRun;
use scaling_core::analysis::fit::Fit;
use scaling_core::data::synthetic::Dataset;
use scaling_core::sweep::config::{Plan, Unit};
use scaling_core::train::fused::FusedStepper;
use scaling_core::transfer::grid::{Cell, Grid};
use scaling_core::transfer::optimum::{Outcome, Transfer};

/// A grid in training: the networks in their order, the one training now, and the outcomes
/// of those done.
pub struct GridRun {
    grid: Grid,
    /// Every network of the grid, in training order.
    order: Vec<(Cell, Unit)>,
    /// The network training now: its index in `order`, its cell's plan, its training.
    current: Option<(usize, Plan, DepthRun<FusedStepper>)>,
    /// What the networks done ended at, by cell.
    outcomes: Vec<(Cell, Vec<Outcome>)>,
}

impl GridRun {
    /// The grid's networks, none trained yet. The page trains the grid's first
    /// parametrization (its form names one).
    pub fn new(grid: Grid) -> Self {
        let parametrization = grid.parametrizations[0];
        let mut order = Vec::with_capacity(grid.lrs.len() * grid.depths.len() * grid.seeds.len());
        for &lr in &grid.lrs {
            let cell = Cell {
                parametrization,
                lr,
            };
            for &depth in &grid.depths {
                order.extend(grid.seeds.iter().map(|&seed| (cell, Unit { depth, seed })));
            }
        }
        Self {
            grid,
            order,
            current: None,
            outcomes: Vec::new(),
        }
    }

    /// (networks done, networks in the grid).
    pub fn progress(&self) -> (usize, usize) {
        let done = self.outcomes.iter().map(|(_, o)| o.len()).sum();
        (done, self.order.len())
    }

    pub fn finished(&self) -> bool {
        let (done, total) = self.progress();
        done == total
    }

    /// Trains the network in training up to its next loss measurement (starting the next
    /// network first if none is); `true` when this finished it. `now()` gives seconds.
    pub async fn advance(&mut self, data: &Dataset, now: impl Fn() -> f64) -> bool {
        if self.finished() {
            return false;
        }
        let (index, _, run) = match &mut self.current {
            Some(current) => current,
            None => {
                let index = self.progress().0;
                let (cell, unit) = self.order[index];
                let plan = self.grid.plan(cell).expect("the grid's cells were checked");
                let run = DepthRun::of(&plan, data, unit, &());
                self.current.insert((index, plan, run))
            }
        };
        run.advance(data, now).await;
        if run.stop.is_none() {
            return false;
        }
        let (cell, unit) = self.order[*index];
        let outcome = Outcome::of(cell.lr, unit, &run.result().outcome, &run.weights().await);
        match self.outcomes.last_mut() {
            Some((last, outcomes)) if *last == cell => outcomes.push(outcome),
            _ => self.outcomes.push((cell, vec![outcome])),
        }
        self.current = None;
        true
    }

    /// The outcomes so far, by cell.
    pub fn outcomes(&self) -> &[(Cell, Vec<Outcome>)] {
        &self.outcomes
    }

    /// The transfer of the networks done so far: η*(L), its law and the best η per depth.
    pub fn transfer(&self) -> Transfer {
        Transfer::of(
            &self.outcomes,
            self.grid.parametrizations[0],
            self.grid.optimizer,
        )
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

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::settings::Form;
    use crate::transfer_settings::TransferSettings;
    use futures::executor::block_on;
    use scaling_core::sweep::config::DataPlan;
    use scaling_core::train::session::train;

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
    fn the_page_trains_every_network_as_core_does_in_one_go() {
        let grid = small().grid().unwrap();
        let data = data(&grid);
        let mut run = GridRun::new(grid.clone());
        assert_eq!(run.progress(), (0, 18));
        let (mut chunks, mut order) = (0, Vec::new());
        while !run.finished() {
            chunks += 1;
            if block_on(run.advance(&data, || 0.0)) {
                let (cell, outcomes) = run.outcomes().last().unwrap();
                let o = outcomes.last().unwrap();
                order.push((cell.lr, o.depth, o.seed));
            }
        }
        // 30 updates with the loss every 20: two chunks per network, one if it diverged at
        // the first measurement after 0.
        assert!((18 + 1..=18 * 2).contains(&chunks), "{chunks}");
        assert!(!block_on(run.advance(&data, || 0.0)));
        // η by η, each over its depths then seeds.
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
        // Each outcome is core's one-go training of the same network.
        for (cell, outcomes) in run.outcomes() {
            let plan = grid.plan(*cell).unwrap();
            for o in outcomes {
                let unit = Unit {
                    depth: o.depth,
                    seed: o.seed,
                };
                let model = plan.model(unit);
                let train_config = plan.training(unit);
                let mut stepper = FusedStepper::new(
                    &model.init_weights(),
                    model.activation,
                    model.delta,
                    &data,
                    &train_config,
                );
                let trained = train(&mut stepper, &data, &train_config, |_, _| {});
                let want = Outcome::of(cell.lr, unit, &trained, &stepper.to_weights());
                assert_eq!(*o, want);
            }
        }
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
