//! The optimisers of the fully connected training, with PyTorch's semantics
//! (`torch.optim.SGD`, `torch.optim.Adam`), for every trainable w among A, b and δ, with
//! u = ∂ℓ/∂w + λ w (λ: `weight_decay`, an L2 penalty added to the gradient in both):
//!
//!   SGD   v ← u at the first update, else μ v + u (no v when μ = 0: v = u);   w ← w − η v
//!   Adam  m ← β1 m + (1 − β1) u,   s ← β2 s + (1 − β2) u²   (m = s = 0 before update 1),
//!         w ← w − (η / (1 − β1^t)) · m / (√s / √(1 − β2^t) + ε)   at update t = 1, 2, …
//!
//! The paper's text trains with SGD; the reference code (instadeepai/scaling-resnets) with
//! Adam at its defaults β1 = 0.9, β2 = 0.999, ε = 1e−8. A shared δ keeps its |δ|
//! parametrisation under both: the gradient is that of δ, through |δ|.
//!
//! [`Optim`] updates burn tensors (the burn step, on any backend); [`Rule::step`] updates
//! slices of f32 (the fused CPU step).

use crate::model::adjoint::Gradients;
use crate::model::resnet::{host_tensor, ResNet};
use crate::model::weights::Weights;
use burn::config::Config;
use burn::module::Param;
use burn::tensor::{backend::Backend, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Which optimiser trains the weights.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Optimizer {
    /// SGD, with the momentum μ of [`OptimConfig`].
    Sgd,
    /// Adam with its decay rates β1, β2 and ε.
    Adam { beta1: f64, beta2: f64, eps: f64 },
}

impl Optimizer {
    /// Adam with PyTorch's defaults: β1 = 0.9, β2 = 0.999, ε = 1e−8.
    pub const ADAM: Optimizer = Optimizer::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };

    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Sgd => "sgd",
            Optimizer::Adam { .. } => "adam",
        }
    }
}

/// The optimiser of a training and its scalars, embedded in the training's config
/// ([`crate::train::session::TrainConfig`]`::optim`).
#[derive(Config, Debug, PartialEq)]
pub struct OptimConfig {
    /// Learning rate η.
    pub lr: f64,
    /// SGD (the default, the paper's) or Adam (the reference code's).
    #[config(default = "Optimizer::Sgd")]
    pub optimizer: Optimizer,
    /// Momentum μ of SGD (0: plain SGD).
    #[config(default = 0.0)]
    pub momentum: f64,
    /// Weight decay λ: λ w added to the gradient.
    #[config(default = 0.0)]
    pub weight_decay: f64,
}

/// The scalars of update t (1, 2, …) of a training: what [`Rule::step`] applies.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    lr: f64,
    weight_decay: f64,
    kind: RuleKind,
}

#[derive(Clone, Copy, Debug)]
enum RuleKind {
    /// μ, and whether this is the first update (v = u).
    Sgd { mu: f64, first: bool },
    /// β1, β2, ε, the step η / (1 − β1^t) and √(1 − β2^t).
    Adam {
        beta1: f64,
        beta2: f64,
        eps: f64,
        step_size: f64,
        bc2_sqrt: f64,
    },
}

impl Rule {
    /// The rule of update `t` (counting from 1) of a training with `config`.
    pub fn new(config: &OptimConfig, t: u64) -> Self {
        assert!(t >= 1, "updates count from 1");
        let kind = match config.optimizer {
            Optimizer::Sgd => RuleKind::Sgd {
                mu: config.momentum,
                first: t == 1,
            },
            Optimizer::Adam { beta1, beta2, eps } => RuleKind::Adam {
                beta1,
                beta2,
                eps,
                step_size: config.lr / (1.0 - beta1.powf(t as f64)),
                bc2_sqrt: (1.0 - beta2.powf(t as f64)).sqrt(),
            },
        };
        Self {
            lr: config.lr,
            weight_decay: config.weight_decay,
            kind,
        }
    }

    /// How many state values the rule keeps per weight: 0 (plain SGD), 1 (SGD's velocity v)
    /// or 2 (Adam's m and s).
    pub fn states(config: &OptimConfig) -> usize {
        match config.optimizer {
            Optimizer::Sgd if config.momentum > 0.0 => 1,
            Optimizer::Sgd => 0,
            Optimizer::Adam { .. } => 2,
        }
    }

    /// λ, which the caller adds to the gradient as λ w.
    pub fn weight_decay(&self) -> f32 {
        self.weight_decay as f32
    }

    /// Updates the weights `w` given u = ∂ℓ/∂w + λ w (overwritten) and their state: `m` (v for
    /// SGD with μ > 0, m for Adam) and `s` (Adam), as long as `w`, or empty when not kept.
    /// In f32, as PyTorch's f32 parameters; m moves as PyTorch's `lerp`: m + (1 − β1)(u − m).
    pub fn step(&self, w: &mut [f32], u: &mut [f32], m: &mut [f32], s: &mut [f32]) {
        let lr = self.lr as f32;
        match self.kind {
            RuleKind::Sgd { mu, first } => {
                let mu = mu as f32;
                for (m, u) in m.iter_mut().zip(u.iter_mut()) {
                    *m = if first { *u } else { mu * *m + *u };
                    *u = *m;
                }
                w.iter_mut().zip(u.iter()).for_each(|(w, u)| *w -= lr * u);
            }
            RuleKind::Adam {
                beta1,
                beta2,
                eps,
                step_size,
                bc2_sqrt,
            } => {
                assert!(m.len() == w.len() && s.len() == w.len(), "Adam's state");
                let (one_b1, b2, one_b2) =
                    ((1.0 - beta1) as f32, beta2 as f32, (1.0 - beta2) as f32);
                let (step_size, bc2_sqrt, eps) = (step_size as f32, bc2_sqrt as f32, eps as f32);
                for (((w, u), m), s) in w.iter_mut().zip(u.iter()).zip(m).zip(s) {
                    *m += one_b1 * (u - *m);
                    *s = b2 * *s + one_b2 * u * u;
                    *w -= step_size * *m / (s.sqrt() / bc2_sqrt + eps);
                }
            }
        }
    }
}

/// The optimiser's state on a burn backend: updates a [`ResNet`] from its [`Gradients`].
pub struct Optim<B: Backend> {
    config: OptimConfig,
    /// Updates made so far.
    t: u64,
    /// v (SGD with μ > 0) or m (Adam), once the first update is made.
    m: Option<Gradients<B>>,
    /// s (Adam).
    s: Option<Gradients<B>>,
}

impl<B: Backend> Optim<B> {
    pub fn new(config: &OptimConfig) -> Self {
        Self {
            config: config.clone(),
            t: 0,
            m: None,
            s: None,
        }
    }

    /// One update of every trainable parameter of `model`.
    pub fn step(&mut self, mut model: ResNet<B>, grads: Gradients<B>) -> ResNet<B> {
        self.t += 1;
        let rule = Rule::new(&self.config, self.t);
        let states = Rule::states(&self.config);
        let zeros = |g: &Gradients<B>| Gradients {
            a: g.a.zeros_like(),
            b: g.b.zeros_like(),
            delta: g.delta.as_ref().map(Tensor::zeros_like),
        };
        let (m, s) = (self.m.take(), self.s.take());
        let m = (states >= 1).then(|| m.unwrap_or_else(|| zeros(&grads)));
        let s = (states >= 2).then(|| s.unwrap_or_else(|| zeros(&grads)));
        let split = |g: Option<Gradients<B>>| match g {
            Some(g) => (Some(g.a), Some(g.b), g.delta),
            None => (None, None, None),
        };
        let ((ma, mb, md), (sa, sb, sd)) = (split(m), split(s));
        let (a, ma, sa) = update(&rule, model.a, grads.a, ma, sa);
        let (b, mb, sb) = update(&rule, model.b, grads.b, mb, sb);
        model.a = a;
        model.b = b;
        let (mut md, mut sd) = (md, sd);
        if let (Some(delta), Some(g)) = (model.delta.take(), grads.delta) {
            let (delta, m, s) = update(&rule, delta, g, md, sd);
            model.delta = Some(delta);
            (md, sd) = (m, s);
        }
        let join = |a: Option<Tensor<B, 3>>, b: Option<Tensor<B, 2>>, delta| {
            Some(Gradients {
                a: a?,
                b: b?,
                delta,
            })
        };
        self.m = join(ma, mb, md);
        self.s = join(sa, sb, sd);
        model
    }

    /// The state after the updates so far, on the host, for the network `model` (zeros for a
    /// kept state before the first update, as [`Optim::step`] starts from).
    pub fn state(&self, model: &ResNet<B>) -> (u64, Option<Weights>, Option<Weights>) {
        let (l, d) = (model.depth(), model.width());
        let trained = model.trained_delta_len();
        let zeros = || Weights {
            depth: l,
            width: d,
            a: vec![0.0; l * d * d],
            b: vec![0.0; l * d],
            delta: trained.map(|n| vec![0.0; n]),
        };
        let host = |g: &Option<Gradients<B>>, kept: bool| {
            kept.then(|| g.as_ref().map_or_else(zeros, |g| g.to_weights(l, d)))
        };
        let states = self.states();
        (
            self.t,
            host(&self.m, states >= 1),
            host(&self.s, states >= 2),
        )
    }

    /// How many state values it keeps per weight (see [`Rule::states`]).
    pub fn states(&self) -> usize {
        Rule::states(&self.config)
    }

    /// Continues from a state given by [`Optim::state`].
    pub fn restore(
        &mut self,
        t: u64,
        m: &Option<Weights>,
        s: &Option<Weights>,
        device: &B::Device,
    ) {
        self.t = t;
        self.m = m.as_ref().map(|w| Gradients::from_weights(w, device));
        self.s = s.as_ref().map(|w| Gradients::from_weights(w, device));
    }
}

impl<B: Backend> Gradients<B> {
    /// The values on the host, shaped as the weights of depth L and width d.
    fn to_weights(&self, depth: usize, width: usize) -> Weights {
        let read = |data: TensorData| data.convert::<f32>().to_vec::<f32>().expect("floats");
        Weights {
            depth,
            width,
            a: read(self.a.to_data()),
            b: read(self.b.to_data()),
            delta: self.delta.as_ref().map(|t| read(t.to_data())),
        }
    }

    /// The values of `w` on `device`.
    fn from_weights(w: &Weights, device: &B::Device) -> Self {
        let (l, d) = (w.depth, w.width);
        Self {
            a: host_tensor(w.a.clone(), [l, d, d], device),
            b: host_tensor(w.b.clone(), [l, d], device),
            delta: w
                .delta
                .as_ref()
                .map(|v| host_tensor(v.clone(), [v.len()], device)),
        }
    }
}

/// A parameter after an update, with its new state m and s.
type Updated<B, const D: usize> = (
    Param<Tensor<B, D>>,
    Option<Tensor<B, D>>,
    Option<Tensor<B, D>>,
);

/// [`Rule::step`] on one parameter tensor: the new w, m and s.
fn update<B: Backend, const D: usize>(
    rule: &Rule,
    w: Param<Tensor<B, D>>,
    g: Tensor<B, D>,
    m: Option<Tensor<B, D>>,
    s: Option<Tensor<B, D>>,
) -> Updated<B, D> {
    let u = if rule.weight_decay == 0.0 {
        g
    } else {
        g + w.val().mul_scalar(rule.weight_decay)
    };
    // The decrement of w, and the new state.
    let (decrement, m, s) = match rule.kind {
        RuleKind::Sgd { mu, first } => match m {
            Some(v) => {
                let v = if first { u } else { v.mul_scalar(mu) + u };
                (v.clone().mul_scalar(rule.lr), Some(v), None)
            }
            None => (u.mul_scalar(rule.lr), None, None),
        },
        RuleKind::Adam {
            beta1,
            beta2,
            eps,
            step_size,
            bc2_sqrt,
        } => {
            let (m, s) = (m.expect("Adam's m"), s.expect("Adam's s"));
            let m = m.clone() + (u.clone() - m).mul_scalar(1.0 - beta1);
            let s = s.mul_scalar(beta2) + u.powi_scalar(2).mul_scalar(1.0 - beta2);
            let denom = s.clone().sqrt().div_scalar(bc2_sqrt).add_scalar(eps);
            (m.clone().div(denom).mul_scalar(step_size), Some(m), Some(s))
        }
    };
    (w.map(|w| w - decrement), m, s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::activation::Activation;
    use crate::model::init::{normal_vec, rng};
    use crate::model::resnet::{host_tensor, ResNetConfig};
    use crate::testing::TestBackend as B;
    use crate::testing::TEST_MODES;
    use burn::tensor::TensorData;

    /// One parameter's update as `torch.optim` documents it (the pseudo-code of SGD and Adam
    /// at pytorch.org/docs/stable/optim.html), in f64: the reference.
    struct Torch {
        config: OptimConfig,
        t: i32,
        /// SGD's momentum buffer b, or Adam's m.
        m: Vec<f64>,
        /// Adam's v.
        v: Vec<f64>,
    }

    impl Torch {
        fn step(&mut self, theta: &mut [f64], grad: &[f64]) {
            let c = &self.config;
            self.t += 1;
            if self.m.is_empty() {
                self.m = vec![0.0; theta.len()];
                self.v = vec![0.0; theta.len()];
            }
            for i in 0..theta.len() {
                let g = grad[i] + c.weight_decay * theta[i];
                match c.optimizer {
                    Optimizer::Sgd => {
                        let mut g = g;
                        if c.momentum != 0.0 {
                            self.m[i] = if self.t > 1 {
                                c.momentum * self.m[i] + g
                            } else {
                                g
                            };
                            g = self.m[i];
                        }
                        theta[i] -= c.lr * g;
                    }
                    Optimizer::Adam { beta1, beta2, eps } => {
                        self.m[i] = beta1 * self.m[i] + (1.0 - beta1) * g;
                        self.v[i] = beta2 * self.v[i] + (1.0 - beta2) * g * g;
                        let m_hat = self.m[i] / (1.0 - beta1.powi(self.t));
                        let v_hat = self.v[i] / (1.0 - beta2.powi(self.t));
                        theta[i] -= c.lr * m_hat / (v_hat.sqrt() + eps);
                    }
                }
            }
        }
    }

    fn host<const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
        t.into_data().convert::<f64>().to_vec().unwrap()
    }

    /// `model` with its parameters set to these values.
    fn with_values(model: &ResNet<B>, values: &[Vec<f64>]) -> ResNet<B> {
        fn set<const D: usize>(p: &Param<Tensor<B, D>>, v: &[f64]) -> Param<Tensor<B, D>> {
            let t = p.val();
            Param::from_tensor(Tensor::from_data(
                TensorData::new(v.to_vec(), t.shape()),
                &t.device(),
            ))
        }
        let mut m = model.clone();
        m.a = set(&model.a, &values[0]);
        m.b = set(&model.b, &values[1]);
        m.delta = model.delta.as_ref().map(|d| set(d, &values[2]));
        m
    }

    fn values(model: &ResNet<B>) -> Vec<Vec<f64>> {
        let mut v = vec![host(model.a.val()), host(model.b.val())];
        v.extend(model.delta.as_ref().map(|d| host(d.val())));
        v
    }

    /// Four updates of [`Optim`] equal torch's documented updates, in f64, for SGD with
    /// momentum and weight decay and for Adam with and without weight decay, for every
    /// activation and δ mode (a shared δ trained through |δ|).
    #[test]
    fn updates_follow_torch() {
        let (l, d, n) = (4, 3, 6);
        let device = Default::default();
        let configs = [
            OptimConfig::new(0.05)
                .with_momentum(0.9)
                .with_weight_decay(0.01),
            OptimConfig::new(0.01).with_optimizer(Optimizer::ADAM),
            OptimConfig::new(0.01)
                .with_optimizer(Optimizer::Adam {
                    beta1: 0.8,
                    beta2: 0.99,
                    eps: 1e-6,
                })
                .with_weight_decay(0.1),
        ];
        let mut r = rng(7, 0);
        let batches: Vec<_> = (0..4)
            .map(|_| {
                let mut batch =
                    || host_tensor::<B, 2>(normal_vec(&mut r, n * d, 1.0), [n, d], &device);
                (batch(), batch())
            })
            .collect();
        for config in &configs {
            for act in Activation::ALL {
                for mode in TEST_MODES {
                    let what = format!("{} {} {mode:?}", config.optimizer.name(), act.name());
                    let start = ResNetConfig::new(d, l, act, mode)
                        .with_initial_sd(2.0)
                        .init::<B>(&device);
                    let mut optim = Optim::new(config);
                    let mut model = start.clone();
                    let mut want = values(&start);
                    let mut torch: Vec<Torch> = (0..want.len())
                        .map(|_| Torch {
                            config: config.clone(),
                            t: 0,
                            m: vec![],
                            v: vec![],
                        })
                        .collect();
                    for (x, y) in &batches {
                        let (_, g) = model.loss_and_gradients(x.clone(), y.clone());
                        model = optim.step(model, g);
                        let reference = with_values(&start, &want);
                        let (_, g) = reference.loss_and_gradients(x.clone(), y.clone());
                        let mut grads = vec![host(g.a), host(g.b)];
                        grads.extend(g.delta.map(host));
                        for ((w, g), torch) in want.iter_mut().zip(&grads).zip(&mut torch) {
                            torch.step(w, g);
                        }
                    }
                    let got = values(&model);
                    assert_eq!(got.len(), want.len(), "{what}");
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        crate::testing::assert_close(&format!("{what} {i}"), g, w, 1e-10, 1e-3);
                    }
                    // The weights moved: the test compares updates, not initial values.
                    let moved = got[0].iter().zip(&values(&start)[0]).any(|(a, b)| a != b);
                    assert!(moved, "{what}: A did not move");
                }
            }
        }
    }
}
