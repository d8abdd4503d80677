//! The files of a transfer grid's directory and `transfer.json`, what `native transfer`
//! measured: per parametrization, its [`Transfer`] and the paper's analysis of the trained
//! weights at each depth's best η.
//!
//! ```text
//! DIR/transfer.toml              the grid (TransferConfig)
//! DIR/<parametrization>/lr-<η>/  one sweep's run directory per cell (Cell::dir_name)
//! DIR/transfer.json              TransferResults
//! DIR/figures/NAME.svg, .png     the figures; DIR/report.html
//! ```

use super::grid::TransferConfig;
use super::optimum::Transfer;
use crate::analysis::Analysis;
use serde::{Deserialize, Serialize};

/// The grid's file in its directory.
pub const CONFIG: &str = "transfer.toml";
/// The results' file in its directory.
pub const FILE: &str = "transfer.json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferResults {
    pub config: TransferConfig,
    pub parametrizations: Vec<Parametrized>,
}

/// One parametrization's transfer and, at each depth's best η (all its seeds), the analysis
/// of the trained weights (`None` when no depth had an η where no seed diverged).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parametrized {
    pub transfer: Transfer,
    pub at_best: Option<Analysis>,
}
