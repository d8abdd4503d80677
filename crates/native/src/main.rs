//! `native`: depth sweeps, their scaling analysis and report, and benchmarks of fully
//! connected ResNets.
//!
//! With no arguments it runs the built-in quick sweep (tanh, shared δ, depths 3..≈300 on
//! synthetic data) into `runs/default`, then analyses it and writes its report.

mod analyze;
mod backend;
mod bench;
mod download;
mod figures;
mod files;
mod html;
mod interrupt;
mod lock;
mod phase;
mod phase_report;
mod pool;
mod progress;
mod report;
mod reproduce;
mod slurm;
mod status;
mod sweep;
mod text;
mod transfer;
mod unit;

use anyhow::{Context, Result};
use backend::BackendChoice;
use clap::{Args, Parser, Subcommand};
use scaling_core::data::mnist::MnistConfig;
use scaling_core::sweep::config::SweepConfig;
use scaling_core::sweep::shard::Shard;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where a sweep writes unless told otherwise.
const DEFAULT_OUT: &str = "runs/default";

#[derive(Parser)]
#[command(
    version,
    about = "Train residual networks of many depths and measure how their weights scale"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Backend: CUDA when a GPU is found (auto), else the CPU (cpu: the fused step for fully
    /// connected training, ndarray for the rest).
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto, global = true)]
    backend: BackendChoice,
}

#[derive(Subcommand)]
enum Command {
    /// Run a depth sweep (resumes into an existing run directory of the same sweep).
    Sweep(SweepArgs),
    /// Print how a sweep's networks are dealt to N shards and each shard's projected cost.
    Plan {
        /// Sweep configuration (TOML); without it, the built-in quick sweep.
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, default_value_t = 4)]
        shards: usize,
    },
    /// Write (and with --submit, submit) the Slurm job array of a sharded sweep and its
    /// analysis job.
    Slurm(slurm::SlurmArgs),
    /// Print where a run directory stands: networks done, running, checkpointed, not
    /// started, and the compute time left.
    Status {
        /// Run directory.
        dir: PathBuf,
    },
    /// Analyse finished sweeps: analysis.json and figures (SVG and PNG).
    Analyze(analyze::AnalyzeArgs),
    /// Write DIR/report.html: figures, exponents, verdicts and config in one file.
    Report {
        /// Run directory (analysed first if it has no analysis.json).
        dir: PathBuf,
    },
    /// Run the paper's fully connected experiments under SGD and Adam (3 seeds each) and
    /// write OUT/reproduction.md and .html: our exponents and regimes beside the paper's.
    Reproduce(reproduce::ReproduceArgs),
    /// The (β, H) phase diagram at initialisation (Marion et al.): OUT/phase.json, heat maps
    /// and report.html; resumes into an OUT holding the same diagram.
    Phase(phase::PhaseArgs),
    /// A learning-rate transfer grid: base η × depths × seeds for each parametrization of
    /// depth, every network trained for the same updates; then η*(L), its exponent, the
    /// trained weights at η* and OUT/report.html. Resumes into an OUT holding the same grid.
    Transfer(transfer::TransferArgs),
    /// Measure SGD steps per second; prints one JSON line.
    Bench(bench::BenchArgs),
    /// Write the browser app's MNIST asset: the first images of real MNIST, embedded in R^25
    /// as in a sweep, as one safetensors file (x_train, y_train, x_test, y_test).
    MnistAsset(MnistAssetArgs),
}

#[derive(Args)]
struct SweepArgs {
    /// Sweep configuration (TOML); without it, the built-in quick sweep.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run directory.
    #[arg(long, default_value = DEFAULT_OUT)]
    out: PathBuf,
    /// Skip the analysis and report at the end.
    #[arg(long)]
    no_report: bool,
    /// Where the MNIST or CIFAR-10 files are or are downloaded to (overrides `data_dir`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Train only shard i of N (0 ≤ i < N): the networks dealt to it by projected cost
    /// (see `native plan`); several shards may share one run directory.
    #[arg(long, value_name = "i/N")]
    shard: Option<Shard>,
    /// Seconds between checkpoints inside a depth (overrides `checkpoint_every`; 300).
    #[arg(long, value_name = "SECONDS")]
    checkpoint_every: Option<f64>,
    #[command(flatten)]
    jobs: pool::JobsArg,
}

#[derive(Args)]
struct MnistAssetArgs {
    /// Where the MNIST IDX files are, or are downloaded to.
    #[arg(long, default_value = "data/mnist")]
    data_dir: PathBuf,
    /// The asset to write.
    #[arg(long, default_value = "web/assets/mnist-25.safetensors")]
    out: PathBuf,
    #[arg(long, default_value_t = 10_000)]
    n_train: usize,
    #[arg(long, default_value_t = 2_000)]
    n_test: usize,
    /// Seed of the embedding's convolutions.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// A caching allocator: a training step allocates and frees many large buffers, which the
/// system allocator returns to the kernel and page-faults back in at every step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if plotters::style::register_font(
        "sans-serif",
        plotters::style::FontStyle::Normal,
        figures::FONT,
    )
    .is_err()
    {
        eprintln!("error: the embedded font is unreadable");
        return ExitCode::FAILURE;
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => match err.downcast_ref::<interrupt::Interrupted>() {
            Some(interrupted) => {
                eprintln!("{interrupted}");
                ExitCode::from(interrupted.status())
            }
            None => {
                eprintln!("error: {}", text::one_line(&format!("{err:#}"), 600));
                ExitCode::FAILURE
            }
        },
    }
}

fn run(cli: Cli) -> Result<()> {
    let command = cli.command.unwrap_or(Command::Sweep(SweepArgs {
        config: None,
        out: PathBuf::from(DEFAULT_OUT),
        no_report: false,
        data_dir: None,
        shard: None,
        checkpoint_every: None,
        jobs: pool::JobsArg::default(),
    }));
    match command {
        Command::Sweep(args) => sweep_command(args, cli.backend),
        Command::Plan { config, shards } => status::plan(config.as_deref(), shards),
        Command::Slurm(args) => slurm::run(&args, cli.backend),
        Command::Status { dir } => status::status(&dir),
        Command::Analyze(args) => analyze::run(&args, cli.backend).map(|_| ()),
        Command::Report { dir } => report::run(&dir, cli.backend),
        Command::Reproduce(args) => reproduce::run(&args, cli.backend),
        Command::Phase(args) => phase::run(&args, cli.backend),
        Command::Transfer(args) => transfer::run(&args, cli.backend),
        Command::MnistAsset(args) => mnist_asset(args),
        Command::Bench(args) => {
            println!("{}", bench::run(args, cli.backend)?);
            Ok(())
        }
    }
}

/// `native sweep`: trains the sweep (or its shard), then analyses and reports it once every
/// network has finished.
fn sweep_command(args: SweepArgs, backend: BackendChoice) -> Result<()> {
    let mut config = match &args.config {
        Some(path) => sweep::read_config(path)?,
        None => SweepConfig::default(),
    };
    if let Some(dir) = &args.data_dir {
        config.data_dir = Some(dir.display().to_string());
    }
    if args.checkpoint_every.is_some() {
        config.checkpoint_every = args.checkpoint_every;
        config.plan().context("--checkpoint-every")?;
    }
    let options = sweep::Options {
        shard: args.shard,
        checkpoint_every: config.checkpoint_every(),
        jobs: args.jobs.get(),
    };
    let out = &args.out;
    let finished = sweep::run(&config, out, backend, options)?;
    if !finished.complete {
        println!(
            "not every network of the sweep has finished (other shards, or running elsewhere: `native status {0}`); the last to finish writes summary.json, then `native report {0}`",
            out.display()
        );
    } else if !args.no_report {
        analyze::run(&analyze::AnalyzeArgs::of(out), backend)?;
        report::run(out, backend)?;
    }
    Ok(())
}

/// `native mnist-asset`: the browser app's embedded MNIST as one safetensors file.
fn mnist_asset(args: MnistAssetArgs) -> Result<()> {
    download::ensure_mnist(&args.data_dir)?;
    let (n_train, n_test) = (args.n_train, args.n_test);
    let data = MnistConfig {
        dir: args.data_dir,
        n_train,
        n_test,
        seed: args.seed,
    }
    .load()
    .context("reading MNIST")?;
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    files::write_atomic(&args.out, &data.to_safetensors())?;
    eprintln!(
        "wrote {} ({n_train} + {n_test} embedded MNIST images)",
        args.out.display()
    );
    Ok(())
}
