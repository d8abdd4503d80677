//! `native sweep`: train the network of every depth of a sweep and write the run directory.
//!
//! DIR/config.toml          the sweep's configuration, re-runnable as is
//! DIR/data.safetensors     x_train, y_train, x_test, y_test
//! DIR/depth_<L>/init.safetensors, weights.safetensors   A [L,d,d], b [L,d], delta [L] or [1]
//! DIR/depth_<L>/result.json   steps, losses, stop reason, wall time, loss history
//! DIR/summary.json         one line per finished network
//!
//! A sweep with `seeds` trains every depth once per seed, each network in
//! DIR/depth_<L>/seed_<s>/ with the same files.
//!
//! CIFAR-10 sweeps train the convolutional ResNet instead: no data.safetensors (the images
//! stay in the data directory), weights.safetensors holds every kernel by name, and
//! depth_<L>/norms.json the spectral norms of conv1 and conv2 of every block.
//!
//! DIR/.lock               while a sweep runs: its host, pid and start time
//!
//! A network is finished when its result.json exists; running the same sweep into the same
//! directory skips finished networks, so a crash loses at most the network in progress.

use crate::backend::{self, BackendChoice, Job};
use crate::download;
use crate::files::{read_json, write_atomic, write_json};
use crate::lock::Lock;
use anyhow::{bail, Context, Result};
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use indicatif::{ProgressBar, ProgressStyle};
use scaling_core::budget::Memory;
use scaling_core::cifar::Cifar10;
use scaling_core::config::{DataPlan, Plan, SweepConfig, Unit};
use scaling_core::conv::{norm_paths, ConvResNetConfig};
use scaling_core::conv_train::{train_conv, ConvTrainConfig, Images};
use scaling_core::data::Dataset;
use scaling_core::fused::FusedStepper;
use scaling_core::results::{DepthResult, DepthSummary, Summary, TrainOutcome};
use scaling_core::train::{train, BurnStepper, Stepper, TrainConfig};
use scaling_core::weights::encode;
use scaling_core::Scan;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Reads a sweep configuration file; unknown keys and bad values are errors naming them, in
/// one line (with the line and column of a TOML error, and long values cut).
pub fn read_config(path: &Path) -> Result<SweepConfig> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let invalid = || format!("{} is not a valid sweep config", path.display());
    let config: SweepConfig = toml::from_str(&text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_column(&text, s.start));
        anyhow::anyhow!(
            "{}:{line}:{column}: {}",
            path.display(),
            crate::one_line(e.message().trim(), 200)
        )
    })?;
    config.plan().with_context(invalid)?;
    Ok(config)
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset.min(text.len()))];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// The memory a new process can have here: $RESNET_SCALING_MEMORY (bytes) when set, else
/// Linux's MemAvailable; `None` when unknown (no check).
fn available_memory() -> Result<Option<f64>> {
    if let Ok(bytes) = std::env::var("RESNET_SCALING_MEMORY") {
        let bytes: f64 = bytes
            .parse()
            .with_context(|| format!("RESNET_SCALING_MEMORY={bytes} is not a number of bytes"))?;
        return Ok(Some(bytes));
    }
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Ok(meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| kib * 1024.0))
}

/// Runs the sweep into `out`, resuming it when `out` already holds the same sweep. One
/// process at a time: `out/.lock` refuses a second; config.toml is written only once the
/// config and the data have been checked and loaded, so a refused sweep leaves nothing.
pub fn run(config: &SweepConfig, out: &Path, choice: BackendChoice) -> Result<()> {
    let plan = config.plan().context("invalid sweep config")?;
    if let Some(available) = available_memory()? {
        Memory::of(&plan)
            .check(&plan, available)
            .map_err(anyhow::Error::msg)?;
    }
    backend::check(choice)?;
    let created = !out.exists();
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let prepared = Lock::acquire(&out.join(".lock"), &out.display().to_string())
        .and_then(|lock| prepare(config, &plan, out).map(|work| (lock, work)));
    let (_lock, work) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            if created {
                // Only if still empty: another process may have started writing into it.
                let _ = fs::remove_dir(out);
            }
            return Err(e);
        }
    };
    backend::run(
        choice,
        SweepJob {
            plan,
            work,
            out: out.to_path_buf(),
            fused: backend::fused(choice),
        },
    )?
}

/// Under the lock: checks that `out` holds no other sweep, loads the data, then writes
/// data.safetensors and config.toml.
fn prepare(config: &SweepConfig, plan: &Plan, out: &Path) -> Result<Work> {
    let config_path = out.join("config.toml");
    let existing = config_path.exists();
    if existing {
        // The data may have moved: the same sweep with another data_dir is the same sweep.
        let found = SweepConfig {
            data_dir: config.data_dir.clone(),
            ..read_config(&config_path)?
        };
        if &found != config {
            bail!(
                "{} holds a different sweep (its config.toml differs); choose another --out or remove it",
                out.display()
            );
        }
    }
    let work = load(plan)?;
    if let Work::Dense(data) = &work {
        let data_path = out.join("data.safetensors");
        if !data_path.exists() {
            write_atomic(&data_path, &data.to_safetensors())?;
        }
    }
    if !existing {
        write_atomic(&config_path, toml::to_string(config)?.as_bytes())?;
    }
    Ok(work)
}

/// Reads or generates what the sweep trains on.
fn load(plan: &Plan) -> Result<Work> {
    Ok(match &plan.data {
        DataPlan::Synthetic(synthetic) => Work::Dense(synthetic.generate()),
        DataPlan::Mnist(mnist) => {
            download::ensure_mnist(&mnist.dir)?;
            Work::Dense(mnist.load().context("reading MNIST")?)
        }
        DataPlan::Cifar10 {
            dir,
            n_train,
            n_test,
        } => {
            let dir = download::ensure_cifar10(dir)?;
            let cifar = Cifar10::load(&dir, *n_train, *n_test).context("reading CIFAR-10")?;
            Work::Conv {
                train: Images::first(&cifar.train_images, &cifar.train_labels, *n_train),
                test: Images::first(&cifar.test_images, &cifar.test_labels, *n_test),
            }
        }
    })
}

/// What each depth trains on.
enum Work {
    /// Fully connected networks on (x, y) pairs.
    Dense(Dataset),
    /// The convolutional ResNet on images.
    Conv { train: Images, test: Images },
}

struct SweepJob {
    plan: Plan,
    work: Work,
    out: PathBuf,
    /// Fully connected networks train with the fused CPU step instead of the burn backend.
    fused: bool,
}

impl Job for SweepJob {
    type Output = Result<()>;

    fn run<B: Scan>(self, device: B::Device, backend: &'static str) -> Result<()> {
        let SweepJob {
            plan,
            work,
            out,
            fused,
        } = self;
        let on = match &work {
            Work::Dense(_) if fused => format!(
                "the CPU (fused step, {})",
                scaling_core::fused::Isa::detect().name()
            ),
            _ => backend.to_string(),
        };
        let seeds = match plan.seeds.as_slice() {
            [_] => String::new(),
            seeds => format!(", seeds {seeds:?}"),
        };
        println!(
            "sweep: {} depths {:?}{seeds} on {on}, writing {}",
            plan.depths.len(),
            plan.depths,
            out.display()
        );
        let mut summary = Summary::default();
        for unit in plan.units() {
            let dir = out.join(plan.unit_dir(unit));
            let result_path = dir.join("result.json");
            let result: DepthResult = if result_path.exists() {
                let done: DepthResult = read_json(&result_path)?;
                println!(
                    "{}: done before ({:?}), skipped",
                    label(&plan, unit),
                    done.outcome.stop_reason
                );
                done
            } else {
                fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                match &work {
                    Work::Dense(data) => train_depth::<B>(&plan, data, unit, &dir, &device, fused)?,
                    Work::Conv { train, test } => {
                        train_conv_depth::<B>(&plan, train, test, unit, &dir, &device)?
                    }
                }
            };
            summary.depths.push(DepthSummary::of(&result, unit.seed));
            summary.depths.sort_by_key(|s| (s.depth, s.seed));
            write_json(&out.join("summary.json"), &summary)?;
        }
        println!("wrote {}", out.display());
        Ok(())
    }
}

/// "depth L" or, with several seeds, "depth L seed s": how progress names a unit.
fn label(plan: &Plan, unit: Unit) -> String {
    if plan.per_seed_dirs {
        format!("depth {:>6} seed {}", unit.depth, unit.seed)
    } else {
        format!("depth {:>6}", unit.depth)
    }
}

/// Trains the network of one unit and writes its files, result.json last: with the fused CPU
/// step, or on the burn backend B.
fn train_depth<B: Scan>(
    plan: &Plan,
    data: &Dataset,
    unit: Unit,
    dir: &Path,
    device: &B::Device,
    fused: bool,
) -> Result<DepthResult> {
    let config = plan.model(unit);
    let train = plan.training(unit.seed);
    let weights = config.init_weights();
    write_atomic(&dir.join("init.safetensors"), &weights.to_safetensors())?;
    let (act, delta) = (config.activation, config.delta);
    let (outcome, wall_time_s, trained) = if fused {
        let mut stepper = FusedStepper::new(&weights, act, delta, data, &train);
        let (outcome, wall_time_s) = fit(&mut stepper, plan, &train, data, unit);
        (outcome, wall_time_s, stepper.to_weights())
    } else {
        let model = scaling_core::ResNet::<B>::from_weights(&weights, act, delta, device);
        let mut stepper = BurnStepper::new(model, data, &train);
        let (outcome, wall_time_s) = fit(&mut stepper, plan, &train, data, unit);
        (outcome, wall_time_s, stepper.model.to_weights())
    };
    write_atomic(&dir.join("weights.safetensors"), &trained.to_safetensors())?;
    write_result(dir, unit.depth, wall_time_s, outcome)
}

/// Trains with `stepper` under a progress bar; the outcome and the wall time.
fn fit(
    stepper: &mut impl Stepper,
    plan: &Plan,
    train_config: &TrainConfig,
    data: &Dataset,
    unit: Unit,
) -> (TrainOutcome, f64) {
    let bar = progress(&label(plan, unit), train_config.max_steps);
    let start = Instant::now();
    let outcome = train(stepper, data, train_config, |step, loss| {
        show(&bar, step, loss)
    });
    let wall_time_s = start.elapsed().as_secs_f64();
    finish(&bar, &outcome);
    (outcome, wall_time_s)
}

/// Writes depth_<L>/result.json, the last file of a depth: its presence marks it finished.
fn write_result(
    dir: &Path,
    depth: usize,
    wall_time_s: f64,
    outcome: TrainOutcome,
) -> Result<DepthResult> {
    let result = DepthResult {
        depth,
        wall_time_s,
        outcome,
    };
    write_json(&dir.join("result.json"), &result)?;
    Ok(result)
}

/// A progress bar for the training of the unit called `label`.
fn progress(label: &str, max_steps: usize) -> ProgressBar {
    let bar = ProgressBar::new(max_steps as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} steps {per_sec} eta {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}

fn show(bar: &ProgressBar, step: usize, loss: Option<f64>) {
    bar.set_position(step as u64);
    if let Some(loss) = loss {
        bar.set_message(format!("loss {loss:.3e}"));
    }
}

fn finish(bar: &ProgressBar, outcome: &TrainOutcome) {
    let accuracy = outcome.final_test_accuracy.map_or(String::new(), |a| {
        format!(", test accuracy {:.1}%", 100.0 * a)
    });
    bar.abandon_with_message(format!(
        "{:?}, train loss {}{accuracy}",
        outcome.stop_reason,
        outcome
            .final_train_loss
            .map_or("not finite".into(), |l| format!("{l:.3e}"))
    ));
}

/// Trains the convolutional ResNet of one unit and writes its files, result.json last.
fn train_conv_depth<B: Backend>(
    plan: &Plan,
    train: &Images,
    test: &Images,
    unit: Unit,
    dir: &Path,
    device: &B::Device,
) -> Result<DepthResult> {
    let conv = plan
        .conv
        .as_ref()
        .expect("a CIFAR-10 plan has its conv ResNet");
    let Unit { depth, seed } = unit;
    let train_config = ConvTrainConfig {
        seed,
        ..conv.train.clone()
    };
    <Autodiff<B> as Backend>::seed(device, seed.wrapping_mul(1_000_003) + depth as u64);
    let model = ConvResNetConfig::new(depth)
        .with_base_channels(conv.base_channels)
        .init::<Autodiff<B>>(device);
    write_atomic(&dir.join("init.safetensors"), &encode(&model.to_tensors()))?;
    let bar = progress(&label(plan, unit), train_config.max_steps);
    let start = Instant::now();
    let (model, outcome) = train_conv(model, train, test, &train_config, device, |step, loss| {
        show(&bar, step, loss)
    });
    let wall_time_s = start.elapsed().as_secs_f64();
    finish(&bar, &outcome);
    let tensors = model.to_tensors();
    write_atomic(&dir.join("weights.safetensors"), &encode(&tensors))?;
    bar.println(format!(
        "{}: spectral norms of every conv layer",
        label(plan, unit)
    ));
    let norms = norm_paths(&tensors, depth, conv.base_channels).expect("a depth of the plan");
    write_json(&dir.join("norms.json"), &norms)?;
    write_result(dir, depth, wall_time_s, outcome)
}
