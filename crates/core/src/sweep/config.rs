//! The sweep configuration: one flat table of keys (the TOML file a user writes), checked
//! once and resolved into the typed configurations of data, model and training.

use crate::analysis::{main_path, Options, PathName, TREND_DEPTHS};
use crate::conv::resnet as conv_resnet;
use crate::conv::train::{ClassLoss, ConvTrainConfig};
use crate::data::floor::Floor;
use crate::data::mnist::MnistConfig;
use crate::data::synthetic::SyntheticConfig;
use crate::model::activation::Activation;
use crate::model::delta::DeltaMode;
use crate::model::init::Init;
use crate::model::resnet::ResNetConfig;
use crate::sweep::grid;
use crate::train::optim::Optimizer;
use crate::train::session::TrainConfig;

pub mod parametrization;
mod resolve;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    Synthetic,
    /// The 25-dimensional embedding of MNIST (width 25).
    Mnist,
    /// CIFAR-10 images, with the convolutional ResNet.
    Cifar10,
}

impl DatasetName {
    /// (training, test) images in the data set's files.
    fn available(self) -> Option<(usize, usize)> {
        match self {
            DatasetName::Synthetic => None,
            DatasetName::Mnist => Some((60_000, 10_000)),
            DatasetName::Cifar10 => Some((50_000, 10_000)),
        }
    }

    fn dir_name(self) -> &'static str {
        match self {
            DatasetName::Synthetic => "synthetic",
            DatasetName::Mnist => "mnist",
            DatasetName::Cifar10 => "cifar10",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeltaName {
    None,
    Shared,
    PerLayer,
    Fixed,
}

impl DeltaName {
    pub const ALL: [DeltaName; 4] = [
        DeltaName::None,
        DeltaName::Shared,
        DeltaName::PerLayer,
        DeltaName::Fixed,
    ];

    /// Its name in a config file (serde's spelling, tested).
    pub const fn name(self) -> &'static str {
        match self {
            DeltaName::None => "none",
            DeltaName::Shared => "shared",
            DeltaName::PerLayer => "per-layer",
            DeltaName::Fixed => "fixed",
        }
    }

    /// The names of [`DeltaName::ALL`], for the forms that offer them.
    pub const NAMES: [&'static str; 4] = {
        let mut names = [""; 4];
        let mut i = 0;
        while i < names.len() {
            names[i] = DeltaName::ALL[i].name();
            i += 1;
        }
        names
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerName {
    /// SGD, the paper's text (Appendix A).
    Sgd,
    /// Adam, the reference code's (`torch.optim.Adam`).
    Adam,
}

impl OptimizerName {
    pub const ALL: [OptimizerName; 2] = [OptimizerName::Sgd, OptimizerName::Adam];

    /// Its name in a config file (serde's spelling, tested).
    pub const fn name(self) -> &'static str {
        match self {
            OptimizerName::Sgd => "sgd",
            OptimizerName::Adam => "adam",
        }
    }

    /// The names of [`OptimizerName::ALL`], for the forms that offer them.
    pub const NAMES: [&'static str; 2] = {
        let mut names = [""; 2];
        let mut i = 0;
        while i < names.len() {
            names[i] = OptimizerName::ALL[i].name();
            i += 1;
        }
        names
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitName {
    Xavier,
    XavierDepth,
    Smooth,
    Fbm,
    /// Fractional Gaussian noise (the increments of fbm; Marion et al.'s "fbm").
    Fgn,
}

impl InitName {
    pub const ALL: [InitName; 5] = [
        InitName::Xavier,
        InitName::XavierDepth,
        InitName::Smooth,
        InitName::Fbm,
        InitName::Fgn,
    ];

    /// Its name in a config file (serde's spelling, tested).
    pub const fn name(self) -> &'static str {
        match self {
            InitName::Xavier => "xavier",
            InitName::XavierDepth => "xavier-depth",
            InitName::Smooth => "smooth",
            InitName::Fbm => "fbm",
            InitName::Fgn => "fgn",
        }
    }

    /// The names of [`InitName::ALL`], for the forms that offer them.
    pub const NAMES: [&'static str; 5] = {
        let mut names = [""; 5];
        let mut i = 0;
        while i < names.len() {
            names[i] = InitName::ALL[i].name();
            i += 1;
        }
        names
    };
}

/// A depth sweep. Every key has a default, which together make the built-in quick sweep
/// (tanh, shared δ, depths 3..≈300 on 2000 synthetic samples, ε = 1e−3, seconds on a
/// CPU; the paper's settings are in `configs/`); unknown keys are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SweepConfig {
    pub dataset: DatasetName,
    /// Where the MNIST or CIFAR-10 files are, or are downloaded to (default `data/<dataset>`).
    pub data_dir: Option<String>,
    /// Training samples N.
    pub n_samples: usize,
    /// Held-out test samples.
    pub n_test: usize,
    /// Standard deviation of the noise added to the synthetic targets.
    pub noise: f64,
    /// Width d (synthetic: default 10; MNIST: 25; not used by CIFAR-10).
    pub width: Option<usize>,
    pub activation: Activation,
    pub delta: DeltaName,
    /// δ = L^{−β} for `delta = "fixed"`.
    pub beta: Option<f64>,
    /// A named parametrization of depth, which sets `delta`, `beta` and `lr_depth_exponent`
    /// ([`parametrization::Parametrization`]).
    pub parametrization: Option<parametrization::Parametrization>,
    /// κ: a network of depth L trains with the learning rate η_L = lr·L^{−κ} (default 0).
    pub lr_depth_exponent: Option<f64>,
    pub init: InitName,
    pub initial_sd: f64,
    /// RBF length scale ℓ for `init = "smooth"` (default 0.1).
    pub length_scale: Option<f64>,
    /// Hurst index H for `init = "fbm"` or `"fgn"` (default 0.5).
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
    /// `sgd` (default) or `adam`.
    pub optimizer: OptimizerName,
    /// Adam's β1, β2 and ε (defaults 0.9, 0.999, 1e−8, PyTorch's).
    pub adam_beta1: Option<f64>,
    pub adam_beta2: Option<f64>,
    pub adam_eps: Option<f64>,
    /// SGD's momentum μ.
    pub momentum: f64,
    pub weight_decay: f64,
    pub log_every: usize,
    /// Stop after this many loss measurements in a row (every `log_every` updates) without a
    /// 1% improvement on the best: the reference code's plateau rule when `log_every` is one
    /// epoch (N / B updates). Default: no plateau rule.
    pub patience: Option<usize>,
    /// The seed of the data (the synthetic draw, the MNIST embedding) and, without `seeds`,
    /// of the network (its init and the batch order).
    pub seed: u64,
    /// The seeds of the networks: every depth is trained once per seed (init and batch order),
    /// into depth_<L>/seed_<s>/, and the analysis pools them. Without it: one network per
    /// depth, seeded by `seed`, in depth_<L>/.
    pub seeds: Option<Vec<u64>>,
    /// CIFAR-10: channels of the first stage (default 64, the paper's).
    pub base_channels: Option<usize>,
    /// CIFAR-10: `mse` on the one-hot label (default, the paper's) or `cross-entropy`.
    pub loss: Option<ClassLoss>,
    /// CIFAR-10: random crops and flips of the training images (default true).
    pub augment: Option<bool>,
    /// Seconds between checkpoints inside a depth (default 300); not part of what the sweep
    /// computes: a run directory resumes with any value.
    pub checkpoint_every: Option<f64>,
}

impl Default for SweepConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetName::Synthetic,
            data_dir: None,
            n_samples: 2000,
            n_test: 500,
            noise: 0.0,
            width: None,
            activation: Activation::Tanh,
            delta: DeltaName::Shared,
            beta: None,
            parametrization: None,
            lr_depth_exponent: None,
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
            optimizer: OptimizerName::Sgd,
            adam_beta1: None,
            adam_beta2: None,
            adam_eps: None,
            momentum: 0.0,
            weight_decay: 0.0,
            log_every: 100,
            patience: None,
            seed: 0,
            seeds: None,
            base_channels: None,
            loss: None,
            augment: None,
            checkpoint_every: None,
        }
    }
}

/// The hard bounds of the size keys: far above the paper's sweeps (d ≤ 25, L ≤ 9100,
/// N ≤ 60000, 44 depths), far below what would exhaust a machine before the memory estimate
/// ([`crate::sweep::budget`]) is even made.
pub mod limits {
    /// Width d.
    pub const WIDTH: usize = 4096;
    /// Depth L.
    pub const DEPTH: usize = 100_000;
    /// Depths in one sweep.
    pub const DEPTHS: usize = 1000;
    /// Seeds in one sweep.
    pub const SEEDS: usize = 1000;
    /// Training or test samples.
    pub const SAMPLES: usize = 10_000_000;
    /// Updates Tmax (and `log_every`, `patience`).
    pub const STEPS: usize = 1_000_000_000;
    /// Channels c of the conv ResNet's first stage.
    pub const CHANNELS: usize = 1024;
    /// Seconds between checkpoints (about 32 years).
    pub const CHECKPOINT_SECONDS: f64 = 1e9;
    /// Powers of `depth_base` computed for a geometric grid.
    pub const GRID_POWERS: usize = 100_000;
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

/// Where a sweep's data comes from.
#[derive(Clone, Debug)]
pub enum DataPlan {
    Synthetic(SyntheticConfig),
    Mnist(MnistConfig),
    Cifar10 {
        dir: PathBuf,
        n_train: usize,
        n_test: usize,
    },
}

/// The convolutional ResNet of a CIFAR-10 sweep and its training.
#[derive(Clone, Debug)]
pub struct ConvPlan {
    pub base_channels: usize,
    pub train: ConvTrainConfig,
}

/// The network a sweep trains: Eq. (1)'s fully connected ResNet on the synthetic data and
/// the MNIST embedding, the convolutional ResNet on CIFAR-10.
#[derive(Clone, Debug)]
pub enum Network {
    /// Eq. (1) of width d, built by [`Plan::model`] from the plan's activation, δ and init.
    Dense { width: usize },
    /// The convolutional ResNet and its own training.
    Conv(ConvPlan),
}

/// A checked sweep: the data, the network, the depths, and everything needed to build and
/// train each net.
#[derive(Clone, Debug)]
pub struct Plan {
    pub data: DataPlan,
    pub network: Network,
    pub depths: Vec<usize>,
    pub activation: Activation,
    pub delta: DeltaMode,
    pub init: Init,
    pub initial_sd: f64,
    /// The networks' seeds: one network per depth and seed.
    pub seeds: Vec<u64>,
    /// Whether the sweep has several seeds' layout, depth_<L>/seed_<s>/ (`seeds` was given).
    pub per_seed_dirs: bool,
    /// The training of every network, but for its seed and learning rate (see
    /// [`Plan::training`]).
    pub train: TrainConfig,
    /// κ: the network of depth L trains with η_L = η·L^{−κ}, η = `train`'s rate.
    pub lr_depth_exponent: f64,
}

/// One network of a sweep: a depth and a seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Unit {
    pub depth: usize,
    pub seed: u64,
}

impl Plan {
    /// The analysis defaults of this sweep: its main path (conv1 for the conv ResNet), its ε,
    /// every depth kept (converged or not), the trend over [`TREND_DEPTHS`] depths, and no
    /// floor: [`Plan::data_floor`] is a Monte Carlo estimate of about a second, which the
    /// caller adds where it can afford it (`native analyze`; not the page's frequent
    /// snapshots).
    pub fn analysis_options(&self) -> Options {
        Options {
            main_path: match self.network {
                Network::Conv(_) => PathName::Conv1,
                Network::Dense { .. } => main_path(self.activation, self.delta),
            },
            epsilon: self.train.epsilon,
            exclude_unconverged: false,
            trend_depths: TREND_DEPTHS,
            floor: None,
        }
    }

    /// The data's floor E Var(y | input) (see [`crate::data::floor`]): known for the synthetic
    /// data, `None` for the others.
    pub fn data_floor(&self) -> Option<Floor> {
        match &self.data {
            DataPlan::Synthetic(data) => Some(data.floor()),
            DataPlan::Mnist(_) | DataPlan::Cifar10 { .. } => None,
        }
    }

    /// The width d of the fully connected networks; `None` for the conv ResNet.
    pub fn width(&self) -> Option<usize> {
        match self.network {
            Network::Dense { width } => Some(width),
            Network::Conv(_) => None,
        }
    }

    /// The fully connected network of depth L with seed s of this sweep (a CIFAR-10 sweep's
    /// networks are built from its [`ConvPlan`]).
    pub fn model(&self, unit: Unit) -> ResNetConfig {
        let width = self.width().expect("a fully connected sweep");
        ResNetConfig::new(width, unit.depth, self.activation, self.delta)
            .with_init(self.init)
            .with_initial_sd(self.initial_sd)
            .with_seed(unit.seed)
    }

    /// The training of one network: its seed (the batch order) and its learning rate
    /// η_L = η·L^{−κ}.
    pub fn training(&self, unit: Unit) -> TrainConfig {
        let mut train = TrainConfig {
            seed: unit.seed,
            ..self.train.clone()
        };
        train.optim.lr *= (unit.depth as f64).powf(-self.lr_depth_exponent);
        train
    }

    /// Tmax, the updates of every network (of the conv ResNet for CIFAR-10).
    pub fn max_steps(&self) -> usize {
        match &self.network {
            Network::Conv(conv) => conv.train.max_steps,
            Network::Dense { .. } => self.train.max_steps,
        }
    }

    /// Every network of the sweep, depth by depth, each depth for every seed.
    pub fn units(&self) -> Vec<Unit> {
        self.depths
            .iter()
            .flat_map(|&depth| self.seeds.iter().map(move |&seed| Unit { depth, seed }))
            .collect()
    }

    /// The directory of a unit's files in the run directory: depth_<L>/seed_<s> when the
    /// sweep has several seeds' layout, else depth_<L>.
    pub fn unit_dir(&self, unit: Unit) -> PathBuf {
        let depth = PathBuf::from(format!("depth_{}", unit.depth));
        if self.per_seed_dirs {
            depth.join(format!("seed_{}", unit.seed))
        } else {
            depth
        }
    }
}

impl SweepConfig {
    /// Seconds between checkpoints inside a depth.
    pub fn checkpoint_every(&self) -> f64 {
        self.checkpoint_every.unwrap_or(300.0)
    }

    /// Checks every key and resolves the sweep (its data, training and model, by the
    /// resolvers of [`resolve`]); the error names the first bad key.
    pub fn plan(&self) -> Result<Plan, ConfigError> {
        let data = self.resolve_data()?;
        let (train, network) = self.resolve_training()?;
        let (delta, init, lr_depth_exponent) = self.resolve_model()?;
        Ok(Plan {
            data,
            network,
            depths: self.depths()?,
            activation: self.activation,
            delta,
            init,
            initial_sd: self.initial_sd,
            seeds: self.resolve_seeds()?,
            per_seed_dirs: self.seeds.is_some(),
            train,
            lr_depth_exponent,
        })
    }

    /// Every size key within its hard bound (see [`limits`]), so that no later step sizes
    /// an allocation or a loop from an absurd value.
    fn check_sizes(&self) -> Result<(), ConfigError> {
        let at_most = |key, v: usize, max: usize| {
            if v > max {
                Err(bad(key, format!("{v} is above the limit {max}")))
            } else {
                Ok(())
            }
        };
        at_most("n_samples", self.n_samples, limits::SAMPLES)?;
        at_most("n_test", self.n_test, limits::SAMPLES)?;
        at_most("width", self.width.unwrap_or(0), limits::WIDTH)?;
        at_most("max_steps", self.max_steps, limits::STEPS)?;
        at_most("log_every", self.log_every, limits::STEPS)?;
        at_most("patience", self.patience.unwrap_or(0), limits::STEPS)?;
        at_most(
            "base_channels",
            self.base_channels.unwrap_or(0),
            limits::CHANNELS,
        )?;
        at_most(
            "seeds",
            self.seeds.as_ref().map_or(0, Vec::len),
            limits::SEEDS,
        )?;
        let depths = self.depths.as_deref().unwrap_or_default();
        at_most("depths", depths.len(), limits::DEPTHS)?;
        at_most(
            "depths",
            depths.iter().copied().max().unwrap_or(0),
            limits::DEPTH,
        )?;
        at_most("depth_min", self.depth_min.unwrap_or(0), limits::DEPTH)?;
        at_most("depth_max", self.depth_max.unwrap_or(0), limits::DEPTH)
    }

    /// The optimiser, with Adam's keys checked (and refused with SGD).
    fn optimizer(&self, cifar: bool) -> Result<Optimizer, ConfigError> {
        let keys = [
            ("adam_beta1", self.adam_beta1),
            ("adam_beta2", self.adam_beta2),
            ("adam_eps", self.adam_eps),
        ];
        match self.optimizer {
            OptimizerName::Sgd => match keys.iter().find(|(_, v)| v.is_some()) {
                Some((key, _)) => Err(bad(key, "is only used with optimizer = \"adam\"")),
                None => Ok(Optimizer::Sgd),
            },
            OptimizerName::Adam if cifar => Err(bad(
                "optimizer",
                "the conv ResNet (CIFAR-10) trains with SGD; Adam is for the fully connected nets",
            )),
            OptimizerName::Adam if self.momentum != 0.0 => Err(bad(
                "momentum",
                "is SGD's; Adam's first-moment decay is `adam_beta1`",
            )),
            OptimizerName::Adam => {
                let rate = |key, v: Option<f64>, default: f64| {
                    let v = v.unwrap_or(default);
                    if (0.0..1.0).contains(&v) {
                        Ok(v)
                    } else {
                        Err(bad(key, format!("must be in [0, 1) (got {v})")))
                    }
                };
                let eps = self.adam_eps.unwrap_or(1e-8);
                if !(eps.is_finite() && eps > 0.0) {
                    return Err(bad("adam_eps", format!("must be > 0 (got {eps})")));
                }
                Ok(Optimizer::Adam {
                    beta1: rate("adam_beta1", self.adam_beta1, 0.9)?,
                    beta2: rate("adam_beta2", self.adam_beta2, 0.999)?,
                    eps,
                })
            }
        }
    }

    /// The explicit `depths`, or the grid ⌊base^n⌋ in [depth_min, depth_max]; for CIFAR-10,
    /// depths of the convolutional ResNet (by default all 16).
    fn depths(&self) -> Result<Vec<usize>, ConfigError> {
        let grid_keys =
            self.depth_min.is_some() || self.depth_max.is_some() || self.depth_base.is_some();
        if self.dataset == DatasetName::Cifar10 {
            return self.conv_depths(grid_keys);
        }
        let depths = match &self.depths {
            Some(_) if grid_keys => {
                return Err(bad(
                    "depths",
                    "give either `depths` or `depth_min`/`depth_max`/`depth_base`, not both",
                ))
            }
            Some(list) => list.clone(),
            None => self.depth_grid()?,
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

    /// CIFAR-10's depths: a list among the conv ResNet's 16 (default all of them).
    fn conv_depths(&self, grid_keys: bool) -> Result<Vec<usize>, ConfigError> {
        if grid_keys {
            return Err(bad(
                "depths",
                "CIFAR-10 takes a list of `depths` among the 16 of the conv ResNet",
            ));
        }
        let all: Vec<usize> = conv_resnet::DEPTHS.iter().map(|(l, _)| *l).collect();
        let depths = self.depths.clone().unwrap_or_else(|| all.clone());
        if let Some(l) = depths.iter().find(|l| !all.contains(l)) {
            return Err(bad(
                "depths",
                format!("the conv ResNet has no depth {l} (it has {all:?})"),
            ));
        }
        if depths.is_empty() {
            return Err(bad("depths", "the sweep has no depth"));
        }
        Ok(depths)
    }

    /// The geometric grid ⌊base^n⌋ from `depth_min` to `depth_max` (defaults 3, 300, 1.2).
    fn depth_grid(&self) -> Result<Vec<usize>, ConfigError> {
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
        let powers = grid::powers(max, base);
        if powers > limits::GRID_POWERS as f64 {
            return Err(bad(
                "depth_base",
                format!(
                    "{base} needs {powers:.1e} powers to reach depth_max = {max}, above the limit {}; use a larger base or a list of `depths`",
                    limits::GRID_POWERS
                ),
            ));
        }
        let depths = grid::geometric(min, max, base);
        if depths.len() > limits::DEPTHS {
            let why = format!(
                "the grid has {} depths, above the limit {}",
                depths.len(),
                limits::DEPTHS
            );
            return Err(bad("depth_base", why));
        }
        Ok(depths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::config::parametrization::Parametrization;
    use std::path::Path;

    fn key_of(config: SweepConfig) -> &'static str {
        config.plan().expect_err("config should be refused").key
    }

    #[test]
    fn the_names_the_forms_offer_are_serde_s() {
        fn check<T: Serialize>(all: &[T], names: &[&str]) {
            assert_eq!(all.len(), names.len());
            for (v, name) in all.iter().zip(names) {
                assert_eq!(serde_json::to_value(v).unwrap(), *name);
            }
        }
        check(&DeltaName::ALL, &DeltaName::NAMES);
        check(&OptimizerName::ALL, &OptimizerName::NAMES);
        check(&InitName::ALL, &InitName::NAMES);
        check(&Activation::ALL, &Activation::NAMES);
    }

    #[test]
    fn data_sets_check_their_keys() {
        let base = SweepConfig::default;
        let mnist = |width| SweepConfig {
            dataset: DatasetName::Mnist,
            width,
            ..base()
        };
        let plan = mnist(None).plan().unwrap();
        assert_eq!(plan.width(), Some(25));
        assert!(matches!(plan.data, DataPlan::Mnist(ref m) if m.dir == Path::new("data/mnist")));
        assert_eq!(key_of(mnist(Some(10))), "width");
        assert_eq!(
            key_of(SweepConfig {
                n_samples: 60_001,
                ..mnist(None)
            }),
            "n_samples"
        );
        let cifar = |depths| SweepConfig {
            dataset: DatasetName::Cifar10,
            depths,
            data_dir: Some("/data/c".into()),
            base_channels: Some(8),
            batch_size: 128,
            ..base()
        };
        let plan = cifar(None).plan().unwrap();
        assert_eq!(plan.depths.len(), 16);
        assert_eq!(plan.width(), None);
        let Network::Conv(conv) = plan.network else {
            panic!("CIFAR-10 trains the conv ResNet");
        };
        assert_eq!(conv.base_channels, 8);
        assert_eq!(conv.train.loss, ClassLoss::Mse);
        assert_eq!(cifar(Some(vec![8, 121])).plan().unwrap().depths, [8, 121]);
        assert_eq!(key_of(cifar(Some(vec![8, 9]))), "depths");
        assert_eq!(
            key_of(SweepConfig {
                depth_max: Some(50),
                ..cifar(None)
            }),
            "depths"
        );
        assert_eq!(
            key_of(SweepConfig {
                width: Some(10),
                ..cifar(None)
            }),
            "width"
        );
        assert_eq!(
            key_of(SweepConfig {
                base_channels: Some(8),
                ..base()
            }),
            "base_channels"
        );
        assert_eq!(
            key_of(SweepConfig {
                data_dir: Some("x".into()),
                ..base()
            }),
            "data_dir"
        );
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
        assert_eq!(
            key_of(SweepConfig {
                width: Some(0),
                ..base()
            }),
            "width"
        );
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
    fn optimizers_check_their_keys() {
        let adam = |momentum, beta1, eps| SweepConfig {
            optimizer: OptimizerName::Adam,
            momentum,
            adam_beta1: beta1,
            adam_eps: eps,
            ..SweepConfig::default()
        };
        let plan = adam(0.0, None, None).plan().unwrap();
        assert_eq!(plan.train.optim.optimizer, Optimizer::ADAM);
        let plan = adam(0.0, Some(0.5), Some(1e-6)).plan().unwrap();
        assert_eq!(
            plan.train.optim.optimizer,
            Optimizer::Adam {
                beta1: 0.5,
                beta2: 0.999,
                eps: 1e-6
            }
        );
        assert_eq!(key_of(adam(0.9, None, None)), "momentum");
        assert_eq!(key_of(adam(0.0, Some(1.0), None)), "adam_beta1");
        assert_eq!(key_of(adam(0.0, None, Some(0.0))), "adam_eps");
        assert_eq!(
            key_of(SweepConfig {
                adam_beta2: Some(0.99),
                ..SweepConfig::default()
            }),
            "adam_beta2"
        );
        assert_eq!(
            SweepConfig::default().plan().unwrap().train.optim.optimizer,
            Optimizer::Sgd
        );
    }

    #[test]
    fn seeds_make_units_and_their_directories() {
        let plan = SweepConfig {
            depths: Some(vec![3, 5]),
            seed: 7,
            seeds: Some(vec![0, 2]),
            ..SweepConfig::default()
        }
        .plan()
        .unwrap();
        let units: Vec<_> = plan.units().iter().map(|u| (u.depth, u.seed)).collect();
        assert_eq!(units, [(3, 0), (3, 2), (5, 0), (5, 2)]);
        let unit = Unit { depth: 5, seed: 2 };
        assert_eq!(plan.unit_dir(unit), Path::new("depth_5/seed_2"));
        assert_eq!(plan.model(unit).seed, 2);
        assert_eq!(plan.training(Unit { depth: 4, seed: 2 }).seed, 2);
        // The data keeps `seed`.
        assert!(matches!(plan.data, DataPlan::Synthetic(ref c) if c.seed == 7));
        let single = SweepConfig::default().plan().unwrap();
        assert_eq!(single.seeds, [0]);
        assert_eq!(
            single.unit_dir(Unit { depth: 3, seed: 0 }),
            Path::new("depth_3")
        );
        let seeds = |seeds| SweepConfig {
            seeds: Some(seeds),
            ..SweepConfig::default()
        };
        assert_eq!(key_of(seeds(vec![])), "seeds");
        assert_eq!(key_of(seeds(vec![1, 1])), "seeds");
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

    /// ΔA of one full-batch update of the network `unit` of `plan` from its init.
    fn first_update(plan: &Plan, unit: Unit) -> Vec<f32> {
        use crate::train::session::Stepper;
        let DataPlan::Synthetic(data) = &plan.data else {
            unreachable!("a synthetic sweep")
        };
        let data = data.generate();
        let model = plan.model(unit);
        let weights = model.init_weights();
        let train = plan.training(unit);
        let mut stepper = crate::train::fused::FusedStepper::new(
            &weights,
            model.activation,
            model.delta,
            &data,
            &train,
        );
        stepper.update(&data.x_train, &data.y_train);
        let after = stepper.state().weights.a;
        after.iter().zip(&weights.a).map(|(a, b)| a - b).collect()
    }

    #[test]
    fn presets_equal_their_keys_and_kappa_reaches_the_update() {
        let (depth, lr) = (16, 0.01);
        let unit = Unit { depth, seed: 0 };
        for preset in Parametrization::ALL {
            for optimizer in OptimizerName::ALL {
                let base = SweepConfig {
                    n_samples: 64,
                    n_test: 16,
                    width: Some(4),
                    batch_size: 64,
                    depths: Some(vec![depth]),
                    // Small weights: A + ΔA rounds to f32 far below ΔA.
                    initial_sd: 0.01,
                    optimizer,
                    lr,
                    ..SweepConfig::default()
                };
                let adam = optimizer == OptimizerName::Adam;
                let s = preset.scaling(if adam {
                    Optimizer::ADAM
                } else {
                    Optimizer::Sgd
                });
                let named = SweepConfig {
                    parametrization: Some(preset),
                    ..base.clone()
                };
                let keys = SweepConfig {
                    lr_depth_exponent: Some(s.kappa),
                    ..keys_config(&base, s)
                };
                let (named, keys) = (named.plan().unwrap(), keys.plan().unwrap());
                let what = format!("{preset:?} {optimizer:?}");
                assert_eq!((named.delta, keys.delta), (s.delta, s.delta), "{what}");
                let lrs = [&named, &keys].map(|p| p.training(unit).optim.lr);
                assert_eq!(lrs[0], lrs[1], "{what}");
                let eta_l = lr * (depth as f64).powf(-s.kappa);
                let moved = first_update(&named, unit);
                let largest = moved.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
                match optimizer {
                    // Adam's first step is η_L·g/(|g| + ε): η_L for the largest gradients.
                    OptimizerName::Adam => {
                        assert!(
                            (largest / eta_l - 1.0).abs() < 1e-3,
                            "{what}: {largest} vs {eta_l}"
                        )
                    }
                    // SGD's is η_L·g: L^{−κ} times that of κ = 0 (to f32's rounding of A + ΔA).
                    OptimizerName::Sgd => {
                        let plain = SweepConfig {
                            lr_depth_exponent: Some(0.0),
                            ..keys_config(&base, s)
                        };
                        let plain = first_update(&plain.plan().unwrap(), unit);
                        for (a, b) in moved.iter().zip(&plain) {
                            let want = *b as f64 * (eta_l / lr);
                            assert!(
                                (*a as f64 - want).abs() <= 1e-3 * want.abs() + 1e-9,
                                "{what}: {a} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_preset_beside_the_keys_it_sets_is_refused() {
        for (config, key) in [
            (
                SweepConfig {
                    lr_depth_exponent: Some(0.5),
                    ..Default::default()
                },
                "lr_depth_exponent",
            ),
            (
                SweepConfig {
                    delta: DeltaName::PerLayer,
                    ..Default::default()
                },
                "delta",
            ),
        ] {
            let preset = SweepConfig {
                parametrization: Some(Parametrization::Ode),
                ..config
            };
            assert_eq!(preset.plan().unwrap_err().key, key);
        }
        let far = SweepConfig {
            lr_depth_exponent: Some(5.0),
            ..Default::default()
        };
        assert_eq!(far.plan().unwrap_err().key, "lr_depth_exponent");
    }

    /// `base` with the δ of `s` set by its keys.
    fn keys_config(base: &SweepConfig, s: parametrization::DepthScaling) -> SweepConfig {
        let (delta, beta) = match s.delta {
            DeltaMode::None => (DeltaName::None, None),
            DeltaMode::Shared => (DeltaName::Shared, None),
            DeltaMode::PerLayer => (DeltaName::PerLayer, None),
            DeltaMode::Fixed { beta } => (DeltaName::Fixed, Some(beta)),
        };
        SweepConfig {
            delta,
            beta,
            ..base.clone()
        }
    }
}
