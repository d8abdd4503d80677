//! The paper's fully connected experiments, each under SGD (the paper's text, Appendix A)
//! and Adam (the reference code's `torch.optim.Adam`), with the paper's numbers beside
//! ours: what `native reproduce` runs and tabulates.
//!
//! Three scales. `paper`: Appendix A (synthetic N = 10⁴, MNIST N = 6·10⁴, depths ⌊1.2^n⌋ up
//! to 10⁴, B = 500, ε = 10⁻⁴, Tmax = 10⁵ / 2·10⁵, SGD η = 0.05 / 0.1), a GPU's or a cluster's
//! work, read from the experiment's file in `configs/` (its one source: the init scale, the
//! loss's interval). `quick`: the reference code's setting (N = 1024 + 256, B = 32, init xavier-depth
//! with s = 0.01, ε = 10⁻³, at most 200 epochs) at its default depths 3..850 (⌊1.2^n⌋ ≤
//! 1000), minutes on a laptop. `capped`: the paper's settings at depths capped to fit about 2
//! hours on 2 cores ([`capped_depth_max`]). Every experiment runs the seeds 0, 1, 2. Between the two rows
//! of an experiment the optimiser, its η and its stopping rule differ, each as its source
//! has it: SGD (η = 0.05 synthetic, 0.1 MNIST, the paper's) stops at ε or Tmax, as the paper
//! says; Adam (η = 0.01, the reference code's) also on the reference code's plateau rule
//! (5 epochs without a 1% improvement).

use crate::analysis::conservation::Balance;
use crate::analysis::fit::PowerLaw;
use crate::analysis::{Analysis, PathName, Regime, Statistic};
use crate::model::activation::Activation;
use crate::sweep::config::{DatasetName, DeltaName, InitName, OptimizerName, SweepConfig};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    Quick,
    Paper,
    /// The paper's settings at depths capped to fit the whole table (24 sweeps) in about 2
    /// hours on 2 cores: see [`capped_depth_max`].
    Capped,
}

/// The deepest L of `--scale capped`: 197 for the synthetic data (d = 10, Tmax = 10⁵) and 26
/// for MNIST (d = 25, Tmax = 2·10⁵, about six times the cost of a synthetic layer). Measured
/// on an idle 2-core machine (2026-12-05, docs/reproduction.md: each experiment's time at 5,000
/// and 10,000 updates, a line in the updates), a synthetic sweep of one seed to L = 197 takes
/// about 4.9 minutes and an MNIST one to L = 26 about 6, every network to Tmax: 12 sweeps of
/// each make about 58 and 71 minutes, the table about 2.2 hours.
pub fn capped_depth_max(dataset: DatasetName) -> usize {
    match dataset {
        DatasetName::Mnist => 26,
        _ => 197,
    }
}

/// One of the paper's fully connected experiments and what the paper reports for it.
#[derive(Clone, Copy, Debug)]
pub struct Experiment {
    /// The run directory's name: `<data>-<σ>-<δ>`.
    pub name: &'static str,
    pub dataset: DatasetName,
    pub activation: Activation,
    pub delta: DeltaName,
    /// The paper's β of max_k ‖W_k‖ on the main path (where this project's notes of the paper
    /// record one), and its regime.
    pub paper_beta: Option<f64>,
    pub paper_regime: Regime,
    /// `configs/<name>.toml`: the experiment at the paper's scale under SGD.
    pub paper_config: &'static str,
}

/// The four experiments: the paper's Figures 1–5 and their MNIST counterparts.
pub const EXPERIMENTS: [Experiment; 4] = [
    Experiment {
        name: "synthetic-tanh-shared",
        dataset: DatasetName::Synthetic,
        activation: Activation::Tanh,
        delta: DeltaName::Shared,
        paper_beta: Some(0.2),
        paper_regime: Regime::Smooth,
        paper_config: include_str!("../../../../configs/synthetic-tanh-shared.toml"),
    },
    Experiment {
        name: "synthetic-relu-per-layer",
        dataset: DatasetName::Synthetic,
        activation: Activation::Relu,
        delta: DeltaName::PerLayer,
        paper_beta: Some(0.5),
        paper_regime: Regime::Diffusive,
        paper_config: include_str!("../../../../configs/synthetic-relu-per-layer.toml"),
    },
    Experiment {
        name: "mnist-relu-per-layer",
        dataset: DatasetName::Mnist,
        activation: Activation::Relu,
        delta: DeltaName::PerLayer,
        paper_beta: Some(0.4),
        paper_regime: Regime::Diffusive,
        paper_config: include_str!("../../../../configs/mnist-relu-per-layer.toml"),
    },
    Experiment {
        name: "mnist-tanh-shared",
        dataset: DatasetName::Mnist,
        activation: Activation::Tanh,
        delta: DeltaName::Shared,
        // The paper's claim for a smooth σ; no exponent of its own in our notes.
        paper_beta: None,
        paper_regime: Regime::Smooth,
        paper_config: include_str!("../../../../configs/mnist-tanh-shared.toml"),
    },
];

/// The optimisers of the two rows of every experiment.
pub const OPTIMIZERS: [OptimizerName; 2] = [OptimizerName::Sgd, OptimizerName::Adam];

impl Experiment {
    /// The sweep of this experiment under `optimizer` at `scale`.
    pub fn config(&self, optimizer: OptimizerName, scale: Scale) -> SweepConfig {
        let mnist = self.dataset == DatasetName::Mnist;
        let base = SweepConfig {
            dataset: self.dataset,
            activation: self.activation,
            delta: self.delta,
            optimizer,
            seeds: Some(vec![0, 1, 2]),
            ..SweepConfig::default()
        };
        let sgd_lr = if mnist { 0.1 } else { 0.05 };
        let lr = match optimizer {
            OptimizerName::Sgd => sgd_lr,
            OptimizerName::Adam => 0.01,
        };
        match scale {
            Scale::Quick => SweepConfig {
                n_samples: 1024,
                n_test: 256,
                init: InitName::XavierDepth,
                initial_sd: 0.01,
                depth_min: Some(3),
                depth_max: Some(1000),
                depth_base: Some(1.2),
                batch_size: 32,
                lr,
                epsilon: 1e-3,
                max_steps: 200 * 32,
                log_every: 32,
                patience: (optimizer == OptimizerName::Adam).then_some(5),
                ..base
            },
            Scale::Paper | Scale::Capped => {
                let paper = self.paper_sgd();
                let depth_max = match scale {
                    Scale::Capped => Some(capped_depth_max(self.dataset)),
                    _ => paper.depth_max,
                };
                SweepConfig {
                    optimizer,
                    lr: match optimizer {
                        OptimizerName::Sgd => paper.lr,
                        OptimizerName::Adam => lr,
                    },
                    seeds: base.seeds,
                    depth_max,
                    ..paper
                }
            }
        }
    }

    /// The experiment at the paper's scale under SGD, as `configs/<name>.toml` has it.
    fn paper_sgd(&self) -> SweepConfig {
        toml::from_str(self.paper_config)
            .unwrap_or_else(|e| panic!("configs/{}.toml: {e}", self.name))
    }

    /// The run directory of this experiment under `optimizer`.
    pub fn dir_name(&self, optimizer: OptimizerName) -> String {
        format!("{}-{}", self.name, optimizer.name())
    }
}

/// One row of the reproduction table: an experiment under one optimiser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub experiment: String,
    pub optimizer: OptimizerName,
    /// The run directory's name (see [`Experiment::dir_name`]).
    pub dir: String,
    pub paper_beta: Option<f64>,
    pub paper_regime: Regime,
    /// The path the verdict is about (A or δ_k A_k).
    pub path: PathName,
    pub beta: Option<PowerLaw>,
    /// α of max_k |δ_k| ≈ L^{−α}.
    pub alpha: Option<PowerLaw>,
    pub regime: Regime,
    pub explanation: String,
    /// Networks in the fits, and all networks.
    pub used: usize,
    pub networks: usize,
    /// The balance δ² − Σ‖W_k‖² of every network (see [`crate::analysis::conservation`]).
    pub balances: Vec<Balance>,
}

impl Row {
    pub fn new(
        experiment: &Experiment,
        optimizer: OptimizerName,
        analysis: &Analysis,
        balances: Vec<Balance>,
    ) -> Self {
        let law = |path: PathName| {
            analysis
                .path(path)
                .and_then(|p| p.fits.get(&Statistic::MaxNorm))
                .and_then(|f| f.power_law())
                .cloned()
        };
        Row {
            experiment: experiment.name.to_string(),
            optimizer,
            dir: experiment.dir_name(optimizer),
            paper_beta: experiment.paper_beta,
            paper_regime: experiment.paper_regime,
            path: analysis.main_path,
            beta: analysis.verdict.beta.clone(),
            alpha: law(PathName::Delta),
            regime: analysis.verdict.regime,
            explanation: analysis.verdict.explanation.clone(),
            used: analysis.depths.iter().filter(|e| e.used).count(),
            networks: analysis.depths.len(),
            balances,
        }
    }

    /// The median over the networks of the balance's relative drift.
    pub fn median_drift(&self) -> Option<f64> {
        let mut drifts: Vec<f64> = self.balances.iter().map(|b| b.drift).collect();
        drifts.sort_by(f64::total_cmp);
        drifts.get(drifts.len() / 2).copied()
    }
}

impl Row {
    /// The balance per depth in Markdown, each value the mean over the seeds: δ² (Σ_k δ_k²
    /// per layer), Σ_k (‖A_k‖² + ‖b_k‖²), and the relative drift of the balance.
    pub fn balance_table(&self) -> String {
        let mut depths: Vec<usize> = self.balances.iter().map(|b| b.depth).collect();
        depths.dedup();
        let mut out =
            String::from("| L | δ² | Σ‖A_k‖² + ‖b_k‖² | drift of δ² − Σ |\n|---|---|---|---|\n");
        for l in depths {
            let at: Vec<&Balance> = self.balances.iter().filter(|b| b.depth == l).collect();
            let mean =
                |f: fn(&Balance) -> f64| at.iter().map(|b| f(b)).sum::<f64>() / at.len() as f64;
            out += &format!(
                "| {l} | {:.3e} | {:.3e} | {:.3} |\n",
                mean(|b| b.delta_sq),
                mean(|b| b.weights_sq),
                mean(|b| b.drift)
            );
        }
        out
    }
}

/// "0.213 [0.19, 0.24]", or "no fit".
fn exponent(p: &Option<PowerLaw>) -> String {
    p.as_ref().map_or("no fit".into(), |p| p.with_interval(3))
}

/// The reproduction table in Markdown: one row per experiment and optimiser.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| experiment | optimiser | path | paper β | paper regime | our β [95% CI] | our α of δ [95% CI] | our regime | networks used | balance drift (median) |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} of {} | {} |\n",
            r.experiment,
            r.optimizer.name(),
            r.path.name(),
            r.paper_beta.map_or("—".into(), |b| format!("≈ {b}")),
            r.paper_regime.label(),
            exponent(&r.beta),
            exponent(&r.alpha),
            r.regime.label(),
            r.used,
            r.networks,
            r.median_drift().map_or("—".into(), |d| format!("{d:.3}")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--scale paper` is `configs/<name>.toml` with the row's optimiser and the seeds 0, 1, 2:
    /// the file is the experiment it names, and its η is the SGD η of the quick scale.
    #[test]
    fn the_paper_scale_is_the_experiments_config_file() {
        for e in EXPERIMENTS {
            let file = e.paper_sgd();
            assert_eq!(
                (file.dataset, file.activation, file.delta),
                (e.dataset, e.activation, e.delta),
                "configs/{}.toml",
                e.name
            );
            let sgd = e.config(OptimizerName::Sgd, Scale::Paper);
            assert_eq!(sgd.seeds, Some(vec![0, 1, 2]), "{}", e.name);
            assert_eq!(
                SweepConfig {
                    seeds: file.seeds.clone(),
                    ..sgd.clone()
                },
                file,
                "{}",
                e.name
            );
            assert_eq!(
                sgd.lr,
                e.config(OptimizerName::Sgd, Scale::Quick).lr,
                "{}",
                e.name
            );
            let adam = e.config(OptimizerName::Adam, Scale::Paper);
            assert_eq!((adam.optimizer, adam.lr), (OptimizerName::Adam, 0.01));
            assert!(sgd.plan().is_ok() && adam.plan().is_ok(), "{}", e.name);
            // The capped scale is the paper's but for its deepest L.
            let capped = e.config(OptimizerName::Sgd, Scale::Capped);
            let depth_max = Some(capped_depth_max(e.dataset));
            assert_eq!(capped, SweepConfig { depth_max, ..sgd }, "{}", e.name);
        }
    }
}
