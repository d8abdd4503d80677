//! Power laws fitted against depth: least squares on (log L, log s), with one sign convention
//! everywhere, s ≈ C · L^{−β}, so a statistic that decays has β > 0 and one that grows β < 0.

use crate::model::init::rng;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The measurements of one statistic: per seed, the (L, s) pairs.
pub type Samples = Vec<Vec<(usize, f64)>>;

/// Fits with fewer distinct depths than this are refused.
pub const MIN_DEPTHS: usize = 3;
/// Bootstrap resamples of the seeds.
const RESAMPLES: usize = 2000;

/// The outcome of fitting s ≈ C · L^{−β}.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Fit {
    Fitted(PowerLaw),
    /// Too few usable depths (or none with a positive, finite value).
    Impossible {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PowerLaw {
    /// The exponent β of s ≈ C · L^{−β} (minus the slope of log s against log L).
    pub beta: f64,
    /// log C.
    pub intercept: f64,
    /// The standard error of β from the residuals.
    pub std_error: f64,
    /// The 95% confidence interval of β: from the seeds by bootstrap when there are several,
    /// else β ± t_{0.975, n−2} · std_error.
    pub ci95: [f64; 2],
    pub interval: Interval,
    /// The distinct depths used.
    pub depths: usize,
    pub seeds: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Interval {
    StudentT,
    Bootstrap,
}

impl Fit {
    pub fn power_law(&self) -> Option<&PowerLaw> {
        match self {
            Fit::Fitted(p) => Some(p),
            Fit::Impossible { .. } => None,
        }
    }

    /// The fitted value C · L^{−β}.
    pub fn predict(&self, depth: f64) -> Option<f64> {
        self.power_law()
            .map(|p| (p.intercept - p.beta * depth.ln()).exp())
    }
}

impl PowerLaw {
    /// The exponent and its 95% interval with `decimals` decimals: "0.21 [0.19, 0.24]".
    pub fn with_interval(&self, decimals: usize) -> String {
        let [lo, hi] = self.ci95;
        format!(
            "{:.decimals$} [{lo:.decimals$}, {hi:.decimals$}]",
            self.beta
        )
    }

    /// "β = 0.213 ± 0.012 [0.19, 0.24]".
    pub fn describe(&self) -> String {
        format!(
            "{:.3} ± {:.3} [{:.3}, {:.3}]",
            self.beta, self.std_error, self.ci95[0], self.ci95[1]
        )
    }
}

/// Fits s ≈ C · L^{−β} to every usable (positive, finite) point of every seed pooled.
pub fn fit_power_law(samples: &[Vec<(usize, f64)>]) -> Fit {
    let usable: Vec<Vec<(f64, f64)>> = samples
        .iter()
        .map(|seed| {
            seed.iter()
                .filter(|(_, s)| s.is_finite() && *s > 0.0)
                .map(|&(l, s)| ((l as f64).ln(), s.ln()))
                .collect::<Vec<_>>()
        })
        .filter(|seed| !seed.is_empty())
        .collect();
    let mut depths: Vec<f64> = usable.iter().flatten().map(|p| p.0).collect();
    depths.sort_by(f64::total_cmp);
    depths.dedup();
    if depths.len() < MIN_DEPTHS {
        return Fit::Impossible {
            reason: format!(
                "{} usable depth{} (a fit needs at least {MIN_DEPTHS})",
                depths.len(),
                if depths.len() == 1 { "" } else { "s" }
            ),
        };
    }
    let points: Vec<(f64, f64)> = usable.iter().flatten().copied().collect();
    let line = least_squares(&points);
    let n = points.len();
    let (ci95, interval) = if usable.len() >= 2 {
        (bootstrap(&usable), Interval::Bootstrap)
    } else {
        let t = student_t_975(n - 2);
        (
            [
                -line.slope - t * line.std_error,
                -line.slope + t * line.std_error,
            ],
            Interval::StudentT,
        )
    };
    Fit::Fitted(PowerLaw {
        beta: -line.slope,
        intercept: line.intercept,
        std_error: line.std_error,
        ci95,
        interval,
        depths: depths.len(),
        seeds: usable.len(),
    })
}

pub(crate) struct Line {
    pub(crate) slope: f64,
    pub(crate) intercept: f64,
    pub(crate) std_error: f64,
}

/// Ordinary least squares y = a + b x, with the standard error of b,
/// se² = Σ r² / ((n − 2) Σ (x − x̄)²).
pub(crate) fn least_squares(points: &[(f64, f64)]) -> Line {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx = points.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>();
    let sxy = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let rss = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum::<f64>();
    let std_error = if n > 2.0 {
        (rss / ((n - 2.0) * sxx)).sqrt()
    } else {
        0.0
    };
    Line {
        slope,
        intercept,
        std_error,
    }
}

/// The 2.5% and 97.5% quantiles of β over fits to seeds drawn with replacement (a resample
/// with fewer than two distinct depths is drawn again).
fn bootstrap(seeds: &[Vec<(f64, f64)>]) -> [f64; 2] {
    let mut rng = rng(0x5eed, seeds.len() as u64);
    let mut betas = Vec::with_capacity(RESAMPLES);
    while betas.len() < RESAMPLES {
        let points: Vec<(f64, f64)> = (0..seeds.len())
            .flat_map(|_| seeds[rng.random_range(0..seeds.len())].iter().copied())
            .collect();
        let first = points[0].0;
        if points.iter().any(|p| p.0 != first) {
            betas.push(-least_squares(&points).slope);
        }
    }
    betas.sort_by(f64::total_cmp);
    let at = |q: f64| betas[((q * (RESAMPLES - 1) as f64).round()) as usize];
    [at(0.025), at(0.975)]
}

/// The 97.5% quantile of Student's t with ν degrees of freedom: a table up to 30, then the
/// Cornish–Fisher expansion around the normal quantile (error below 1e-4 there).
pub fn student_t_975(nu: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010,
        2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739,
        2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
    ];
    match nu {
        0 => f64::INFINITY,
        1..=30 => TABLE[nu - 1],
        _ => {
            let z: f64 = 1.959_963_984_540_054;
            let n = nu as f64;
            z + (z.powi(3) + z) / (4.0 * n)
                + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * n * n)
                + (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z)
                    / (384.0 * n.powi(3))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn power(beta: f64, c: f64, depths: &[usize]) -> Vec<(usize, f64)> {
        depths
            .iter()
            .map(|&l| (l, c * (l as f64).powf(-beta)))
            .collect()
    }

    #[test]
    fn exact_power_laws_are_recovered_with_their_sign() {
        let depths = [3, 10, 30, 100, 300];
        for beta in [-0.5, 0.0, 0.2, 1.0] {
            let fit = fit_power_law(&[power(beta, 2.5, &depths)]);
            let p = fit.power_law().unwrap();
            assert!((p.beta - beta).abs() < 1e-12, "{beta}: {p:?}");
            assert!((p.intercept - 2.5f64.ln()).abs() < 1e-12);
            assert!(p.std_error < 1e-10);
            assert_eq!(p.interval, Interval::StudentT);
            assert!((fit.predict(50.0).unwrap() - 2.5 * 50f64.powf(-beta)).abs() < 1e-9);
        }
    }

    #[test]
    fn noisy_fit_interval_covers_and_has_the_t_width() {
        let mut rng = rng(1, 1);
        let depths: Vec<usize> = (0..12).map(|i| 4 << (i / 2)).collect();
        let points: Vec<(usize, f64)> = depths
            .iter()
            .map(|&l| {
                (
                    l,
                    (l as f64).powf(-0.3) * (0.1 * rng.random::<f64>() - 0.05).exp(),
                )
            })
            .collect();
        let p = fit_power_law(&[points]).power_law().cloned().unwrap();
        assert!(p.ci95[0] < 0.3 && 0.3 < p.ci95[1], "{p:?}");
        let t = student_t_975(10);
        assert!((p.ci95[1] - p.beta - t * p.std_error).abs() < 1e-12);
    }

    #[test]
    fn seeds_give_a_bootstrap_interval() {
        let depths = [4, 8, 16, 32, 64, 128];
        let seeds: Samples = [0.9, 1.0, 1.1, 1.05]
            .iter()
            .zip([0.48, 0.5, 0.52, 0.5])
            .map(|(&c, beta)| power(beta, c, &depths))
            .collect();
        let p = fit_power_law(&seeds).power_law().cloned().unwrap();
        assert_eq!(p.interval, Interval::Bootstrap);
        assert_eq!(p.seeds, 4);
        assert!(
            p.ci95[0] >= 0.48 - 1e-12 && p.ci95[1] <= 0.52 + 1e-12,
            "{p:?}"
        );
        assert!(p.ci95[0] < p.beta && p.beta < p.ci95[1]);
    }

    #[test]
    fn too_few_usable_depths_is_not_a_number() {
        let fit = fit_power_law(&[vec![(3, 1.0), (5, 0.0), (8, f64::NAN), (13, 0.5)]]);
        match fit {
            Fit::Impossible { reason } => assert!(reason.contains("2 usable depths"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(super::fit_power_law(&[]), Fit::Impossible { .. }));
    }

    #[test]
    fn t_quantiles() {
        assert_eq!(student_t_975(1), 12.7062);
        // Table values beyond 30: t(40) = 2.0211, t(120) = 1.9799.
        assert!((student_t_975(40) - 2.0211).abs() < 1e-4);
        assert!((student_t_975(120) - 1.9799).abs() < 1e-4);
    }
}
