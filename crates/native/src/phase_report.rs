//! The report of a phase diagram: OUT/report.html with the heat maps, the measured
//! transition against Marion et al.'s line β = H, the trend in depth, and the config.

use crate::files::write_atomic;
use crate::html::{escape, inline_svg, page_head};
use anyhow::Result;
use scaling_core::phase::{PhaseResults, Quantity};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Writes OUT/report.html from the results and the figures in OUT/figures.
pub fn write(out: &Path, results: &PhaseResults) -> Result<PathBuf> {
    let figures = out.join("figures");
    let c = &results.config;
    let mut h = page_head(
        "resnet-scaling: phase diagram at initialisation",
        "figure { display: inline-block; margin: 0.5em; }",
    );
    write!(
        h,
        r#"<h1>At initialisation: the (β, H) phase diagram</h1>
<p>h<sub>k+1</sub> = h<sub>k</sub> + L<sup>−β</sup> σ(A<sub>k</sub> h<sub>k</sub>), σ = {act}, d = {d},
A<sub>k</sub>'s entries fractional Gaussian noise of Hurst index H along k with variance 1/d
(H = ½: i.i.d.), {n} networks × {m} inputs per cell; colour: the median ratio (log scale, white
at 1). The line is Marion et al.'s β = H; the dots are where the ratio stops growing with L
here (the zero of its log-log slope over the depths {depths:?}).</p>
"#,
        act = c.activation.name(),
        d = c.width,
        n = c.n_networks,
        m = c.n_inputs,
        depths = c.depths,
    )?;
    for quantity in Quantity::ALL {
        writeln!(h, "<h2>{}</h2>", escape(quantity.formula()))?;
        let mut names: Vec<String> = c
            .depths
            .iter()
            .map(|&l| heat_map_name(quantity, l))
            .collect();
        names.push(trend_name(quantity));
        for name in names {
            let path = figures.join(format!("{name}.svg"));
            if path.exists() {
                writeln!(h, "<figure>{}</figure>", inline_svg(&path)?)?;
            }
        }
    }
    transition_table(&mut h, results)?;
    let config = toml::to_string(c)?;
    writeln!(
        h,
        "<h2>Configuration</h2>\n<pre>{}</pre>\n</body></html>",
        escape(&config)
    )?;
    let path = out.join("report.html");
    write_atomic(&path, h.as_bytes())?;
    Ok(path)
}

/// Per H: the measured transition β of each ratio beside Marion et al.'s β = H.
fn transition_table(h: &mut String, results: &PhaseResults) -> Result<()> {
    h.push_str("<h2>Where the transition lies</h2>\n<table><tr><th>H</th><th>β = H</th>");
    for q in Quantity::ALL {
        write!(h, "<th>measured β: {}</th>", escape(q.formula()))?;
    }
    h.push_str("</tr>\n");
    let columns: Vec<_> = Quantity::ALL
        .iter()
        .map(|&q| results.transition(q))
        .collect();
    for (i, hurst) in results.config.hursts.values().into_iter().enumerate() {
        write!(h, "<tr><td>{hurst:.3}</td><td>{hurst:.3}</td>")?;
        for column in &columns {
            let cell = column[i].1.map_or("—".into(), |b| format!("{b:.3}"));
            write!(h, "<td>{cell}</td>")?;
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
    Ok(())
}

/// The file stem of a heat map.
pub fn heat_map_name(quantity: Quantity, depth: usize) -> String {
    format!("phase-{}-L{depth}", quantity.name())
}

/// The file stem of a trend figure.
pub fn trend_name(quantity: Quantity) -> String {
    format!("phase-{}-trend", quantity.name())
}
