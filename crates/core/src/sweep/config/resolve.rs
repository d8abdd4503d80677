//! The resolvers of [`SweepConfig::plan`]: each checks its keys and builds its part of the
//! [`Plan`]: the data, the training (SGD or Adam; the conv ResNet's for CIFAR-10), the model
//! (δ and init), the seeds. An error names the first bad key.

use super::{
    bad, limits, ConfigError, ConvPlan, DataPlan, DatasetName, DeltaName, InitName, Network,
    SweepConfig,
};
use crate::conv::train::{ClassLoss, ConvTrainConfig};
use crate::data::mnist::{self, MnistConfig};
use crate::data::synthetic::SyntheticConfig;
use crate::model::delta::DeltaMode;
use crate::model::init::Init;
use crate::train::optim::OptimConfig;
use crate::train::session::TrainConfig;
use std::path::PathBuf;

/// v, or an error when it is 0.
fn positive(key: &'static str, v: usize) -> Result<usize, ConfigError> {
    if v == 0 {
        Err(bad(key, "must be at least 1"))
    } else {
        Ok(v)
    }
}

/// v, or an error saying it must be `rule` when it is not finite or not `ok`.
fn real(key: &'static str, v: f64, ok: bool, rule: &str) -> Result<f64, ConfigError> {
    if v.is_finite() && ok {
        Ok(v)
    } else {
        Err(bad(key, format!("must be {rule} (got {v})")))
    }
}

impl SweepConfig {
    /// The data set: its sizes, the width it implies, and where its files are.
    pub(super) fn resolve_data(&self) -> Result<DataPlan, ConfigError> {
        positive("n_samples", self.n_samples)?;
        positive("n_test", self.n_test)?;
        self.check_sizes()?;
        if let Some((train, test)) = self.dataset.available() {
            let name = self.dataset.dir_name();
            if self.n_samples > train {
                return Err(bad(
                    "n_samples",
                    format!("{name} has {train} training images"),
                ));
            }
            if self.n_test > test {
                return Err(bad("n_test", format!("{name} has {test} test images")));
            }
        }
        let width = self.resolve_width()?;
        if self.data_dir.is_some() && self.dataset == DatasetName::Synthetic {
            return Err(bad(
                "data_dir",
                "the synthetic data set is generated, not read",
            ));
        }
        real("noise", self.noise, self.noise >= 0.0, "≥ 0")?;
        let dir = PathBuf::from(
            self.data_dir
                .clone()
                .unwrap_or_else(|| format!("data/{}", self.dataset.dir_name())),
        );
        let (n_train, n_test) = (self.n_samples, self.n_test);
        Ok(match self.dataset {
            DatasetName::Synthetic => DataPlan::Synthetic(SyntheticConfig {
                width: width.expect("the synthetic data set has a width"),
                n_train,
                n_test,
                noise: self.noise,
                seed: self.seed,
            }),
            DatasetName::Mnist => DataPlan::Mnist(MnistConfig {
                dir,
                n_train,
                n_test,
                seed: self.seed,
            }),
            DatasetName::Cifar10 => DataPlan::Cifar10 {
                dir,
                n_train,
                n_test,
            },
        })
    }

    /// The width d of the fully connected nets: the synthetic set's, MNIST's 25; `None` on
    /// CIFAR-10, which trains the conv ResNet.
    fn resolve_width(&self) -> Result<Option<usize>, ConfigError> {
        match (self.dataset, self.width) {
            (DatasetName::Synthetic, w) => positive("width", w.unwrap_or(10)).map(Some),
            (DatasetName::Mnist, None | Some(mnist::WIDTH)) => Ok(Some(mnist::WIDTH)),
            (DatasetName::Mnist, Some(w)) => Err(bad(
                "width",
                format!("the MNIST embedding has width {}, not {w}", mnist::WIDTH),
            )),
            (DatasetName::Cifar10, None) => Ok(None),
            (DatasetName::Cifar10, Some(_)) => Err(bad(
                "width",
                "CIFAR-10 uses the convolutional ResNet; set `base_channels`",
            )),
        }
    }

    /// The training of the fully connected nets, and the network: Eq. (1) of its width, or
    /// the conv ResNet with its own training for CIFAR-10.
    pub(super) fn resolve_training(&self) -> Result<(TrainConfig, Network), ConfigError> {
        let cifar = self.dataset == DatasetName::Cifar10;
        self.check_training_keys(cifar)?;
        let optimizer = self.optimizer(cifar)?;
        let base_channels = positive("base_channels", self.base_channels.unwrap_or(64))?;
        let conv = || ConvPlan {
            base_channels,
            train: ConvTrainConfig::new(self.batch_size, self.lr, self.epsilon, self.max_steps)
                .with_momentum(self.momentum)
                .with_weight_decay(self.weight_decay)
                .with_loss(self.loss.unwrap_or(ClassLoss::Mse))
                .with_augment(self.augment.unwrap_or(true))
                .with_log_every(self.log_every)
                .with_seed(self.seed),
        };
        let network = match self.resolve_width()? {
            Some(width) => Network::Dense { width },
            None => Network::Conv(conv()),
        };
        let train = TrainConfig::new(
            self.batch_size,
            OptimConfig::new(self.lr),
            self.epsilon,
            self.max_steps,
        )
        .with_optimizer(optimizer)
        .with_patience(self.patience)
        .with_momentum(self.momentum)
        .with_weight_decay(self.weight_decay)
        .with_log_every(self.log_every)
        .with_seed(self.seed);
        Ok((train, network))
    }

    /// The keys of the training: counts, rates, and those used only with CIFAR-10.
    fn check_training_keys(&self, cifar: bool) -> Result<(), ConfigError> {
        if let Some(p) = self.patience {
            positive("patience", p)?;
            if cifar {
                return Err(bad(
                    "patience",
                    "is for the fully connected nets, not CIFAR-10's",
                ));
            }
        }
        for (key, set) in [
            ("parametrization", cifar && self.parametrization.is_some()),
            (
                "lr_depth_exponent",
                cifar && self.lr_depth_exponent.is_some(),
            ),
        ] {
            if set {
                return Err(bad(key, "is for the fully connected nets, not CIFAR-10's"));
            }
        }
        for (key, set) in [
            ("base_channels", self.base_channels.is_some()),
            ("loss", self.loss.is_some()),
            ("augment", self.augment.is_some()),
        ] {
            if set && !cifar {
                return Err(bad(key, "is only used with dataset = \"cifar10\""));
            }
        }
        positive("batch_size", self.batch_size)?;
        positive("max_steps", self.max_steps)?;
        positive("log_every", self.log_every)?;
        if self.batch_size > self.n_samples {
            let why = format!(
                "B = {} exceeds the {} training samples",
                self.batch_size, self.n_samples
            );
            return Err(bad("batch_size", why));
        }
        if let Some(every) = self.checkpoint_every {
            let ok = every > 0.0 && every <= limits::CHECKPOINT_SECONDS;
            real("checkpoint_every", every, ok, "in (0, 1e9] seconds")?;
        }
        real("lr", self.lr, self.lr > 0.0, "> 0")?;
        real("epsilon", self.epsilon, self.epsilon >= 0.0, "≥ 0")?;
        let momentum = (0.0..1.0).contains(&self.momentum);
        real("momentum", self.momentum, momentum, "in [0, 1)")?;
        real(
            "weight_decay",
            self.weight_decay,
            self.weight_decay >= 0.0,
            "≥ 0",
        )?;
        Ok(())
    }

    /// δ and the init of the weights.
    /// δ, the init and κ of the fully connected nets.
    pub(super) fn resolve_model(&self) -> Result<(DeltaMode, Init, f64), ConfigError> {
        real("initial_sd", self.initial_sd, self.initial_sd > 0.0, "> 0")?;
        let (delta, kappa) = self.resolve_depth_scaling()?;
        let init = match self.init {
            InitName::Smooth => {
                let l = self.length_scale.unwrap_or(0.1);
                Init::Smooth {
                    length_scale: real("length_scale", l, l > 0.0, "> 0")?,
                }
            }
            InitName::Fbm | InitName::Fgn => {
                let h = self.hurst.unwrap_or(0.5);
                let hurst = real("hurst", h, h > 0.0 && h < 1.0, "in (0, 1)")?;
                match self.init {
                    InitName::Fbm => Init::Fbm { hurst },
                    _ => Init::Fgn { hurst },
                }
            }
            InitName::Xavier => Init::Xavier,
            InitName::XavierDepth => Init::XavierDepth,
        };
        if self.length_scale.is_some() && self.init != InitName::Smooth {
            return Err(bad("length_scale", "is only used with init = \"smooth\""));
        }
        if self.hurst.is_some() && !matches!(self.init, InitName::Fbm | InitName::Fgn) {
            return Err(bad("hurst", "is only used with init = \"fbm\" or \"fgn\""));
        }
        Ok((delta, init, kappa))
    }

    /// δ and κ: the preset's (refused beside an explicit `delta`, `beta` or
    /// `lr_depth_exponent`, which it sets), or the explicit keys (δ's default is the shared
    /// trained δ, κ's 0).
    fn resolve_depth_scaling(&self) -> Result<(DeltaMode, f64), ConfigError> {
        if let Some(preset) = self.parametrization {
            for (key, set) in [
                ("delta", self.delta != DeltaName::Shared),
                ("beta", self.beta.is_some()),
                ("lr_depth_exponent", self.lr_depth_exponent.is_some()),
            ] {
                if set {
                    return Err(bad(
                        key,
                        "is set by `parametrization`; leave one of them out",
                    ));
                }
            }
            let s = preset.scaling(self.optimizer(self.dataset == DatasetName::Cifar10)?);
            return Ok((s.delta, s.kappa));
        }
        let kappa = self.lr_depth_exponent.unwrap_or(0.0);
        real("lr_depth_exponent", kappa, kappa.abs() <= 4.0, "in [−4, 4]")?;
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
        Ok((delta, kappa))
    }

    /// The seeds of the networks: `seeds`, or `seed` alone.
    pub(super) fn resolve_seeds(&self) -> Result<Vec<u64>, ConfigError> {
        match &self.seeds {
            None => Ok(vec![self.seed]),
            Some(seeds) if seeds.is_empty() => Err(bad("seeds", "is empty")),
            Some(seeds) => {
                let mut sorted = seeds.clone();
                sorted.sort_unstable();
                sorted.dedup();
                if sorted.len() != seeds.len() {
                    return Err(bad("seeds", "a seed is listed twice"));
                }
                Ok(seeds.clone())
            }
        }
    }
}
