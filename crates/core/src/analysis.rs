//! The scaling analysis of trained networks: the statistics of every weight path at every
//! depth ([`stats`]), their power laws in L ([`fit`]), the regime verdict ([`verdict`]), the
//! trend/noise decomposition, the denoised networks, and the conservation law of training
//! ([`conservation`]).
//!
//! Regime rule, the paper's two criteria (the rescaled increment and Root SSQ, as in the
//! reference code's `regression.py`), on the experiment's main path W (A, or the effective
//! weights |δ_k| A_k when only the product is identifiable). Three power laws, each
//! statistic ≈ C L^{−exponent}:
//! - β from max_k ‖W_k‖ over all depths;
//! - γ from the rescaled increment L^β max_k ‖W_{k+1} − W_k‖ over the larger half of the
//!   depths (all of them when there are fewer than six): the regimes are limits L → ∞, and at
//!   small L a path often still shows its init;
//! - ρ from Root SSQ (Σ_k ‖W_k‖²)^½ over all depths.
//!
//! Hypothesis 1 (smooth limit): L^β W_{⌊Lt⌋} → W̄(t), a continuous function of t ∈ [0, 1].
//! Then the rescaled increments vanish (like 1/L when W̄ is C¹), and Σ_k ‖W_k‖² ≈
//! L^{1−2β} ∫‖W̄‖², so Root SSQ ~ L^{1/2−β}: ρ = β − 1/2.
//! Hypothesis 2 (diffusive limit, an SDE): W_k ≈ L^{−1} W̄(k/L) + L^{−1/2} ξ_k with ξ_k
//! i.i.d.-like of order one, the increments of an Itô process. Then max_k ‖W_k‖ ~ L^{−1/2},
//! the rescaled increments L^{1/2} max ‖ξ_{k+1} − ξ_k‖ do not vanish, and Σ_k ‖W_k‖² ≈
//! E‖ξ‖²: Root SSQ stays of order one.
//!
//! The verdict:
//! - smooth limit: the 95% interval of γ lies above [`GAMMA_BAND`] (the rescaled increments
//!   vanish) and ρ is within [`SSQ_TOLERANCE`] of β − 1/2;
//! - diffusive limit: the 95% interval of γ meets [−[`GAMMA_BAND`], [`GAMMA_BAND`]] (they do
//!   not vanish) and lies below [`BROWNIAN_GAMMA`], and β is within
//!   [`DIFFUSIVE_BETA_TOLERANCE`] of 1/2; an interval of γ that meets the band and reaches
//!   1/2 is undetermined (too few depths to tell);
//!
//! Why a band around 0 rather than 0 itself, and why β may be that far from 1/2: the
//! maximum of L i.i.d. terms grows like √(2 ln L), whose log-log slope 1/(2 ln L) is
//! 0.07–0.15 for L between 30 and 1000. So β measured from the maximum of a diffusive path
//! falls about 0.1 below 1/2 (the paper's MNIST β ≈ 0.4, which it calls diffusive), and the
//! rescaled increments of i.i.d. layers, a ratio of two such maxima, decay or grow by a few
//! hundredths of a power (measured here: γ = 0.05 for 2×2 i.i.d. Gaussian layers, L = 16 to
//! 2048), which an interval from many depths resolves as "not 0";
//! - neither: anything else (i.i.d. layers of order one, for one: β ≈ 0, γ ≈ 0);
//! - undetermined: β or γ cannot be fitted, or γ's interval is too wide to tell.
//!
//! A Brownian *path* W_k = L^{−1/2} B(k/L) is smooth by this rule: L^{1/2} W_{⌊Lt⌋} → B(t),
//! a continuous, nowhere differentiable limit, and its rescaled increments vanish like
//! L^{−1/2}. Its rescaled quadratic variation L^{2β} Σ_k ‖ΔW_k‖² stays of order one, where a
//! C¹ limit's vanishes like 1/L: that exponent q and the p-variations are kept as evidence.
//!
//! May import: model, train.

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
    analyze, analyze_norms, Analysis, DenoisedLoss, DepthEntry, Options, DID_NOT_TRAIN,
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
