//! `native bench`: SGD steps per second of the training step, after a warm-up.

use crate::backend::{self, BackendChoice, Job};
use burn::backend::Autodiff;
use burn::tensor::ElementConversion;
use clap::{Args, ValueEnum};
use scaling_core::data::synthetic::Dataset;
use scaling_core::model::init::{normal_vec, rng};
use scaling_core::train::fused::FusedStepper;
use scaling_core::train::optim::{Optim, OptimConfig};
use scaling_core::train::session::{matrix, Stepper, TrainConfig};
use scaling_core::Scan;
use scaling_core::{autodiff_loss_and_gradients, Activation, DeltaMode, ResNetConfig};
use serde::Serialize;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The explicit adjoint recursion over the stacked weights: on CUDA and wgpu, the
    /// forward and the adjoint pass are one kernel launch each (scaling_core::model::cube).
    Adjoint,
    /// burn's reverse-mode autodiff through the forward pass.
    Autodiff,
    /// The fused CPU step (scaling_core::train::fused), whatever the backend.
    Fused,
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
    /// The step: fused when the backend is the CPU (`cpu`, or `auto` without a GPU), else
    /// the adjoint on the burn backend.
    #[arg(long, value_enum)]
    pub method: Option<Method>,
    /// Worker threads of the fused step (0: its own choice).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Layers per segment of the fused step's trace (0: its own choice).
    #[arg(long, default_value_t = 0)]
    pub segment: usize,
    /// Whether the fused step writes its trace past the caches (unset: its own choice, past
    /// them when the trace outgrows a quarter of the last-level cache).
    #[arg(long)]
    pub stream: Option<bool>,
    /// The activation σ (the paper's sweeps: tanh or relu).
    #[arg(long, default_value = "tanh", value_parser = parse_activation)]
    pub activation: Activation,
    /// The step sizes δ_k: one trained δ, or one per layer.
    #[arg(long, value_enum, default_value_t = BenchDelta::Shared)]
    pub delta: BenchDelta,
}

/// The δ modes the benchmark offers (both trained, as in the paper's sweeps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BenchDelta {
    Shared,
    PerLayer,
}

impl From<BenchDelta> for DeltaMode {
    fn from(delta: BenchDelta) -> Self {
        match delta {
            BenchDelta::Shared => DeltaMode::Shared,
            BenchDelta::PerLayer => DeltaMode::PerLayer,
        }
    }
}

/// An activation from its name in configs (`tanh`, `relu`, …).
fn parse_activation(name: &str) -> Result<Activation, String> {
    Activation::ALL
        .into_iter()
        .find(|a| a.name() == name)
        .ok_or_else(|| {
            let names = Activation::NAMES.join(", ");
            format!("unknown activation {name:?}: one of {names}")
        })
}

#[derive(Serialize)]
struct BenchLine {
    backend: &'static str,
    method: Method,
    /// The fused step's instruction set and worker threads.
    #[serde(skip_serializing_if = "Option::is_none")]
    isa: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    threads: Option<usize>,
    /// Layers per segment of the fused step's trace (= depth: the whole trace is kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    segment: Option<usize>,
    /// Whether the fused step's trace is written past the caches.
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    activation: &'static str,
    delta: BenchDelta,
    width: usize,
    batch: usize,
    depth: usize,
    steps: usize,
    steps_per_sec: f64,
    ms_per_step: f64,
}

/// Runs the benchmark on the chosen backend; one JSON line.
pub fn run(args: BenchArgs, choice: BackendChoice) -> anyhow::Result<String> {
    let fused = backend::fused(choice);
    match args.method {
        Some(Method::Fused) => Ok(bench_fused(&args)),
        None if fused => Ok(bench_fused(&args)),
        _ => backend::run(choice, BenchJob(args)),
    }
}

/// The benchmarked network: σ, δ mode, width d, depth L, its SGD settings and a random batch
/// (x, y) of B rows.
fn problem(args: &BenchArgs) -> (ResNetConfig, TrainConfig, Vec<f32>, Vec<f32>) {
    let (d, n) = (args.width, args.batch);
    let config = ResNetConfig::new(d, args.depth, args.activation, args.delta.into());
    let mut r = rng(0, 1);
    let x = normal_vec(&mut r, n * d, 1.0);
    let y = normal_vec(&mut r, n * d, 1.0);
    (
        config,
        TrainConfig::new(n, OptimConfig::new(1e-3), 0.0, 1),
        x,
        y,
    )
}

/// Times `step` after the warm-up: (steps per second, milliseconds per step).
fn time(args: &BenchArgs, mut step: impl FnMut()) -> (f64, f64) {
    for _ in 0..args.warmup {
        step();
    }
    let start = Instant::now();
    for _ in 0..args.steps {
        step();
    }
    let secs = start.elapsed().as_secs_f64();
    (args.steps as f64 / secs, 1e3 * secs / args.steps as f64)
}

fn line(args: &BenchArgs, backend: &'static str, method: Method, timing: (f64, f64)) -> BenchLine {
    BenchLine {
        backend,
        method,
        isa: None,
        threads: None,
        segment: None,
        stream: None,
        activation: args.activation.name(),
        delta: args.delta,
        width: args.width,
        batch: args.batch,
        depth: args.depth,
        steps: args.steps,
        steps_per_sec: timing.0,
        ms_per_step: timing.1,
    }
}

/// Times the fused CPU step.
fn bench_fused(args: &BenchArgs) -> String {
    let (config, train, x, y) = problem(args);
    // The stepper's data set only serves losses on whole sets, which are not timed.
    let data = Dataset {
        width: args.width,
        x_train: x.clone(),
        y_train: y.clone(),
        x_test: Vec::new(),
        y_test: Vec::new(),
    };
    let weights = config.init_weights();
    let mut stepper = FusedStepper::new(&weights, config.activation, config.delta, &data, &train);
    if args.threads > 0 {
        stepper.set_threads(args.threads, args.batch);
    }
    if args.segment > 0 {
        stepper.set_segment(Some(args.segment));
    }
    if args.stream.is_some() {
        stepper.set_stream(args.stream);
    }
    let timing = time(args, || stepper.update(&x, &y));
    let line = BenchLine {
        isa: Some(stepper.isa().name()),
        threads: Some(stepper.threads()),
        segment: Some(stepper.segment_layers()),
        stream: Some(stepper.streams()),
        ..line(args, "cpu", Method::Fused, timing)
    };
    serde_json::to_string(&line).expect("serialisable")
}

pub struct BenchJob(pub BenchArgs);

impl Job for BenchJob {
    type Output = String;

    /// Times SGD steps (gradient and update) of the net on a random batch.
    fn run<B: Scan>(self, device: B::Device, backend: &'static str) -> String {
        let args = self.0;
        let method = args.method.unwrap_or(Method::Adjoint);
        let (config, train, x, y) = problem(&args);
        let d = args.width;
        let mut model = config.init::<B>(&device);
        let x = matrix::<B>(x, d, &device);
        let y = matrix::<B>(y, d, &device);
        let mut optim = Optim::new(&train.optim);
        let timing = time(&args, || {
            let (_, grads) = match method {
                Method::Autodiff => {
                    autodiff_loss_and_gradients::<Autodiff<B>>(&model, x.clone(), y.clone())
                }
                Method::Adjoint => model.loss_and_gradients(x.clone(), y.clone()),
                Method::Fused => unreachable!("the fused step runs without burn (bench::run)"),
            };
            model = optim.step(model.clone(), grads);
            // Reading a value waits for the device, so that asynchronous backends are timed.
            let _: f32 = model.b.val().sum().into_scalar().elem();
        });
        serde_json::to_string(&line(&args, backend, method, timing)).expect("serialisable")
    }
}
