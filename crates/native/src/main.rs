//! `native`: depth sweeps and benchmarks of fully connected ResNets.
//!
//! With no arguments it runs the built-in quick sweep (tanh, shared δ, depths 3..≈300 on
//! synthetic data) into `runs/default`.

mod backend;
mod bench;
mod files;
mod sweep;

use anyhow::Result;
use backend::BackendChoice;
use clap::{Parser, Subcommand};
use scaling_core::config::SweepConfig;
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
    /// Backend: CUDA when a GPU is found (auto), else the CPU (ndarray).
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
    },
    /// Measure SGD steps per second; prints one JSON line.
    Bench(bench::BenchArgs),
}

/// A caching allocator: a training step allocates and frees many large buffers, which the
/// system allocator returns to the kernel and page-faults back in at every step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let command = cli.command.unwrap_or(Command::Sweep {
        config: None,
        out: PathBuf::from(DEFAULT_OUT),
    });
    match command {
        Command::Sweep { config, out } => {
            let config = match config {
                Some(path) => sweep::read_config(&path)?,
                None => SweepConfig::default(),
            };
            sweep::run(&config, &out, cli.backend)
        }
        Command::Bench(args) => {
            println!("{}", backend::run(cli.backend, bench::BenchJob(args))?);
            Ok(())
        }
    }
}
