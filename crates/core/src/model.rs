//! The model of Eq. (1), h_{k+1} = h_k + δ_k σ(A_k h_k + b_k): its activation σ, its step
//! sizes δ_k, its initial weight paths, its weights on the host, the network on burn, and the
//! gradient by the adjoint recursion, with the layer recursion behind one seam ([`scan::Scan`]:
//! per-layer burn operations, or one CubeCL kernel launch each way in [`cube`]).
//!
//! May import: io.

pub mod activation;
pub mod adjoint;
pub mod cube;
pub mod delta;
pub mod init;
pub mod resnet;
pub mod scan;
pub mod weights;
