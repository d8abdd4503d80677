//! The figures of the study, built from an [`Analysis`] and from single networks: what to
//! plot, not how (that is [`crate::plot::figure`]).

use crate::analysis::fit::Fit;
use crate::analysis::stats::WeightPath;
use crate::analysis::{Analysis, NormPath, PathAnalysis, PathName, Statistic};
use crate::model::resnet::HiddenNorms;
use crate::model::weights::Weights;
use crate::plot::figure::{Figure, Mark, Series};

/// Dots of a statistic against L and, when it could be fitted, the fitted law as a dashed line
/// whose legend gives β of s ≈ C L^{−β} with its standard error and 95% interval.
pub fn with_fit(
    mut figure: Figure,
    path: &PathAnalysis,
    statistic: Statistic,
    color: usize,
) -> Figure {
    let points = path.series(statistic);
    // Conv layers are measured by their spectral norms.
    let formula = match path.name.is_conv() {
        true => statistic.formula().replace("_F", "₂"),
        false => statistic.formula().to_string(),
    };
    let name = formula.replace('W', path.name.label().trim_end_matches("_k"));
    let fit = path.fits.get(&statistic);
    let label = match fit.and_then(Fit::power_law) {
        Some(p) => format!("{name}: β = {}", p.describe()),
        None => format!("{name}: no fit"),
    };
    if let Some(fit) = fit.filter(|f| f.power_law().is_some()) {
        let (lo, hi) = points.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), p| {
            (lo.min(p.0), hi.max(p.0))
        });
        let line = [lo, hi]
            .iter()
            .filter_map(|&l| Some((l, fit.predict(l)?)))
            .collect();
        figure = figure.with(Series::new("", line, Mark::Dashed, color));
    }
    figure.with(Series::new(label, points, Mark::Dots, color))
}

/// The figures of a sweep, in the order a report shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SweepFigure {
    MaxNorm,
    LayersConv1,
    LayersConv2,
    Increments,
    Delta,
    DeltaK,
    TrendNoise,
    Denoised,
    Loss,
}

impl SweepFigure {
    pub const ALL: [SweepFigure; 9] = [
        SweepFigure::MaxNorm,
        SweepFigure::LayersConv1,
        SweepFigure::LayersConv2,
        SweepFigure::Increments,
        SweepFigure::Delta,
        SweepFigure::DeltaK,
        SweepFigure::TrendNoise,
        SweepFigure::Denoised,
        SweepFigure::Loss,
    ];

    /// Its file stem.
    pub fn name(self) -> &'static str {
        match self {
            SweepFigure::MaxNorm => "max-norm",
            SweepFigure::LayersConv1 => "layers-conv1",
            SweepFigure::LayersConv2 => "layers-conv2",
            SweepFigure::Increments => "increments",
            SweepFigure::Delta => "delta",
            SweepFigure::DeltaK => "delta-k",
            SweepFigure::TrendNoise => "trend-noise",
            SweepFigure::Denoised => "denoised",
            SweepFigure::Loss => "loss",
        }
    }

    /// Its panels, side by side; `None` when the sweep has nothing to show in it. `deepest`
    /// is the deepest trained network.
    pub fn panels(self, a: &Analysis, deepest: Option<&Weights>) -> Option<Vec<Figure>> {
        let one = |f: Option<Figure>| f.map(|f| vec![f]);
        match self {
            SweepFigure::MaxNorm => one(max_norm(a)),
            SweepFigure::LayersConv1 => one(conv_layers(a, PathName::Conv1)),
            SweepFigure::LayersConv2 => one(conv_layers(a, PathName::Conv2)),
            SweepFigure::Increments => one(increments(a)),
            SweepFigure::Delta => one(delta(a)),
            SweepFigure::DeltaK => one(delta_along_k(deepest?)),
            SweepFigure::TrendNoise => trend_noise(a),
            SweepFigure::Denoised => one(denoised(a)),
            SweepFigure::Loss => Some(vec![final_loss(a)]),
        }
    }
}

/// The sweep's figures, by file stem, each one or more panels side by side.
pub fn sweep_figures(a: &Analysis, deepest: Option<&Weights>) -> Vec<(String, Vec<Figure>)> {
    let named = |f: SweepFigure| Some((f.name().to_string(), f.panels(a, deepest)?));
    SweepFigure::ALL.into_iter().filter_map(named).collect()
}

/// max_k ‖W_k‖ of the main path against L (and its spectral norm when measured), fitted.
fn max_norm(a: &Analysis) -> Option<Figure> {
    let main = a.path(a.main_path)?;
    let label = main.name.label();
    let title = format!("Scaling of {label}: max norm against depth");
    let mut fig = Figure::new(title, "depth L", format!("max_k ‖{label}‖")).log_log();
    fig = with_fit(fig, main, Statistic::MaxNorm, 0);
    if main.fits.contains_key(&Statistic::MaxSpectral) {
        fig = with_fit(fig, main, Statistic::MaxSpectral, 1);
    }
    Some(fig)
}

/// The hypothesis test of the main path: rescaled increments, Root SSQ and the rescaled
/// quadratic variation against L, fitted; titled with the verdict.
fn increments(a: &Analysis) -> Option<Figure> {
    let main = a.path(a.main_path)?;
    let title = format!("{}: {}", a.verdict.regime.label(), main.name.label());
    let mut fig = Figure::new(title, "depth L", "statistic").log_log();
    let statistics = [
        Statistic::RescaledIncrement,
        Statistic::RootSsq,
        Statistic::RescaledQuadraticVariation,
    ];
    for (i, s) in statistics.into_iter().enumerate() {
        fig = with_fit(fig, main, s, i + 2);
    }
    Some(fig)
}

/// max_k |δ_k| (or the shared |δ|) against L, fitted.
fn delta(a: &Analysis) -> Option<Figure> {
    let delta = a.path(PathName::Delta)?;
    let title = match delta.verdict.is_some() {
        true => "max_k |δ_k| against depth",
        false => "|δ| against depth",
    };
    let fig = Figure::new(title, "depth L", "|δ|").log_log();
    Some(with_fit(fig, delta, Statistic::MaxNorm, 5))
}

/// One entry of the rescaled path with its trend W̄(t), and the noise around it.
fn trend_noise(a: &Analysis) -> Option<Vec<Figure>> {
    let t = a.trend(a.main_path).or_else(|| a.trend(PathName::A))?;
    let l = t.rescaled.len() as f64;
    let along = |v: &[f64]| {
        v.iter()
            .enumerate()
            .map(|(k, &y)| (k as f64 / l, y))
            .collect()
    };
    let entry = entry_name(&t.shape, t.entry);
    let name = t.path.label();
    let rescaled = format!("L^β W_k{entry}, β = {:.3}", t.beta);
    let averaged = format!("trend W̄(t), averaged over L = {:?}", t.averaged_depths);
    let trend = Figure::new(
        format!("Trend of {name}{entry}, L = {}", t.depth),
        "t = k/L",
        "rescaled weight",
    )
    .with(Series::new(rescaled, along(&t.rescaled), Mark::Dots, 7))
    .with(Series::new(
        averaged,
        along(&t.trend_along_k),
        Mark::Line,
        0,
    ));
    let noise = Figure::new(
        format!("Noise of {name}{entry}, L = {}", t.depth),
        "t = k/L",
        "noise",
    )
    .with(Series::new(
        "L^(β−1) Σ_{j<k} (W_j − L^−β W̄(j/L))",
        along(&t.noise),
        Mark::Line,
        3,
    ));
    Some(vec![trend, noise])
}

/// The training loss of the trained and the denoised (trend only) networks against L.
fn denoised(a: &Analysis) -> Option<Figure> {
    if a.denoised.is_empty() {
        return None;
    }
    let pick = |f: fn(&crate::analysis::DenoisedLoss) -> Option<f64>| {
        let points = a
            .denoised
            .iter()
            .filter_map(|d| Some((d.depth as f64, f(d)?)));
        points.collect()
    };
    let mut fig = Figure::new("Trained and denoised networks", "depth L", "training loss")
        .log_log()
        .with(Series::new("trained", pick(|d| d.trained), Mark::Dots, 0))
        .with(Series::new(
            "denoised (trend only)",
            pick(|d| d.denoised),
            Mark::Dots,
            3,
        ));
    fig.shade_below = Some(a.epsilon);
    Some(fig)
}

/// The final training loss against L, the networks that reached ε apart from the flagged.
fn final_loss(a: &Analysis) -> Figure {
    let loss = |flagged: bool| {
        let depths = a.depths.iter().filter(|d| d.flag.is_some() == flagged);
        depths
            .filter_map(|d| Some((d.depth as f64, d.final_train_loss?)))
            .collect()
    };
    let mut fig = Figure::new("Final training loss", "depth L", "training loss")
        .log_log()
        .with(Series::new("reached ε", loss(false), Mark::Dots, 0))
        .with(Series::new(
            "flagged (Tmax or diverged)",
            loss(true),
            Mark::Dots,
            3,
        ));
    let depths = a.depths.iter().map(|d| d.depth as f64);
    let (lo, hi) = depths.fold((f64::INFINITY, 0f64), |(lo, hi), l| (lo.min(l), hi.max(l)));
    if let Some(floor) = a.floor.filter(|_| lo <= hi) {
        let line = vec![(lo, floor), (hi, floor)];
        fig = fig.with(Series::new(
            "data floor E Var(y | input)",
            line,
            Mark::Line,
            2,
        ));
    }
    fig.shade_below = Some(a.epsilon);
    fig
}

/// The spectral norm of every `name` layer (conv1 or conv2) at every depth, and their max.
fn conv_layers(a: &Analysis, name: PathName) -> Option<Figure> {
    let layers: Vec<_> = a.layer_norms.iter().filter(|l| l.path == name).collect();
    if layers.is_empty() {
        return None;
    }
    let every = layers
        .iter()
        .flat_map(|l| l.norms.iter().map(|&n| (l.depth as f64, n)))
        .collect();
    let max = layers
        .iter()
        .map(|l| (l.depth as f64, l.norms.iter().copied().fold(0.0, f64::max)))
        .collect();
    let title = format!("Spectral norm of every {name} layer against depth");
    let fig = Figure::new(title, "depth L", format!("‖{name}_k‖₂"))
        .log_log()
        .with(Series::new("every layer", every, Mark::Dots, 7))
        .with(Series::new("max over layers", max, Mark::Line, 0));
    Some(fig)
}

/// δ_k against k for the deepest network, when it has one δ per layer.
fn delta_along_k(w: &Weights) -> Option<Figure> {
    let delta = w.delta.as_ref().filter(|d| d.len() == w.depth)?;
    let points = delta
        .iter()
        .enumerate()
        .map(|(k, &x)| (k as f64, f64::from(x)));
    let title = format!("δ_k along the network, L = {}", w.depth);
    let fig =
        Figure::new(title, "layer k", "δ_k").with(Series::new("", points.collect(), Mark::Dots, 0));
    Some(fig)
}

/// "[i, j]" of entry e of an array of `shape`.
fn entry_name(shape: &[usize], e: usize) -> String {
    match shape {
        [_, cols] => format!("[{}, {}]", e / cols, e % cols),
        [_] => format!("[{e}]"),
        _ => String::new(),
    }
}

/// The spectral norms of one conv ResNet's layers against the block index k.
pub fn norm_figure(depth: usize, paths: &[NormPath]) -> Figure {
    let mut fig = Figure::new(format!("Spectral norms, L = {depth}"), "block k", "‖W_k‖₂").log_y();
    for (i, p) in paths.iter().enumerate() {
        let points = p
            .norms
            .iter()
            .enumerate()
            .map(|(k, &n)| (k as f64, n))
            .collect();
        fig = fig.with(Series::new(
            format!("‖{}_k‖₂", p.name),
            points,
            Mark::Line,
            i,
        ));
    }
    fig
}

/// The diagnostics of one network: ‖W_k‖ against k, a few entries of A_k against k, and
/// (when given) the hidden states' norms against k.
pub fn network_figures(w: &Weights, hidden: Option<&HiddenNorms>) -> Vec<Figure> {
    let l = w.depth;
    let against_k = |v: &[f64]| v.iter().enumerate().map(|(k, &y)| (k as f64, y)).collect();
    let mut norms = Figure::new(format!("Layer norms, L = {l}"), "layer k", "‖W_k‖").log_y();
    for (i, (name, path)) in crate::analysis::named_paths(w).into_iter().enumerate() {
        if path.depth() == l {
            norms = norms.with(Series::new(
                format!("‖{}‖", name.label()),
                against_k(&path.norms()),
                Mark::Line,
                i,
            ));
        }
    }
    let a = WeightPath::new(
        vec![w.width, w.width],
        w.a.iter().map(|&x| f64::from(x)).collect(),
    );
    let m = a.size();
    let mut entries = Figure::new(format!("Entries of A_k, L = {l}"), "layer k", "A_k[i, j]");
    let mut picked = vec![0, m / 2, m - 1];
    picked.dedup();
    for (i, e) in picked.into_iter().enumerate() {
        let values: Vec<f64> = a.layers().map(|layer| layer[e]).collect();
        entries = entries.with(Series::new(
            format!("A_k{}", entry_name(&a.shape, e)),
            against_k(&values),
            Mark::Line,
            i,
        ));
    }
    let mut figures = vec![norms, entries];
    if let Some(hn) = hidden {
        figures.push(
            Figure::new(format!("Hidden states, L = {l}"), "layer k", "mean norm")
                .log_y()
                .with(Series::new("‖h_k‖", against_k(&hn.h), Mark::Line, 0))
                .with(Series::new(
                    "‖h_{k+1} − h_k‖",
                    against_k(&hn.dh),
                    Mark::Line,
                    1,
                )),
        );
    }
    figures
}
