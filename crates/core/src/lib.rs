//! resnet-scaling core: the fully connected residual network of Eq. (1),
//! h_{k+1} = h_k + δ_k σ(A_k h_k + b_k), on burn (any backend), trained by SGD or Adam with
//! the gradient of an explicit adjoint pass or a fused CPU step; the paper's data sets; the
//! statistics of trained weight paths, their power laws in L and the regime verdict; sweeps
//! over depth, figures, the phase diagram at initialisation, and learning-rate transfer
//! across depth.
//!
//! The folders are layers; each imports only the layers below it (each folder's module doc
//! says which; `tests/layout` checks it and that no file imports in a cycle):
//!
//! | layer | holds | may import |
//! |---|---|---|
//! | [`io`] | safetensors files, atomic writes | nothing |
//! | [`parallel`] | the cores, and a map over items on all of them | nothing |
//! | [`model`] | σ, δ, inits, weights, the ResNet, its adjoint, the layer scans | io |
//! | [`data`] | synthetic data, MNIST, CIFAR-10, mini-batches | io, model |
//! | [`train`] | optimisers, the training loop, the fused step, checkpoints, results | io, model, data, parallel |
//! | [`analysis`] | statistics, fits, the verdict, trends, the conservation law | model, train, parallel |
//! | [`conv`] | the convolutional ResNet, its training and spectral norms | io, model, data, train, analysis, parallel |
//! | [`sweep`] | configs and plans, depth grids, budgets, shards, run directories, the paper's experiments | io, model, data, train, analysis, conv |
//! | [`plot`] | figures as data and their drawing | model, analysis |
//! | [`phase`] | the (β, H) phase diagram at initialisation | io, model, analysis, plot, sweep |
//! | [`transfer`] | learning-rate transfer across depth: grids, η*(L), its figures | model, train, analysis, plot, sweep |

pub mod analysis;
pub mod conv;
pub mod data;
pub mod io;
pub mod model;
pub mod parallel;
pub mod phase;
pub mod plot;
pub mod sweep;
pub mod train;
pub mod transfer;

#[cfg(test)]
mod testing;

pub use model::activation::Activation;
pub use model::adjoint::{autodiff_loss_and_gradients, Gradients};
pub use model::delta::DeltaMode;
pub use model::init::Init;
pub use model::resnet::{mse, ResNet, ResNetConfig};
pub use model::scan::Scan;
pub use model::weights::Weights;
