//! `native sweep`: train the network of every depth (and seed) of a sweep into its run
//! directory, whose files are named in one place, [`scaling_core::sweep::run_dir`] (for
//! users: docs/run-directory.md). Fully connected networks write their weights, CIFAR-10's
//! conv ResNets every kernel by name and the spectral norms of their layers.
//!
//! A network is finished when its result.json exists; running the same sweep into the same
//! directory skips finished networks and resumes checkpointed ones, so a crash loses at most
//! the work since the last checkpoint. Several processes (the shards of `--shard i/N`, or
//! a rerun) may write into one directory at once: each trains only units whose lock it
//! holds (DIR/.lock while it prepares the directory, depth_<L>/.lock while it trains the
//! unit), and whoever finishes the last unit writes summary.json. Within a process, the
//! fused CPU step trains several networks at once on `--jobs` threads ([`crate::pool`]).

use crate::backend::{self, BackendChoice, Job};
use crate::download;
use crate::files::{read_json, read_toml, write_atomic, write_json};
use crate::interrupt::{self, Interrupted};
use crate::lock::{InUse, Lock};
use crate::pool;
use crate::progress::Progress;
use crate::unit::{self, Engine, UnitTraining};
use anyhow::{bail, Context, Result};
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use scaling_core::conv::resnet::{norm_paths, ConvResNetConfig};
use scaling_core::conv::train::{train_conv, ConvTrainConfig, Images};
use scaling_core::data::cifar::Cifar10;
use scaling_core::data::synthetic::Dataset;
use scaling_core::io::tensor_file::encode;
use scaling_core::sweep::budget::Memory;
use scaling_core::sweep::config::{DataPlan, Network, Plan, SweepConfig, Unit};
use scaling_core::sweep::run_dir::{RunDir, UnitDir};
use scaling_core::sweep::shard::Shard;
use scaling_core::train::fused::threads_for;
use scaling_core::train::results::{DepthResult, DepthSummary, Summary};
use scaling_core::Scan;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Reads a sweep configuration file; unknown keys and bad values are errors naming them, in
/// one line (with the line and column of a TOML error, and long values cut).
pub fn read_config(path: &Path) -> Result<SweepConfig> {
    let config: SweepConfig = read_toml(path)?;
    let invalid = || format!("{} is not a valid sweep config", path.display());
    config.plan().with_context(invalid)?;
    Ok(config)
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

/// How a process takes part in a sweep.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Train only this shard's units (all without).
    pub shard: Option<Shard>,
    /// Seconds between checkpoints inside a unit.
    pub checkpoint_every: f64,
    /// Threads that train at once (see [`crate::pool`]); networks of the fused CPU step
    /// share them, the others train one at a time.
    pub jobs: usize,
}

impl Options {
    /// Every unit, checkpointed as `config` says, on `jobs` threads.
    pub fn whole(config: &SweepConfig, jobs: usize) -> Self {
        Self {
            shard: None,
            checkpoint_every: config.checkpoint_every(),
            jobs,
        }
    }
}

/// Where a sweep stands when this process is done with it.
pub struct Finished {
    /// Every unit of the sweep has its result (summary.json is written).
    pub complete: bool,
}

/// Runs the sweep (or its shard) into `out`, resuming it when `out` already holds the same
/// sweep. config.toml and data.safetensors are written under `out/.lock`, only once the
/// config and the data have been checked and loaded, so a refused sweep leaves nothing;
/// a process that finds the lock held waits for it.
pub fn run(
    config: &SweepConfig,
    out: &Path,
    choice: BackendChoice,
    options: Options,
) -> Result<Finished> {
    let plan = config.plan().context("invalid sweep config")?;
    if let Some(available) = available_memory()? {
        Memory::of(&plan)
            .check(&plan, available)
            .map_err(anyhow::Error::msg)?;
    }
    backend::check(choice)?;
    interrupt::install();
    let work = prepare_dir(config, &plan, out)?;
    backend::run(
        choice,
        SweepJob {
            plan,
            work,
            out: out.to_path_buf(),
            fused: backend::fused(choice),
            options,
        },
    )?
}

/// How long a process waits for another to prepare the run directory.
const PREPARE_WAIT: Duration = Duration::from_secs(1800);

/// Makes `out` the run directory of the sweep, or checks that it is, under its lock (waiting
/// for another process that holds it); what each network trains on. A directory made here is
/// removed again when this fails.
pub fn prepare_dir(config: &SweepConfig, plan: &Plan, out: &Path) -> Result<Work> {
    let created = !out.exists();
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let lock = RunDir::new(out).lock();
    let prepared = Lock::wait(&lock, &out.display().to_string(), PREPARE_WAIT)
        .and_then(|_lock| prepare(config, plan, out));
    if prepared.is_err() && created {
        // Only if still empty: another process may have started writing into it.
        let _ = fs::remove_dir(out);
    }
    prepared
}

/// Under the lock: checks that `out` holds no other sweep, loads the data, then writes
/// data.safetensors and config.toml.
fn prepare(config: &SweepConfig, plan: &Plan, out: &Path) -> Result<Work> {
    let run_dir = RunDir::new(out);
    let config_path = run_dir.config();
    let existing = config_path.exists();
    if existing {
        // The data may have moved, the checkpoints may come more often: the same sweep.
        let found = SweepConfig {
            data_dir: config.data_dir.clone(),
            checkpoint_every: config.checkpoint_every,
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
        let data_path = run_dir.data();
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
pub enum Work {
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
    options: Options,
}

impl Job for SweepJob {
    type Output = Result<Finished>;

    fn run<B: Scan>(self, device: B::Device, backend: &'static str) -> Result<Finished> {
        let mut units = match self.options.shard {
            Some(shard) => self.plan.shard_units(shard),
            None => self.plan.units(),
        };
        self.announce(&units, backend);
        // Largest first, so that the last to finish are small (the shard planner's order).
        units.sort_by_key(|&u| (std::cmp::Reverse(self.plan.cost(u)), u));
        let run_dir = RunDir::new(&self.out);
        // A unit's work left: none once finished.
        let cost = |&u: &Unit| match run_dir.unit(&self.plan, u).finished() {
            true => 0,
            false => self.plan.cost(u),
        };
        let progress = Progress::new(units.iter().map(cost).sum());
        let errors = pool::run_all(
            &units,
            self.jobs(),
            |&unit| self.threads(unit),
            |unit| cost(unit) as f64,
            |&unit, threads| self.unit::<B>(unit, threads, &device, backend, &progress),
        );
        progress.finish();
        one_error(errors)?;
        let complete = write_summary(&self.plan, &self.out)?;
        println!("wrote {}", self.out.display());
        Ok(Finished { complete })
    }
}

/// Nothing when `errors` is empty, else one of them (a failure before a pause), the others
/// printed first, each on its line.
fn one_error(mut errors: Vec<anyhow::Error>) -> Result<()> {
    let paused = |e: &anyhow::Error| e.downcast_ref::<Interrupted>().is_some();
    let Some(i) = errors
        .iter()
        .position(|e| !paused(e))
        .or(errors.len().checked_sub(1))
    else {
        return Ok(());
    };
    let returned = errors.remove(i);
    for e in errors {
        match e.downcast_ref::<Interrupted>() {
            Some(interrupted) => eprintln!("{interrupted}"),
            None => eprintln!("error: {e:#}"),
        }
    }
    Err(returned)
}

impl SweepJob {
    /// Prints what this process trains, where.
    fn announce(&self, units: &[Unit], backend: &str) {
        let on = match &self.work {
            Work::Dense(_) if self.fused => format!(
                "the CPU (fused step, {}; {} threads, several networks at once where they fit)",
                scaling_core::train::fused::Isa::detect().name(),
                self.options.jobs
            ),
            _ => backend.to_string(),
        };
        let plan = &self.plan;
        let seeds = match plan.seeds.as_slice() {
            [_] => String::new(),
            seeds => format!(", seeds {seeds:?}"),
        };
        let shard = self.options.shard.map_or(String::new(), |s| {
            format!(
                ", shard {s}: {} of {} networks",
                units.len(),
                plan.units().len()
            )
        });
        println!(
            "sweep: {} depths {:?}{seeds}{shard} on {on}, writing {}",
            plan.depths.len(),
            plan.depths,
            self.out.display()
        );
        // ε = 0 is no target (every network makes Tmax updates): the floor is not estimated.
        let epsilon = plan.train.epsilon;
        let floor = (epsilon > 0.0).then(|| plan.data_floor()).flatten();
        if let Some(floor) = floor.filter(|f| epsilon < f.mean) {
            println!(
                "warning: epsilon = {epsilon:.1e} is below this data's floor {:.2e} ± {:.0e} (E Var(y | x/‖x‖), docs/reproduction.md): a network reaches it only by fitting the noise of its training samples, the others run to Tmax",
                floor.mean, floor.std_error
            );
        }
    }

    /// Threads that train at once: the pool's for the fused CPU step, else one network at a
    /// time.
    fn jobs(&self) -> usize {
        match self.work {
            Work::Dense(_) if self.fused => self.options.jobs,
            _ => 1,
        }
    }

    /// The most threads `unit`'s fused step can use: its size's (see [`threads_for`]) with
    /// the pool's.
    fn threads(&self, unit: Unit) -> usize {
        match self.work {
            Work::Dense(ref data) if self.fused => threads_for(
                self.plan.train.batch_size.max(1),
                unit.depth,
                data.width,
                self.options.jobs,
            ),
            _ => 1,
        }
    }

    /// Trains `unit` on `threads` unless it is finished or another process holds it.
    fn unit<B: Scan>(
        &self,
        unit: Unit,
        threads: usize,
        device: &B::Device,
        backend: &str,
        progress: &Progress,
    ) -> Result<()> {
        let dir = RunDir::new(&self.out).unit(&self.plan, unit);
        let label = unit::label(&self.plan, unit);
        if dir.finished() {
            progress.println(format!("{label}: done before, skipped"));
            return Ok(());
        }
        let path = dir.path();
        fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
        // A moment's grace: `native status` may be looking at a dead holder's lock.
        let _lock = match Lock::wait(&dir.lock(), &label, Duration::from_millis(500)) {
            Ok(lock) => lock,
            Err(e) if e.downcast_ref::<InUse>().is_some() => {
                progress.println(format!("{label}: skipped, {e}"));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if !dir.finished() {
            self.train_unit::<B>(unit, threads, &dir, device, backend, progress)?;
        }
        if let Some(signal) = interrupt::received() {
            bail!(Interrupted {
                signal,
                message: format!(
                    "interrupted after finishing {label}; run the same command to go on"
                ),
            });
        }
        Ok(())
    }

    /// Trains one unit into `dir` on `threads`, under its lock.
    fn train_unit<B: Scan>(
        &self,
        unit: Unit,
        threads: usize,
        dir: &UnitDir,
        device: &B::Device,
        backend: &str,
        progress: &Progress,
    ) -> Result<DepthResult> {
        match &self.work {
            Work::Dense(data) => {
                let training = UnitTraining {
                    plan: &self.plan,
                    data,
                    unit,
                    dir,
                    every: Duration::from_secs_f64(self.options.checkpoint_every),
                    progress,
                };
                let engine = match self.fused {
                    true => Engine::Fused { cores: threads },
                    false => Engine::Burn(backend),
                };
                training.train_dense::<B>(device, engine)
            }
            Work::Conv { train, test } => {
                let _restarts = interrupt::Section::uncheckpointed();
                train_conv_depth::<B>(&self.plan, train, test, unit, dir, device, progress)
            }
        }
    }
}

/// Writes summary.json, one line per network, once every network of the sweep has its
/// result; whether they all have.
pub fn write_summary(plan: &Plan, out: &Path) -> Result<bool> {
    let mut summary = Summary::default();
    let run_dir = RunDir::new(out);
    for unit in plan.units() {
        let path = run_dir.unit(plan, unit).result();
        if !path.exists() {
            return Ok(false);
        }
        let result: DepthResult = read_json(&path)?;
        summary.depths.push(DepthSummary::of(&result, unit.seed));
    }
    write_json(&run_dir.summary(), &summary)?;
    Ok(true)
}

/// Trains the convolutional ResNet of one unit and writes its files, result.json last.
fn train_conv_depth<B: Backend>(
    plan: &Plan,
    train: &Images,
    test: &Images,
    unit: Unit,
    dir: &UnitDir,
    device: &B::Device,
    progress: &Progress,
) -> Result<DepthResult> {
    let Network::Conv(conv) = &plan.network else {
        unreachable!("a CIFAR-10 plan has its conv ResNet")
    };
    let Unit { depth, seed } = unit;
    let train_config = ConvTrainConfig {
        seed,
        ..conv.train.clone()
    };
    <Autodiff<B> as Backend>::seed(device, seed.wrapping_mul(1_000_003) + depth as u64);
    let model = ConvResNetConfig::new(depth)
        .with_base_channels(conv.base_channels)
        .init::<Autodiff<B>>(device);
    write_atomic(&dir.init(), &encode(&model.to_tensors()))?;
    let label = unit::label(plan, unit);
    let bar = progress.network(&label, depth, train_config.max_steps);
    let start = Instant::now();
    let (model, outcome) = train_conv(model, train, test, &train_config, device, |step, loss| {
        bar.show(step, loss)
    });
    let wall_time_s = start.elapsed().as_secs_f64();
    bar.finish(&outcome);
    let tensors = model.to_tensors();
    write_atomic(&dir.weights(), &encode(&tensors))?;
    progress.println(format!("{label}: spectral norms of every conv layer"));
    let norms = norm_paths(&tensors, depth, conv.base_channels).expect("a depth of the plan");
    write_json(&dir.norms(), &norms)?;
    unit::write_result(dir, depth, wall_time_s, outcome)
}
