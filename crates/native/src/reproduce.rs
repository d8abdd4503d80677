//! `native reproduce`: the paper's fully connected experiments (scaling_core::sweep::reproduce),
//! each under SGD and Adam with three seeds, then one table beside the paper's numbers.
//!
//! OUT/<experiment>-<optimizer>/      a run directory (sweep, analysis, figures, report)
//! OUT/reproduction.md, .html         the table, the SGD balance check, a figure per row
//!
//! Every sweep resumes like `native sweep`, so an interrupted reproduction goes on where it
//! stopped; the table is rewritten after every sweep.

use crate::analyze::{self, AnalyzeArgs};
use crate::backend::BackendChoice;
use crate::files::write_atomic;
use crate::html::escape;
use crate::pool::JobsArg;
use crate::report;
use crate::sweep;
use anyhow::{bail, ensure, Context, Result};
use clap::{Args, ValueEnum};
use scaling_core::analysis::conservation::Balance;
use scaling_core::model::weights::Weights;
use scaling_core::sweep::config::{DatasetName, OptimizerName, SweepConfig};
use scaling_core::sweep::reproduce::{markdown, Experiment, Row, Scale, EXPERIMENTS, OPTIMIZERS};
use scaling_core::sweep::run_dir::RunDir;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScaleArg {
    /// The reference code's setting at its depths 3..850: minutes on a 2-core CPU.
    Quick,
    /// The paper's Appendix A: for a GPU or a cluster.
    Paper,
    /// Appendix A's settings at depths capped (L ≤ 197 synthetic, ≤ 26 MNIST) so that the
    /// whole table takes about 2 hours on 2 cores.
    Capped,
}

#[derive(Args, Clone, Debug)]
pub struct ReproduceArgs {
    #[arg(long, value_enum, default_value_t = ScaleArg::Quick)]
    pub scale: ScaleArg,
    /// Where the run directories and the table go.
    #[arg(long, default_value = "runs/reproduction")]
    pub out: PathBuf,
    /// Where the MNIST files are, or are downloaded to.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Only the experiments whose name contains this (e.g. `synthetic`, `relu`).
    #[arg(long)]
    pub only: Option<String>,
    /// Caps the depths (a quicker, rougher look).
    #[arg(long)]
    pub depth_max: Option<usize>,
    /// Caps the updates per network (a quicker, rougher look).
    #[arg(long)]
    pub max_steps: Option<usize>,
    #[command(flatten)]
    pub jobs: JobsArg,
}

impl ReproduceArgs {
    /// The sweep of `experiment` under `optimizer`, with this command's overrides.
    fn config(&self, experiment: &Experiment, optimizer: OptimizerName) -> SweepConfig {
        let scale = match self.scale {
            ScaleArg::Quick => Scale::Quick,
            ScaleArg::Paper => Scale::Paper,
            ScaleArg::Capped => Scale::Capped,
        };
        let mut config = experiment.config(optimizer, scale);
        if experiment.dataset == DatasetName::Mnist {
            config.data_dir = self.data_dir.as_ref().map(|d| d.display().to_string());
        }
        if let Some(max) = self.depth_max {
            config.depth_max = Some(max);
        }
        if let Some(steps) = self.max_steps {
            config.max_steps = steps;
        }
        config
    }
}

/// Runs every selected experiment under both optimisers and writes the table.
pub fn run(args: &ReproduceArgs, choice: BackendChoice) -> Result<()> {
    let chosen: Vec<&Experiment> = EXPERIMENTS
        .iter()
        .filter(|e| {
            args.only
                .as_ref()
                .is_none_or(|o| e.name.contains(o.as_str()))
        })
        .collect();
    ensure!(
        !chosen.is_empty(),
        "--only {}: no experiment has that in its name (they are {})",
        args.only.as_deref().unwrap_or(""),
        EXPERIMENTS.map(|e| e.name).join(", ")
    );
    // Every config is checked before anything runs.
    for e in &chosen {
        for optimizer in OPTIMIZERS {
            args.config(e, optimizer)
                .plan()
                .with_context(|| format!("{}: invalid sweep", e.name))?;
        }
    }
    fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut rows = Vec::new();
    for e in chosen {
        for optimizer in OPTIMIZERS {
            let dir = args.out.join(e.dir_name(optimizer));
            println!("reproduce: {} → {}", e.dir_name(optimizer), dir.display());
            let config = args.config(e, optimizer);
            let options = sweep::Options::whole(&config, args.jobs.get());
            if !sweep::run(&config, &dir, choice, options)?.complete {
                bail!("{}: some networks are being trained by another process; run again once it ends", dir.display());
            }
            let analysis = analyze::run(&AnalyzeArgs::of(&dir), choice)?;
            report::run(&dir, choice)?;
            let balances = balances(&config, &dir)?;
            rows.push(Row::new(e, optimizer, &analysis, balances));
            write_tables(&args.out, &rows)?;
        }
    }
    println!("{}", markdown(&rows));
    println!("wrote {}", args.out.join("reproduction.html").display());
    Ok(())
}

/// The balance of every finished network of a run directory (none when δ is not trained).
fn balances(config: &SweepConfig, dir: &Path) -> Result<Vec<Balance>> {
    let plan = config.plan()?;
    let read = |path: PathBuf| -> Result<Weights> {
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        Weights::from_safetensors(&bytes)
            .with_context(|| format!("{} is malformed", path.display()))
    };
    let mut out = Vec::new();
    for unit in plan.units() {
        let unit_dir = RunDir::new(dir).unit(&plan, unit);
        if !unit_dir.finished() {
            continue;
        }
        let init = read(unit_dir.init())?;
        let trained = read(unit_dir.weights())?;
        out.extend(Balance::of(unit.depth, unit.seed, &init, &trained));
    }
    Ok(out)
}

/// OUT/reproduction.md and OUT/reproduction.html.
fn write_tables(out: &Path, rows: &[Row]) -> Result<()> {
    let table = markdown(rows);
    let mut md = format!(
        "# Reproduction of Cohen, Cont, Rossier & Xu (2021), fully connected experiments\n\n\
         β: max_k ‖W_k‖ ≈ C L^−β on the path W (A for a shared δ, |δ_k| A_k for δ_k per layer); \
         α: max_k |δ_k| ≈ C L^−α; intervals from the seeds by bootstrap. Balance drift: \
         |C(trained) − C(init)| / δ² of C = δ² − Σ_k (‖A_k‖² + ‖b_k‖²), conserved by \
         gradient flow (see the README).\n\n{table}\n"
    );
    for r in rows {
        md += &format!(
            "\n## {} ({})\n\n{}\n\n![max norm](./{}/figures/max-norm.png)\n\n\
             The balance per depth (mean over the seeds):\n\n{}",
            r.experiment,
            r.optimizer.name(),
            r.explanation,
            r.dir,
            r.balance_table()
        );
    }
    write_atomic(&out.join("reproduction.md"), md.as_bytes())?;
    write_atomic(&out.join("reproduction.html"), html(rows).as_bytes())
}

fn html(rows: &[Row]) -> String {
    let mut table = String::new();
    for line in markdown(rows).lines().filter(|l| !l.starts_with("|---")) {
        let cells: Vec<String> = line
            .trim_matches('|')
            .split(" | ")
            .map(|c| format!("<td>{}</td>", escape(c.trim())))
            .collect();
        table += &format!("<tr>{}</tr>\n", cells.concat());
    }
    let mut figures = String::new();
    for r in rows {
        let dir = &r.dir;
        figures += &format!(
            "<h2>{dir}</h2><p>{}</p><p><a href=\"{dir}/report.html\">full report</a></p>\
             <img src=\"{dir}/figures/max-norm.png\" alt=\"max norm against depth\">\n",
            escape(&r.explanation)
        );
    }
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>resnet-scaling: reproduction</title><style>body {{ font-family: system-ui, \
         sans-serif; max-width: 1200px; margin: 2em auto; }} td {{ border: 1px solid #ccc; \
         padding: 0.25em 0.5em; }} table {{ border-collapse: collapse; }} img {{ max-width: \
         100%; }}</style></head><body><h1>Reproduction of the paper's fully connected \
         experiments</h1><table>\n{table}</table>\n{figures}</body></html>\n"
    )
}
