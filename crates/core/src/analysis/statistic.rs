//! The statistics of a weight path measured at every depth (the table of the module
//! documentation of [`crate::analysis`] and the README's Analysis page).

use crate::analysis::stats::PathStats;
use serde::{Deserialize, Serialize};

/// A statistic of a path at one depth, as a function of L.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Statistic {
    MaxNorm,
    MaxSpectral,
    RootSsq,
    QuadraticVariation,
    Sobolev,
    MaxIncrement,
    /// L^β max_k ‖W_{k+1} − W_k‖, β from the max-norm fit.
    RescaledIncrement,
    /// L^{2β} Σ_k ‖W_{k+1} − W_k‖², the quadratic variation of the rescaled path.
    RescaledQuadraticVariation,
    CumulativeSum,
    DetrendedCumulativeSum,
    PVariation1,
    PVariation2,
    PVariation3,
}

impl Statistic {
    pub const ALL: [Statistic; 13] = [
        Statistic::MaxNorm,
        Statistic::MaxSpectral,
        Statistic::RootSsq,
        Statistic::QuadraticVariation,
        Statistic::Sobolev,
        Statistic::MaxIncrement,
        Statistic::RescaledIncrement,
        Statistic::RescaledQuadraticVariation,
        Statistic::CumulativeSum,
        Statistic::DetrendedCumulativeSum,
        Statistic::PVariation1,
        Statistic::PVariation2,
        Statistic::PVariation3,
    ];

    /// The statistic's formula, for legends and the report.
    pub fn formula(self) -> &'static str {
        match self {
            Statistic::MaxNorm => "max‖W_k‖_F",
            Statistic::MaxSpectral => "max‖W_k‖₂",
            Statistic::RootSsq => "(Σ‖W_k‖²)^½",
            Statistic::QuadraticVariation => "Σ‖ΔW_k‖²",
            Statistic::Sobolev => "(L Σ‖ΔW_k‖²)^½",
            Statistic::MaxIncrement => "max‖ΔW_k‖",
            Statistic::RescaledIncrement => "L^β max‖ΔW_k‖",
            Statistic::RescaledQuadraticVariation => "L^2β Σ‖ΔW_k‖²",
            Statistic::CumulativeSum => "‖Σ W_k‖",
            Statistic::DetrendedCumulativeSum => "max‖S_k − S̄_k‖",
            Statistic::PVariation1 => "‖W‖_1-var",
            Statistic::PVariation2 => "‖W‖_2-var",
            Statistic::PVariation3 => "‖W‖_3-var",
        }
    }

    /// Whether the statistic is rescaled by L^β (and so needs the max-norm fit).
    pub(super) fn value_needs_beta(self) -> bool {
        matches!(
            self,
            Statistic::RescaledIncrement | Statistic::RescaledQuadraticVariation
        )
    }

    /// Its value at depth L given the path's β (for the rescaled ones).
    pub fn value(self, s: &PathStats, depth: usize, beta: Option<f64>) -> Option<f64> {
        let l = depth as f64;
        match self {
            Statistic::MaxNorm => Some(s.max_norm),
            Statistic::MaxSpectral => s.max_spectral,
            Statistic::RootSsq => Some(s.root_ssq),
            Statistic::QuadraticVariation => Some(s.quadratic_variation),
            Statistic::Sobolev => Some(s.sobolev),
            Statistic::MaxIncrement => Some(s.max_increment),
            Statistic::RescaledIncrement => beta.map(|b| l.powf(b) * s.max_increment),
            Statistic::RescaledQuadraticVariation => {
                beta.map(|b| l.powf(2.0 * b) * s.quadratic_variation)
            }
            Statistic::CumulativeSum => s.cumulative_sum,
            Statistic::DetrendedCumulativeSum => s.detrended_cumulative_sum,
            Statistic::PVariation1 => s.p_variation.map(|p| p[0]),
            Statistic::PVariation2 => s.p_variation.map(|p| p[1]),
            Statistic::PVariation3 => s.p_variation.map(|p| p[2]),
        }
    }
}
