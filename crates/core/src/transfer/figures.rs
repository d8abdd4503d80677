//! The figures of a transfer grid: the final loss against the base η, one curve per depth
//! (the transfer figure; diverged networks drawn as crosses at its top), η*(L) against L with
//! its fitted law, and the loss at the best η against L, every parametrization in one.

use super::optimum::{depths, lrs, Outcome, Transfer};
use crate::plot::figure::{Corner, Figure, Mark, Series};

/// Which final loss a transfer figure draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    Train,
    Test,
}

impl Loss {
    fn of(self, o: &Outcome) -> Option<f64> {
        match self {
            Loss::Train => o.train_loss,
            Loss::Test => o.test_loss,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Loss::Train => "training",
            Loss::Test => "test",
        }
    }
}

/// The final `loss` against η, one curve per depth (the mean over the seeds that did not
/// diverge), and, above every curve, a cross in the depth's colour for every (η, L) where a
/// seed diverged (one row per depth, so that none hides another); the legend at the lower
/// left, out of their way.
pub fn transfer_figure(t: &Transfer, loss: Loss) -> Figure {
    let mut figure = Figure::new(
        format!("{}: final {} loss", t.parametrization.name(), loss.name()),
        "base learning rate η",
        format!("{} loss after the same updates", loss.name()),
    )
    .log_log();
    figure.legend = Corner::LowerLeft;
    let ceiling = 3.0
        * t.outcomes
            .iter()
            .filter_map(|o| loss.of(o))
            .filter(|v| v.is_finite() && *v > 0.0)
            .fold(f64::MIN_POSITIVE, f64::max);
    for (color, depth) in depths(&t.outcomes).into_iter().enumerate() {
        let row = ceiling * ROW.powi(color as i32);
        let at_depth: Vec<&Outcome> = t.outcomes.iter().filter(|o| o.depth == depth).collect();
        let mut curve = Vec::new();
        let mut diverged = Vec::new();
        for lr in lrs(at_depth.iter().copied()) {
            let at: Vec<&&Outcome> = at_depth.iter().filter(|o| o.lr == lr).collect();
            let finite: Vec<f64> = at.iter().filter_map(|o| loss.of(o)).collect();
            if !finite.is_empty() {
                curve.push((lr, finite.iter().sum::<f64>() / finite.len() as f64));
            }
            if at.iter().any(|o| o.diverged()) {
                diverged.push((lr, row));
            }
        }
        figure = figure.with(Series::new(
            format!("L = {depth}"),
            curve,
            Mark::Line,
            color,
        ));
        if !diverged.is_empty() {
            figure = figure.with(Series::new("", diverged, Mark::Cross, color));
        }
    }
    if t.outcomes.iter().any(Outcome::diverged) {
        // The legend's entry only: grey, as the crosses take their depth's colour.
        figure = figure.with(Series::new("diverged", Vec::new(), Mark::Cross, GREY));
    }
    figure
}

/// The ratio between two rows of crosses.
const ROW: f64 = 1.3;
/// The palette's grey.
const GREY: usize = 7;

/// η*(L) of every seed (dots) and its fitted law (dashed), one colour per parametrization;
/// the optima at the grid's edge are left out.
pub fn optimum_figure(transfers: &[Transfer]) -> Figure {
    let mut figure = Figure::new(
        "the best base learning rate η*(L)",
        "depth L",
        "η* (final training loss)",
    )
    .log_log();
    for (color, t) in transfers.iter().enumerate() {
        let points: Vec<(f64, f64)> = t
            .optima
            .iter()
            .filter(|o| !o.at_edge)
            .map(|o| (o.depth as f64, o.lr))
            .collect();
        let label = match t.fit.power_law() {
            Some(p) => format!("{}: κ* = {:.2}", t.parametrization.name(), p.beta),
            None => t.parametrization.name().to_string(),
        };
        figure = figure.with(Series::new(label, points, Mark::Dots, color));
        let ends = depths(&t.outcomes);
        if let (Some(&lo), Some(&hi)) = (ends.first(), ends.last()) {
            let line: Option<Vec<(f64, f64)>> = [lo, hi]
                .iter()
                .map(|&l| t.fit.predict(l as f64).map(|v| (l as f64, v)))
                .collect();
            if let Some(line) = line {
                figure = figure.with(Series::new("", line, Mark::Dashed, color));
            }
        }
    }
    figure
}

/// The training loss at each depth's best η (the mean over the seeds) against L.
pub fn best_loss_figure(transfers: &[Transfer]) -> Figure {
    let mut figure = Figure::new(
        "the final training loss at the best η",
        "depth L",
        "training loss at η*",
    )
    .log_log();
    for (color, t) in transfers.iter().enumerate() {
        let points = t
            .best
            .iter()
            .map(|b| (b.depth as f64, b.train_loss))
            .collect();
        figure = figure.with(Series::new(
            t.parametrization.name(),
            points,
            Mark::Line,
            color,
        ));
    }
    figure
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::config::parametrization::Parametrization;
    use crate::train::optim::Optimizer;
    use crate::transfer::grid::Cell;

    fn transfer() -> Transfer {
        let mut outcomes = Vec::new();
        for depth in [4, 16, 64] {
            for (i, lr) in [0.01, 0.1, 1.0].into_iter().enumerate() {
                for seed in 0..2 {
                    // The deepest network diverges at η = 1 for seed 1 only.
                    let diverged = depth == 64 && i == 2 && seed == 1;
                    let loss = (!diverged).then_some(1e-2 / (1.0 + i as f64) * depth as f64);
                    outcomes.push(Outcome {
                        lr,
                        depth,
                        seed,
                        train_loss: loss,
                        test_loss: loss.map(|l| 2.0 * l),
                    });
                }
            }
        }
        let cell = Cell {
            parametrization: Parametrization::Standard,
            lr: 0.0,
        };
        Transfer::of(
            &[(cell, outcomes)],
            Parametrization::Standard,
            Optimizer::Sgd,
        )
    }

    #[test]
    fn the_transfer_figure_draws_diverged_cells_as_crosses_at_its_top() {
        let t = transfer();
        let figure = transfer_figure(&t, Loss::Train);
        let crosses: Vec<&Series> = figure
            .series
            .iter()
            .filter(|s| s.mark == Mark::Cross)
            .collect();
        assert_eq!(crosses.len(), 2);
        assert_eq!((crosses[0].label.as_str(), crosses[0].color), ("", 2));
        assert_eq!(
            (crosses[1].label.as_str(), crosses[1].points.len()),
            ("diverged", 0)
        );
        assert_eq!(crosses[0].points.len(), 1);
        let (lr, y) = crosses[0].points[0];
        let top = figure
            .series
            .iter()
            .filter(|s| s.mark == Mark::Line)
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0, f64::max);
        assert_eq!(lr, 1.0);
        assert!(
            y > top,
            "the cross at {y} is not above every curve (top {top})"
        );
        // The diverged seed's depth still has its curve, from the other seed, at every η.
        let deepest = &figure.series[figure.series.len() - 3];
        assert_eq!(
            (deepest.label.as_str(), deepest.points.len()),
            ("L = 64", 3)
        );
        // And the figure draws.
        crate::testing::register_font();
        let mut svg = String::new();
        {
            use plotters::prelude::*;
            let area = SVGBackend::with_string(&mut svg, (600, 400)).into_drawing_area();
            crate::plot::figure::draw(&figure, &area).unwrap();
            area.present().unwrap();
        }
        assert!(svg.contains("diverged"));
    }

    #[test]
    fn the_optimum_and_best_loss_figures_have_one_colour_per_parametrization() {
        let t = transfer();
        let transfers = [t];
        let figures = [optimum_figure(&transfers), best_loss_figure(&transfers)];
        for figure in figures {
            assert!(figure.series.iter().all(|s| s.color == 0));
            assert!(!figure.series[0].points.is_empty());
        }
    }
}
