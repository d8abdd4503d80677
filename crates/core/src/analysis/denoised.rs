//! The trained network against its denoised version: the same network with its weight paths
//! replaced by their trends W̄ (the noise removed), both evaluated on the training data. If
//! the trend alone fits as well, the noise carries nothing the fit needs.

use super::analyze::{Analysis, DenoisedLoss};
use super::paths::Trained;
use crate::model::activation::Activation;
use crate::model::delta::DeltaMode;
use crate::model::resnet::ResNet;
use crate::train::results::finite;
use crate::train::session::evaluate;
use burn::tensor::{backend::Backend, Tensor};

impl Analysis {
    /// The training loss ℓ(x, y) of the network `t` and of its denoised version, for a
    /// network the fits used and whose paths have a trend; `None` otherwise. A loss that is
    /// not finite is `None`.
    pub fn denoised_loss<B: Backend>(
        &self,
        t: &Trained,
        (activation, delta): (Activation, DeltaMode),
        (x, y): (&Tensor<B, 2>, &Tensor<B, 2>),
        device: &B::Device,
    ) -> Option<DenoisedLoss> {
        let (depth, seed) = (t.result.depth, t.seed);
        let used = self
            .depths
            .iter()
            .any(|e| e.used && e.depth == depth && e.seed == seed);
        let denoised = self.denoised_weights(&t.weights).filter(|_| used)?;
        let loss = |w| {
            let net = ResNet::<B>::from_weights(w, activation, delta, device);
            finite(evaluate(&net, x.clone(), y.clone()))
        };
        Some(DenoisedLoss {
            depth,
            seed,
            trained: loss(&t.weights),
            denoised: loss(&denoised),
        })
    }
}
