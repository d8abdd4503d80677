//! `native phase`: the (β, H) phase diagram at initialisation ([`scaling_core::phase`]) into
//! OUT: `phase.json` (written after every column, so that a rerun resumes), the heat maps
//! `figures/phase-<ratio>-L<L>.svg`/`.png`, the trend in depth, and `report.html`.

use crate::backend::BackendChoice;
use crate::figures::save_drawing;
use crate::files::read_toml;
use crate::files::write_atomic;
use crate::lock::Lock;
use crate::phase_report::{heat_map_name, trend_name};
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use scaling_core::phase::{draw_heat_map, Column, PhaseCell, PhaseConfig, PhaseResults, Quantity};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

#[derive(Args)]
pub struct PhaseArgs {
    /// Phase-diagram configuration (TOML); without it, the built-in default (tanh, d = 40,
    /// L = 100 and 400, a 14 × 10 grid: about a minute here).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output directory (resumes into one holding the same diagram).
    #[arg(long, default_value = "runs/phase")]
    out: PathBuf,
    /// Columns computed at once (default: the CPUs).
    #[arg(long)]
    threads: Option<usize>,
    /// The seed of the draws, in place of the config's `seed`.
    #[arg(long)]
    seed: Option<u64>,
}

type Cpu = burn::backend::NdArray<f32>;

pub fn run(args: &PhaseArgs, choice: BackendChoice) -> Result<()> {
    if !matches!(
        choice,
        BackendChoice::Auto | BackendChoice::Cpu | BackendChoice::Ndarray
    ) {
        bail!("native phase runs on the CPU (burn's ndarray): leave out --backend or pass --backend cpu");
    }
    let mut config = match &args.config {
        Some(path) => {
            let config: PhaseConfig = read_toml(path)?;
            config
                .check()
                .map_err(|e| anyhow!("{}: {e}", path.display()))?;
            config
        }
        None => PhaseConfig::default(),
    };
    config.seed = args.seed.unwrap_or(config.seed);
    let out = &args.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let _lock = Lock::acquire(&out.join(".lock"), &out.display().to_string())?;
    let mut results = resume(out, config)?;
    let missing = results.missing();
    if !missing.is_empty() {
        let threads = args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        compute(out, &mut results, &missing, threads.max(1))?;
    }
    finish(out, &results)
}

/// `native report DIR` of a phase diagram: its figures and report.html from phase.json.
pub fn report(dir: &Path) -> Result<()> {
    finish(dir, &read_results(&dir.join(scaling_core::phase::FILE))?)
}

/// The figures and report.html of the results in `out`.
fn finish(out: &Path, results: &PhaseResults) -> Result<()> {
    write_figures(out, results)?;
    let path = crate::phase_report::write(out, results)?;
    println!("wrote {}", path.display());
    Ok(())
}

/// phase.json, parsed and checked by its type ([`PhaseResults::from_json`]).
fn read_results(path: &Path) -> Result<PhaseResults> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    PhaseResults::from_json(&text).map_err(|e| anyhow!("{} is malformed: {e}", path.display()))
}

/// The results already in OUT, or none; another diagram's results are refused.
fn resume(out: &Path, config: PhaseConfig) -> Result<PhaseResults> {
    let path = out.join(scaling_core::phase::FILE);
    if !path.exists() {
        return Ok(PhaseResults::new(config));
    }
    let results = read_results(&path)?;
    if results.config != config {
        bail!(
            "{} holds another phase diagram (its config differs): use another --out, or delete it",
            path.display()
        );
    }
    let done = results.config.columns().len() - results.missing().len();
    if done > 0 {
        println!("resuming {}: {done} columns done", path.display());
    }
    Ok(results)
}

/// Computes the `missing` columns on `threads` threads, writing phase.json after each.
fn compute(
    out: &Path,
    results: &mut PhaseResults,
    missing: &[Column],
    threads: usize,
) -> Result<()> {
    let path = out.join(scaling_core::phase::FILE);
    let bar = ProgressBar::new(missing.len() as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} columns, {elapsed} (eta {eta})")
            .expect("a valid template"),
    );
    bar.set_message("phase diagram");
    let next = AtomicUsize::new(0);
    let config = results.config.clone();
    let (send, receive) = mpsc::channel::<Vec<PhaseCell>>();
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..threads.min(missing.len()) {
            let send = send.clone();
            let (next, config) = (&next, &config);
            scope.spawn(move || {
                while let Some(&column) = missing.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let cells = config.column::<Cpu>(column, &Default::default());
                    if send.send(cells).is_err() {
                        return;
                    }
                }
            });
        }
        drop(send);
        for cells in receive {
            results.add(cells);
            write_atomic(&path, results.to_json().as_bytes())?;
            bar.inc(1);
        }
        Ok(())
    })?;
    bar.finish();
    Ok(())
}

/// The heat maps of every ratio at every depth, and the trend in depth.
fn write_figures(out: &Path, results: &PhaseResults) -> Result<()> {
    let figures = out.join("figures");
    std::fs::create_dir_all(&figures).with_context(|| format!("creating {}", figures.display()))?;
    for quantity in Quantity::ALL {
        for &depth in &results.config.depths {
            let map = results.heat_map(depth, quantity);
            save_drawing(
                &figures,
                &heat_map_name(quantity, depth),
                (640, 520),
                |area| {
                    draw_heat_map(&map, area)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                },
            )?;
        }
        if results.config.depths.len() > 1 {
            let figure = results.trend_figure(quantity);
            save_drawing(&figures, &trend_name(quantity), (640, 440), |area| {
                scaling_core::plot::figure::draw(&figure, area).map_err(|e| e.to_string())
            })?;
        }
    }
    Ok(())
}
