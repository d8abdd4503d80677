//! At initialisation: the (β, H) phase diagram of Marion, Fermanian, Biau & Vert, "Scaling
//! ResNets in the Large-depth Regime" (JMLR 2025; code: PierreMarion23/scaling-resnets,
//! `experiment_regularity_and_scaling_initialization.py`), on the network of Eq. (1) or on
//! theirs ([`Block`]).
//!
//! The networks have δ_k = L^{−β}, no biases, and weights whose entries have variance 1/d:
//!
//!   Eq. (1)   h_{k+1} = h_k + L^{−β} σ(A_k h_k),         (A_k)_ij = G^{ij}_k / √d
//!   res-3     h_{k+1} = h_k + L^{−β} V_k σ(W_k h_k),     V_k and W_k alike,
//!
//! with each (G^{ij}_k)_k drawn along k as a fractional Gaussian noise of Hurst index H
//! ([`crate::model::init::Init::Fgn`], their "fbm" weights `generate_fbm(L, H)[1] / sqrt(width)`).
//! For inputs h_0 and output gradients g_L = ∂ℓ/∂h_L, with g_k = ∂ℓ/∂h_k, it measures per
//! input
//!
//!   forward          ‖h_L − h_0‖ / ‖h_0‖   (→ 0: the identity; O(1): a limit; → ∞: explosion)
//!   backward         ‖g_0‖ / ‖g_L‖
//!   gradient change  ‖g_0 − g_L‖ / ‖g_L‖   (their `gradient_difference`)
//!
//! Their heat maps draw the critical line β = H (β = ½ for i.i.d. weights, H = ½).
//!
//! Their residual V_k σ(W_k h_k) has a zero-mean matrix outside σ; Eq. (1)'s σ(A_k h_k) does
//! not. For tanh (odd) the residual is zero-mean either way. For ReLU it is not on Eq. (1):
//! E σ(A_k h) has norm ‖h‖/√(2π) in every layer, a drift that adds up to L^{1−β}, so Eq. (1)'s
//! ReLU networks explode for every β < 1, not only below ½. Hence the defaults of
//! [`PhaseConfig`] are Eq. (1) with tanh; `configs/phase-marion.toml` is theirs, res-3 with
//! ReLU.
//!
//! May import: io, model, analysis, plot, sweep.

mod block;
mod cells;
mod config;
mod heat_map;
mod probe;
mod res3;
mod results;

pub use cells::{PhaseCell, Quantiles};
pub use config::{Axis, BadKey, Column, PhaseConfig};
pub use heat_map::{colour, draw_heat_map, HeatMap, PlotArea, Quantity};
pub use results::{PhaseFileError, PhaseResults, FILE};

pub use block::{Block, Network, RES3_INPUT};
pub use probe::Probe;
