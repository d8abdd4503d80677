//! Resource estimates before work: from a checked plan alone, the bytes of memory that a
//! sweep's data, weights, trace and analysis will need at their peak, so that a sweep too
//! large for the machine is refused at once, naming the key that sizes it, instead of
//! aborting hours later.
//!
//! The estimates count f32 values (4 bytes) and are upper bounds of the order of magnitude,
//! not exact: a fully connected net of depth L and width d has P = L(d² + d + 1) parameters.

use crate::conv::resnet as conv_resnet;
use crate::data::cifar;
use crate::sweep::config::{DataPlan, Network, Plan};
use crate::train::optim::Optimizer;

/// Bytes of an f32.
const F32: f64 = 4.0;

/// The peak memory of a sweep, part by part, in bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Memory {
    /// The data set in memory: inputs and targets (and raw files while they are read).
    pub data: f64,
    /// One network at the largest depth while it trains: weights, gradients, the initial
    /// copy, the host copy written out, and the optimiser's state; and while a checkpoint is
    /// written, the weights and that state once more four times (read to the host, as named
    /// tensors, as bytes, encoded).
    pub weights: f64,
    /// What the adjoint keeps: the hidden states of a batch at every layer, and one layer of
    /// the whole training set when its loss is measured.
    pub trace: f64,
    /// `native analyze`: every finished network's weights at once, in f32 and as f64 paths.
    pub analysis: f64,
}

/// A part of the estimate: its name, the config key that sizes it, its bytes.
pub type Part = (&'static str, &'static str, f64);

impl Memory {
    /// The estimate for `plan`.
    pub fn of(plan: &Plan) -> Memory {
        let depth = plan.depths.iter().copied().max().unwrap_or(0) as f64;
        let n = plan.train.batch_size.max(1) as f64;
        let (n_train, n_test) = match &plan.data {
            DataPlan::Synthetic(s) => (s.n_train, s.n_test),
            DataPlan::Mnist(m) => (m.n_train, m.n_test),
            DataPlan::Cifar10 {
                n_train, n_test, ..
            } => (*n_train, *n_test),
        };
        let (n_train, samples) = (n_train as f64, (n_train + n_test) as f64);
        let d = match &plan.network {
            Network::Dense { width } => *width as f64,
            Network::Conv(c) => {
                let (params, activations) = conv_sizes(&plan.depths, c.base_channels);
                return Memory {
                    data: samples * (cifar::PIXELS as f64 * (1.0 + F32) + 1.0),
                    weights: 6.0 * params * F32,
                    // Per block: its input, both convolutions' outputs, their ReLUs and
                    // the gradients of each (the net has no batch norm).
                    trace: 8.0 * n * activations * F32,
                    analysis: 3.0 * params * F32,
                };
            }
        };
        // The MNIST IDX files are read whole: 70000 images of 784 bytes.
        let raw = match plan.data {
            DataPlan::Mnist(_) => 70_000.0 * 784.0,
            _ => 0.0,
        };
        let params = |l: f64| l * (d * d + d + 1.0);
        let state = match plan.train.optim.optimizer {
            Optimizer::Sgd => 1.0,
            Optimizer::Adam { .. } => 2.0,
        };
        let units = plan.seeds.len() as f64;
        let all: f64 = plan.depths.iter().map(|&l| params(l as f64)).sum();
        Memory {
            data: 2.0 * samples * d * F32 + raw,
            weights: (4.0 + state + 4.0 * (1.0 + state)) * params(depth) * F32,
            trace: (2.0 * (depth + 1.0) * n * d + 2.0 * n_train * d) * F32,
            analysis: units * all * (F32 + 16.0),
        }
    }

    /// The peak of a sweep and of its analysis: whichever runs is the larger.
    pub fn total(&self) -> f64 {
        (self.data + self.weights + self.trace).max(self.data + self.analysis)
    }

    /// The largest part, with the key to lower.
    pub fn largest(&self, plan: &Plan) -> Part {
        let width_key = match plan.network {
            Network::Conv(_) => "base_channels",
            Network::Dense { .. } => "width",
        };
        [
            ("data", "n_samples", self.data),
            ("weights", width_key, self.weights),
            ("trace", "batch_size", self.trace),
            ("analysis", "depths", self.analysis),
        ]
        .into_iter()
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .expect("four parts")
    }

    /// `Err` naming the key and the estimate when the plan needs more than `available`
    /// bytes.
    pub fn check(&self, plan: &Plan, available: f64) -> Result<(), TooLarge> {
        if self.total() <= available {
            return Ok(());
        }
        let (part, key, bytes) = self.largest(plan);
        Err(TooLarge {
            key,
            part,
            total: self.total(),
            part_bytes: bytes,
            available,
        })
    }
}

/// A sweep that needs more memory than the machine has, naming the key that sizes its
/// largest part.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{key}`: the sweep needs about {} of memory ({part} {}), more than the {} available",
    human(*.total),
    human(*.part_bytes),
    human(*.available)
)]
pub struct TooLarge {
    pub key: &'static str,
    pub part: &'static str,
    pub total: f64,
    pub part_bytes: f64,
    pub available: f64,
}

/// Parameters, and activations per image, summed over every depth's conv ResNet (the
/// largest dominates), each block two 3×3 convolutions and a 1×1 shortcut when it widens.
fn conv_sizes(depths: &[usize], channels: usize) -> (f64, f64) {
    let blocks = |l| conv_resnet::block_shapes(l, channels).unwrap_or_default();
    let largest = depths.iter().copied().max().unwrap_or(0);
    let params = blocks(largest)
        .iter()
        .map(|b| {
            let (i, o) = (b.c_in as f64, b.c_out as f64);
            9.0 * i * o + 9.0 * o * o + if b.c_in != b.c_out { i * o } else { 0.0 }
        })
        .sum();
    let activations = blocks(largest)
        .iter()
        .map(|b| (b.c_out * (b.side / b.stride).pow(2)) as f64)
        .sum();
    (params, activations)
}

/// Bytes in B, KiB, MiB, GiB or TiB, three significant figures.
pub fn human(bytes: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.3} {}", units[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::config::{DatasetName, OptimizerName, SweepConfig};

    fn plan(config: SweepConfig) -> Plan {
        config.plan().unwrap()
    }

    fn depths(depths: &[usize], width: usize) -> SweepConfig {
        SweepConfig {
            depths: Some(depths.to_vec()),
            width: Some(width),
            ..SweepConfig::default()
        }
    }

    #[test]
    fn estimates_count_the_paper_sizes() {
        // L = 100, d = 10, B = 100, N = 2000 + 500: weights (4 + 1 + 4·2)·100·111·4 bytes.
        let p = plan(depths(&[10, 100], 10));
        let m = Memory::of(&p);
        assert_eq!(m.weights, 13.0 * 100.0 * 111.0 * 4.0);
        assert_eq!(m.data, 2.0 * 2500.0 * 10.0 * 4.0);
        assert_eq!(
            m.trace,
            (2.0 * 101.0 * 100.0 * 10.0 + 2.0 * 2000.0 * 10.0) * 4.0
        );
        assert_eq!(m.analysis, 110.0 * 111.0 * 20.0);
        assert!(m.check(&p, 1e9).is_ok());
        // Adam keeps two moments, and checkpoints them.
        let adam = Memory::of(&plan(SweepConfig {
            optimizer: OptimizerName::Adam,
            ..depths(&[100], 10)
        }));
        assert_eq!(adam.weights, 18.0 * 100.0 * 111.0 * 4.0);
    }

    #[test]
    fn too_large_names_the_key_and_the_estimate() {
        // Adam's two moments make training (24 bytes a parameter) outweigh the analysis (20).
        let wide = plan(SweepConfig {
            optimizer: OptimizerName::Adam,
            ..depths(&[9100], 4096)
        });
        let err = Memory::of(&wide)
            .check(&wide, 16e9)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("`width`: the sweep needs about"), "{err}");
        assert!(err.contains("TiB") && err.contains("available"), "{err}");
        let big_batch = plan(SweepConfig {
            n_samples: 1_000_000,
            batch_size: 1_000_000,
            ..depths(&[9100], 10)
        });
        let err = Memory::of(&big_batch)
            .check(&big_batch, 16e9)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("`batch_size`"), "{err}");
        let cifar = plan(SweepConfig {
            dataset: DatasetName::Cifar10,
            base_channels: Some(1024),
            n_samples: 50_000,
            batch_size: 4096,
            depths: Some(vec![121]),
            ..SweepConfig::default()
        });
        let err = Memory::of(&cifar)
            .check(&cifar, 16e9)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`base_channels`") || err.contains("`batch_size`"),
            "{err}"
        );
        assert_eq!(human(1536.0), "1.500 KiB");
    }
}
