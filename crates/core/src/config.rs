//! The sweep configuration: one flat table of keys (the TOML file a user writes), checked
//! once and resolved into the typed configurations of data, model and training.

use crate::activation::Activation;
use crate::data::SyntheticConfig;
use crate::grid;
use crate::init::Init;
use crate::model::{DeltaMode, ResNetConfig};
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    Synthetic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeltaName {
    None,
    Shared,
    PerLayer,
    Fixed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitName {
    Xavier,
    XavierDepth,
    Smooth,
    Fbm,
}

/// A depth sweep. Every key has a default, which together make the built-in quick sweep
/// (tanh, shared δ, depths 3..≈300 on 2000 synthetic samples, ε = 1e−3, seconds on a
/// CPU; the paper's settings are in `configs/`); unknown keys are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SweepConfig {
    pub dataset: DatasetName,
    /// Training samples N.
    pub n_samples: usize,
    /// Held-out test samples.
    pub n_test: usize,
    /// Standard deviation of the noise added to the synthetic targets.
    pub noise: f64,
    /// Width d.
    pub width: usize,
    pub activation: Activation,
    pub delta: DeltaName,
    /// δ = L^{−β} for `delta = "fixed"`.
    pub beta: Option<f64>,
    pub init: InitName,
    pub initial_sd: f64,
    /// RBF length scale ℓ for `init = "smooth"` (default 0.1).
    pub length_scale: Option<f64>,
    /// Hurst index H for `init = "fbm"` (default 0.5).
    pub hurst: Option<f64>,
    /// An explicit list of depths; or the geometric grid of the next three keys (defaults
    /// 3, 300 and 1.2).
    pub depths: Option<Vec<usize>>,
    pub depth_min: Option<usize>,
    pub depth_max: Option<usize>,
    pub depth_base: Option<f64>,
    pub batch_size: usize,
    pub lr: f64,
    pub epsilon: f64,
    pub max_steps: usize,
    pub momentum: f64,
    pub weight_decay: f64,
    pub log_every: usize,
    pub seed: u64,
}

impl Default for SweepConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetName::Synthetic,
            n_samples: 2000,
            n_test: 500,
            noise: 0.0,
            width: 10,
            activation: Activation::Tanh,
            delta: DeltaName::Shared,
            beta: None,
            init: InitName::Xavier,
            initial_sd: 1e-6,
            length_scale: None,
            hurst: None,
            depths: None,
            depth_min: None,
            depth_max: None,
            depth_base: None,
            batch_size: 100,
            lr: 0.2,
            epsilon: 1e-3,
            max_steps: 2000,
            momentum: 0.0,
            weight_decay: 0.0,
            log_every: 100,
            seed: 0,
        }
    }
}

/// A configuration key and what is wrong with its value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{key}`: {message}")]
pub struct ConfigError {
    pub key: &'static str,
    pub message: String,
}

fn bad(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key,
        message: message.into(),
    }
}

/// A checked sweep: the data, the depths, and everything needed to build and train each net.
#[derive(Clone, Debug)]
pub struct Plan {
    pub data: SyntheticConfig,
    pub depths: Vec<usize>,
    pub activation: Activation,
    pub delta: DeltaMode,
    pub init: Init,
    pub initial_sd: f64,
    pub seed: u64,
    pub train: TrainConfig,
}

impl Plan {
    /// The network of depth L of this sweep.
    pub fn model(&self, depth: usize) -> ResNetConfig {
        ResNetConfig::new(self.data.width, depth, self.activation, self.delta)
            .with_init(self.init)
            .with_initial_sd(self.initial_sd)
            .with_seed(self.seed)
    }
}

impl SweepConfig {
    /// Checks every key and resolves the sweep; the error names the first bad key.
    pub fn plan(&self) -> Result<Plan, ConfigError> {
        let positive = |key, v: usize| {
            if v == 0 {
                Err(bad(key, "must be at least 1"))
            } else {
                Ok(v)
            }
        };
        let real = |key, v: f64, ok: bool, rule: &str| {
            if v.is_finite() && ok {
                Ok(v)
            } else {
                Err(bad(key, format!("must be {rule} (got {v})")))
            }
        };
        positive("n_samples", self.n_samples)?;
        positive("n_test", self.n_test)?;
        positive("width", self.width)?;
        positive("batch_size", self.batch_size)?;
        positive("max_steps", self.max_steps)?;
        positive("log_every", self.log_every)?;
        if self.batch_size > self.n_samples {
            return Err(bad(
                "batch_size",
                format!(
                    "B = {} exceeds the {} training samples",
                    self.batch_size, self.n_samples
                ),
            ));
        }
        real("noise", self.noise, self.noise >= 0.0, "≥ 0")?;
        real("initial_sd", self.initial_sd, self.initial_sd > 0.0, "> 0")?;
        real("lr", self.lr, self.lr > 0.0, "> 0")?;
        real("epsilon", self.epsilon, self.epsilon >= 0.0, "≥ 0")?;
        real(
            "momentum",
            self.momentum,
            (0.0..1.0).contains(&self.momentum),
            "in [0, 1)",
        )?;
        real(
            "weight_decay",
            self.weight_decay,
            self.weight_decay >= 0.0,
            "≥ 0",
        )?;

        let delta = match (self.delta, self.beta) {
            (DeltaName::Fixed, None) => return Err(bad("beta", "delta = \"fixed\" needs β")),
            (DeltaName::Fixed, Some(beta)) => DeltaMode::Fixed {
                beta: real("beta", beta, beta >= 0.0, "≥ 0")?,
            },
            (_, Some(_)) => return Err(bad("beta", "is only used with delta = \"fixed\"")),
            (DeltaName::None, None) => DeltaMode::None,
            (DeltaName::Shared, None) => DeltaMode::Shared,
            (DeltaName::PerLayer, None) => DeltaMode::PerLayer,
        };
        let init = match self.init {
            InitName::Smooth => {
                let l = self.length_scale.unwrap_or(0.1);
                Init::Smooth {
                    length_scale: real("length_scale", l, l > 0.0, "> 0")?,
                }
            }
            InitName::Fbm => {
                let h = self.hurst.unwrap_or(0.5);
                Init::Fbm {
                    hurst: real("hurst", h, h > 0.0 && h < 1.0, "in (0, 1)")?,
                }
            }
            InitName::Xavier => Init::Xavier,
            InitName::XavierDepth => Init::XavierDepth,
        };
        if self.length_scale.is_some() && self.init != InitName::Smooth {
            return Err(bad("length_scale", "is only used with init = \"smooth\""));
        }
        if self.hurst.is_some() && self.init != InitName::Fbm {
            return Err(bad("hurst", "is only used with init = \"fbm\""));
        }

        Ok(Plan {
            data: SyntheticConfig {
                width: self.width,
                n_train: self.n_samples,
                n_test: self.n_test,
                noise: self.noise,
                seed: self.seed,
            },
            depths: self.depths()?,
            activation: self.activation,
            delta,
            init,
            initial_sd: self.initial_sd,
            seed: self.seed,
            train: TrainConfig::new(self.batch_size, self.lr, self.epsilon, self.max_steps)
                .with_momentum(self.momentum)
                .with_weight_decay(self.weight_decay)
                .with_log_every(self.log_every)
                .with_seed(self.seed),
        })
    }

    /// The explicit `depths`, or the grid ⌊base^n⌋ in [depth_min, depth_max].
    fn depths(&self) -> Result<Vec<usize>, ConfigError> {
        let grid_keys =
            self.depth_min.is_some() || self.depth_max.is_some() || self.depth_base.is_some();
        let depths = match &self.depths {
            Some(_) if grid_keys => {
                return Err(bad(
                    "depths",
                    "give either `depths` or `depth_min`/`depth_max`/`depth_base`, not both",
                ))
            }
            Some(list) => list.clone(),
            None => {
                let min = self.depth_min.unwrap_or(3);
                let max = self.depth_max.unwrap_or(300);
                let base = self.depth_base.unwrap_or(1.2);
                if min == 0 {
                    return Err(bad("depth_min", "L = 0 is not a network"));
                }
                if min > max {
                    return Err(bad("depth_min", format!("{min} exceeds depth_max = {max}")));
                }
                if !(base.is_finite() && base > 1.0) {
                    return Err(bad("depth_base", format!("must be > 1 (got {base})")));
                }
                grid::geometric(min, max, base)
            }
        };
        if depths.is_empty() {
            return Err(bad("depths", "the sweep has no depth"));
        }
        if depths.contains(&0) {
            return Err(bad("depths", "L = 0 is not a network"));
        }
        let mut sorted = depths.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != depths.len() {
            return Err(bad("depths", "a depth is listed twice"));
        }
        Ok(depths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(config: SweepConfig) -> &'static str {
        config.plan().expect_err("config should be refused").key
    }

    #[test]
    fn default_is_valid() {
        let plan = SweepConfig::default().plan().unwrap();
        assert_eq!(plan.depths.first(), Some(&3));
        assert!(*plan.depths.last().unwrap() <= 300);
        assert_eq!(plan.delta, DeltaMode::Shared);
    }

    #[test]
    fn impossible_values_name_their_key() {
        let base = SweepConfig::default;
        assert_eq!(key_of(SweepConfig { width: 0, ..base() }), "width");
        assert_eq!(key_of(SweepConfig { lr: 0.0, ..base() }), "lr");
        assert_eq!(
            key_of(SweepConfig {
                lr: f64::NAN,
                ..base()
            }),
            "lr"
        );
        assert_eq!(
            key_of(SweepConfig {
                batch_size: 2001,
                ..base()
            }),
            "batch_size"
        );
        assert_eq!(
            key_of(SweepConfig {
                momentum: 1.0,
                ..base()
            }),
            "momentum"
        );
        let fixed = |beta| SweepConfig {
            delta: DeltaName::Fixed,
            beta,
            ..base()
        };
        assert_eq!(key_of(fixed(None)), "beta");
        assert_eq!(key_of(fixed(Some(-0.5))), "beta");
        assert!(fixed(Some(0.5)).plan().is_ok());
        assert_eq!(
            key_of(SweepConfig {
                beta: Some(0.5),
                ..base()
            }),
            "beta"
        );
        let fbm = |hurst| SweepConfig {
            init: InitName::Fbm,
            hurst,
            ..base()
        };
        assert_eq!(key_of(fbm(Some(1.0))), "hurst");
        assert_eq!(key_of(fbm(Some(0.0))), "hurst");
        assert!(fbm(Some(0.7)).plan().is_ok());
        assert_eq!(
            key_of(SweepConfig {
                hurst: Some(0.5),
                ..base()
            }),
            "hurst"
        );
        let smooth = SweepConfig {
            init: InitName::Smooth,
            length_scale: Some(-1.0),
            ..base()
        };
        assert_eq!(key_of(smooth), "length_scale");
    }

    #[test]
    fn depth_lists_and_grids() {
        let base = SweepConfig::default;
        let list = |depths: Vec<usize>| SweepConfig {
            depths: Some(depths),
            ..base()
        };
        assert_eq!(list(vec![4, 16, 64]).plan().unwrap().depths, [4, 16, 64]);
        assert_eq!(key_of(list(vec![0, 4])), "depths");
        assert_eq!(key_of(list(vec![4, 4])), "depths");
        assert_eq!(key_of(list(vec![])), "depths");
        assert_eq!(
            key_of(SweepConfig {
                depths: Some(vec![4]),
                depth_max: Some(10),
                ..base()
            }),
            "depths"
        );
        assert_eq!(
            key_of(SweepConfig {
                depth_min: Some(0),
                ..base()
            }),
            "depth_min"
        );
        assert_eq!(
            key_of(SweepConfig {
                depth_min: Some(400),
                ..base()
            }),
            "depth_min"
        );
        assert_eq!(
            key_of(SweepConfig {
                depth_base: Some(1.0),
                ..base()
            }),
            "depth_base"
        );
    }
}
