//! `native transfer --config F --out DIR`: a learning-rate transfer grid
//! ([`scaling_core::transfer`]), every cell (a parametrization at one base η) a sweep over the
//! grid's depths and seeds in DIR/<parametrization>/lr-<η>/, trained, resumed and sharded as
//! `native sweep` does (a unit is one η × L × seed × parametrization); then transfer.json, the
//! figures and report.html (files: [`scaling_core::transfer::results`]).

use crate::analyze::{read_result, read_weights};
use crate::backend::BackendChoice;
use crate::figures::save;
use crate::files::{read_toml, write_atomic, write_json};
use crate::html::{escape, inline_svg, page_head};
use crate::pool::JobsArg;
use crate::sweep;
use anyhow::{bail, Context, Result};
use clap::Args;
use scaling_core::analysis::fit::PowerLaw;
use scaling_core::analysis::{analyze, Analysis, Options, PathName, Trained};
use scaling_core::model::delta::DeltaMode;
use scaling_core::sweep::run_dir::{RunDir, UnitDir};
use scaling_core::sweep::shard::Shard;
use scaling_core::train::results::DepthResult;
use scaling_core::transfer::figures::{best_loss_figure, optimum_figure, transfer_figure, Loss};
use scaling_core::transfer::grid::{Cell, Grid, TransferConfig};
use scaling_core::transfer::optimum::{Outcome, Transfer};
use scaling_core::transfer::results::{Parametrized, TransferResults, CONFIG, FILE};
use std::fmt::Write;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Args, Clone, Debug)]
pub struct TransferArgs {
    /// The grid (TOML: docs/transfer.md); without it, the grid already in OUT.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The grid's directory.
    #[arg(long, default_value = "runs/transfer")]
    pub out: PathBuf,
    /// Where the MNIST files are or are downloaded to (overrides the sweep's `data_dir`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Train only shard i of N of every cell's networks (several shards may share OUT).
    #[arg(long, value_name = "i/N")]
    pub shard: Option<Shard>,
    /// Seconds between checkpoints inside a network (overrides `checkpoint_every`; 300).
    #[arg(long, value_name = "SECONDS")]
    pub checkpoint_every: Option<f64>,
    /// Skip the analysis and report at the end.
    #[arg(long)]
    pub no_report: bool,
    #[command(flatten)]
    pub jobs: JobsArg,
}

/// Trains every cell of the grid (or this shard's part of each), then, once every network
/// has finished, writes transfer.json, the figures and report.html.
pub fn run(args: &TransferArgs, choice: BackendChoice) -> Result<()> {
    let places = Places {
        data_dir: args.data_dir.as_deref(),
        checkpoint_every: args.checkpoint_every,
    };
    let grid = prepare(args.config.as_deref(), &args.out, places)?;
    println!(
        "transfer: {} parametrizations × {} learning rates × {} depths × {} seeds = {} networks, writing {}",
        grid.parametrizations.len(),
        grid.lrs.len(),
        grid.depths.len(),
        grid.seeds.len(),
        grid.networks(),
        args.out.display()
    );
    let cells = grid.cells();
    let mut complete = true;
    for (k, &cell) in cells.iter().enumerate() {
        let name = cell.parametrization.name();
        println!(
            "transfer: cell {} of {}: {name} at η = {:.3e}",
            k + 1,
            cells.len(),
            cell.lr
        );
        let sweep_config = grid.config(cell);
        let options = sweep::Options {
            shard: args.shard,
            checkpoint_every: sweep_config.checkpoint_every(),
            jobs: args.jobs.get(),
        };
        let dir = args.out.join(cell.dir_name());
        complete &= sweep::run(&sweep_config, &dir, choice, options)?.complete;
    }
    if !complete {
        println!(
            "not every network of the grid has finished (other shards): once they have, `native report {}`",
            args.out.display()
        );
    } else if !args.no_report {
        report(&args.out)?;
    }
    Ok(())
}

/// What the command line sets beside a grid's file: where the data is and how often a
/// network is checkpointed, not what is computed.
#[derive(Clone, Copy)]
pub struct Places<'a> {
    pub data_dir: Option<&'a Path>,
    pub checkpoint_every: Option<f64>,
}

/// The grid of `config` (checked against the one already in OUT, if any) or, without it, of
/// OUT, with the `places` set in its sweep (and checked with it); written to OUT/transfer.toml
/// (with `data_dir`, as a sweep's config.toml) once checked: nothing is written for a bad grid.
pub fn prepare(config: Option<&Path>, out: &Path, places: Places) -> Result<Grid> {
    let stored = out.join(CONFIG);
    let mut grid_config: TransferConfig = match (config, stored.exists()) {
        (Some(path), _) => read_toml(path)?,
        (None, true) => read_toml(&stored)?,
        (None, false) => bail!(
            "--config is needed: {} holds no grid yet ({CONFIG})",
            out.display()
        ),
    };
    if let Some(dir) = places.data_dir {
        let dir = toml::Value::String(dir.display().to_string());
        grid_config.sweep.insert("data_dir".into(), dir);
    }
    // The interval is checked and used with the grid, but not stored: a rerun takes its own.
    let mut checked = grid_config.clone();
    if let Some(seconds) = places.checkpoint_every {
        let seconds = toml::Value::Float(seconds);
        checked.sweep.insert("checkpoint_every".into(), seconds);
    }
    let grid = checked.grid().context("not a valid transfer grid")?;
    if config.is_some() && stored.exists() {
        let before: TransferConfig = read_toml(&stored)?;
        if without_places(&before) != without_places(&grid_config) {
            bail!(
                "{} holds another grid (its {CONFIG} differs from the config beyond data_dir and checkpoint_every): choose another --out",
                out.display()
            );
        }
    }
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_atomic(&stored, toml::to_string(&grid_config)?.as_bytes())?;
    Ok(grid)
}

/// The grid without the keys that say where and how often, not what is computed.
fn without_places(config: &TransferConfig) -> TransferConfig {
    let mut config = config.clone();
    for key in ["data_dir", "checkpoint_every"] {
        config.sweep.remove(key);
    }
    config
}

/// Analyses a finished grid and writes DIR/transfer.json, the figures and DIR/report.html.
pub fn report(dir: &Path) -> Result<()> {
    let config: TransferConfig = read_toml(&dir.join(CONFIG))?;
    let grid = config.grid().context("not a valid transfer grid")?;
    let outcomes = grid
        .cells()
        .into_iter()
        .map(|cell| Ok((cell, cell_outcomes(dir, &grid, cell)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut parametrizations = Vec::new();
    for &p in &grid.parametrizations {
        let transfer = Transfer::of(&outcomes, p, grid.optimizer);
        let at_best = analysis_at_best(dir, &grid, &transfer)?;
        parametrizations.push(Parametrized { transfer, at_best });
    }
    let results = TransferResults {
        config,
        parametrizations,
    };
    write_figures(dir, &results)?;
    write_json(&dir.join(FILE), &results)?;
    let path = dir.join("report.html");
    write_atomic(&path, render(dir, &results)?.as_bytes())?;
    println!("{}", summary(&results));
    println!(
        "wrote {}, {} and {}",
        dir.join(FILE).display(),
        dir.join("figures").display(),
        path.display()
    );
    Ok(())
}

/// What every network of one cell ended at (diverged: its loss or a weight not finite); an
/// error names the first unfinished one.
fn cell_outcomes(dir: &Path, grid: &Grid, cell: Cell) -> Result<Vec<Outcome>> {
    let plan = grid.plan(cell)?;
    let run_dir = RunDir::new(dir.join(cell.dir_name()));
    plan.units()
        .into_iter()
        .map(|unit| {
            let unit_dir = run_dir.unit(&plan, unit);
            let result = finished(&unit_dir, unit.depth, grid)?;
            let weights = read_weights(&unit_dir, &plan, unit.depth, true)?;
            Ok(Outcome::of(cell.lr, unit, &result.outcome, &weights))
        })
        .collect()
}

/// A unit's result.json, or an error naming the unit when it has not finished.
fn finished(unit_dir: &UnitDir, depth: usize, grid: &Grid) -> Result<DepthResult> {
    read_result(unit_dir, depth, grid.sweep.max_steps)?
        .with_context(|| format!("{} has not finished", unit_dir.path().display()))
}

/// The paper's analysis of the networks at each depth's best η (all seeds).
fn analysis_at_best(dir: &Path, grid: &Grid, t: &Transfer) -> Result<Option<Analysis>> {
    let Some(first) = t.best.first() else {
        return Ok(None);
    };
    let cell = |lr| Cell {
        parametrization: t.parametrization,
        lr,
    };
    let plan = grid.plan(cell(first.lr))?;
    let mut trained = Vec::new();
    for best in &t.best {
        let plan = grid.plan(cell(best.lr))?;
        let run_dir = RunDir::new(dir.join(cell(best.lr).dir_name()));
        for unit in plan.units().into_iter().filter(|u| u.depth == best.depth) {
            let unit_dir = run_dir.unit(&plan, unit);
            let result = finished(&unit_dir, unit.depth, grid)?;
            let weights = read_weights(&unit_dir, &plan, unit.depth, false)?;
            trained.push(Trained {
                seed: unit.seed,
                result,
                weights,
            });
        }
    }
    let options = Options {
        floor: plan.data_floor().map(|f| f.mean),
        ..plan.analysis_options()
    };
    Ok(Some(analyze(&trained, &options)))
}

fn write_figures(dir: &Path, results: &TransferResults) -> Result<()> {
    let figures = dir.join("figures");
    fs::create_dir_all(&figures).with_context(|| format!("creating {}", figures.display()))?;
    let transfers: Vec<Transfer> = results
        .parametrizations
        .iter()
        .map(|p| p.transfer.clone())
        .collect();
    for t in &transfers {
        let panels = [
            transfer_figure(t, Loss::Train),
            transfer_figure(t, Loss::Test),
        ];
        save(&figures, &figure_name(t), &panels, (1600, 600))?;
    }
    save(
        &figures,
        "optimum",
        &[optimum_figure(&transfers)],
        (900, 600),
    )?;
    save(
        &figures,
        "best-loss",
        &[best_loss_figure(&transfers)],
        (900, 600),
    )
}

fn figure_name(t: &Transfer) -> String {
    format!("transfer-{}", t.parametrization.name())
}

/// One row per parametrization: the cells of the table in report.html and of the summary.
fn rows(results: &TransferResults) -> Vec<[String; 9]> {
    let law = |p: Option<&PowerLaw>| match p {
        Some(p) => p.with_interval(2),
        None => "—".into(),
    };
    results
        .parametrizations
        .iter()
        .map(|p| {
            let t = &p.transfer;
            let diverged = t.outcomes.iter().filter(|o| o.diverged()).count();
            let losses: Vec<String> = t
                .best
                .iter()
                .map(|b| format!("{:.1e}", b.train_loss))
                .collect();
            let at_best = match &p.at_best {
                Some(a) => format!(
                    "{} on {}; {}",
                    law(a.verdict.beta.as_ref()),
                    a.main_path.name(),
                    a.verdict.regime.label()
                ),
                None => "—".into(),
            };
            let residual = p
                .at_best
                .as_ref()
                .and_then(|a| residual_beta(a, t.delta))
                .map_or("—".into(), |b| law(Some(&b)));
            [
                t.parametrization.name().to_string(),
                t.delta.describe(),
                format!("{}", t.kappa),
                law(t.fit.power_law()),
                format!("{} of {}", t.at_edge(), t.optima.len()),
                format!("{diverged} of {}", t.outcomes.len()),
                losses.join(" → "),
                at_best,
                residual,
            ]
        })
        .collect()
}

/// β of max_k ‖δ_k A_k‖, the residual branch's weights, from the verdict's β of the main path:
/// itself where that path is δ_k A_k, β + b for a fixed δ = L^−b on the path A (δ does not
/// vary with k, so the increments' verdict is the same), and unknown for a trained shared δ
/// on A (its α is fitted apart).
fn residual_beta(a: &Analysis, delta: DeltaMode) -> Option<PowerLaw> {
    let beta = a.verdict.beta.clone()?;
    let shift = match (a.main_path, delta) {
        (PathName::DeltaA, _) | (_, DeltaMode::None) => 0.0,
        (PathName::A, DeltaMode::Fixed { beta }) => beta,
        _ => return None,
    };
    Some(PowerLaw {
        beta: beta.beta + shift,
        ci95: beta.ci95.map(|b| b + shift),
        ..beta
    })
}

const HEADERS: [&str; 9] = [
    "parametrization",
    "δ",
    "κ",
    "κ* of η* ≈ C·L^−κ* [95%]",
    "optima at the grid's edge",
    "diverged networks",
    "training loss at η*, by depth",
    "at η*: β of max‖W_k‖ [95%] on the verdict's path; regime",
    "at η*: β of max‖δ_k A_k‖ [95%]",
];

/// The table as text, for the terminal.
fn summary(results: &TransferResults) -> String {
    let mut text = format!(
        "| {} |\n|{}\n",
        HEADERS.join(" | "),
        "---|".repeat(HEADERS.len())
    );
    for row in rows(results) {
        text += &format!("| {} |\n", row.join(" | "));
    }
    text
}

fn render(dir: &Path, results: &TransferResults) -> Result<String> {
    let grid = results.config.grid()?;
    let s = &grid.sweep;
    let mut h = page_head(
        "resnet-scaling: learning-rate transfer across depth",
        "figure { display: inline-block; margin: 0.5em; } td:first-child { text-align: left; }",
    );
    write!(
        h,
        "<h1>Learning-rate transfer across depth</h1>\n<p>{data:?} data, σ = {act}, {opt:?}, \
         base learning rates η from {lo:.1e} to {hi:.1e} ({n} log-spaced), depths {depths:?}, \
         seeds {seeds:?}, {steps} updates of batch {b} for every network; the network of depth L \
         trains with η·L<sup>−κ</sup>. η*(L, seed) minimises the final training loss (the \
         parabola's vertex in log–log through the grid's best η and its neighbours); κ* is \
         fitted over the seeds, optima at the grid's edge left out: κ* = 0 means that η \
         transfers across depth.</p>\n<table><tr>",
        data = s.dataset,
        act = s.activation.name(),
        opt = s.optimizer,
        lo = grid.lrs[0],
        hi = grid.lrs[grid.lrs.len() - 1],
        n = grid.lrs.len(),
        depths = grid.depths,
        seeds = grid.seeds,
        steps = s.max_steps,
        b = s.batch_size,
    )?;
    for header in HEADERS {
        write!(h, "<th>{}</th>", escape(header))?;
    }
    h.push_str("</tr>\n");
    for row in rows(results) {
        h.push_str("<tr>");
        for cell in row {
            write!(h, "<td>{}</td>", escape(&cell))?;
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
    let figures = dir.join("figures");
    for name in ["optimum", "best-loss"] {
        writeln!(
            h,
            "<figure>{}</figure>",
            inline_svg(&figures.join(format!("{name}.svg")))?
        )?;
    }
    for p in &results.parametrizations {
        let t = &p.transfer;
        writeln!(h, "<h2>{}</h2>", escape(t.parametrization.name()))?;
        let svg = figures.join(format!("{}.svg", figure_name(t)));
        writeln!(h, "<figure>{}</figure>", inline_svg(&svg)?)?;
        if let Some(a) = &p.at_best {
            writeln!(
                h,
                "<p>At each depth's best η: {}</p>",
                escape(&a.verdict.explanation)
            )?;
        }
    }
    writeln!(
        h,
        "<h2>Configuration</h2>\n<pre>{}</pre>\n</body></html>",
        escape(&toml::to_string(&results.config)?)
    )?;
    Ok(h)
}
