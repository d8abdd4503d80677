//! The conservation law of gradient flow that makes SGD's trained weights scale as they do.
//!
//! For a positively homogeneous σ (ReLU, linear: σ(c z) = c σ(z), c > 0), the network with a
//! shared step |δ| is unchanged by δ → c δ, A_k → A_k / c, b_k → b_k / c for every k. Its
//! loss is constant along that curve, so at every point
//!
//!   δ ∂ℓ/∂δ = Σ_k ⟨A_k, ∂ℓ/∂A_k⟩ + ⟨b_k, ∂ℓ/∂b_k⟩,
//!
//! and along the gradient flow ẇ = −∂ℓ/∂w, d/dt [δ² − Σ_k (‖A_k‖² + ‖b_k‖²)] = 0: the
//! *balance* δ² − Σ_k (‖A_k‖²_F + ‖b_k‖²) is conserved. With one δ_k per layer the same holds
//! layer by layer: δ_k² − ‖A_k‖²_F − ‖b_k‖² is conserved for every k. For tanh (odd, σ(z) =
//! z − z³/3 + …) it holds to third order near 0. SGD with a small η follows the flow up to
//! O(η²) per update; Adam's per-coordinate step sizes do not (it is not a gradient flow).
//!
//! Why it gives β = 3/4 for SGD from a small init: the balance starts at 1/L² (δ = 1/L, A ≈ 0),
//! so after training |δ|² ≈ Σ_k ‖A_k‖² ≈ L ‖A‖², |δ| ≈ √L ‖A‖; fitting a target of order one
//! needs the network's total drift Σ_k |δ| σ(A_k h_k) ≈ |δ| L ‖A‖ = √L · L ‖A‖² to be of order
//! one: ‖A‖ ~ L^{−3/4} (β = 3/4) and |δ| ~ L^{−1/4} (α = 1/4).

use crate::model::weights::Weights;
use serde::{Deserialize, Serialize};

/// The balance of a network, before and after training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Balance {
    pub depth: usize,
    pub seed: u64,
    /// δ² (shared δ) or Σ_k δ_k² (per layer), trained.
    pub delta_sq: f64,
    /// Σ_k (‖A_k‖² + ‖b_k‖²), trained.
    pub weights_sq: f64,
    /// The balance at init and trained: δ² − Σ_k (‖A_k‖² + ‖b_k‖²) for a shared δ; for δ_k per
    /// layer, the same sum over the layers (each layer's own balance is conserved too).
    pub initial: f64,
    pub trained: f64,
    /// max_k |C_k(trained) − C_k(init)| / max_k δ_k²(trained) for δ_k per layer, else
    /// |C(trained) − C(init)| / δ²(trained): 0 when the law holds.
    pub drift: f64,
}

/// δ_k² − ‖A_k‖² − ‖b_k‖² for every layer (per-layer δ), or the one balance (shared δ); with
/// δ_k² alone alongside. `None` when δ is not trained.
fn balances(w: &Weights) -> Option<(Vec<f64>, Vec<f64>)> {
    let delta = w.delta.as_ref()?;
    let (l, d) = (w.depth, w.width);
    let layer_sq = |k: usize| -> f64 {
        let a = &w.a[k * d * d..(k + 1) * d * d];
        let b = &w.b[k * d..(k + 1) * d];
        a.iter().chain(b).map(|&x| f64::from(x).powi(2)).sum()
    };
    if delta.len() == l && l > 1 {
        let deltas: Vec<f64> = delta.iter().map(|&x| f64::from(x).powi(2)).collect();
        let c = (0..l).map(|k| deltas[k] - layer_sq(k)).collect();
        Some((c, deltas))
    } else {
        let delta_sq = f64::from(delta[0]).powi(2);
        let total: f64 = (0..l).map(layer_sq).sum();
        Some((vec![delta_sq - total], vec![delta_sq]))
    }
}

impl Balance {
    /// The balance of a network trained from `init` to `trained`; `None` when δ is not
    /// trained.
    pub fn of(depth: usize, seed: u64, init: &Weights, trained: &Weights) -> Option<Balance> {
        let (c0, _) = balances(init)?;
        let (c1, deltas) = balances(trained)?;
        let scale = deltas.iter().fold(0.0, |m: f64, &x| m.max(x));
        let drift = c0
            .iter()
            .zip(&c1)
            .map(|(a, b)| (b - a).abs())
            .fold(0.0, f64::max);
        let delta_sq: f64 = deltas.iter().sum();
        let trained_sum: f64 = c1.iter().sum();
        Some(Balance {
            depth,
            seed,
            delta_sq,
            weights_sq: delta_sq - trained_sum,
            initial: c0.iter().sum(),
            trained: trained_sum,
            drift: drift / scale,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::SyntheticConfig;
    use crate::model::activation::Activation;
    use crate::model::delta::DeltaMode;
    use crate::model::resnet::ResNetConfig;
    use crate::train::fused::FusedStepper;
    use crate::train::optim::OptimConfig;
    use crate::train::optim::Optimizer;
    use crate::train::session::{train, TrainConfig};

    /// Trains a ReLU net of depth 12 by full-batch steps with `config` and returns its
    /// balance.
    fn trained_balance(mode: DeltaMode, config: &TrainConfig) -> Balance {
        let data = SyntheticConfig {
            width: 4,
            n_train: 64,
            n_test: 16,
            noise: 0.0,
            seed: 3,
        }
        .generate();
        let init = ResNetConfig::new(4, 12, Activation::Relu, mode)
            .with_initial_sd(0.5)
            .with_seed(1)
            .init_weights();
        let mut stepper = FusedStepper::new(&init, Activation::Relu, mode, &data, config);
        let outcome = train(&mut stepper, &data, config, |_, _| {});
        let losses: Vec<f64> = outcome
            .history
            .iter()
            .filter_map(|p| p.train_loss)
            .collect();
        assert!(
            losses[losses.len() - 1] < 0.5 * losses[0],
            "it trains: {losses:?}"
        );
        Balance::of(12, 1, &init, &stepper.to_weights()).unwrap()
    }

    /// Small-step gradient descent keeps the balance of a ReLU net (shared and per-layer δ)
    /// while it trains; Adam does not keep it.
    #[test]
    fn gradient_descent_conserves_the_balance_and_adam_does_not() {
        let gd = TrainConfig::new(64, OptimConfig::new(0.02), 0.0, 1500).with_log_every(500);
        let adam = TrainConfig::new(64, OptimConfig::new(0.01), 0.0, 1500)
            .with_log_every(500)
            .with_optimizer(Optimizer::ADAM);
        for mode in [DeltaMode::Shared, DeltaMode::PerLayer] {
            let b = trained_balance(mode, &gd);
            assert!(b.drift < 0.02, "{mode:?} GD: {b:?}");
            assert!(
                (b.delta_sq - b.weights_sq - b.trained).abs() < 1e-9,
                "{b:?}"
            );
            let b = trained_balance(mode, &adam);
            assert!(b.drift > 0.1, "{mode:?} Adam: {b:?}");
        }
    }
}
