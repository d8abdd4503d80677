//! `native`: depth sweeps, their scaling analysis and report, and benchmarks of fully
//! connected ResNets.
//!
//! With no arguments it runs the built-in quick sweep (tanh, shared δ, depths 3..≈300 on
//! synthetic data) into `runs/default`, then analyses it and writes its report.

mod analyze;
mod backend;
mod bench;
mod download;
mod files;
mod interrupt;
mod lock;
mod phase;
mod phase_report;
mod report;
mod reproduce;
mod slurm;
mod status;
mod sweep;
mod unit;

use anyhow::{Context, Result};
use backend::BackendChoice;
use clap::{Parser, Subcommand};
use scaling_core::config::SweepConfig;
use scaling_core::mnist::MnistConfig;
use scaling_core::shard::Shard;
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
    Sweep {
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
    },
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
    /// Measure SGD steps per second; prints one JSON line.
    Bench(bench::BenchArgs),
    /// Write the browser app's MNIST asset: the first images of real MNIST, embedded in R^25
    /// as in a sweep, as one safetensors file (x_train, y_train, x_test, y_test).
    MnistAsset {
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
    },
}

/// A caching allocator: a training step allocates and frees many large buffers, which the
/// system allocator returns to the kernel and page-faults back in at every step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The figures' font, embedded so that drawing needs no system fonts.
pub(crate) static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn main() -> ExitCode {
    let cli = Cli::parse();
    if plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, FONT)
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
                eprintln!("error: {}", one_line(&format!("{err:#}"), 600));
                ExitCode::FAILURE
            }
        },
    }
}

/// `text` on one line, cut to `max` characters with "…" when longer: errors never echo a
/// long value in full.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line,
    }
}

fn run(cli: Cli) -> Result<()> {
    let command = cli.command.unwrap_or(Command::Sweep {
        config: None,
        out: PathBuf::from(DEFAULT_OUT),
        no_report: false,
        data_dir: None,
        shard: None,
        checkpoint_every: None,
    });
    match command {
        Command::Sweep {
            config,
            out,
            no_report,
            data_dir,
            shard,
            checkpoint_every,
        } => {
            let mut config = match config {
                Some(path) => sweep::read_config(&path)?,
                None => SweepConfig::default(),
            };
            if let Some(dir) = data_dir {
                config.data_dir = Some(dir.display().to_string());
            }
            if checkpoint_every.is_some() {
                config.checkpoint_every = checkpoint_every;
                config.plan().context("--checkpoint-every")?;
            }
            let options = sweep::Options {
                shard,
                checkpoint_every: config.checkpoint_every(),
            };
            let finished = sweep::run(&config, &out, cli.backend, options)?;
            if !finished.complete {
                println!(
                    "not every network of the sweep has finished (other shards, or running elsewhere: `native status {0}`); the last to finish writes summary.json, then `native report {0}`",
                    out.display()
                );
            } else if !no_report {
                analyze::run(&analyze::AnalyzeArgs::of(&out), cli.backend)?;
                report::run(&out, cli.backend)?;
            }
            Ok(())
        }
        Command::Plan { config, shards } => status::plan(config.as_deref(), shards),
        Command::Slurm(args) => slurm::run(&args, cli.backend),
        Command::Status { dir } => status::status(&dir),
        Command::Analyze(args) => analyze::run(&args, cli.backend).map(|_| ()),
        Command::Report { dir } => report::run(&dir, cli.backend),
        Command::Reproduce(args) => reproduce::run(&args, cli.backend),
        Command::Phase(args) => phase::run(&args, cli.backend),
        Command::MnistAsset {
            data_dir,
            out,
            n_train,
            n_test,
            seed,
        } => {
            download::ensure_mnist(&data_dir)?;
            let data = MnistConfig {
                dir: data_dir,
                n_train,
                n_test,
                seed,
            }
            .load()
            .context("reading MNIST")?;
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            files::write_atomic(&out, &data.to_safetensors())?;
            eprintln!(
                "wrote {} ({n_train} + {n_test} embedded MNIST images)",
                out.display()
            );
            Ok(())
        }
        Command::Bench(args) => {
            println!("{}", bench::run(args, cli.backend)?);
            Ok(())
        }
    }
}
