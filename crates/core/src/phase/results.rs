//! `phase.json`: the config of a phase diagram and every cell computed so far, so that a run
//! resumes column by column.

use super::cells::PhaseCell;
use super::heat_map::{HeatMap, Quantity};
use super::Column;
use super::{BadKey, PhaseConfig};
use crate::plot::figure::{Figure, Mark, Series};
use serde::{Deserialize, Serialize};

/// The file name of a phase diagram's results in its directory.
pub const FILE: &str = "phase.json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseResults {
    pub config: PhaseConfig,
    /// The computed cells, in the order of [`PhaseConfig::columns`] then β.
    pub cells: Vec<PhaseCell>,
}

impl PhaseResults {
    pub fn new(config: PhaseConfig) -> Self {
        Self {
            config,
            cells: Vec::new(),
        }
    }

    /// Whether the cells of `column` are here.
    pub fn has(&self, column: Column) -> bool {
        self.cells
            .iter()
            .any(|c| c.depth == column.depth && c.hurst == column.hurst)
    }

    /// The columns still to compute.
    pub fn missing(&self) -> Vec<Column> {
        let columns = self.config.columns();
        columns.into_iter().filter(|&c| !self.has(c)).collect()
    }

    /// Adds the cells of a column, keeping the order of the grid.
    pub fn add(&mut self, cells: Vec<PhaseCell>) {
        self.cells.extend(cells);
        let columns = self.config.columns();
        let rank = |c: &PhaseCell| {
            columns
                .iter()
                .position(|k| k.depth == c.depth && k.hurst == c.hurst)
        };
        self.cells
            .sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.beta.total_cmp(&b.beta)));
    }

    /// The cell at (L, H, β), if computed.
    pub fn cell(&self, depth: usize, hurst: f64, beta: f64) -> Option<&PhaseCell> {
        self.cells
            .iter()
            .find(|c| c.depth == depth && c.hurst == hurst && c.beta == beta)
    }

    /// The heat map over (H, β) of the median of `quantity` at depth L.
    pub fn heat_map(&self, depth: usize, quantity: Quantity) -> HeatMap {
        let (hursts, betas) = (self.config.hursts.values(), self.config.betas.values());
        let values = betas
            .iter()
            .flat_map(|&beta| {
                hursts.iter().map(move |&hurst| {
                    self.cell(depth, hurst, beta)
                        .map(|c| quantity.of(c).median.map_or(f64::INFINITY, f64::log10))
                })
            })
            .collect();
        let mut map = HeatMap::new(quantity, depth, hursts, betas, values);
        let transition = self.transition(quantity).into_iter();
        map.transition = transition.filter_map(|(h, b)| Some((h, b?))).collect();
        map
    }

    /// The slope of log(median `quantity`) against log L over the depths at (H, β): > 0 where
    /// it grows with depth, +∞ where a depth overflowed; `None` with fewer than two depths
    /// or a cell not computed.
    pub fn depth_slope(&self, quantity: Quantity, hurst: f64, beta: f64) -> Option<f64> {
        let depths = &self.config.depths;
        let mut points = Vec::with_capacity(depths.len());
        for &depth in depths {
            match quantity.of(self.cell(depth, hurst, beta)?).median {
                Some(m) => points.push(((depth as f64).ln(), m.ln())),
                None => return Some(f64::INFINITY),
            }
        }
        (points.len() >= 2).then(|| crate::analysis::fit::least_squares(&points).slope)
    }

    /// For each H, where the transition lies: the β at which the depth slope of `quantity`
    /// ([`Self::depth_slope`]) falls through zero, interpolated linearly between the grid's
    /// β; `None` where it does not change sign on the grid.
    pub fn transition(&self, quantity: Quantity) -> Vec<(f64, Option<f64>)> {
        let betas = self.config.betas.values();
        let crossing = |hurst: f64| {
            let slopes: Vec<(f64, f64)> = betas
                .iter()
                .filter_map(|&b| Some((b, self.depth_slope(quantity, hurst, b)?)))
                .collect();
            slopes.windows(2).find_map(|w| {
                let ((b0, s0), (b1, s1)) = (w[0], w[1]);
                (s0 > 0.0 && s1 <= 0.0).then(|| {
                    if s0.is_infinite() {
                        b1
                    } else {
                        b0 + (b1 - b0) * s0 / (s0 - s1)
                    }
                })
            })
        };
        let hursts = self.config.hursts.values();
        hursts.into_iter().map(|h| (h, crossing(h))).collect()
    }

    /// The median of `quantity` against L (log-log) at the H nearest ½, one line per β of
    /// up to five spread over the grid.
    pub fn trend_figure(&self, quantity: Quantity) -> Figure {
        let (hursts, betas) = (self.config.hursts.values(), self.config.betas.values());
        let hurst = *hursts
            .iter()
            .min_by(|a, b| (*a - 0.5).abs().total_cmp(&(*b - 0.5).abs()))
            .expect("a non-empty axis");
        let title = format!("{} against depth, H = {hurst:.2}", quantity.formula());
        let mut figure = Figure::new(title, "depth L", "median ratio").log_log();
        let n = betas.len();
        let picked: Vec<usize> = match n {
            ..=5 => (0..n).collect(),
            _ => (0..5).map(|i| i * (n - 1) / 4).collect(),
        };
        for (colour, &i) in picked.iter().enumerate() {
            let points = self.config.depths.iter().filter_map(|&l| {
                let median = quantity.of(self.cell(l, hurst, betas[i])?).median?;
                Some((l as f64, median))
            });
            let label = format!("β = {:.2}", betas[i]);
            figure = figure.with(Series::new(label, points.collect(), Mark::Line, colour));
        }
        figure
    }

    pub fn to_json(&self) -> String {
        crate::io::file::json_text(self)
    }

    pub fn from_json(text: &str) -> Result<Self, PhaseFileError> {
        let results: Self = serde_json::from_str(text)?;
        results.config.check()?;
        Ok(results)
    }
}

/// A `phase.json` that does not parse, or whose config is invalid.
#[derive(Debug, thiserror::Error)]
pub enum PhaseFileError {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Config(#[from] BadKey),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::activation::Activation;
    use crate::phase::{Axis, Block};
    use crate::testing::TestBackend as B;

    /// The grid of `hursts` × `betas` over depths 25, 100, 400, computed whole.
    fn computed(hursts: Vec<f64>, betas: Vec<f64>) -> PhaseResults {
        computed_with(Block::Eq1, Activation::Tanh, hursts, betas)
    }

    fn computed_with(
        block: Block,
        activation: Activation,
        hursts: Vec<f64>,
        betas: Vec<f64>,
    ) -> PhaseResults {
        let config = PhaseConfig {
            block,
            activation,
            width: 16,
            depths: vec![25, 100, 400],
            betas: Axis::List(betas),
            hursts: Axis::List(hursts),
            n_networks: 3,
            n_inputs: 8,
            ..PhaseConfig::default()
        };
        let mut results = PhaseResults::new(config);
        for column in results.missing() {
            let cells = results.config.column::<B>(column, &Default::default());
            results.add(cells);
        }
        assert!(results.missing().is_empty());
        results
    }

    #[test]
    fn iid_weights_change_regime_at_one_half_and_fgn_at_h() {
        // H = ½ is i.i.d.: the ratio grows with L below β = ½ and shrinks above.
        let betas = vec![0.2, 0.35, 0.65, 0.8, 0.95];
        let results = computed(vec![0.5, 0.8], betas);
        let slope = |h, b| results.depth_slope(Quantity::Forward, h, b).unwrap();
        assert!(
            slope(0.5, 0.35) > 0.05 && slope(0.5, 0.65) < -0.05,
            "{results:?}"
        );
        for (hurst, want) in [(0.5, 0.5), (0.8, 0.8)] {
            let (h, found) =
                results.transition(Quantity::Forward)[if hurst == 0.5 { 0 } else { 1 }];
            let found = found.unwrap_or_else(|| panic!("no transition at H = {h}"));
            eprintln!("H = {hurst}: transition at β = {found:.3}");
            assert!(
                (found - want).abs() < 0.1,
                "H = {hurst}: β = {found}, expected ≈ {want}"
            );
        }
        let back = results.transition(Quantity::Backward);
        eprintln!("backward: {back:?}");
    }

    #[test]
    fn relu_drifts_on_eq_1_up_to_beta_one() {
        // σ(A_k h) ≥ 0 has a mean of norm ‖h‖/√(2π) in every layer: for i.i.d. weights the
        // ratio still grows with L at β = 0.75 (Marion et al.'s res-3 would shrink there).
        let results = computed_with(Block::Eq1, Activation::Relu, vec![0.5], vec![0.75, 1.25]);
        let slope = |b| results.depth_slope(Quantity::Forward, 0.5, b).unwrap();
        assert!(slope(0.75) > 0.1, "{results:?}");
        assert!(slope(1.25) < -0.1, "{results:?}");
    }

    #[test]
    fn relu_on_res3_changes_regime_at_one_half() {
        // V_k σ(W_k h) is zero-mean: no drift, and i.i.d. weights cross over at β = ½.
        let betas = vec![0.3, 0.75];
        let results = computed_with(Block::Res3, Activation::Relu, vec![0.5], betas);
        let slope = |b| results.depth_slope(Quantity::Forward, 0.5, b).unwrap();
        assert!(slope(0.3) > 0.05, "{results:?}");
        assert!(slope(0.75) < -0.05, "{results:?}");
    }

    #[test]
    fn results_round_trip_and_resume_by_column() {
        let results = computed(vec![0.3], vec![0.5]);
        let back = PhaseResults::from_json(&results.to_json()).unwrap();
        assert_eq!(back, results);
        let mut partial = PhaseResults::new(results.config.clone());
        let columns = partial.missing();
        assert_eq!(columns.len(), 3);
        // Adding out of order keeps the grid's order.
        for c in columns.iter().rev() {
            partial.add(
                results
                    .cells
                    .iter()
                    .filter(|k| k.depth == c.depth)
                    .cloned()
                    .collect(),
            );
        }
        assert_eq!(partial, results);
    }
}
