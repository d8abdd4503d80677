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

impl DepthResult {
    /// Checks that the values are in range for a network of a sweep with at most `max_steps`
    /// updates: losses and the wall time finite and ≥ 0, an accuracy in [0, 1], steps within
    /// Tmax and the history's steps increasing up to them. The error names the field.
    pub fn check(&self, max_steps: usize) -> Result<(), OutOfRange> {
        let o = &self.outcome;
        let history = o
            .history
            .iter()
            .map(|p| ("history train_loss", p.train_loss));
        let losses = [
            ("final_train_loss", o.final_train_loss),
            ("final_test_loss", o.final_test_loss),
        ];
        for (field, value) in losses.into_iter().chain(history) {
            if let Some(v) = value.filter(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(OutOfRange::new(field, v, "not a loss (finite, ≥ 0)"));
            }
        }
        if !(self.wall_time_s.is_finite() && self.wall_time_s >= 0.0) {
            return Err(OutOfRange::new(
                "wall_time_s",
                self.wall_time_s,
                "not a duration",
            ));
        }
        if let Some(a) = o.final_test_accuracy.filter(|a| !(0.0..=1.0).contains(a)) {
            return Err(OutOfRange::new("final_test_accuracy", a, "not in [0, 1]"));
        }
        if o.steps > max_steps {
            return Err(OutOfRange::new(
                "steps",
                o.steps,
                format!("above Tmax = {max_steps}"),
            ));
        }
        let steps: Vec<usize> = o.history.iter().map(|p| p.step).collect();
        if steps.windows(2).any(|w| w[0] >= w[1]) || steps.last().is_some_and(|&s| s > o.steps) {
            return Err(OutOfRange::new(
                "history",
                format!("{steps:?}"),
                format!("not increasing up to `steps` = {}", o.steps),
            ));
        }
        Ok(())
    }
}

/// A value of a result file out of its range, naming its field: "`field` is value, why".
#[derive(Debug, thiserror::Error)]
#[error("`{field}` is {value}, {why}")]
pub struct OutOfRange {
    pub field: &'static str,
    pub value: String,
    pub why: String,
}

impl OutOfRange {
    fn new(field: &'static str, value: impl ToString, why: impl Into<String>) -> Self {
        Self {
            field,
            value: value.to_string(),
            why: why.into(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_out_of_range_name_their_field() {
        let good = DepthResult {
            depth: 3,
            wall_time_s: 0.5,
            outcome: TrainOutcome {
                steps: 20,
                stop_reason: StopReason::MaxSteps,
                final_train_loss: Some(0.1),
                final_test_loss: None,
                final_test_accuracy: Some(0.5),
                history: vec![
                    LossPoint {
                        step: 0,
                        train_loss: Some(1.0),
                    },
                    LossPoint {
                        step: 20,
                        train_loss: Some(0.1),
                    },
                ],
            },
        };
        good.check(20).unwrap();
        let mut bad = good.clone();
        bad.outcome.final_train_loss = Some(-1.0);
        assert!(bad
            .check(20)
            .unwrap_err()
            .to_string()
            .contains("`final_train_loss` is -1"));
        let mut bad = good.clone();
        bad.outcome.history[0].train_loss = Some(-0.5);
        assert!(bad.check(20).unwrap_err().to_string().contains("history"));
        let mut bad = good.clone();
        bad.wall_time_s = -3.0;
        assert!(bad
            .check(20)
            .unwrap_err()
            .to_string()
            .contains("`wall_time_s` is -3"));
        let mut bad = good.clone();
        bad.outcome.final_test_accuracy = Some(1.5);
        assert!(bad.check(20).unwrap_err().to_string().contains("accuracy"));
        assert!(good
            .check(19)
            .unwrap_err()
            .to_string()
            .contains("above Tmax"));
        let mut bad = good.clone();
        bad.outcome.history[1].step = 0;
        assert!(bad
            .check(20)
            .unwrap_err()
            .to_string()
            .contains("not increasing"));
    }
}
