//! The step sizes δ_k of Eq. (1): how they are parametrised, and the fixed δ_k(L) = L^{−β}.

use serde::{Deserialize, Serialize};

/// How the step sizes δ_k are parametrised.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum DeltaMode {
    /// δ_k = 1.
    None,
    /// One trainable scalar δ, used as |δ| at every layer, initialised to 1/L.
    Shared,
    /// One trainable δ_k per layer, initialised N(0, (1/L)²); may change sign.
    PerLayer,
    /// δ_k = L^{−β}, not trained (the convention of Marion et al.).
    Fixed { beta: f64 },
}

impl DeltaMode {
    /// δ in words: "1", "L^−0.5", "trained, shared", "trained, per layer".
    pub fn describe(self) -> String {
        match self {
            DeltaMode::None => "1".into(),
            DeltaMode::Fixed { beta } => format!("L^−{beta}"),
            DeltaMode::Shared => "trained, shared".into(),
            DeltaMode::PerLayer => "trained, per layer".into(),
        }
    }

    /// Whether δ is a trainable parameter.
    pub fn trainable(self) -> bool {
        matches!(self, DeltaMode::Shared | DeltaMode::PerLayer)
    }

    /// The untrained δ_k(L) = L^{−β} of [`DeltaMode::Fixed`] (the same at every layer);
    /// `None` for the other modes, whose δ is 1 or trained.
    pub fn fixed(self, depth: usize) -> Option<f64> {
        match self {
            DeltaMode::Fixed { beta } => Some((depth as f64).powf(-beta)),
            _ => None,
        }
    }
}
