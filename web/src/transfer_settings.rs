//! The settings of the page's third view, "Across depth": a small learning-rate transfer grid
//! (base η × depths L × seeds) of one parametrization, as form fields whose defaults train in
//! seconds on the wasm CPU, and how many workers train it; their URL query, and their check by
//! core's [`TransferConfig::grid`], whose errors name the field to mark.

use crate::settings::{field, Field, FieldError, FieldKind, Form, Values, MAX_DEPTHS, WORKERS};
use scaling_core::sweep::config::parametrization::Parametrization;
use scaling_core::sweep::config::{InitName, OptimizerName};
use scaling_core::transfer::grid::{Grid, TransferConfig};
use scaling_core::Activation;
use serde_json::{Map, Value};

/// The fields, in the form's order: depth-μP under SGD on the synthetic data (d = 10, tanh,
/// N = 1000) from the standard init A_ij ~ N(0, 1/d) (s = √d), η from 10⁻² to 10³ in half
/// decades, L = 4..64, seeds 0, 1, 2, 200 updates of batch 100 each: 495 networks.
pub const TRANSFER_FIELDS: [Field; 16] = [
    field(
        "parametrization",
        "parametrization",
        FieldKind::Select(&Parametrization::NAMES),
        "depth-mup",
    ),
    field(
        "dataset",
        "data set",
        FieldKind::Select(&["synthetic", "mnist"]),
        "synthetic",
    ),
    field("n_samples", "training samples", FieldKind::Count, "1000"),
    field(
        "activation",
        "activation σ",
        FieldKind::Select(&Activation::NAMES),
        "tanh",
    ),
    field("width", "width d", FieldKind::Count, "10"),
    field(
        "init",
        "init",
        FieldKind::Select(&InitName::NAMES),
        "xavier",
    ),
    field(
        "initial_sd",
        "init scale s (sd of A_ij: s/d)",
        FieldKind::Real,
        "3.1623",
    ),
    field("depths", "depths L", FieldKind::Counts, "4,8,16,32,64"),
    field("seeds", "seeds", FieldKind::Counts, "0,1,2"),
    field(
        "optimizer",
        "optimizer",
        FieldKind::Select(&OptimizerName::NAMES),
        "sgd",
    ),
    field("lr_min", "smallest base η", FieldKind::Real, "0.01"),
    field("lr_max", "largest base η", FieldKind::Real, "1000"),
    field(
        "lr_points",
        "number of η (log-spaced)",
        FieldKind::Count,
        "11",
    ),
    field("batch_size", "batch size B", FieldKind::Count, "100"),
    field("max_steps", "updates per network", FieldKind::Count, "200"),
    WORKERS,
];

/// The fields about the page rather than the grid: how many workers train it.
const PAGE_KEYS: [&str; 1] = ["workers"];

/// The fields that are keys of the grid file itself; the others are keys of its `[sweep]`.
const GRID_KEYS: [&str; 3] = ["lr_min", "lr_max", "lr_points"];

/// Updates between two measurements of the training loss: the page trains a network in
/// chunks of this many updates (or fewer, for shorter trainings). The final losses, measured
/// after the last update, do not depend on it.
pub const LOG_EVERY: u64 = 20;

/// The value of every field of the transfer form, as typed.
#[derive(Clone, Debug, PartialEq)]
pub struct TransferSettings(Values);

impl Default for TransferSettings {
    fn default() -> Self {
        Self(Values::new(&TRANSFER_FIELDS))
    }
}

impl Form for TransferSettings {
    fn values(&self) -> &Values {
        &self.0
    }

    fn values_mut(&mut self) -> &mut Values {
        &mut self.0
    }

    /// The width only for synthetic data: the MNIST embedding has width 25.
    fn applies(&self, key: &str) -> bool {
        key != "width" || self.get("dataset") == "synthetic"
    }
}

impl TransferSettings {
    /// The defaults, overridden by the pairs of a URL query (unknown keys, `view` among
    /// them, are ignored).
    pub fn from_query(query: &str) -> Self {
        Self(Values::from_query(&TRANSFER_FIELDS, query))
    }

    /// The grid file these settings describe: one parametrization, the sweep's keys in
    /// `[sweep]`, and the page's [`LOG_EVERY`].
    pub fn config(&self) -> Result<TransferConfig, FieldError> {
        let (mut grid, mut sweep) = (Map::new(), Map::new());
        let grid_fields = TRANSFER_FIELDS
            .iter()
            .filter(|f| !PAGE_KEYS.contains(&f.key));
        for f in grid_fields.filter(|f| self.applies(f.key)) {
            let value = self.0.parse(f.key)?.expect("no optional field");
            match f.key {
                "parametrization" => grid.insert("parametrizations".into(), vec![value].into()),
                key if GRID_KEYS.contains(&key) => grid.insert(key.into(), value),
                key => sweep.insert(key.into(), value),
            };
        }
        let steps = sweep["max_steps"].as_u64().unwrap_or(1);
        sweep.insert("log_every".into(), LOG_EVERY.min(steps).max(1).into());
        grid.insert("sweep".into(), sweep.into());
        serde_json::from_value(Value::Object(grid)).map_err(|e| FieldError {
            key: "parametrization",
            message: e.to_string(),
        })
    }

    /// The workers asked for (0: one per core).
    pub fn workers(&self) -> Result<usize, FieldError> {
        self.0.workers()
    }

    /// The grid, checked by core (and the page's limits); the error names the first bad
    /// field.
    pub fn grid(&self) -> Result<Grid, FieldError> {
        self.workers()?;
        let grid = self.config()?.grid().map_err(|e| {
            let key = e.key.trim_start_matches("sweep.");
            let field = TRANSFER_FIELDS.iter().find(|f| f.key == key);
            FieldError {
                key: field.map_or(TRANSFER_FIELDS[0].key, |f| f.key),
                message: e.message,
            }
        })?;
        if grid.depths.len() > MAX_DEPTHS {
            return Err(FieldError {
                key: "depths",
                message: format!("at most {MAX_DEPTHS} depths on one page"),
            });
        }
        Ok(grid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaling_core::sweep::config::DataPlan;

    #[test]
    fn the_defaults_are_the_grid_they_describe() {
        let grid = TransferSettings::default().grid().unwrap();
        assert_eq!(grid.parametrizations, [Parametrization::DepthMup]);
        assert_eq!(grid.depths, [4, 8, 16, 32, 64]);
        assert_eq!(grid.seeds, [0, 1, 2]);
        assert_eq!(
            (grid.lrs.len(), grid.lrs[0], grid.lrs[10]),
            (11, 0.01, 1000.0)
        );
        assert!((grid.lrs[4] / 1.0 - 1.0).abs() < 1e-12, "{:?}", grid.lrs);
        assert_eq!(grid.networks(), 11 * 5 * 3);
        let plan = grid.plan(grid.cells()[4]).unwrap();
        assert_eq!(plan.train.max_steps, 200);
        assert_eq!(plan.train.log_every, 20);
        assert_eq!(plan.train.epsilon, 0.0);
        assert!((plan.train.optim.lr - 1.0).abs() < 1e-12);
        let DataPlan::Synthetic(data) = &plan.data else {
            panic!("synthetic data")
        };
        assert_eq!((data.n_train, data.width), (1000, 10));
        // The standard init: A_ij ~ N(0, 1/d), sd s/d with s = √10.
        assert!((plan.initial_sd / 10.0 - 10f64.sqrt().recip()).abs() < 1e-4);
        assert_eq!(TransferSettings::default().to_query(), "");
    }

    #[test]
    fn the_query_round_trips_and_sets_the_grid() {
        let mut s = TransferSettings::default();
        for (key, value) in [
            ("parametrization", "standard"),
            ("optimizer", "adam"),
            ("lr_min", "1e-4"),
            ("lr_max", "0.1"),
            ("lr_points", "4"),
            ("depths", "3,6,12"),
            ("seeds", "5"),
            ("max_steps", "10"),
            ("workers", "1"),
        ] {
            s.set(key, value);
        }
        let back = TransferSettings::from_query(&format!("?view=transfer&{}&x=1", s.to_query()));
        assert_eq!(back, s);
        let grid = back.grid().unwrap();
        assert_eq!(back.workers(), Ok(1));
        assert_eq!(TransferSettings::default().workers(), Ok(0));
        assert_eq!(grid.parametrizations, [Parametrization::Standard]);
        assert_eq!((grid.lrs.len(), grid.lrs[3]), (4, 0.1));
        assert_eq!(
            (grid.depths.as_slice(), grid.seeds.as_slice()),
            (&[3, 6, 12][..], &[5][..])
        );
        // Fewer updates than LOG_EVERY: the loss is measured at the end only.
        assert_eq!(grid.plan(grid.cells()[0]).unwrap().train.log_every, 10);
    }

    #[test]
    fn bad_values_are_refused_at_their_field() {
        // (the field set, its value, what its message says)
        let cases = [
            ("parametrization", "mup", "one of"),
            ("lr_min", "0", "> 0"),
            ("lr_max", "0.001", "not above lr_min"),
            ("lr_points", "1", "from 2"),
            ("depths", "4,8", "at least 3"),
            ("depths", "1,2,3,4,5,6,7,8,9,10,11,12,13", "at most 12"),
            ("seeds", "", "not a whole number"),
            ("width", "0", "at least 1"),
            ("n_samples", "many", "not a whole number"),
            ("batch_size", "0", "at least 1"),
            ("max_steps", "0", "at least 1"),
            ("initial_sd", "-1", "> 0"),
            ("workers", "65", "at most 64"),
            ("workers", "all", "not a whole number"),
        ];
        for (key, value, says) in cases {
            let mut s = TransferSettings::default();
            s.set(key, value);
            let err = s.grid().unwrap_err();
            assert_eq!(err.key, key, "{key} = {value}: {err:?}");
            assert!(err.message.contains(says), "{key} = {value}: {err:?}");
        }
    }
}
