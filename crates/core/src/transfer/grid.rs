//! A learning-rate transfer grid: the file a user writes ([`TransferConfig`]) and its checked
//! form ([`Grid`]), whose cells are one sweep each (a parametrization at one base η, over the
//! depths and seeds of the grid).
//!
//! ```toml
//! parametrizations = ["standard", "ode", "depth-mup", "completep"]
//! lr_min = 0.01          # the base learning rates η: lr_points values log-spaced
//! lr_max = 10.0
//! lr_points = 10
//!
//! [sweep]                # any sweep key but those the grid sets (see TransferConfig)
//! activation = "tanh"
//! depths = [4, 8, 16, 32, 64, 128, 256]
//! seeds = [0, 1, 2]
//! max_steps = 1000
//! ```

use crate::analysis::fit::MIN_DEPTHS;
use crate::sweep::config::parametrization::Parametrization;
use crate::sweep::config::{ConfigError, OptimizerName, Plan, SweepConfig};
use crate::train::optim::Optimizer;
use serde::{Deserialize, Serialize};

/// The sweep keys that a transfer grid sets itself, and why a user may not.
const SET_BY_THE_GRID: [(&str, &str); 7] = [
    (
        "lr",
        "the grid's base learning rates are lr_min, lr_max and lr_points",
    ),
    ("parametrization", "the grid's are in `parametrizations`"),
    ("delta", "each parametrization sets δ"),
    ("beta", "each parametrization sets δ"),
    ("lr_depth_exponent", "each parametrization sets κ"),
    (
        "epsilon",
        "every network of a grid makes max_steps updates (ε = 0)",
    ),
    (
        "patience",
        "every network of a grid makes max_steps updates (no plateau rule)",
    ),
];

/// Most base learning rates in one grid.
pub const MAX_LR_POINTS: usize = 100;

/// A learning-rate transfer grid as written in its TOML file (`native transfer --config`).
/// Unknown keys are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferConfig {
    /// The parametrizations compared (default: standard, ode, depth-mup, completep).
    #[serde(default = "default_parametrizations")]
    pub parametrizations: Vec<Parametrization>,
    /// The smallest base learning rate η (default 0.01 for SGD, 1e−4 for Adam).
    pub lr_min: Option<f64>,
    /// The largest (default 10 for SGD, 0.1 for Adam).
    pub lr_max: Option<f64>,
    /// How many, log-spaced from lr_min to lr_max (default 10).
    pub lr_points: Option<usize>,
    /// The sweep every cell runs: any key of a sweep config but `lr`, `parametrization`,
    /// `delta`, `beta`, `lr_depth_exponent`, `epsilon` and `patience`, which the grid sets:
    /// every network makes `max_steps` updates, so that losses compare at one budget.
    #[serde(default)]
    pub sweep: toml::Table,
}

fn default_parametrizations() -> Vec<Parametrization> {
    vec![
        Parametrization::Standard,
        Parametrization::Ode,
        Parametrization::DepthMup,
        Parametrization::Completep,
    ]
}

/// A checked grid: parametrizations × base learning rates, over one sweep's depths and seeds.
#[derive(Clone, Debug)]
pub struct Grid {
    pub parametrizations: Vec<Parametrization>,
    /// The base learning rates η, increasing.
    pub lrs: Vec<f64>,
    /// The sweep of every cell, before its parametrization and η are set.
    pub sweep: SweepConfig,
    /// The depths, seeds and optimiser of every cell (the sweep's plan, as standard
    /// parametrization).
    pub depths: Vec<usize>,
    pub seeds: Vec<u64>,
    pub optimizer: Optimizer,
}

/// One sweep of a grid: a parametrization at one base learning rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cell {
    pub parametrization: Parametrization,
    pub lr: f64,
}

impl Cell {
    /// Its run directory under the grid's: `<parametrization>/lr-<η>`, η in 4 significant
    /// digits (`depth-mup/lr-3.162e-2`).
    pub fn dir_name(&self) -> String {
        format!("{}/lr-{:.3e}", self.parametrization.name(), self.lr)
    }
}

impl TransferConfig {
    /// The checked grid; the error names the key.
    pub fn grid(&self) -> Result<Grid, ConfigError> {
        for (key, why) in SET_BY_THE_GRID {
            if self.sweep.contains_key(key) {
                return Err(bad_key(key, format!("[sweep] may not set it: {why}")));
            }
        }
        let mut sweep: SweepConfig = self
            .sweep
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| bad_key("sweep", e.message().to_string()))?;
        sweep.epsilon = 0.0;
        sweep.patience = None;
        let lrs = self.lrs(sweep.optimizer)?;
        let parametrizations = self.checked_parametrizations()?;
        let plan = sweep.plan()?;
        if plan.depths.len() < MIN_DEPTHS {
            return Err(bad_key(
                "sweep.depths",
                format!("η*(L) is fitted over at least {MIN_DEPTHS} depths"),
            ));
        }
        let grid = Grid {
            parametrizations,
            lrs,
            depths: plan.depths.clone(),
            seeds: plan.seeds.clone(),
            optimizer: plan.train.optim.optimizer,
            sweep,
        };
        for cell in grid.cells() {
            grid.plan(cell)?;
        }
        Ok(grid)
    }

    /// `lr_points` base learning rates log-spaced from `lr_min` to `lr_max`.
    fn lrs(&self, optimizer: OptimizerName) -> Result<Vec<f64>, ConfigError> {
        let (min, max) = match optimizer {
            OptimizerName::Sgd => (1e-2, 10.0),
            OptimizerName::Adam => (1e-4, 0.1),
        };
        let (min, max) = (self.lr_min.unwrap_or(min), self.lr_max.unwrap_or(max));
        let points = self.lr_points.unwrap_or(10);
        if !(min.is_finite() && min > 0.0) {
            return Err(bad_key(
                "lr_min",
                format!("{min}: not a learning rate (> 0)"),
            ));
        }
        if !(max.is_finite() && max > min) {
            return Err(bad_key(
                "lr_max",
                format!("{max}: not above lr_min = {min}"),
            ));
        }
        if !(2..=MAX_LR_POINTS).contains(&points) {
            return Err(bad_key(
                "lr_points",
                format!("{points}: from 2 to {MAX_LR_POINTS}"),
            ));
        }
        let step = (max / min).ln() / (points - 1) as f64;
        Ok((0..points)
            .map(|i| match i {
                0 => min,
                i if i == points - 1 => max,
                i => min * (step * i as f64).exp(),
            })
            .collect())
    }

    fn checked_parametrizations(&self) -> Result<Vec<Parametrization>, ConfigError> {
        let list = &self.parametrizations;
        if list.is_empty() {
            return Err(bad_key("parametrizations", "none listed"));
        }
        if let Some(p) = list
            .iter()
            .enumerate()
            .find_map(|(i, p)| list[..i].contains(p).then_some(p))
        {
            return Err(bad_key(
                "parametrizations",
                format!("{} is listed twice", p.name()),
            ));
        }
        Ok(list.clone())
    }
}

fn bad_key(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key,
        message: message.into(),
    }
}

impl Grid {
    /// Every cell: the parametrizations in their order, each over the increasing η.
    pub fn cells(&self) -> Vec<Cell> {
        self.parametrizations
            .iter()
            .flat_map(|&parametrization| {
                self.lrs.iter().map(move |&lr| Cell {
                    parametrization,
                    lr,
                })
            })
            .collect()
    }

    /// The sweep of one cell: the grid's sweep with its parametrization and base η.
    pub fn config(&self, cell: Cell) -> SweepConfig {
        SweepConfig {
            parametrization: Some(cell.parametrization),
            lr: cell.lr,
            ..self.sweep.clone()
        }
    }

    /// The checked plan of one cell.
    pub fn plan(&self, cell: Cell) -> Result<Plan, ConfigError> {
        self.config(cell).plan()
    }

    /// Networks in the whole grid.
    pub fn networks(&self) -> usize {
        self.parametrizations.len() * self.lrs.len() * self.depths.len() * self.seeds.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> TransferConfig {
        toml::from_str(text).unwrap()
    }

    const SWEEP: &str = "[sweep]\ndepths = [4, 8, 16]\nseeds = [0, 1]\nmax_steps = 50\n";

    #[test]
    fn a_grid_is_log_spaced_and_every_cell_is_its_sweep_with_eta_and_the_preset() {
        let grid = config(&format!(
            "lr_min = 0.01\nlr_max = 1.0\nlr_points = 3\n{SWEEP}"
        ))
        .grid()
        .unwrap();
        assert_eq!((grid.lrs.len(), grid.lrs[0], grid.lrs[2]), (3, 0.01, 1.0));
        assert!((grid.lrs[1] - 0.1).abs() < 1e-15);
        assert_eq!(grid.cells().len(), 4 * 3);
        assert_eq!(grid.networks(), 4 * 3 * 3 * 2);
        let cell = grid.cells()[4];
        assert_eq!(cell.parametrization, Parametrization::Ode);
        assert_eq!(cell.dir_name(), "ode/lr-1.000e-1");
        let sweep = grid.config(cell);
        assert_eq!(
            (
                sweep.lr,
                sweep.parametrization,
                sweep.epsilon,
                sweep.patience
            ),
            (cell.lr, Some(Parametrization::Ode), 0.0, None)
        );
        assert_eq!(sweep.max_steps, 50);
    }

    #[test]
    fn keys_the_grid_sets_and_bad_grids_are_refused_by_name() {
        let refused = |text: &str, key: &str| {
            let err = config(text).grid().unwrap_err();
            assert_eq!(err.key, key, "{text}: {err}");
        };
        for (key, _) in SET_BY_THE_GRID {
            let value = if key == "delta" { "\"shared\"" } else { "1" };
            refused(&format!("{SWEEP}{key} = {value}\n"), key);
        }
        refused(&format!("lr_min = 0.0\n{SWEEP}"), "lr_min");
        refused(&format!("lr_min = 1.0\nlr_max = 0.5\n{SWEEP}"), "lr_max");
        refused(&format!("lr_points = 1\n{SWEEP}"), "lr_points");
        refused(
            &format!("parametrizations = []\n{SWEEP}"),
            "parametrizations",
        );
        refused(
            &format!("parametrizations = [\"ode\", \"ode\"]\n{SWEEP}"),
            "parametrizations",
        );
        refused("[sweep]\ndepths = [4, 8]\n", "sweep.depths");
        refused("[sweep]\nwidht = 3\n", "sweep");
        refused("[sweep]\ndepths = [0, 4, 8]\n", "depths");
        assert!(toml::from_str::<TransferConfig>("lr_mni = 1.0\n").is_err());
    }

    #[test]
    fn the_default_range_follows_the_optimizer() {
        let sgd = config(SWEEP).grid().unwrap();
        let adam = config(&format!("{SWEEP}optimizer = \"adam\"\n"))
            .grid()
            .unwrap();
        assert_eq!((sgd.lrs[0], sgd.lrs[9]), (1e-2, 10.0));
        assert_eq!((adam.lrs[0], adam.lrs[9]), (1e-4, 0.1));
    }
}
