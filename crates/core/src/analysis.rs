//! The scaling analysis of trained networks: the statistics of every weight path at every
//! depth ([`stats`]), their power laws in L ([`fit`]), the regime verdict ([`verdict`]), the
//! trend/noise decomposition, the denoised networks, and the conservation law of training
//! ([`conservation`]).
//!
//! The regime rule (Hypothesis 1, the smooth limit; Hypothesis 2, the diffusive limit; the
//! exponents β, γ, ρ and q, and why the bands are as wide as they are) is derived once, in
//! docs/analysis.md; [`verdict`] applies it.
//!
//! May import: model, train, parallel.

mod analyze;
pub mod conservation;
mod denoised;
pub mod fit;
mod path_name;
mod paths;
mod statistic;
pub mod stats;
mod trend;
mod verdict;

pub use analyze::{
    analyze, analyze_norms, Analysis, DenoisedLoss, DepthEntry, Flag, Options, DID_NOT_TRAIN,
    TREND_DEPTHS,
};
pub use path_name::PathName;
pub use paths::{
    main_path, named_paths, LayerNorms, NormPath, NormTrained, PathAnalysis, PathPoint, Trained,
};
pub use statistic::Statistic;
pub use trend::TrendNoise;
pub use verdict::{
    Regime, Verdict, BROWNIAN_GAMMA, DIFFUSIVE_BETA_TOLERANCE, GAMMA_BAND, SSQ_TOLERANCE,
};
