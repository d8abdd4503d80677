//! At initialisation: the (β, H) phase diagram of Marion, Fermanian, Biau & Vert, "Scaling
//! ResNets in the Large-depth Regime" (JMLR 2025; code: PierreMarion23/scaling-resnets,
//! `experiment_regularity_and_scaling_initialization.py`), on the network of Eq. (1).
//!
//! The network has δ_k = L^{−β}, no biases, and weights whose entries have variance 1/d:
//!
//!   h_{k+1} = h_k + L^{−β} σ(A_k h_k),   k = 0..L−1,   (A_k)_ij = G^{ij}_k / √d,
//!
//! with each (G^{ij}_k)_k drawn along k by an [`Init`]: i.i.d., a smooth Gaussian process, or a
//! fractional Gaussian noise of Hurst index H ([`Init::Fgn`], their "fbm" weights
//! `generate_fbm(L, H)[1] / sqrt(width)`). For inputs h_0 and output gradients
//! g_L = ∂ℓ/∂h_L, with g_k = ∂ℓ/∂h_k, it measures per input
//!
//!   forward          ‖h_L − h_0‖ / ‖h_0‖   (→ 0: the identity; O(1): a limit; → ∞: explosion)
//!   backward         ‖g_0‖ / ‖g_L‖
//!   gradient change  ‖g_0 − g_L‖ / ‖g_L‖   (their `gradient_difference`)
//!
//! Their heat maps draw the critical line β = H (β = ½ for i.i.d. weights, H = ½).
//!
//! Where this differs from their experiment: their residual is V_k σ(W_k h_k) ("res-3", two
//! matrices, the outer one zero-mean); Eq. (1) has σ outside, σ(A_k h_k). For tanh (odd) the
//! residual is zero-mean either way and the transition sits where theirs does. For ReLU it
//! is not: E σ(A_k h) has norm ‖h‖/√(2π) in every layer, a drift that adds up to
//! L^{1−β}, so with Eq. (1) ReLU networks explode for every β < 1, not only below ½.
//! Hence tanh is the default activation of [`PhaseConfig`]; `activation = "relu"` shows the
//! drift.
//!
//! May import: io, model, analysis, plot, sweep.

mod cells;
mod config;
mod heat_map;
mod probe;
mod results;

pub use cells::{PhaseCell, Quantiles};
pub use config::{Axis, BadKey, Column, PhaseConfig};
pub use heat_map::{colour, draw_heat_map, HeatMap, PlotArea, Quantity};
pub use results::{PhaseFileError, PhaseResults, FILE};

pub use probe::{draw_inputs, draw_weights, probe, Probe};
