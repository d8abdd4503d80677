//! Serialisable results of training runs and sweeps.

use serde::{Deserialize, Serialize};

/// Why training stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// The training loss fell below ε.
    Converged,
    /// Tmax updates were made.
    MaxSteps,
    /// The loss stopped improving (the plateau rule, with `patience`).
    Plateau,
    /// The loss became NaN or infinite.
    Diverged,
}

/// The training loss on the whole training set after `step` updates (`None`: not finite).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossPoint {
    pub step: usize,
    pub train_loss: Option<f64>,
}

/// What a training run did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainOutcome {
    pub steps: usize,
    pub stop_reason: StopReason,
    pub final_train_loss: Option<f64>,
    pub final_test_loss: Option<f64>,
    /// The fraction of test images classified right (classifiers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_test_accuracy: Option<f64>,
    pub history: Vec<LossPoint>,
}

/// The result of one depth of a sweep (`depth_<L>/result.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DepthResult {
    pub depth: usize,
    pub wall_time_s: f64,
    #[serde(flatten)]
    pub outcome: TrainOutcome,
}

/// One line of `summary.json`: a network's result without its loss history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DepthSummary {
    pub depth: usize,
    /// The network's seed (in sweeps with several seeds; older summaries have none).
    #[serde(default)]
    pub seed: u64,
    pub steps: usize,
    pub stop_reason: StopReason,
    pub final_train_loss: Option<f64>,
    pub final_test_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_test_accuracy: Option<f64>,
    pub wall_time_s: f64,
}

impl DepthSummary {
    /// The summary of the network with seed `seed` whose result is `r`.
    pub fn of(r: &DepthResult, seed: u64) -> Self {
        Self {
            depth: r.depth,
            seed,
            steps: r.outcome.steps,
            stop_reason: r.outcome.stop_reason,
            final_train_loss: r.outcome.final_train_loss,
            final_test_loss: r.outcome.final_test_loss,
            final_test_accuracy: r.outcome.final_test_accuracy,
            wall_time_s: r.wall_time_s,
        }
    }
}

/// `summary.json`: the finished networks of a sweep, by increasing depth, then seed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub depths: Vec<DepthSummary>,
}

/// `Some(x)` when x is finite (JSON has no NaN or ∞).
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}
