//! The scaling analysis of a sweep (see [`crate::analysis`]): which networks are used, the
//! statistics of every path at every used depth, their power laws in L, the verdict and the
//! trends; `analysis.json` is [`Analysis`].

use super::fit::{fit_power_law, Samples, MIN_DEPTHS};
use super::paths::{named_paths, LayerNorms, NormTrained, PathAnalysis, PathPoint, Trained};
use super::stats::{PathStats, WeightPath};
use super::trend::{trend_noise, TrendNoise};
use super::verdict::{undetermined, verdict, Verdict};
use super::{PathName, Statistic};
use crate::model::weights::Weights;
use crate::parallel;
use crate::train::results::{DepthResult, StopReason};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A network whose final training loss is at least this fraction of its initial loss did not
/// train, and is left out of the fits.
pub const DID_NOT_TRAIN: f64 = 0.9;

/// Why a network is flagged in the analysis (spelt in `analysis.json` as [`Flag::label`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Flag {
    /// Its loss became NaN or ∞: left out.
    #[serde(rename = "diverged")]
    Diverged,
    /// Its final training loss is at least [`DID_NOT_TRAIN`] times its initial one: left out.
    #[serde(rename = "did not train")]
    DidNotTrain,
    /// It stopped above ε: used unless [`Options::exclude_unconverged`].
    #[serde(rename = "did not reach ε")]
    DidNotReachEpsilon,
}

impl Flag {
    pub fn label(self) -> &'static str {
        match self {
            Flag::Diverged => "diverged",
            Flag::DidNotTrain => "did not train",
            Flag::DidNotReachEpsilon => "did not reach ε",
        }
    }

    /// Whether a network so flagged is left out of the fits whatever the options.
    pub fn left_out(self) -> bool {
        matches!(self, Flag::Diverged | Flag::DidNotTrain)
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    /// The path the verdict is about (see [`main_path`]).
    pub main_path: PathName,
    /// The loss every depth was trained towards.
    pub epsilon: f64,
    /// Leave out the depths that stopped at Tmax above ε (diverged depths always are).
    pub exclude_unconverged: bool,
    /// The trend is averaged over this many of the largest depths.
    pub trend_depths: usize,
    /// The data's floor, E Var(y | input) per coordinate, where known (the synthetic data:
    /// `data::floor`).
    pub floor: Option<f64>,
}

/// The trend is averaged over this many of the largest depths unless told otherwise.
pub const TREND_DEPTHS: usize = 3;

/// One trained network in the analysis, and whether it was used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DepthEntry {
    pub depth: usize,
    pub seed: u64,
    pub stop_reason: StopReason,
    pub final_train_loss: Option<f64>,
    pub used: bool,
    /// Why the depth is flagged.
    pub flag: Option<Flag>,
}

/// Training loss of a network and of its denoised version (trend only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DenoisedLoss {
    pub depth: usize,
    pub seed: u64,
    pub trained: Option<f64>,
    pub denoised: Option<f64>,
}

/// Everything `analysis.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub epsilon: f64,
    /// The data's floor (see [`Options::floor`]).
    #[serde(default)]
    pub floor: Option<f64>,
    pub depths: Vec<DepthEntry>,
    /// The path the experiment's verdict is about.
    pub main_path: PathName,
    pub verdict: Verdict,
    pub paths: Vec<PathAnalysis>,
    /// Trends of the paths with one weight per layer (A, b, per-layer δ), when β is known.
    pub trends: Vec<TrendNoise>,
    /// Filled by the caller, which can evaluate networks (see [`Analysis::denoised_weights`]).
    pub denoised: Vec<DenoisedLoss>,
    /// Every layer's norm per depth, for paths known by their norms (the conv ResNet).
    #[serde(default)]
    pub layer_norms: Vec<LayerNorms>,
    /// The figures drawn from this analysis, by name (NAME.svg, NAME.png beside it); filled
    /// by whoever draws them.
    #[serde(default)]
    pub figures: Vec<String>,
}

impl Analysis {
    pub fn path(&self, name: PathName) -> Option<&PathAnalysis> {
        self.paths.iter().find(|p| p.name == name)
    }

    pub fn trend(&self, name: PathName) -> Option<&TrendNoise> {
        self.trends.iter().find(|t| t.path == name)
    }

    /// The network whose A, b (and per-layer δ) are replaced by their trends L^{−β} W̄(k/L);
    /// `None` when a trend is missing.
    pub fn denoised_weights(&self, weights: &Weights) -> Option<Weights> {
        let l = weights.depth;
        let per_layer_delta = weights
            .delta
            .as_ref()
            .is_some_and(|d| d.len() == l && l > 1);
        let to_f32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect();
        Some(Weights {
            a: to_f32(self.trend(PathName::A)?.denoised(l)),
            b: to_f32(self.trend(PathName::B)?.denoised(l)),
            delta: if per_layer_delta {
                Some(to_f32(self.trend(PathName::Delta)?.denoised(l)))
            } else {
                weights.delta.clone()
            },
            ..weights.clone()
        })
    }
}
/// Whether a network is used, and why it is flagged: diverged and "did not train" (its final
/// training loss is at least [`DID_NOT_TRAIN`] times its initial one, as a net whose weights
/// stayed at their init; its path says nothing of training) are left out, "did not reach ε"
/// only when asked.
fn depth_entry(seed: u64, result: &DepthResult, options: &Options) -> DepthEntry {
    let o = &result.outcome;
    let initial = o.history.first().and_then(|p| p.train_loss);
    let stuck =
        matches!((initial, o.final_train_loss), (Some(i), Some(f)) if f >= DID_NOT_TRAIN * i);
    let flag = match o.stop_reason {
        StopReason::Diverged => Some(Flag::Diverged),
        _ if stuck && o.steps > 0 => Some(Flag::DidNotTrain),
        _ if o.final_train_loss.is_none_or(|l| l >= options.epsilon) => {
            Some(Flag::DidNotReachEpsilon)
        }
        _ => None,
    };
    let left_out = flag.is_some_and(Flag::left_out);
    let used = !(left_out || options.exclude_unconverged && flag.is_some());
    DepthEntry {
        depth: result.depth,
        seed,
        stop_reason: o.stop_reason,
        final_train_loss: o.final_train_loss,
        used,
        flag,
    }
}

/// Every network's entry, in increasing depth, and the networks that are used.
fn select<'a, T>(
    runs: &'a [T],
    key: impl Fn(&T) -> (u64, &DepthResult),
    options: &Options,
) -> (Vec<DepthEntry>, Vec<&'a T>) {
    let mut runs: Vec<&T> = runs.iter().collect();
    runs.sort_by_key(|r| {
        let (seed, result) = key(r);
        (result.depth, seed)
    });
    let depths: Vec<DepthEntry> = runs
        .iter()
        .map(|r| {
            let (seed, result) = key(r);
            depth_entry(seed, result, options)
        })
        .collect();
    let used = runs
        .into_iter()
        .zip(&depths)
        .filter(|(_, e)| e.used)
        .map(|(r, _)| r)
        .collect();
    (depths, used)
}

/// The fits and verdicts of the named paths' statistics.
fn assemble(
    depths: Vec<DepthEntry>,
    points: Vec<(PathName, PathPoint)>,
    options: &Options,
) -> Analysis {
    let mut names: Vec<PathName> = Vec::new();
    let mut grouped: BTreeMap<PathName, Vec<PathPoint>> = BTreeMap::new();
    for (name, point) in points {
        if !names.contains(&name) {
            names.push(name);
        }
        grouped.entry(name).or_default().push(point);
    }
    let paths: Vec<PathAnalysis> = names
        .iter()
        .map(|&name| path_analysis(name, grouped.remove(&name).unwrap_or_default()))
        .collect();
    let mut verdict = paths
        .iter()
        .find(|p| p.name == options.main_path)
        .and_then(|p| p.verdict.clone())
        .unwrap_or_else(|| undetermined("no usable depth"));
    let left_out: Vec<String> = [Flag::DidNotTrain, Flag::Diverged]
        .into_iter()
        .filter_map(|flag| {
            let n = depths.iter().filter(|e| e.flag == Some(flag)).count();
            (n > 0).then(|| format!("{n} {}", flag.label()))
        })
        .collect();
    if !left_out.is_empty() {
        verdict.explanation += &format!(
            "; left out of the fits: {} of {} networks",
            left_out.join(", "),
            depths.len()
        );
    }
    // ε = 0 is no target (every network makes Tmax updates): nothing to say of it.
    let epsilon = options.epsilon;
    if let Some(floor) = options.floor.filter(|&f| epsilon > 0.0 && epsilon < f) {
        verdict.explanation += &format!(
            "; ε = {:.1e} is below the data's floor {floor:.2e} (E Var(y | input)): a network reaches it only by fitting the noise of its training samples, its test loss above the floor",
            options.epsilon
        );
    }
    Analysis {
        epsilon: options.epsilon,
        floor: options.floor,
        depths,
        main_path: options.main_path,
        verdict,
        paths,
        trends: Vec::new(),
        denoised: Vec::new(),
        layer_norms: Vec::new(),
        figures: Vec::new(),
    }
}

/// Analyses the trained fully connected networks of a sweep (one or several seeds).
pub fn analyze(runs: &[Trained], options: &Options) -> Analysis {
    let (depths, used) = select(runs, |r| (r.seed, &r.result), options);
    let jobs: Vec<(PathName, &Trained, WeightPath)> = used
        .iter()
        .flat_map(|run| {
            named_paths(&run.weights)
                .into_iter()
                .map(move |(name, path)| (name, *run, path))
        })
        .collect();
    let stats = parallel::map(&jobs, |(_, _, path)| PathStats::of(path));
    let points = jobs
        .iter()
        .zip(stats)
        .map(|((name, run, _), stats)| {
            let point = PathPoint {
                depth: run.result.depth,
                seed: run.seed,
                stats,
            };
            (*name, point)
        })
        .collect();
    let mut analysis = assemble(depths, points, options);
    analysis.trends = analysis
        .paths
        .iter()
        .filter(|p| p.verdict.is_some())
        .filter_map(|p| trend_noise(p, &used, options.trend_depths))
        .collect();
    analysis
}
/// Analyses networks known by their norm paths.
pub fn analyze_norms(runs: &[NormTrained], options: &Options) -> Analysis {
    let (depths, used) = select(runs, |r| (r.seed, &r.result), options);
    let points = used
        .iter()
        .flat_map(|r| {
            r.paths.iter().map(|p| {
                let point = PathPoint {
                    depth: r.result.depth,
                    seed: r.seed,
                    stats: PathStats::from_norms(&p.norms, &p.increments),
                };
                (p.name, point)
            })
        })
        .collect();
    let mut analysis = assemble(depths, points, options);
    analysis.layer_norms = used
        .iter()
        .flat_map(|r| {
            r.paths.iter().map(|p| LayerNorms {
                path: p.name,
                depth: r.result.depth,
                seed: r.seed,
                norms: p.norms.clone(),
            })
        })
        .collect();
    analysis
}

fn samples(points: &[PathPoint], statistic: Statistic, beta: Option<f64>) -> Samples {
    let mut by_seed: BTreeMap<u64, Vec<(usize, f64)>> = BTreeMap::new();
    for p in points {
        if let Some(v) = statistic.value(&p.stats, p.depth, beta) {
            by_seed.entry(p.seed).or_default().push((p.depth, v));
        }
    }
    by_seed.into_values().collect()
}

fn path_analysis(name: PathName, points: Vec<PathPoint>) -> PathAnalysis {
    let max_fit = fit_power_law(&samples(&points, Statistic::MaxNorm, None));
    let beta = max_fit.power_law().map(|p| p.beta);
    let mut fits = BTreeMap::new();
    for statistic in Statistic::ALL {
        let s = samples(&points, statistic, beta);
        if s.iter().any(|seed| !seed.is_empty()) || statistic.value_needs_beta() {
            fits.insert(statistic, fit_power_law(&s));
        }
    }
    // A path of one weight per network (shared δ) has no increments to judge.
    let layered = points.iter().any(|p| p.stats.quadratic_variation > 0.0);
    let verdict = layered.then(|| {
        let mut depths: Vec<usize> = points.iter().map(|p| p.depth).collect();
        depths.sort_unstable();
        depths.dedup();
        if depths.len() >= 2 * MIN_DEPTHS {
            depths.drain(..depths.len() / 2);
        }
        let large: Vec<PathPoint> = points
            .iter()
            .filter(|p| depths.contains(&p.depth))
            .cloned()
            .collect();
        let large_fit = |statistic| fit_power_law(&samples(&large, statistic, beta));
        let gamma = large_fit(Statistic::RescaledIncrement);
        let q = large_fit(Statistic::RescaledQuadraticVariation);
        verdict(&fits, &gamma, &q, depths)
    });
    PathAnalysis {
        name,
        points,
        fits,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fit::Fit;
    use crate::analysis::{main_path, Regime};
    use crate::model::activation::Activation;
    use crate::model::delta::DeltaMode;
    use crate::model::init::{normal_vec, rng};
    use crate::train::results::TrainOutcome;

    const DEPTHS: [usize; 8] = [16, 32, 64, 128, 256, 512, 1024, 2048];

    /// A network of depth L whose A is `a`, [L, d, d].
    fn trained(depth: usize, seed: u64, a: Vec<f64>, loss: f64, stop: StopReason) -> Trained {
        let d = ((a.len() / depth) as f64).sqrt() as usize;
        Trained {
            seed,
            result: DepthResult {
                depth,
                wall_time_s: 0.0,
                outcome: TrainOutcome {
                    steps: 1,
                    stop_reason: stop,
                    final_train_loss: Some(loss),
                    final_test_loss: None,
                    final_test_accuracy: None,
                    history: vec![],
                },
            },
            weights: Weights {
                depth,
                width: d,
                a: a.iter().map(|&x| x as f32).collect(),
                b: (0..depth * d)
                    .map(|k| 0.1 + (k as f32) / (depth * d) as f32)
                    .collect(),
                delta: None,
            },
        }
    }

    fn options() -> Options {
        Options {
            main_path: PathName::A,
            epsilon: 1e-3,
            exclude_unconverged: false,
            trend_depths: 3,
            floor: None,
        }
    }

    /// A sweep whose A_k, [2, 2], comes from `path(L)`.
    fn sweep(path: impl Fn(usize) -> Vec<f64>) -> Analysis {
        let runs: Vec<Trained> = DEPTHS
            .iter()
            .map(|&l| trained(l, 0, path(l), 1e-4, StopReason::Converged))
            .collect();
        analyze(&runs, &options())
    }

    /// L^{−β} f(k/L) with four smooth entries f.
    fn smooth(beta: f64, l: usize) -> Vec<f64> {
        (0..l)
            .flat_map(|k| {
                let t = k as f64 / l as f64;
                [(3.0 * t).sin() + 1.5, t * t - 0.5, (t - 0.3).cos(), 2.0 * t]
                    .map(|f| f * (l as f64).powf(-beta))
            })
            .collect()
    }

    /// A 5×5 matrix of independent Brownian paths L^{−1/2} B(k/L).
    fn brownian(l: usize) -> Vec<f64> {
        let m = 25;
        let mut rng = rng(11, l as u64);
        let steps = normal_vec(&mut rng, m * l, (1.0 / l as f64).sqrt());
        let mut b = vec![0.0f64; m];
        let mut out = Vec::with_capacity(m * l);
        for k in 0..l {
            for e in 0..m {
                b[e] += f64::from(steps[m * k + e]);
                out.push(b[e] / (l as f64).sqrt());
            }
        }
        out
    }

    #[test]
    fn smooth_paths_give_their_beta_and_the_smooth_verdict() {
        for beta in [0.0, 0.2, 0.7] {
            let a = sweep(|l| smooth(beta, l));
            let v = &a.verdict;
            let fitted = v.beta.as_ref().unwrap().beta;
            assert!((fitted - beta).abs() < 0.05, "β {beta}: {fitted}");
            assert_eq!(v.regime, Regime::Smooth, "{}", v.explanation);
            // Root SSQ ~ L^{1/2 − β}.
            let ssq = a.path(PathName::A).unwrap().fits[&Statistic::RootSsq]
                .power_law()
                .unwrap()
                .beta;
            assert!((ssq - (beta - 0.5)).abs() < 0.05, "{ssq}");
        }
    }

    /// L^{−1} f(k/L) + L^{−1/2} ξ_k for a 5×5 matrix, ξ_k i.i.d. N(0, 1): Hypothesis 2.
    fn diffusive(l: usize) -> Vec<f64> {
        let m = 25;
        let mut rng = rng(13, l as u64);
        let xi = normal_vec(&mut rng, m * l, 1.0);
        (0..l * m)
            .map(|i| {
                let (k, e) = (i / m, i % m);
                let t = k as f64 / l as f64;
                let f = (3.0 * t + e as f64).sin() + 0.5 * t;
                f / l as f64 + f64::from(xi[i]) / (l as f64).sqrt()
            })
            .collect()
    }

    #[test]
    fn diffusive_paths_give_the_diffusive_verdict() {
        let a = sweep(diffusive);
        let v = &a.verdict;
        assert_eq!(v.regime, Regime::Diffusive, "{}", v.explanation);
        let beta = v.beta.as_ref().unwrap().beta;
        assert!((beta - 0.5).abs() < 0.1, "{beta}");
        // Root SSQ stays of order one.
        assert!(
            v.rho.as_ref().unwrap().beta.abs() < 0.1,
            "{}",
            v.explanation
        );
    }

    /// A Brownian path L^{−1/2} B(k/L) is a continuous limit: L^{1/2} W_{⌊Lt⌋} → B(t), and
    /// its rescaled increments vanish like L^{−1/2}, so Hypothesis 1 holds with a rough W̄ and
    /// the rule says smooth. What tells it from a C¹ limit is the evidence: its rescaled
    /// quadratic variation stays of order one (q ≈ 0) where a C¹ limit's vanishes (q ≈ 1).
    #[test]
    fn a_brownian_path_is_a_continuous_limit() {
        let a = sweep(brownian);
        let v = &a.verdict;
        assert_eq!(v.regime, Regime::Smooth, "{}", v.explanation);
        assert!(
            (v.beta.as_ref().unwrap().beta - 0.5).abs() < 0.1,
            "{}",
            v.explanation
        );
        assert!(v.q.as_ref().unwrap().beta.abs() < 0.2, "{}", v.explanation);
        let smooth = sweep(|l| smooth(0.5, l));
        let q = smooth.verdict.q.as_ref().unwrap().beta;
        assert!((q - 1.0).abs() < 0.2, "a C¹ limit: q = {q}");
    }

    #[test]
    fn iid_layers_give_neither() {
        let a = sweep(|l| {
            let mut rng = rng(5, l as u64);
            normal_vec(&mut rng, 4 * l, 1.0)
                .into_iter()
                .map(f64::from)
                .collect()
        });
        assert_eq!(
            a.verdict.regime,
            Regime::Neither,
            "{}",
            a.verdict.explanation
        );
    }

    #[test]
    fn the_trend_of_a_smooth_path_denoises_it() {
        let beta = 0.3;
        let a = sweep(|l| smooth(beta, l));
        let t = a.trend(PathName::A).unwrap();
        assert_eq!(t.averaged_depths, [2048, 1024, 512]);
        assert_eq!(t.depth, 2048);
        // W̄(t) = f(t), so the denoised path is the path itself up to the grid's resolution,
        // and the noise stays near zero.
        let l = 300;
        let denoised = t.denoised(l);
        let exact = smooth(beta, l);
        let err = denoised
            .iter()
            .zip(&exact)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(err < 0.01, "{err}");
        assert!(t.noise.iter().all(|n| n.abs() < 0.01));
        // The entry shown is the one that varies most: 2t (range 2).
        assert_eq!(t.entry, 3);
        let w = a.denoised_weights(&trained(l, 0, exact, 0.0, StopReason::Converged).weights);
        assert_eq!(w.unwrap().a.len(), 4 * l);
    }

    #[test]
    fn flagged_depths_are_reported_and_can_be_excluded() {
        let mut runs: Vec<Trained> = DEPTHS[..4]
            .iter()
            .map(|&l| trained(l, 0, smooth(0.2, l), 1e-4, StopReason::Converged))
            .collect();
        runs[1].result.outcome.stop_reason = StopReason::Diverged;
        runs[2].result.outcome.stop_reason = StopReason::MaxSteps;
        runs[2].result.outcome.final_train_loss = Some(0.5);
        // A network whose loss stayed at 95% of its initial loss did not train.
        let mut stuck = trained(64, 1, smooth(0.2, 64), 0.95, StopReason::MaxSteps);
        stuck.result.outcome.history = vec![
            crate::train::results::LossPoint {
                step: 0,
                train_loss: Some(1.0),
            },
            crate::train::results::LossPoint {
                step: 1,
                train_loss: Some(0.95),
            },
        ];
        runs.push(stuck);
        let a = analyze(&runs, &options());
        let flags: Vec<_> = a
            .depths
            .iter()
            .map(|e| (e.flag.map(Flag::label), e.used))
            .collect();
        assert_eq!(
            flags,
            [
                (None, true),
                (Some("diverged"), false),
                (Some("did not reach ε"), true),
                (Some("did not train"), false),
                (None, true),
            ]
        );
        assert!(a.verdict.beta.is_some());
        assert!(
            a.verdict
                .explanation
                .ends_with("left out of the fits: 1 did not train, 1 diverged of 5 networks"),
            "{}",
            a.verdict.explanation
        );
        // Excluding the unconverged depth leaves two: no fit, no verdict, no number.
        let a = analyze(
            &runs,
            &Options {
                exclude_unconverged: true,
                ..options()
            },
        );
        assert_eq!(a.verdict.regime, Regime::Undetermined);
        assert!(
            a.verdict.explanation.contains("2 usable depths"),
            "{}",
            a.verdict.explanation
        );
        assert!(matches!(
            a.path(PathName::A).unwrap().fits[&Statistic::RootSsq],
            Fit::Impossible { .. }
        ));
    }

    #[test]
    fn effective_paths_and_main_path() {
        let mut w = trained(3, 0, vec![1.0; 12], 0.0, StopReason::Converged).weights;
        w.delta = Some(vec![0.5, -2.0, 1.0]);
        let paths = named_paths(&w);
        let names: Vec<_> = paths.iter().map(|(n, _)| n.name()).collect();
        assert_eq!(names, ["A", "b", "delta", "delta_A", "delta_b"]);
        assert_eq!(paths[3].1.layer(1), [2.0; 4]);
        assert_eq!(
            main_path(Activation::Relu, DeltaMode::PerLayer),
            PathName::DeltaA
        );
        assert_eq!(
            main_path(Activation::Relu, DeltaMode::Shared),
            PathName::DeltaA
        );
        assert_eq!(main_path(Activation::Tanh, DeltaMode::Shared), PathName::A);
    }
}
