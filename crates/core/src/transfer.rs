//! Learning-rate transfer across depth: for each parametrization of depth (δ = L^{−β} and
//! η_L = η·L^{−κ}, [`crate::sweep::config::parametrization`]), a grid of base learning rates η
//! × depths L × seeds, every network trained for the same number of updates ([`grid`]); the
//! best η*(L) of each depth and seed and its power law η* ≈ C·L^{−κ*} ([`optimum`]), κ* = 0
//! where the parametrization transfers (Yang et al., "Tensor Programs VI", 2023; Bordelon et
//! al., 2023); and its figures ([`figures`]).
//!
//! May import: model, train, analysis, plot, sweep.

pub mod figures;
pub mod grid;
pub mod optimum;
pub mod results;
