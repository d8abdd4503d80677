//! `native analyze DIR [DIR...]`: the scaling analysis of one sweep (several directories: the
//! same sweep run with different seeds), written as `analysis.json` and figures.
//!
//! OUT/analysis.json   every statistic per depth, every fit, the verdicts, trends, denoised losses
//! OUT/figures/NAME.svg, NAME.png   the sweep's figures
//! OUT/figures/network-L<L>-seed<s>.svg, .png   per-network diagnostics

use crate::backend::{self, BackendChoice, Job};
use crate::figures::save;
use crate::files::{read_json, write_json};
use crate::sweep::read_config;
use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use indicatif::ProgressBar;
use scaling_core::analysis::{
    analyze, analyze_norms, Analysis, DenoisedLoss, NormPath, NormTrained, Options, Trained,
    TREND_DEPTHS,
};
use scaling_core::data::synthetic::Dataset;
use scaling_core::model::resnet::HiddenNorms;
use scaling_core::model::weights::Weights;
use scaling_core::plot::figure::Figure;
use scaling_core::plot::trained::{network_figures, norm_figure, sweep_figures};
use scaling_core::sweep::config::{Network, Plan, SweepConfig};
use scaling_core::sweep::run_dir::{RunDir, UnitDir};
use scaling_core::train::results::{DepthResult, StopReason};
use scaling_core::train::session::matrix;
use scaling_core::ResNet;
use scaling_core::Scan;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Args, Clone, Debug)]
pub struct AnalyzeArgs {
    /// Run directories of one sweep; several (differing only in `seed`) are pooled as seeds.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where to write (default: the first DIR).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Leave out the depths that stopped at Tmax above ε (diverged ones always are).
    #[arg(long)]
    pub exclude_unconverged: bool,
    /// Average the trend over this many of the largest depths.
    #[arg(long, default_value_t = TREND_DEPTHS)]
    pub trend_depths: usize,
}

impl AnalyzeArgs {
    pub fn of(dir: &Path) -> Self {
        Self {
            dirs: vec![dir.to_path_buf()],
            out: None,
            exclude_unconverged: false,
            trend_depths: TREND_DEPTHS,
        }
    }

    pub fn out(&self) -> &Path {
        self.out.as_deref().unwrap_or(&self.dirs[0])
    }
}

/// A run directory's finished networks.
struct Run {
    dir: PathBuf,
    config: SweepConfig,
    plan: Plan,
    nets: Nets,
}

enum Nets {
    /// Fully connected networks, by their weights.
    Dense(Vec<Trained>),
    /// Conv ResNets, by the spectral norms of their layers (depth_<L>/norms.json).
    Conv(Vec<NormTrained>),
}

impl Nets {
    fn len(&self) -> usize {
        match self {
            Nets::Dense(t) => t.len(),
            Nets::Conv(t) => t.len(),
        }
    }
}

/// Reads a run directory, naming the file at fault in any error.
fn read_run(dir: &Path) -> Result<Run> {
    let run_dir = RunDir::new(dir);
    let config_path = run_dir.config();
    ensure!(
        config_path.is_file(),
        "{} is not a run directory (it has no config.toml; `native sweep --out` makes one)",
        dir.display()
    );
    let config = read_config(&config_path)?;
    let plan = config.plan()?;
    let (mut dense, mut conv) = (Vec::new(), Vec::new());
    for unit in plan.units() {
        let (depth, seed) = (unit.depth, unit.seed);
        let unit_dir = run_dir.unit(&plan, unit);
        let Some(result) = read_result(&unit_dir, depth, config.max_steps)? else {
            continue;
        };
        if let Network::Conv(_) = plan.network {
            let paths = read_norms(&unit_dir, depth)?;
            conv.push(NormTrained {
                seed,
                result,
                paths,
            });
        } else {
            let diverged = result.outcome.stop_reason == StopReason::Diverged;
            let weights = read_weights(&unit_dir, &plan, depth, diverged)?;
            dense.push(Trained {
                seed,
                result,
                weights,
            });
        }
    }
    let nets = match plan.network {
        Network::Conv(_) => Nets::Conv(conv),
        Network::Dense { .. } => Nets::Dense(dense),
    };
    ensure!(
        nets.len() > 0,
        "{} has no finished depth yet (no depth_<L>/result.json)",
        dir.display()
    );
    if !run_dir.summary().exists() {
        // Derived: written by the last process to finish a network, or here.
        crate::sweep::write_summary(&plan, dir)?;
    }
    Ok(Run {
        dir: dir.to_path_buf(),
        config,
        plan,
        nets,
    })
}

/// A unit's result.json, checked against its depth and Tmax; `None` while it is unfinished.
pub(crate) fn read_result(
    unit_dir: &UnitDir,
    depth: usize,
    max_steps: usize,
) -> Result<Option<DepthResult>> {
    let path = unit_dir.result();
    if !path.exists() {
        return Ok(None);
    }
    let result: DepthResult = read_json(&path)?;
    ensure!(
        result.depth == depth,
        "{} is for depth {}, not {depth}",
        path.display(),
        result.depth
    );
    if let Err(e) = result.check(max_steps) {
        bail!("{} is malformed: {e}", path.display());
    }
    Ok(Some(result))
}

/// A conv unit's norms.json: per path, L finite, non-negative layer norms.
fn read_norms(unit_dir: &UnitDir, depth: usize) -> Result<Vec<NormPath>> {
    let path = unit_dir.norms();
    let paths: Vec<NormPath> = read_json(&path)?;
    ensure!(
        paths.iter().all(|p| p.norms.len() == depth),
        "{} does not hold {depth} layer norms per path",
        path.display()
    );
    let norm = |v: &f64| v.is_finite() && *v >= 0.0;
    ensure!(
        paths
            .iter()
            .all(|p| p.norms.iter().chain(&p.increments).all(norm)),
        "{} holds a norm that is negative or not finite",
        path.display()
    );
    Ok(paths)
}

/// A fully connected unit's weights.safetensors, of the plan's width and δ mode, and finite
/// unless the network diverged (a diverged network's weights may have overflowed; it is left
/// out of the fits).
pub(crate) fn read_weights(
    unit_dir: &UnitDir,
    plan: &Plan,
    depth: usize,
    diverged: bool,
) -> Result<Weights> {
    let path = unit_dir.weights();
    let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let weights = Weights::from_safetensors(&bytes)
        .and_then(|w| w.check_delta(plan.delta).map(|()| w))
        .and_then(|w| match diverged {
            true => Ok(w),
            false => w.check_finite().map(|()| w),
        })
        .with_context(|| format!("{} is malformed", path.display()))?;
    let width = plan.width().context("a fully connected sweep")?;
    ensure!(
        weights.depth == depth && weights.width == width,
        "{} holds a network of depth {} and width {}, expected {depth} and {width}",
        path.display(),
        weights.depth,
        weights.width,
    );
    Ok(weights)
}

/// The training inputs and targets of a run, [n, d] each.
fn read_training_data(dir: &Path, width: usize) -> Result<(Vec<f32>, Vec<f32>)> {
    let path = RunDir::new(dir).data();
    let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let data = Dataset::from_safetensors(&bytes)
        .with_context(|| format!("{} is malformed", path.display()))?;
    ensure!(
        data.width == width,
        "{} is malformed: its data has width {}, the sweep {width}",
        path.display(),
        data.width
    );
    Ok((data.x_train, data.y_train))
}

/// Analyses the run directories and writes `analysis.json` and the figures.
pub fn run(args: &AnalyzeArgs, choice: BackendChoice) -> Result<Analysis> {
    ensure!(args.trend_depths >= 1, "--trend-depths must be at least 1");
    let runs = args
        .dirs
        .iter()
        .map(|d| read_run(d))
        .collect::<Result<Vec<_>>>()?;
    check_same_sweep(&runs)?;
    let first = &runs[0];
    let options = Options {
        exclude_unconverged: args.exclude_unconverged,
        trend_depths: args.trend_depths,
        floor: first.plan.data_floor().map(|f| f.mean),
        ..first.plan.analysis_options()
    };
    println!(
        "analysing {} networks from {}",
        runs.iter().map(|r| r.nets.len()).sum::<usize>(),
        args.dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (mut analysis, deepest, networks) = match &first.nets {
        Nets::Dense(_) => dense_analysis(&runs, &options, choice)?,
        Nets::Conv(_) => conv_analysis(&runs, &options),
    };

    // The figures first, analysis.json last: its presence means they are all there.
    let out = args.out();
    let out_dir = RunDir::new(out);
    let figures_dir = out_dir.figures();
    fs::create_dir_all(&figures_dir)
        .with_context(|| format!("creating {}", figures_dir.display()))?;
    let sweep = sweep_figures(&analysis, deepest.as_ref());
    for (name, panels) in &sweep {
        save(&figures_dir, name, panels, (900 * panels.len() as u32, 600))?;
    }
    for (name, panels) in &networks {
        save(&figures_dir, name, panels, (500 * panels.len() as u32, 450))?;
    }
    analysis.figures = sweep
        .iter()
        .chain(&networks)
        .map(|(name, _)| name.clone())
        .collect();
    write_json(&out_dir.analysis(), &analysis)?;
    println!(
        "verdict on {}: {}\nwrote {} and {}",
        analysis.main_path,
        analysis.verdict.explanation,
        out_dir.analysis().display(),
        figures_dir.display()
    );
    Ok(analysis)
}

/// Several directories pool as seeds of one sweep: their configs may differ only in
/// `seed`/`seeds`, and no seed may be in two of them.
fn check_same_sweep(runs: &[Run]) -> Result<()> {
    let first = &runs[0];
    for run in &runs[1..] {
        let same = SweepConfig {
            seed: first.config.seed,
            seeds: first.config.seeds.clone(),
            ..run.config.clone()
        };
        if same != first.config {
            bail!(
                "{} and {} are not the same sweep (their configs differ in more than `seed`/`seeds`)",
                first.dir.display(),
                run.dir.display()
            );
        }
    }
    let mut seeds: Vec<u64> = runs.iter().flat_map(|r| r.plan.seeds.clone()).collect();
    seeds.sort_unstable();
    if let Some(twice) = seeds.windows(2).find(|w| w[0] == w[1]) {
        bail!("two of the directories have networks of seed {}", twice[0]);
    }
    Ok(())
}

/// The analysis of conv networks from their layer norms, and each network's figure.
#[allow(clippy::type_complexity)]
fn conv_analysis(
    runs: &[Run],
    options: &Options,
) -> (Analysis, Option<Weights>, Vec<(String, Vec<Figure>)>) {
    let nets: Vec<NormTrained> = runs
        .iter()
        .flat_map(|r| match &r.nets {
            Nets::Conv(t) => t.clone(),
            Nets::Dense(_) => Vec::new(),
        })
        .collect();
    let networks = nets
        .iter()
        .map(|t| {
            let name = format!("network-L{}-seed{}", t.result.depth, t.seed);
            (name, vec![norm_figure(t.result.depth, &t.paths)])
        })
        .collect();
    (analyze_norms(&nets, options), None, networks)
}

/// The analysis of fully connected networks, with their denoised losses; the deepest
/// network; the per-network diagnostics.
#[allow(clippy::type_complexity)]
fn dense_analysis(
    runs: &[Run],
    options: &Options,
    choice: BackendChoice,
) -> Result<(Analysis, Option<Weights>, Vec<(String, Vec<Figure>)>)> {
    let trained: Vec<Trained> = runs
        .iter()
        .flat_map(|r| match &r.nets {
            Nets::Dense(t) => t.clone(),
            Nets::Conv(_) => Vec::new(),
        })
        .collect();
    let mut analysis = analyze(&trained, options);
    let data = runs
        .iter()
        .map(|r| read_training_data(&r.dir, r.plan.width().context("a fully connected sweep")?))
        .collect::<Result<Vec<_>>>()?;
    let evaluated = backend::run(
        choice,
        EvaluateJob {
            analysis: &analysis,
            runs,
            data: &data,
        },
    )?;
    analysis.denoised = evaluated
        .iter()
        .filter_map(|e| e.denoised.clone())
        .collect();
    let networks = trained
        .iter()
        .zip(&evaluated)
        .filter(|(t, _)| t.weights.check_finite().is_ok())
        .map(|(t, e)| {
            let name = format!("network-L{}-seed{}", t.result.depth, t.seed);
            (name, network_figures(&t.weights, Some(&e.hidden)))
        })
        .collect();
    let deepest = trained
        .iter()
        .filter(|t| t.weights.check_finite().is_ok())
        .max_by_key(|t| (t.result.depth, t.seed))
        .map(|t| t.weights.clone());
    Ok((analysis, deepest, networks))
}

/// What the networks of one (depth, seed) give when run on their data.
struct Evaluated {
    hidden: HiddenNorms,
    denoised: Option<DenoisedLoss>,
}

struct EvaluateJob<'a> {
    analysis: &'a Analysis,
    runs: &'a [Run],
    data: &'a [(Vec<f32>, Vec<f32>)],
}

/// Inputs used for the hidden-state diagnostics.
const HIDDEN_SAMPLES: usize = 100;

impl Job for EvaluateJob<'_> {
    type Output = Vec<Evaluated>;

    /// The training loss of every network and of its denoised version, and its hidden norms.
    fn run<B: Scan>(self, device: B::Device, _backend: &'static str) -> Vec<Evaluated> {
        let count = self.runs.iter().map(|r| r.nets.len()).sum::<usize>();
        let bar = ProgressBar::new(count as u64).with_message("evaluating networks");
        let mut out = Vec::with_capacity(count);
        for (run, (x, y)) in self.runs.iter().zip(self.data) {
            let Nets::Dense(trained) = &run.nets else {
                continue;
            };
            let Some(d) = run.plan.width() else {
                continue;
            };
            let x_train = matrix::<B>(x.clone(), d, &device);
            let y_train = matrix::<B>(y.clone(), d, &device);
            let x_hidden = matrix::<B>(x[..x.len().min(HIDDEN_SAMPLES * d)].to_vec(), d, &device);
            for t in trained {
                let (activation, delta) = (run.plan.activation, run.plan.delta);
                let model = ResNet::<B>::from_weights(&t.weights, activation, delta, &device);
                let hidden = model.hidden_norms(x_hidden.clone());
                let denoised = self.analysis.denoised_loss(
                    t,
                    (run.plan.activation, run.plan.delta),
                    (&x_train, &y_train),
                    &device,
                );
                out.push(Evaluated { hidden, denoised });
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
        out
    }
}
