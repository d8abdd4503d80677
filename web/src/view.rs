//! What the page shows of a training in progress, as plain data, and its figures (drawn with
//! core's plots on a canvas).

use scaling_core::analysis::Analysis;
use scaling_core::model::weights::Weights;
use scaling_core::plot::figure::{Figure, Mark, Series};
use scaling_core::plot::trained::SweepFigure;
use scaling_core::train::results::StopReason;

/// One depth as the page shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct DepthView {
    pub depth: usize,
    pub steps: usize,
    /// (step, training loss).
    pub losses: Vec<(usize, f64)>,
    pub stop: Option<StopReason>,
    pub test_loss: Option<f64>,
    pub weights: Weights,
}

impl DepthView {
    /// ‖A_k‖_F, k < L.
    pub fn layer_norms(&self) -> Vec<f64> {
        let d2 = self.weights.width * self.weights.width;
        self.weights
            .a
            .chunks(d2)
            .map(|a| a.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt())
            .collect()
    }

    pub fn last_loss(&self) -> Option<f64> {
        self.losses.last().map(|p| p.1)
    }
}

/// The state of every depth and the analysis of their weights.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Snapshot {
    pub depths: Vec<DepthView>,
    pub analysis: Option<Analysis>,
    /// Updates per second over all depths, since the start.
    pub steps_per_sec: f64,
    pub epsilon: f64,
}

/// The figures of the page, by canvas name: the training losses, ‖A_k‖ along the network, and
/// three of the sweep's figures: max‖A_k‖ against L with the fitted β, the rescaled increments
/// against L, and the training loss of the trained and the denoised networks against L.
pub fn figures(s: &Snapshot) -> Vec<(&'static str, Figure)> {
    let mut loss = Figure::new("Training loss", "step", "loss").log_y();
    loss.shade_below = Some(s.epsilon).filter(|&e| e > 0.0);
    let mut norms = Figure::new("Trained weights along the network", "k/L", "‖A_k‖_F");
    for (i, d) in s.depths.iter().enumerate() {
        let label = format!("L = {}", d.depth);
        let points = d.losses.iter().map(|&(t, l)| (t as f64, l)).collect();
        loss = loss.with(Series::new(label.clone(), points, Mark::Line, i));
        let l = d.depth as f64;
        let along = d
            .layer_norms()
            .into_iter()
            .enumerate()
            .map(|(k, n)| (k as f64 / l, n))
            .collect();
        norms = norms.with(Series::new(label, along, Mark::Line, i));
    }
    let mut figures = vec![("loss", loss), ("norms", norms)];
    if let Some(a) = &s.analysis {
        let shown = [
            SweepFigure::MaxNorm,
            SweepFigure::Increments,
            SweepFigure::Denoised,
        ];
        for figure in shown {
            if let Some(panels) = figure.panels(a, None) {
                figures.push((figure.name(), panels[0].clone()));
            }
        }
    }
    figures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(depth: usize, width: usize) -> DepthView {
        DepthView {
            depth,
            steps: 10,
            losses: vec![(0, 1.0), (10, 0.5)],
            stop: None,
            test_loss: None,
            weights: Weights {
                depth,
                width,
                a: (0..depth * width * width).map(|i| (i % 3) as f32).collect(),
                b: vec![0.0; depth * width],
                delta: None,
            },
        }
    }

    #[test]
    fn layer_norms_are_frobenius_norms_per_layer() {
        let v = view(2, 2);
        // a = 0 1 2 0 | 1 2 0 1
        assert_eq!(v.layer_norms(), [5f64.sqrt(), 6f64.sqrt()]);
    }

    #[test]
    fn every_depth_has_a_loss_and_a_norm_series() {
        let s = Snapshot {
            depths: vec![view(3, 2), view(9, 2)],
            analysis: None,
            steps_per_sec: 1.0,
            epsilon: 1e-3,
        };
        let f = figures(&s);
        assert_eq!(f.iter().map(|p| p.0).collect::<Vec<_>>(), ["loss", "norms"]);
        assert_eq!(f[0].1.series.len(), 2);
        assert_eq!(f[1].1.series[1].points.len(), 9);
        assert_eq!(f[1].1.series[1].points[3].0, 3.0 / 9.0);
        assert_eq!(f[0].1.shade_below, Some(1e-3));
    }
}
