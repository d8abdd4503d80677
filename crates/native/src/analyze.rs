//! `native analyze DIR [DIR...]`: the scaling analysis of one sweep (several directories: the
//! same sweep run with different seeds), written as `analysis.json` and figures.
//!
//! OUT/analysis.json   every statistic per depth, every fit, the verdicts, trends, denoised losses
//! OUT/figures/NAME.svg, NAME.png   the sweep's figures
//! OUT/figures/network-L<L>-seed<s>.svg, .png   per-network diagnostics

use crate::backend::{self, BackendChoice, Job};
use crate::files::{read_json, write_atomic, write_json};
use crate::sweep::read_config;
use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use indicatif::ProgressBar;
use plotters::coord::Shift;
use plotters::prelude::*;
use scaling_core::analysis::{
    analyze, analyze_norms, main_path, Analysis, DenoisedLoss, NormPath, NormTrained, Options,
    Trained,
};
use scaling_core::config::{Plan, SweepConfig};
use scaling_core::data::Dataset;
use scaling_core::figures::{network_figures, norm_figure, sweep_figures};
use scaling_core::model::HiddenNorms;
use scaling_core::plots::{draw, Figure};
use scaling_core::results::{DepthResult, StopReason};
use scaling_core::train::{evaluate, matrix};
use scaling_core::weights::Weights;
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
    #[arg(long, default_value_t = 3)]
    pub trend_depths: usize,
}

impl AnalyzeArgs {
    pub fn of(dir: &Path) -> Self {
        Self {
            dirs: vec![dir.to_path_buf()],
            out: None,
            exclude_unconverged: false,
            trend_depths: 3,
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
    let config_path = dir.join("config.toml");
    ensure!(
        config_path.is_file(),
        "{} is not a run directory (it has no config.toml; `native sweep --out` makes one)",
        dir.display()
    );
    let config = read_config(&config_path)?;
    let plan = config.plan()?;
    let width = plan.data.width();
    let mut dense = Vec::new();
    let mut conv = Vec::new();
    for unit in plan.units() {
        let (depth, seed) = (unit.depth, unit.seed);
        let depth_dir = dir.join(plan.unit_dir(unit));
        let result_path = depth_dir.join("result.json");
        if !result_path.exists() {
            continue;
        }
        let result: DepthResult = read_json(&result_path)?;
        ensure!(
            result.depth == depth,
            "{} is for depth {}, not {depth}",
            result_path.display(),
            result.depth
        );
        if let Err(e) = result.check(config.max_steps) {
            bail!("{} is malformed: {e}", result_path.display());
        }
        if plan.conv.is_some() {
            let norms_path = depth_dir.join("norms.json");
            let paths: Vec<NormPath> = read_json(&norms_path)?;
            ensure!(
                paths.iter().all(|p| p.norms.len() == depth),
                "{} does not hold {depth} layer norms per path",
                norms_path.display()
            );
            let norm = |v: &f64| v.is_finite() && *v >= 0.0;
            ensure!(
                paths
                    .iter()
                    .all(|p| p.norms.iter().chain(&p.increments).all(norm)),
                "{} holds a norm that is negative or not finite",
                norms_path.display()
            );
            conv.push(NormTrained {
                seed,
                result,
                paths,
            });
            continue;
        }
        let weights_path = depth_dir.join("weights.safetensors");
        let bytes = fs::read(&weights_path)
            .with_context(|| format!("reading {}", weights_path.display()))?;
        let diverged = result.outcome.stop_reason == StopReason::Diverged;
        let weights = Weights::from_safetensors(&bytes)
            .and_then(|w| w.check_delta(plan.delta).map(|()| w))
            // A diverged network's weights may have overflowed; it is left out of the fits.
            .and_then(|w| {
                if diverged {
                    Ok(w)
                } else {
                    w.check_finite().map(|()| w)
                }
            })
            .with_context(|| format!("{} is malformed", weights_path.display()))?;
        ensure!(
            weights.depth == depth && weights.width == width,
            "{} holds a network of depth {} and width {}, expected {depth} and {width}",
            weights_path.display(),
            weights.depth,
            weights.width,
        );
        dense.push(Trained {
            seed,
            result,
            weights,
        });
    }
    let nets = if plan.conv.is_some() {
        Nets::Conv(conv)
    } else {
        Nets::Dense(dense)
    };
    ensure!(
        nets.len() > 0,
        "{} has no finished depth yet (no depth_<L>/result.json)",
        dir.display()
    );
    if !dir.join("summary.json").exists() {
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

/// The training inputs and targets of a run, [n, d] each.
fn read_training_data(dir: &Path, width: usize) -> Result<(Vec<f32>, Vec<f32>)> {
    let path = dir.join("data.safetensors");
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
    let options = Options {
        main_path: match first.plan.conv {
            Some(_) => "conv1".into(),
            None => main_path(first.plan.activation, first.plan.delta).into(),
        },
        epsilon: first.config.epsilon,
        exclude_unconverged: args.exclude_unconverged,
        trend_depths: args.trend_depths,
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
        Nets::Conv(_) => {
            let nets: Vec<NormTrained> = runs
                .iter()
                .flat_map(|r| match &r.nets {
                    Nets::Conv(t) => t.clone(),
                    Nets::Dense(_) => Vec::new(),
                })
                .collect();
            let analysis = analyze_norms(&nets, &options);
            let networks = nets
                .iter()
                .map(|t| {
                    let name = format!("network-L{}-seed{}", t.result.depth, t.seed);
                    (name, vec![norm_figure(t.result.depth, &t.paths)])
                })
                .collect();
            (analysis, None, networks)
        }
    };

    // The figures first, analysis.json last: its presence means they are all there.
    let out = args.out();
    let figures_dir = out.join("figures");
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
    write_json(&out.join("analysis.json"), &analysis)?;
    println!(
        "verdict on {}: {}\nwrote {} and {}",
        analysis.main_path,
        analysis.verdict.explanation,
        out.join("analysis.json").display(),
        figures_dir.display()
    );
    Ok(analysis)
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
        .map(|r| read_training_data(&r.dir, r.plan.data.width()))
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
            let d = run.plan.data.width();
            let x_train = matrix::<B>(x.clone(), d, &device);
            let y_train = matrix::<B>(y.clone(), d, &device);
            let x_hidden = matrix::<B>(x[..x.len().min(HIDDEN_SAMPLES * d)].to_vec(), d, &device);
            for t in trained {
                let net = |w: &Weights| {
                    ResNet::<B>::from_weights(w, run.plan.activation, run.plan.delta, &device)
                };
                let model = net(&t.weights);
                let hidden = model.hidden_norms(x_hidden.clone());
                let used = self
                    .analysis
                    .depths
                    .iter()
                    .any(|e| e.used && e.depth == t.result.depth && e.seed == t.seed);
                let denoised = self
                    .analysis
                    .denoised_weights(&t.weights)
                    .filter(|_| used)
                    .map(|w| {
                        let loss = |m: &ResNet<B>| {
                            scaling_core::results::finite(evaluate(
                                m,
                                x_train.clone(),
                                y_train.clone(),
                            ))
                        };
                        DenoisedLoss {
                            depth: t.result.depth,
                            seed: t.seed,
                            trained: loss(&model),
                            denoised: loss(&net(&w)),
                        }
                    });
                out.push(Evaluated { hidden, denoised });
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
        out
    }
}

/// Draws `panels` side by side into NAME.svg and NAME.png (see [`save_drawing`]).
fn save(dir: &Path, name: &str, panels: &[Figure], size: (u32, u32)) -> Result<()> {
    save_drawing(dir, name, size, |root| {
        for (panel, area) in panels.iter().zip(root.split_evenly((1, panels.len()))) {
            draw(panel, &area).map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// Draws with `draw` into NAME.svg and, rasterised from it, NAME.png (twice the pixels),
/// each written atomically.
pub(crate) fn save_drawing(
    dir: &Path,
    name: &str,
    (w, h): (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
) -> Result<()> {
    let failed = |e: String| anyhow::anyhow!("drawing {name}: {e}");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        draw(&root).map_err(failed)?;
        root.present().map_err(|e| failed(e.to_string()))?;
    }
    write_atomic(&dir.join(format!("{name}.svg")), svg.as_bytes())?;
    write_atomic(
        &dir.join(format!("{name}.png")),
        &png(&svg, 2.0).map_err(failed)?,
    )
}

/// An SVG rasterised at `scale` and encoded as PNG, its text set in the embedded font.
fn png(svg: &str, scale: f32) -> Result<Vec<u8>, String> {
    use resvg::{tiny_skia, usvg};
    use std::sync::{Arc, OnceLock};
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    let fontdb = FONTS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(crate::FONT.to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        Arc::new(db)
    });
    let options = usvg::Options {
        fontdb: fontdb.clone(),
        font_family: "DejaVu Sans".into(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| e.to_string())?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or("empty figure")?;
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("figure too large")?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| e.to_string())
}
