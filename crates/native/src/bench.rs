//! `native bench`: SGD steps per second of the training step, after a warm-up.

use crate::backend::Job;
use burn::backend::Autodiff;
use burn::tensor::{backend::Backend, ElementConversion};
use clap::{Args, ValueEnum};
use scaling_core::init::{normal_vec, rng};
use scaling_core::train::{matrix, Sgd, TrainConfig};
use scaling_core::{autodiff_loss_and_gradients, Activation, DeltaMode, ResNetConfig};
use serde::Serialize;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The explicit adjoint recursion over the stacked weights.
    Adjoint,
    /// burn's reverse-mode autodiff through the forward pass.
    Autodiff,
}

#[derive(Args, Clone, Debug)]
pub struct BenchArgs {
    /// Width d.
    #[arg(long, default_value_t = 10)]
    pub width: usize,
    /// Batch size B.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Depth L.
    #[arg(long, default_value_t = 100)]
    pub depth: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    #[arg(long, value_enum, default_value_t = Method::Adjoint)]
    pub method: Method,
}

#[derive(Serialize)]
struct BenchLine {
    backend: &'static str,
    method: Method,
    width: usize,
    batch: usize,
    depth: usize,
    steps: usize,
    steps_per_sec: f64,
    ms_per_step: f64,
}

pub struct BenchJob(pub BenchArgs);

impl Job for BenchJob {
    type Output = String;

    /// Times SGD steps (gradient and update) of a tanh net with shared δ on a random batch.
    fn run<B: Backend>(self, device: B::Device, backend: &'static str) -> String {
        let args = self.0;
        let (d, n) = (args.width, args.batch);
        let config = ResNetConfig::new(d, args.depth, Activation::Tanh, DeltaMode::Shared);
        let mut model = config.init::<B>(&device);
        let mut r = rng(0, 1);
        let x = matrix::<B>(normal_vec(&mut r, n * d, 1.0), d, &device);
        let y = matrix::<B>(normal_vec(&mut r, n * d, 1.0), d, &device);
        let mut sgd = Sgd::new(&TrainConfig::new(n, 1e-3, 0.0, 1));
        let mut step = || {
            let (_, grads) = match args.method {
                Method::Adjoint => model.loss_and_gradients(x.clone(), y.clone()),
                Method::Autodiff => {
                    autodiff_loss_and_gradients::<Autodiff<B>>(&model, x.clone(), y.clone())
                }
            };
            model = sgd.step(model.clone(), grads);
            // Reading a value waits for the device, so that asynchronous backends are timed.
            let _: f32 = model.b.val().sum().into_scalar().elem();
        };
        for _ in 0..args.warmup {
            step();
        }
        let start = Instant::now();
        for _ in 0..args.steps {
            step();
        }
        let secs = start.elapsed().as_secs_f64();
        let line = BenchLine {
            backend,
            method: args.method,
            width: d,
            batch: n,
            depth: args.depth,
            steps: args.steps,
            steps_per_sec: args.steps as f64 / secs,
            ms_per_step: 1e3 * secs / args.steps as f64,
        };
        serde_json::to_string(&line).expect("serialisable")
    }
}
