//! `native report DIR`: one self-contained `report.html` (figures inline as SVG, the table
//! of exponents with their intervals, the verdicts, the depths and the config) that opens
//! from disk in any browser.

use crate::analyze::{self, AnalyzeArgs};
use crate::backend::BackendChoice;
use crate::files::{read_json, write_atomic};
use crate::html::{escape, inline_svg, page_head};
use crate::sweep::read_config;
use anyhow::{Context, Result};
use scaling_core::analysis::fit::Fit;
use scaling_core::analysis::{
    Analysis, Flag, Statistic, BROWNIAN_GAMMA, DIFFUSIVE_BETA_TOLERANCE, GAMMA_BAND, SSQ_TOLERANCE,
};
use scaling_core::plot::trained::SweepFigure;
use scaling_core::sweep::run_dir::RunDir;
use std::fmt::Write;
use std::fs;
use std::path::Path;

/// Writes DIR/report.html, analysing DIR first when its analysis is missing or stale; for
/// a phase diagram's directory (phase.json), redraws its figures and report; for a transfer
/// grid's (transfer.toml), analyses the finished grid.
pub fn run(dir: &Path, choice: BackendChoice) -> Result<()> {
    if dir.join(scaling_core::phase::FILE).exists() {
        return crate::phase::report(dir);
    }
    if dir.join(scaling_core::transfer::results::CONFIG).exists() {
        return crate::transfer::report(dir);
    }
    let analysis: Analysis = match fresh_analysis(dir)? {
        Ok(analysis) => analysis,
        Err(why) => {
            println!("analysing {} first: {why}", dir.display());
            analyze::run(&AnalyzeArgs::of(dir), choice)?
        }
    };
    let run_dir = RunDir::new(dir);
    let config_path = run_dir.config();
    let config = fs::read_to_string(&config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let html = render(&analysis, &config, &run_dir.figures())?;
    let path = run_dir.report();
    write_atomic(&path, html.as_bytes())?;
    println!("wrote {}", path.display());
    Ok(())
}

/// DIR's analysis when analysis.json and every figure it names are there and none is older
/// than a finished network's result.json; else why it must be redone before a report.
fn fresh_analysis(dir: &Path) -> Result<Result<Analysis, String>> {
    let run_dir = RunDir::new(dir);
    let analysis_path = run_dir.analysis();
    let Ok(analysed) = fs::metadata(&analysis_path).and_then(|m| m.modified()) else {
        return Ok(Err("it has no analysis.json".into()));
    };
    let Ok(analysis) = read_json::<Analysis>(&analysis_path) else {
        return Ok(Err("its analysis.json is malformed".into()));
    };
    let plan = read_config(&run_dir.config())?.plan()?;
    let newest_result = plan
        .units()
        .into_iter()
        .filter_map(|u| fs::metadata(run_dir.unit(&plan, u).result()).ok())
        .filter_map(|m| m.modified().ok())
        .max();
    let mut files = vec![(analysis_path, Some(analysed))];
    for name in &analysis.figures {
        let path = run_dir.figure(name, "svg");
        let modified = fs::metadata(&path).and_then(|m| m.modified()).ok();
        files.push((path, modified));
    }
    let stale = files
        .into_iter()
        .find_map(|(path, modified)| match modified {
            None => Some(format!("{} is missing", path.display())),
            Some(t) if newest_result.is_some_and(|r| r > t) => Some(format!(
                "{} is older than a network's result.json",
                path.display()
            )),
            Some(_) => None,
        });
    Ok(stale.map_or(Ok(analysis), Err))
}

/// The report page: the verdict and its rule, the figures, the exponents, the depths, the
/// networks and the config.
fn render(a: &Analysis, config: &str, figures: &Path) -> Result<String> {
    let mut h = String::new();
    let v = &a.verdict;
    let title = format!("resnet-scaling report: {}", v.regime.label());
    h.push_str(&page_head(
        &title,
        ".verdict { padding: 1em 1.2em; border-radius: 6px; background: #eef4fb; border-left: 6px solid #1f77b4; }\n\
         td:first-child, th:first-child { text-align: left; }\n.flag { color: #b00; }",
    ));
    write!(
        h,
        r#"<h1>Scaling of trained ResNet weights with depth</h1>
<div class="verdict"><b>Verdict on {path}: {regime}.</b><br>{explanation}</div>
<p>Rule (the paper's two criteria): β from max<sub>k</sub>‖W<sub>k</sub>‖ ≈ C L<sup>−β</sup>;
γ from the rescaled increment L<sup>β</sup> max<sub>k</sub>‖W<sub>k+1</sub> − W<sub>k</sub>‖ ≈
C L<sup>−γ</sup> on the larger depths; ρ from Root SSQ (Σ<sub>k</sub>‖W<sub>k</sub>‖²)<sup>½</sup> ≈
C L<sup>−ρ</sup>. Smooth limit (Hypothesis 1) when the 95% interval of γ lies above {band} and ρ
is within {ssq} of β − ½; diffusive limit (Hypothesis 2) when the interval of γ meets
[−{band}, {band}] and lies below {brownian}, and β is within {diffusive} of ½; undetermined when
it meets the band and reaches {brownian} (too wide to tell); neither otherwise. Every exponent below uses the same convention,
statistic ≈ C L<sup>−β</sup>.</p>
"#,
        regime = v.regime.label(),
        path = escape(a.main_path.label()),
        explanation = escape(&v.explanation),
        ssq = SSQ_TOLERANCE,
        band = GAMMA_BAND,
        brownian = BROWNIAN_GAMMA,
        diffusive = DIFFUSIVE_BETA_TOLERANCE,
    )?;

    figures_section(&mut h, figures)?;
    exponents_section(&mut h, a)?;
    depths_section(&mut h, a)?;
    networks_section(&mut h, a, figures)?;
    writeln!(
        h,
        "<h2>Configuration</h2>\n<pre>{}</pre>\n</body></html>",
        escape(config)
    )?;
    Ok(h)
}

/// The sweep figures that were drawn, inline.
fn figures_section(h: &mut String, figures: &Path) -> Result<()> {
    h.push_str("<h2>Figures</h2>\n");
    for figure in SweepFigure::ALL {
        let path = figures.join(format!("{}.svg", figure.name()));
        if path.exists() {
            writeln!(h, "<figure>{}</figure>", inline_svg(&path)?)?;
        }
    }

    Ok(())
}

/// Per path, the fit of every statistic: β, its error and interval, or why it is missing.
fn exponents_section(h: &mut String, a: &Analysis) -> Result<()> {
    h.push_str("<h2>Exponents</h2>\n");
    for p in &a.paths {
        let verdict = p
            .verdict
            .as_ref()
            .map_or(String::new(), |v| format!(": {}", v.regime.label()));
        writeln!(
            h,
            "<h3>{}{}</h3>\n<table><tr><th>statistic</th><th>β</th><th>std. error</th>\
             <th>95% interval</th><th>interval from</th><th>depths</th><th>seeds</th></tr>",
            escape(p.name.label()),
            escape(&verdict)
        )?;
        for s in Statistic::ALL {
            let Some(fit) = p.fits.get(&s) else { continue };
            let row = match fit {
                Fit::Fitted(f) => format!(
                    "<td>{:.3}</td><td>{:.3}</td><td>[{:.3}, {:.3}]</td><td>{:?}</td><td>{}</td><td>{}</td>",
                    f.beta, f.std_error, f.ci95[0], f.ci95[1], f.interval, f.depths, f.seeds
                ),
                Fit::Impossible { reason } => {
                    format!("<td colspan=\"6\" class=\"flag\">no fit: {}</td>", escape(reason))
                }
            };
            writeln!(h, "<tr><td>{}</td>{row}</tr>", escape(s.formula()))?;
        }
        h.push_str("</table>\n");
    }

    Ok(())
}

/// Per network: its stop, final and denoised losses, whether the fits use it, its flag.
fn depths_section(h: &mut String, a: &Analysis) -> Result<()> {
    h.push_str(
        "<h2>Depths</h2>\n<table><tr><th>depth L</th><th>seed</th><th>stop</th>\
         <th>final train loss</th><th>denoised loss</th><th>used</th><th>flag</th></tr>\n",
    );
    for e in &a.depths {
        let denoised = a
            .denoised
            .iter()
            .find(|d| d.depth == e.depth && d.seed == e.seed)
            .and_then(|d| d.denoised);
        let num = |x: Option<f64>| x.map_or("—".into(), |x| format!("{x:.3e}"));
        writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"flag\">{}</td></tr>",
            e.depth,
            e.seed,
            e.stop_reason,
            num(e.final_train_loss),
            num(denoised),
            if e.used { "yes" } else { "no" },
            escape(e.flag.map_or("", Flag::label))
        )?;
    }
    h.push_str("</table>\n");
    Ok(())
}

/// Per network, its diagnostics figure, folded.
fn networks_section(h: &mut String, a: &Analysis, figures: &Path) -> Result<()> {
    h.push_str("<h2>Networks</h2>\n");
    for e in &a.depths {
        let path = figures.join(format!("network-L{}-seed{}.svg", e.depth, e.seed));
        if path.exists() {
            writeln!(
                h,
                "<details><summary>L = {}, seed {}</summary>{}</details>",
                e.depth,
                e.seed,
                inline_svg(&path)?
            )?;
        }
    }
    Ok(())
}
