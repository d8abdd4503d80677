//! resnet-scaling core: fully connected residual networks h_{k+1} = h_k + δ_k σ(A_k h_k + b_k)
//! on burn (any backend), SGD with an explicit adjoint backward pass, the synthetic data set,
//! depth grids, sweep configuration and result types; the statistics of weight paths, their
//! power laws in L and the regime verdict.

pub mod activation;
pub mod adjoint;
pub mod analysis;
pub mod budget;
pub mod checkpoint;
pub mod cifar;
pub mod config;
pub mod conservation;
pub mod conv;
pub mod conv_train;
pub mod cube;
pub mod data;
pub mod figures;
pub mod fit;
pub mod fused;
pub mod grid;
pub mod idx;
pub mod init;
pub mod mnist;
pub mod model;
pub mod optim;
pub mod phase;
pub mod plots;
pub mod reproduce;
pub mod results;
pub mod run_dir;
pub mod scan;
pub mod shard;
pub mod spectral;
pub mod stats;
pub mod train;
pub mod weights;

pub use activation::Activation;
pub use adjoint::{autodiff_loss_and_gradients, Gradients};
pub use init::Init;
pub use model::{mse, DeltaMode, ResNet, ResNetConfig};
pub use scan::Scan;
pub use weights::Weights;

/// The backend of the unit tests: burn fixes a device's default float type at its first use,
/// so one test binary must not mix `NdArray<f32>` and `NdArray<f64>`; f64 makes the
/// finite-difference checks sharp.
#[cfg(test)]
pub(crate) type TestBackend = burn::backend::NdArray<f64>;

/// The directory of real data that a test reads, from the variable `var` that
/// scripts/test.sh sets (scripts/test-data.sh fetches the files); `None`, with one line
/// saying what the test needs, when it is unset: plain `cargo test` runs offline.
#[cfg(test)]
pub(crate) fn test_data_dir(var: &str, what: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os(var).map(Into::into);
    if dir.is_none() {
        eprintln!("skipped: needs {what} in ${var} (scripts/test-data.sh fetches it)");
    }
    dir
}
