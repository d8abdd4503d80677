//! What the phase view shows of a phase diagram in progress, as plain text and figures: the
//! progress, the line about the hovered cell, the measured transition over the depths done so
//! far, and the path ‖h_k‖ of the clicked cell's network.

use scaling_core::phase::{PhaseResults, Probe, Quantiles, Quantity};
use scaling_core::plot::figure::{Figure, Mark, Series};

/// (columns computed, columns in all).
pub fn progress(results: &PhaseResults) -> (usize, usize) {
    let total = results.config.columns().len();
    (total - results.missing().len(), total)
}

/// A ratio with three significant digits; `None` (the value overflowed) as "overflow".
pub fn ratio(value: Option<f64>) -> String {
    value.map_or("overflow".into(), significant)
}

/// A number with three significant digits: plain from 10⁻³ to 10⁴, else scientific.
pub fn significant(v: f64) -> String {
    // Rounded first, so that 0.99996 reads 1.00, not 1.000.
    let rounded = format!("{v:.2e}").parse::<f64>().unwrap_or(v);
    match rounded {
        0.0 => "0".into(),
        v if (1e-3..1e4).contains(&v.abs()) => {
            let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
            format!("{v:.decimals$}")
        }
        v => format!("{v:.2e}"),
    }
}

/// "median m (25–75%: a to b)" of one ratio of a cell.
fn quartiles(q: &Quantiles) -> String {
    format!(
        "median {} (25–75%: {} to {})",
        ratio(q.median),
        ratio(q.q25),
        ratio(q.q75)
    )
}

/// The line about the cell at (L, H, β): its coordinates, then for each of the three ratios
/// its median and 25–75% range over the cell's networks × inputs, or that it is not computed
/// yet.
pub fn hover_text(results: Option<&PhaseResults>, depth: usize, beta: f64, hurst: f64) -> String {
    let at = format!("β = {beta:.3}, H = {hurst:.3}, L = {depth}");
    let Some(cell) = results.and_then(|r| r.cell(depth, hurst, beta)) else {
        return format!("{at}: not computed yet");
    };
    let ratios: Vec<String> = Quantity::ALL
        .iter()
        .map(|q| format!("{}: {}", q.formula(), quartiles(q.of(cell))))
        .collect();
    format!("{at}. {}", ratios.join("; "))
}

/// The depths whose every column is computed.
pub fn done_depths(results: &PhaseResults) -> Vec<usize> {
    let missing = results.missing();
    let depths = results.config.depths.iter().copied();
    depths
        .filter(|&l| missing.iter().all(|c| c.depth != l))
        .collect()
}

/// The transition measured over some depths.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    /// The depths it is measured over.
    pub depths: Vec<usize>,
    /// Per H, the β where the median forward ratio stops growing with L (`None` where its
    /// depth slope does not change sign on the grid): [`PhaseResults::transition`].
    pub rows: Vec<(f64, Option<f64>)>,
}

/// The measured transition of the forward ratio over the depths done so far: `None` before
/// two are.
pub fn transition(results: &PhaseResults) -> Option<Transition> {
    let depths = done_depths(results);
    if depths.len() < 2 {
        return None;
    }
    let mut done = results.clone();
    done.config.depths = depths.clone();
    let rows = done.transition(Quantity::Forward);
    Some(Transition { depths, rows })
}

/// ‖h_k‖ (mean over the inputs) against k for one network at (L, H, β), on a log scale.
pub fn path_figure(probe: &Probe, beta: f64, hurst: f64) -> Figure {
    let depth = probe.norms.len().saturating_sub(1);
    let title = format!("‖h_k‖ along network 0, L = {depth}, β = {beta:.3}, H = {hurst:.3}");
    let points = probe
        .norms
        .iter()
        .enumerate()
        .map(|(k, &n)| (k as f64, n))
        .collect();
    Figure::new(title, "layer k", "‖h_k‖, mean over the inputs")
        .log_y()
        .with(Series::new("", points, Mark::Line, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use scaling_core::phase::{Axis, Column, PhaseConfig};

    fn config() -> PhaseConfig {
        PhaseConfig {
            width: 4,
            depths: vec![5, 20, 80],
            betas: Axis::List(vec![0.0, 0.5, 1.0]),
            hursts: Axis::List(vec![0.3, 0.7]),
            n_networks: 2,
            n_inputs: 3,
            ..PhaseConfig::default()
        }
    }

    #[test]
    fn ratios_have_three_significant_digits_and_overflow_is_named() {
        let cases = [
            (None, "overflow"),
            (Some(0.0), "0"),
            (Some(1.23456), "1.23"),
            (Some(0.0123456), "0.0123"),
            (Some(123.456), "123"),
            (Some(1234.6), "1230"),
            (Some(1.5e7), "1.50e7"),
            (Some(2e-5), "2.00e-5"),
            (Some(0.99996), "1.00"),
            (Some(9999.7), "1.00e4"),
        ];
        for (value, text) in cases {
            assert_eq!(ratio(value), text, "{value:?}");
        }
    }

    #[test]
    fn the_hover_line_names_the_cell_and_its_three_ratios() {
        let mut results = PhaseResults::new(config());
        assert_eq!(progress(&results), (0, 6));
        assert_eq!(
            hover_text(Some(&results), 5, 0.5, 0.3),
            "β = 0.500, H = 0.300, L = 5: not computed yet"
        );
        let column = Column {
            depth: 5,
            hurst: 0.3,
        };
        let cells = results
            .config
            .column::<NdArray<f32>>(column, &Default::default());
        results.add(cells);
        assert_eq!(progress(&results), (1, 6));
        let text = hover_text(Some(&results), 5, 0.5, 0.3);
        let cell = results.cell(5, 0.3, 0.5).unwrap();
        assert!(text.starts_with("β = 0.500, H = 0.300, L = 5. ‖h_L − h_0‖ / ‖h_0‖: median "));
        assert!(text.contains(&format!("median {}", ratio(cell.backward.median))));
        assert!(text.contains(&format!("to {}", ratio(cell.gradient_change.q75))));
        assert_eq!(text.matches("25–75%").count(), 3, "{text}");
    }

    #[test]
    fn the_transition_is_measured_over_the_depths_done() {
        let mut results = PhaseResults::new(config());
        let device = Default::default();
        let mut seen = Vec::new();
        for column in results.missing() {
            let cells = results.config.column::<NdArray<f32>>(column, &device);
            results.add(cells);
            seen.push(transition(&results).map(|t| (t.depths, t.rows.len())));
        }
        let none = [None, None, None];
        assert_eq!(seen[..3], none);
        assert_eq!(seen[3], Some((vec![5, 20], 2)));
        assert_eq!(seen[5], Some((vec![5, 20, 80], 2)));
        let all = transition(&results).unwrap().rows;
        assert_eq!(all, results.transition(Quantity::Forward));
    }

    #[test]
    fn the_path_is_the_probes_norms_along_k() {
        let config = config();
        let column = Column {
            depth: 20,
            hurst: 0.7,
        };
        let network = config.network(column, 0);
        let mut p = network.probe::<NdArray<f32>>(config.activation, &[0.5], &Default::default());
        let p = p.pop().unwrap();
        let f = path_figure(&p, 0.5, 0.7);
        assert_eq!(
            f.title,
            "‖h_k‖ along network 0, L = 20, β = 0.500, H = 0.700"
        );
        assert!(f.log_y);
        assert_eq!(f.series[0].points.len(), 21);
        assert_eq!(f.series[0].points[20], (20.0, p.norms[20]));
    }
}
