//! Parametrizations of depth: the branch multiplier δ of Eq. (1) (δ = L^{−β} fixed, or the
//! paper's trained δ) and the learning rate's depth exponent κ, η_L = η·L^{−κ}, set together
//! by a named preset (`parametrization` in a sweep config).
//!
//! | preset | δ | κ, SGD | κ, Adam | source |
//! |---|---|---|---|---|
//! | `standard` | 1 | 0 | 0 | the standard parametrization |
//! | `ode` | 1/L | 0 | 0 | the neural ODE scaling, learning rate untouched |
//! | `depth-mup` | L^{−½} | 0 | ½ | Yang, Yu, Zhu & Hayou, "Tensor Programs VI" (2023), Table 1 |
//! | `completep` | 1/L | −1 | 0 | Dey et al., "CompleteP" (2025), Table 1 (AdamW) |
//! | `trained-shared` | one trained δ | 0 | 0 | the paper's tanh experiments |
//! | `trained-per-layer` | trained δ_k | 0 | 0 | the paper's ReLU experiments |
//!
//! Tensor Programs VI, §1: "For Adam, because it is scale-invariant to the gradient, the
//! learning rate of W^l is set to be η/√L. On the other hand, the learning rate of W^l for SGD
//! is set as a constant η because the gradient of W^l is already of size 1/√L due to the
//! multiplier." Their general rule (footnote 5, §7: learning rate L^{−γ} for Adam, L^{α−γ} for
//! SGD, α + γ = 1 for a non-trivial stable limit) gives κ = 1 − β for Adam and κ = 1 − 2β for
//! SGD. CompleteP's Table 1 (and its code, `eta *= depth_multiplier**(depth_alpha_exp-1)`)
//! states the Adam rule κ = 1 − α for its α = 1: κ = 0. Its SGD rule is not stated (its
//! experiments are AdamW); κ = −1 is Tensor Programs VI's rule at β = 1, a derivation. For
//! Adam, `ode` and `completep` are therefore the same parametrization of Eq. (1); they differ
//! under SGD.

use crate::model::delta::DeltaMode;
use crate::train::optim::Optimizer;
use serde::{Deserialize, Serialize};

/// A named parametrization of depth (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Parametrization {
    Standard,
    Ode,
    DepthMup,
    Completep,
    TrainedShared,
    TrainedPerLayer,
}

/// What a parametrization sets: δ and κ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DepthScaling {
    pub delta: DeltaMode,
    /// κ of η_L = η·L^{−κ}.
    pub kappa: f64,
}

impl Parametrization {
    pub const ALL: [Parametrization; 6] = [
        Parametrization::Standard,
        Parametrization::Ode,
        Parametrization::DepthMup,
        Parametrization::Completep,
        Parametrization::TrainedShared,
        Parametrization::TrainedPerLayer,
    ];

    /// The names of [`Parametrization::ALL`], for the forms that offer them.
    pub const NAMES: [&'static str; 6] = {
        let mut names = [""; 6];
        let mut i = 0;
        while i < names.len() {
            names[i] = Parametrization::ALL[i].name();
            i += 1;
        }
        names
    };

    /// Its name in a config file (serde's spelling, tested).
    pub const fn name(self) -> &'static str {
        match self {
            Parametrization::Standard => "standard",
            Parametrization::Ode => "ode",
            Parametrization::DepthMup => "depth-mup",
            Parametrization::Completep => "completep",
            Parametrization::TrainedShared => "trained-shared",
            Parametrization::TrainedPerLayer => "trained-per-layer",
        }
    }

    /// δ and κ of this parametrization under `optimizer` (the table of the module).
    pub fn scaling(self, optimizer: Optimizer) -> DepthScaling {
        let adam = matches!(optimizer, Optimizer::Adam { .. });
        let fixed = |beta: f64, kappa: f64| DepthScaling {
            delta: DeltaMode::Fixed { beta },
            kappa,
        };
        let trained = |delta| DepthScaling { delta, kappa: 0.0 };
        match self {
            Parametrization::Standard => trained(DeltaMode::None),
            Parametrization::Ode => fixed(1.0, 0.0),
            Parametrization::DepthMup => fixed(0.5, if adam { 0.5 } else { 0.0 }),
            Parametrization::Completep => fixed(1.0, if adam { 0.0 } else { -1.0 }),
            Parametrization::TrainedShared => trained(DeltaMode::Shared),
            Parametrization::TrainedPerLayer => trained(DeltaMode::PerLayer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_mup_and_completep_follow_tensor_programs_vi() {
        // κ = 1 − β for Adam, 1 − 2β for SGD, for every fixed δ but the plain ODE scaling.
        for p in Parametrization::ALL {
            // (optimizer, how many β the learning rate's exponent loses)
            for (optimizer, times) in [(Optimizer::Sgd, 2.0), (Optimizer::ADAM, 1.0)] {
                let s = p.scaling(optimizer);
                if let (DeltaMode::Fixed { beta }, false) = (s.delta, p == Parametrization::Ode) {
                    assert_eq!(s.kappa, 1.0 - times * beta, "{p:?} {optimizer:?}");
                }
            }
        }
    }

    #[test]
    fn names_are_serdes_spelling() {
        for p in Parametrization::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.name(), "{p:?}");
        }
        assert_eq!(Parametrization::DepthMup.name(), "depth-mup");
    }
}
