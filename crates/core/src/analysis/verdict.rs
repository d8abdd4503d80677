//! The regime verdict on a path, from the fits of β, γ (rescaled increments, larger depths)
//! and ρ (Root SSQ): the rule derived in docs/analysis.md ("Verdict").

use super::Statistic;
use crate::analysis::fit::{Fit, PowerLaw};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The rescaled increments vanish when the 95% interval of γ lies above this; they do not
/// when it meets [−GAMMA_BAND, GAMMA_BAND].
pub const GAMMA_BAND: f64 = 0.15;
/// "Do not vanish" needs γ's interval below this too: an interval that holds 0 and 1/2 (the
/// rate of a Brownian path's increments) cannot tell the regimes apart.
pub const BROWNIAN_GAMMA: f64 = 0.5;
/// How far Root SSQ's exponent ρ may be from β − 1/2 on a smooth path.
pub const SSQ_TOLERANCE: f64 = 0.15;
/// How far β may be from 1/2 on a diffusive path.
pub const DIFFUSIVE_BETA_TOLERANCE: f64 = 0.2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Regime {
    /// Hypothesis 1: a smooth (ODE) limit.
    Smooth,
    /// Hypothesis 2: a diffusive (SDE) limit.
    Diffusive,
    Neither,
    /// The fits the rule needs could not be made.
    Undetermined,
}

impl Regime {
    pub fn label(self) -> &'static str {
        match self {
            Regime::Smooth => "smooth limit",
            Regime::Diffusive => "diffusive limit",
            Regime::Neither => "neither",
            Regime::Undetermined => "undetermined",
        }
    }
}

/// The regime of a path and the evidence for it (see the module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub regime: Regime,
    /// β of max‖W_k‖ ≈ L^{−β}, over all depths.
    pub beta: Option<PowerLaw>,
    /// γ of L^β max‖ΔW_k‖ ≈ L^{−γ} on the larger depths.
    pub gamma: Option<PowerLaw>,
    /// ρ of Root SSQ ≈ L^{−ρ}, over all depths.
    pub rho: Option<PowerLaw>,
    /// The larger depths, which γ and q are fitted on.
    pub large_depths: Vec<usize>,
    /// Evidence: q of L^{2β} Σ‖ΔW_k‖² ≈ L^{−q} on the larger depths (1 for a C¹ limit, 0 for
    /// a Brownian path or a diffusive path) ...
    pub q: Option<PowerLaw>,
    /// ... and over all depths.
    pub q_all: Option<PowerLaw>,
    pub explanation: String,
}

pub(super) fn undetermined(why: &str) -> Verdict {
    Verdict {
        regime: Regime::Undetermined,
        beta: None,
        gamma: None,
        rho: None,
        large_depths: Vec::new(),
        q: None,
        q_all: None,
        explanation: format!("undetermined: {why}"),
    }
}

/// The regime rule of the module documentation, from the fits over all depths and those of γ
/// and q over the larger depths.
pub(super) fn verdict(
    fits: &BTreeMap<Statistic, Fit>,
    gamma_large: &Fit,
    q_large: &Fit,
    large_depths: Vec<usize>,
) -> Verdict {
    let get = |s: Statistic| fits.get(&s).and_then(|f| f.power_law()).cloned();
    let (beta, gamma, rho) = (
        get(Statistic::MaxNorm),
        gamma_large.power_law().cloned(),
        get(Statistic::RootSsq),
    );
    let (Some(b), Some(g)) = (&beta, &gamma) else {
        let reason = match (fits.get(&Statistic::MaxNorm), gamma_large) {
            (Some(Fit::Impossible { reason }), _) => reason.clone(),
            (_, Fit::Impossible { reason }) => format!("the rescaled increments: {reason}"),
            _ => "the rescaled increments could not be fitted".into(),
        };
        return undetermined(&reason);
    };
    let (regime, why) = regime_of(b, g, rho.as_ref());
    let describe = |p: &Option<PowerLaw>| p.as_ref().map_or("no fit".into(), PowerLaw::describe);
    let q = q_large.power_law().cloned();
    let q_all = get(Statistic::RescaledQuadraticVariation);
    Verdict {
        regime,
        explanation: format!(
            "{}: β = {}; L^β max‖ΔW‖ ~ L^−γ with γ = {} for L ≥ {}; Root SSQ ~ L^−ρ with \
             ρ = {}: {why} (evidence: L^2β Σ‖ΔW‖² ~ L^−q with q = {})",
            regime.label(),
            b.describe(),
            g.describe(),
            large_depths.first().copied().unwrap_or(0),
            describe(&rho),
            describe(&q),
        ),
        beta,
        gamma,
        rho,
        large_depths,
        q,
        q_all,
    }
}

/// The regime from β, γ and ρ (see the module documentation), and why.
fn regime_of(b: &PowerLaw, g: &PowerLaw, rho: Option<&PowerLaw>) -> (Regime, String) {
    let [lo, hi] = g.ci95;
    let vanish = lo > GAMMA_BAND;
    let flat = lo <= GAMMA_BAND && hi >= -GAMMA_BAND;
    let ssq_follows = rho.is_some_and(|r| (r.beta - (b.beta - 0.5)).abs() <= SSQ_TOLERANCE);
    let near_half = (b.beta - 0.5).abs() <= DIFFUSIVE_BETA_TOLERANCE;
    match (vanish, flat) {
        (true, _) if ssq_follows => (
            Regime::Smooth,
            "the rescaled increments vanish and Root SSQ follows L^(1/2−β)".to_string(),
        ),
        (true, _) => (
            Regime::Neither,
            format!(
                "the rescaled increments vanish but Root SSQ does not follow L^(1/2−β) \
                 (ρ is not within {SSQ_TOLERANCE} of β − 1/2)"
            ),
        ),
        (_, true) if hi >= BROWNIAN_GAMMA => (
            Regime::Undetermined,
            format!(
                "γ's interval holds both 0 (increments that do not vanish) and \
                 {BROWNIAN_GAMMA} (increments that vanish like a Brownian path's): more depths \
                 or seeds are needed"
            ),
        ),
        (_, true) if near_half => (
            Regime::Diffusive,
            format!(
                "the rescaled increments do not vanish and β is within \
                 {DIFFUSIVE_BETA_TOLERANCE} of 1/2"
            ),
        ),
        (_, true) => (
            Regime::Neither,
            format!(
                "the rescaled increments do not vanish, but β is not within \
                 {DIFFUSIVE_BETA_TOLERANCE} of 1/2"
            ),
        ),
        _ => (
            Regime::Neither,
            "the rescaled increments grow with L".to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn law(beta: f64, ci95: [f64; 2]) -> PowerLaw {
        PowerLaw {
            beta,
            intercept: 0.0,
            std_error: (ci95[1] - ci95[0]) / 4.0,
            ci95,
            interval: crate::analysis::fit::Interval::Bootstrap,
            depths: 3,
            seeds: 3,
        }
    }

    /// A γ whose interval holds both 0 and 1/2 (three depths, say) decides nothing; the same
    /// β and ρ with a narrow γ near 0 are diffusive, with a γ well above the band smooth.
    #[test]
    fn a_wide_interval_of_gamma_is_undetermined() {
        let (b, rho) = (law(0.45, [0.4, 0.5]), law(0.0, [-0.1, 0.1]));
        let regime = |g: [f64; 2]| regime_of(&b, &law((g[0] + g[1]) / 2.0, g), Some(&rho)).0;
        assert_eq!(regime([-3.8, 4.3]), Regime::Undetermined);
        assert_eq!(regime([-0.1, 0.2]), Regime::Diffusive);
        assert_eq!(regime([-0.9, -0.4]), Regime::Neither);
        let smooth_rho = law(-0.05, [-0.1, 0.0]);
        assert_eq!(
            regime_of(&b, &law(0.8, [0.6, 1.0]), Some(&smooth_rho)).0,
            Regime::Smooth
        );
    }
}
