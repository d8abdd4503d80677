//! What a sweep's process shows while it trains: a bar for every network in training
//! (several at once with `--jobs`) and, below them, the whole process's work in
//! layer-updates (an update of a depth-L network counts L, the shard planner's cost) with its
//! ETA. The bars are drawn on a terminal only; without one (a log file, a Slurm task) each
//! network's end is a line with the share of the work done and the ETA. Lines given to
//! [`Progress::println`] are printed either way, above the bars.

use indicatif::{HumanDuration, MultiProgress, ProgressBar, ProgressStyle};
use scaling_core::train::results::TrainOutcome;
use std::cell::Cell;

/// The bars of one process.
pub struct Progress {
    bars: MultiProgress,
    total: ProgressBar,
}

/// The bar of one network, which also moves the total.
pub struct NetworkBar<'a> {
    progress: &'a Progress,
    bar: ProgressBar,
    depth: u64,
    /// The step the total has counted up to.
    counted: Cell<u64>,
}

/// A bar with `label` before it and `unit` after its counts.
fn bar(len: u64, label: &str, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{per_sec}} eta {{eta}} {{msg}}"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}

impl Progress {
    /// The bars of a process that trains `layer_updates` (Σ L × Tmax of its networks).
    pub fn new(layer_updates: u128) -> Self {
        let bars = MultiProgress::new();
        let len = u64::try_from(layer_updates).unwrap_or(u64::MAX);
        let total = bars.add(bar(len, "all networks", "layer-updates"));
        Self { bars, total }
    }

    /// A bar for the network called `label`, of depth L, trained for at most `max_steps`.
    pub fn network(&self, label: &str, depth: usize, max_steps: usize) -> NetworkBar<'_> {
        let bar = self
            .bars
            .insert_before(&self.total, bar(max_steps as u64, label, "steps"));
        NetworkBar {
            progress: self,
            bar,
            depth: depth as u64,
            counted: Cell::new(0),
        }
    }

    /// Prints `line` on standard output, above the bars.
    pub fn println(&self, line: impl AsRef<str>) {
        self.bars.suspend(|| println!("{}", line.as_ref()));
    }

    /// Ends the total's bar.
    pub fn finish(&self) {
        self.total.abandon();
    }
}

impl NetworkBar<'_> {
    /// The training is at `step`, with this training loss when it was evaluated.
    pub fn show(&self, step: usize, loss: Option<f64>) {
        let step = step as u64;
        self.bar.set_position(step);
        if let Some(loss) = loss {
            self.bar.set_message(format!("loss {loss:.3e}"));
        }
        self.count(step);
    }

    /// Moves the total to this network's `step`.
    fn count(&self, step: u64) {
        let counted = self.counted.replace(step);
        self.progress
            .total
            .inc(self.depth * step.saturating_sub(counted));
    }

    /// The training ended: its outcome on the bar (without a terminal, a log file or a Slurm
    /// task, on a line of its own with the process's progress); the total counts the steps
    /// it will not take.
    pub fn finish(&self, outcome: &TrainOutcome) {
        self.count(self.bar.length().unwrap_or(0));
        let accuracy = outcome.final_test_accuracy.map_or(String::new(), |a| {
            format!(", test accuracy {:.1}%", 100.0 * a)
        });
        let message = format!(
            "{:?} at step {}, train loss {}{accuracy}",
            outcome.stop_reason,
            outcome.steps,
            outcome
                .final_train_loss
                .map_or("not finite".into(), |l| format!("{l:.3e}"))
        );
        if self.bar.is_hidden() {
            let total = &self.progress.total;
            let done = total.position() as f64 / total.length().unwrap_or(1).max(1) as f64;
            self.progress.println(format!(
                "{}: {message} ({:.0}% of this process's work done, eta {})",
                self.bar.prefix(),
                100.0 * done,
                HumanDuration(total.eta())
            ));
        }
        self.bar.abandon_with_message(message);
    }

    /// The training paused (a checkpoint was written).
    pub fn abandon(&self) {
        self.bar.abandon();
    }
}
