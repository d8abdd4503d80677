//! The figures of the study, built from an [`Analysis`] and from single networks: what to
//! plot, not how (that is [`crate::plots`]).

use crate::analysis::{Analysis, NormPath, PathAnalysis, Statistic};
use crate::fit::Fit;
use crate::model::HiddenNorms;
use crate::plots::{Figure, Mark, Series};
use crate::stats::WeightPath;
use crate::weights::Weights;

/// The legend label of a path's name: "A_k", "|δ_k| A_k", ...
pub fn path_label(name: &str) -> &str {
    match name {
        "A" => "A_k",
        "b" => "b_k",
        "delta" => "δ_k",
        "delta_A" => "|δ_k| A_k",
        "delta_b" => "|δ_k| b_k",
        "conv1" => "conv1_k",
        "conv2" => "conv2_k",
        other => other,
    }
}

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
    let formula = match path.name.starts_with("conv") {
        true => statistic.formula().replace("_F", "₂"),
        false => statistic.formula().to_string(),
    };
    let name = formula.replace('W', path_label(&path.name).trim_end_matches("_k"));
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

/// The sweep's figures, by file stem, each one or more panels side by side. `deepest` is the
/// deepest trained network.
pub fn sweep_figures(a: &Analysis, deepest: Option<&Weights>) -> Vec<(String, Vec<Figure>)> {
    let mut figures = Vec::new();
    let main = a.path(&a.main_path);
    if let Some(main) = main {
        let label = path_label(&main.name);
        let mut fig = Figure::new(
            format!("Scaling of {label}: max norm against depth"),
            "depth L",
            format!("max_k ‖{label}‖"),
        )
        .log_log();
        fig = with_fit(fig, main, Statistic::MaxNorm, 0);
        if main.fits.contains_key(&Statistic::MaxSpectral) {
            fig = with_fit(fig, main, Statistic::MaxSpectral, 1);
        }
        figures.push(("max-norm".into(), vec![fig]));

        let mut fig = Figure::new(
            format!("{}: {label}", a.verdict.regime.label()),
            "depth L",
            "statistic",
        )
        .log_log();
        for (i, s) in [
            Statistic::RescaledIncrement,
            Statistic::RootSsq,
            Statistic::RescaledQuadraticVariation,
        ]
        .into_iter()
        .enumerate()
        {
            fig = with_fit(fig, main, s, i + 2);
        }
        figures.push(("increments".into(), vec![fig]));
    }
    if let Some(delta) = a.path("delta") {
        let title = if delta.verdict.is_some() {
            "max_k |δ_k| against depth"
        } else {
            "|δ| against depth"
        };
        let fig = Figure::new(title, "depth L", "|δ|").log_log();
        figures.push((
            "delta".into(),
            vec![with_fit(fig, delta, Statistic::MaxNorm, 5)],
        ));
    }
    if let Some(t) = a.trend(&a.main_path).or_else(|| a.trend("A")) {
        let l = t.rescaled.len() as f64;
        let along = |v: &[f64]| {
            v.iter()
                .enumerate()
                .map(|(k, &y)| (k as f64 / l, y))
                .collect()
        };
        let entry = entry_name(&t.shape, t.entry);
        let trend = Figure::new(
            format!("Trend of {}{entry}, L = {}", path_label(&t.path), t.depth),
            "t = k/L",
            "rescaled weight",
        )
        .with(Series::new(
            format!("L^β W_k{entry}, β = {:.3}", t.beta),
            along(&t.rescaled),
            Mark::Dots,
            7,
        ))
        .with(Series::new(
            format!("trend W̄(t), averaged over L = {:?}", t.averaged_depths),
            along(&t.trend_along_k),
            Mark::Line,
            0,
        ));
        let noise = Figure::new(
            format!("Noise of {}{entry}, L = {}", path_label(&t.path), t.depth),
            "t = k/L",
            "noise",
        )
        .with(Series::new(
            "L^(β−1) Σ_{j<k} (W_j − L^−β W̄(j/L))",
            along(&t.noise),
            Mark::Line,
            3,
        ));
        figures.push(("trend-noise".into(), vec![trend, noise]));
    }
    if !a.denoised.is_empty() {
        let pick = |f: fn(&crate::analysis::DenoisedLoss) -> Option<f64>| {
            a.denoised
                .iter()
                .filter_map(|d| Some((d.depth as f64, f(d)?)))
                .collect()
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
        figures.push(("denoised".into(), vec![fig]));
    }
    let loss = |flagged: bool| {
        a.depths
            .iter()
            .filter(|d| d.flag.is_some() == flagged)
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
    fig.shade_below = Some(a.epsilon);
    figures.push(("loss".into(), vec![fig]));
    for name in ["conv1", "conv2"] {
        let layers: Vec<_> = a.layer_norms.iter().filter(|l| l.path == name).collect();
        if layers.is_empty() {
            continue;
        }
        let every = layers
            .iter()
            .flat_map(|l| l.norms.iter().map(|&n| (l.depth as f64, n)))
            .collect();
        let max = layers
            .iter()
            .map(|l| (l.depth as f64, l.norms.iter().copied().fold(0.0, f64::max)))
            .collect();
        let fig = Figure::new(
            format!("Spectral norm of every {name} layer against depth"),
            "depth L",
            format!("‖{name}_k‖₂"),
        )
        .log_log()
        .with(Series::new("every layer", every, Mark::Dots, 7))
        .with(Series::new("max over layers", max, Mark::Line, 0));
        figures.push((format!("layers-{name}"), vec![fig]));
    }
    if let Some(w) = deepest.filter(|w| w.delta.as_ref().is_some_and(|d| d.len() == w.depth)) {
        let delta = w.delta.as_ref().unwrap();
        let points = delta
            .iter()
            .enumerate()
            .map(|(k, &x)| (k as f64, f64::from(x)))
            .collect();
        let fig = Figure::new(
            format!("δ_k along the network, L = {}", w.depth),
            "layer k",
            "δ_k",
        )
        .with(Series::new("", points, Mark::Dots, 0));
        figures.push(("delta-k".into(), vec![fig]));
    }
    figures
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
    for (i, (name, path)) in crate::analysis::weight_paths(w).into_iter().enumerate() {
        if path.depth() == l {
            norms = norms.with(Series::new(
                format!("‖{}‖", path_label(name)),
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
