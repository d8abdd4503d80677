//! Training by SGD with a constant learning rate on the MSE loss, with the gradient from the
//! adjoint pass: mini-batches from a fresh shuffle each epoch, until the training loss falls
//! below ε or after Tmax updates.

use crate::adjoint::Gradients;
use crate::data::{Batches, Dataset};
use crate::model::{host_tensor, mse, ResNet};
use crate::results::{finite, LossPoint, StopReason, TrainOutcome};
use crate::scan::Scan;
use burn::config::Config;
use burn::module::Param;
use burn::tensor::{backend::Backend, ElementConversion, Tensor};

#[derive(Config, Debug)]
pub struct TrainConfig {
    /// Batch size B.
    pub batch_size: usize,
    /// Learning rate η.
    pub lr: f64,
    /// Stop when the training loss falls below ε.
    pub epsilon: f64,
    /// Stop after Tmax updates.
    pub max_steps: usize,
    /// Momentum μ (0: plain SGD).
    #[config(default = 0.0)]
    pub momentum: f64,
    /// Weight decay λ.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// The training loss on the whole training set is measured, recorded and checked
    /// against ε every `log_every` updates.
    #[config(default = 100)]
    pub log_every: usize,
    /// Seed of the batch order.
    #[config(default = 0)]
    pub seed: u64,
}

/// SGD with momentum and weight decay (PyTorch's convention):
/// g ← ∇ℓ + λ w,  v ← μ v + g,  w ← w − η v.
pub struct Sgd<B: Backend> {
    lr: f64,
    momentum: f64,
    weight_decay: f64,
    velocity: Option<Gradients<B>>,
}

impl<B: Backend> Sgd<B> {
    pub fn new(config: &TrainConfig) -> Self {
        Self {
            lr: config.lr,
            momentum: config.momentum,
            weight_decay: config.weight_decay,
            velocity: None,
        }
    }

    /// One update of every trainable parameter of `model`.
    pub fn step(&mut self, mut model: ResNet<B>, grads: Gradients<B>) -> ResNet<B> {
        let decay = self.weight_decay;
        let mut grads = Gradients {
            a: with_decay(grads.a, &model.a, decay),
            b: with_decay(grads.b, &model.b, decay),
            delta: match (grads.delta, &model.delta) {
                (Some(g), Some(delta)) => Some(with_decay(g, delta, decay)),
                _ => None,
            },
        };
        if self.momentum > 0.0 {
            let mu = self.momentum;
            if let Some(v) = self.velocity.take() {
                grads = Gradients {
                    a: v.a.mul_scalar(mu) + grads.a,
                    b: v.b.mul_scalar(mu) + grads.b,
                    delta: v.delta.zip(grads.delta).map(|(v, g)| v.mul_scalar(mu) + g),
                };
            }
            self.velocity = Some(grads.clone());
        }
        let lr = self.lr;
        model.a = model.a.map(|w| w - grads.a.mul_scalar(lr));
        model.b = model.b.map(|w| w - grads.b.mul_scalar(lr));
        if let (Some(delta), Some(g)) = (model.delta.take(), grads.delta) {
            model.delta = Some(delta.map(|w| w - g.mul_scalar(lr)));
        }
        model
    }
}

/// g + λ w.
fn with_decay<B: Backend, const D: usize>(
    g: Tensor<B, D>,
    w: &Param<Tensor<B, D>>,
    decay: f64,
) -> Tensor<B, D> {
    if decay == 0.0 {
        g
    } else {
        g + w.val().mul_scalar(decay)
    }
}

/// An [n, d] matrix on the device.
pub fn matrix<B: Backend>(values: Vec<f32>, width: usize, device: &B::Device) -> Tensor<B, 2> {
    let n = values.len() / width;
    host_tensor(values, [n, width], device)
}

/// The loss of `model` on all rows of (x, y).
pub fn evaluate<B: Backend>(model: &ResNet<B>, x: Tensor<B, 2>, y: Tensor<B, 2>) -> f64 {
    mse(model.forward(x), y).into_scalar().elem()
}

/// The stopping rule of every training: records the training loss after `step` updates and
/// says whether to stop: diverged (not finite), converged (below ε), or out of updates.
pub fn record(
    history: &mut Vec<LossPoint>,
    step: usize,
    loss: f64,
    epsilon: f64,
    max_steps: usize,
) -> Option<StopReason> {
    history.push(LossPoint {
        step,
        train_loss: finite(loss),
    });
    if !loss.is_finite() {
        Some(StopReason::Diverged)
    } else if loss < epsilon {
        Some(StopReason::Converged)
    } else if step == max_steps {
        Some(StopReason::MaxSteps)
    } else {
        None
    }
}

/// One implementation of the SGD step of the fully connected ResNet on a data set: burn
/// tensors on any backend ([`BurnStepper`]), or a fused CPU step.
pub trait Stepper {
    /// One update w ← w − η v on the batch (x, y), each [n, d] row-major.
    fn update(&mut self, x: &[f32], y: &[f32]);
    /// The loss on the whole training set.
    fn train_loss(&mut self) -> f64;
    /// The loss on the whole test set.
    fn test_loss(&mut self) -> f64;
}

/// The schedule of a training, whatever computes its steps: the batch order, the step
/// count and the loss history, with the stopping rule of [`record`]. A driver alternates
/// [`Session::due`]/[`Session::record`] and [`Session::next_batch`]/update, as [`train`] does;
/// the browser does the same in chunks, with its losses read asynchronously.
pub struct Session {
    config: TrainConfig,
    batches: Batches,
    history: Vec<LossPoint>,
    step: usize,
}

impl Session {
    pub fn new(data: &Dataset, config: &TrainConfig) -> Self {
        Self {
            config: config.clone(),
            batches: Batches::new(data.n_train(), config.batch_size, config.seed),
            history: Vec::new(),
            step: 0,
        }
    }

    /// Updates done so far.
    pub fn step(&self) -> usize {
        self.step
    }

    /// Whether the training loss is to be measured (and recorded) before the next update:
    /// every `log_every` updates and after the last.
    pub fn due(&self) -> bool {
        self.step.is_multiple_of(self.config.log_every) || self.step == self.config.max_steps
    }

    /// Records the training loss measured now; `Some` when the training is over.
    pub fn record(&mut self, loss: f64) -> Option<StopReason> {
        let c = &self.config;
        record(&mut self.history, self.step, loss, c.epsilon, c.max_steps)
    }

    /// The rows of the next update, (x, y) each [B, d], counting the update.
    pub fn next_batch(&mut self, data: &Dataset) -> (Vec<f32>, Vec<f32>) {
        self.step += 1;
        self.batches
            .next_batch(&data.x_train, &data.y_train, data.width)
    }

    /// The losses recorded so far.
    pub fn history(&self) -> &[LossPoint] {
        &self.history
    }

    /// The outcome of the training so far, as if it stopped now for `stop_reason`.
    pub fn outcome(&self, stop_reason: StopReason, test_loss: f64) -> TrainOutcome {
        TrainOutcome {
            steps: self.step,
            stop_reason,
            final_train_loss: self.history.last().and_then(|p| p.train_loss),
            final_test_loss: finite(test_loss),
            final_test_accuracy: None,
            history: self.history.clone(),
        }
    }
}

/// Trains with `stepper` on `data` until ε or Tmax. `observe(step, loss)` is called after
/// every update, with the training loss when it was measured.
pub fn train(
    stepper: &mut impl Stepper,
    data: &Dataset,
    config: &TrainConfig,
    mut observe: impl FnMut(usize, Option<f64>),
) -> TrainOutcome {
    let mut session = Session::new(data, config);
    let stop_reason = loop {
        if session.due() {
            let loss = stepper.train_loss();
            observe(session.step(), Some(loss));
            if let Some(reason) = session.record(loss) {
                break reason;
            }
        }
        let (x, y) = session.next_batch(data);
        stepper.update(&x, &y);
        observe(session.step(), None);
    };
    let test_loss = stepper.test_loss();
    session.outcome(stop_reason, test_loss)
}

/// The step of [`ResNet::loss_and_gradients`] and [`Sgd`] on a burn backend, with the data
/// set on the device.
pub struct BurnStepper<B: Scan> {
    pub model: ResNet<B>,
    sgd: Sgd<B>,
    train: (Tensor<B, 2>, Tensor<B, 2>),
    test: (Tensor<B, 2>, Tensor<B, 2>),
}

impl<B: Scan> BurnStepper<B> {
    pub fn new(model: ResNet<B>, data: &Dataset, config: &TrainConfig) -> Self {
        let device = model.a.val().device();
        let d = data.width;
        let on_device = |v: &[f32]| matrix::<B>(v.to_vec(), d, &device);
        Self {
            model,
            sgd: Sgd::new(config),
            train: (on_device(&data.x_train), on_device(&data.y_train)),
            test: (on_device(&data.x_test), on_device(&data.y_test)),
        }
    }

    /// The training loss as a [1] tensor, not read back (the browser reads it asynchronously).
    pub fn train_loss_tensor(&self) -> Tensor<B, 1> {
        let (x, y) = self.train.clone();
        mse(B::scan_forward(&self.model, x, false).0, y)
    }

    /// The test loss as a [1] tensor, not read back.
    pub fn test_loss_tensor(&self) -> Tensor<B, 1> {
        let (x, y) = self.test.clone();
        mse(B::scan_forward(&self.model, x, false).0, y)
    }
}

impl<B: Scan> Stepper for BurnStepper<B> {
    fn update(&mut self, x: &[f32], y: &[f32]) {
        let device = self.model.a.val().device();
        let d = self.model.width();
        let (_, grads) = self.model.loss_and_gradients(
            matrix(x.to_vec(), d, &device),
            matrix(y.to_vec(), d, &device),
        );
        self.model = self.sgd.step(self.model.clone(), grads);
    }

    fn train_loss(&mut self) -> f64 {
        self.train_loss_tensor().into_scalar().elem()
    }

    fn test_loss(&mut self) -> f64 {
        self.test_loss_tensor().into_scalar().elem()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SyntheticConfig;
    use crate::model::{DeltaMode, ResNetConfig};
    use crate::results::StopReason;
    use crate::{Activation, TestBackend as B};

    /// Noise-free synthetic data of width d with n training and n/4 test samples.
    fn synthetic(width: usize, n_train: usize, seed: u64) -> Dataset {
        SyntheticConfig {
            width,
            n_train,
            n_test: n_train / 4,
            noise: 0.0,
            seed,
        }
        .generate()
    }

    fn values<const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
        t.into_data().to_vec().unwrap()
    }

    #[test]
    fn sgd_with_momentum_and_weight_decay_follows_the_formula() {
        let device = Default::default();
        let config = ResNetConfig::new(2, 3, Activation::Tanh, DeltaMode::PerLayer);
        let model = config.init::<B>(&device);
        let w0 = values(model.a.val());
        let grads = |m: &ResNet<B>| Gradients {
            a: m.a.val().ones_like(),
            b: m.b.val().ones_like(),
            delta: m.delta.as_ref().map(|d| d.val().ones_like()),
        };
        let (lr, mu, wd) = (0.1, 0.9, 0.01);
        let mut sgd = Sgd::new(
            &TrainConfig::new(1, lr, 0.0, 1)
                .with_momentum(mu)
                .with_weight_decay(wd),
        );
        let g = grads(&model);
        let model = sgd.step(model, g);
        let w1 = values(model.a.val());
        let g = grads(&model);
        let model = sgd.step(model, g);
        let w2 = values(model.a.val());
        for i in 0..w0.len() {
            let v1 = 1.0 + wd * w0[i];
            let expect1 = w0[i] - lr * v1;
            let v2 = mu * v1 + 1.0 + wd * expect1;
            assert!((w1[i] - expect1).abs() < 1e-12);
            assert!((w2[i] - (expect1 - lr * v2)).abs() < 1e-12);
        }
    }

    #[test]
    fn training_reduces_the_loss_and_stops_at_epsilon() {
        let device = Default::default();
        let data = synthetic(4, 200, 1);
        for mode in [
            DeltaMode::Shared,
            DeltaMode::PerLayer,
            DeltaMode::Fixed { beta: 1.0 },
        ] {
            let model = ResNetConfig::new(4, 8, Activation::Tanh, mode).init::<B>(&device);
            let config = TrainConfig::new(20, 0.5, 0.0, 300).with_log_every(50);
            let mut stepper = BurnStepper::new(model, &data, &config);
            let outcome = train(&mut stepper, &data, &config, |_, _| {});
            assert_eq!(outcome.stop_reason, StopReason::MaxSteps);
            assert_eq!(outcome.steps, 300);
            let losses: Vec<f64> = outcome
                .history
                .iter()
                .map(|p| p.train_loss.unwrap())
                .collect();
            assert_eq!(
                outcome.history.iter().map(|p| p.step).collect::<Vec<_>>(),
                [0, 50, 100, 150, 200, 250, 300]
            );
            assert!(
                losses[6] < 0.5 * losses[0],
                "{mode:?}: loss {} → {}",
                losses[0],
                losses[6]
            );
            // With ε just below the initial loss, training stops at the first check below it.
            let model = ResNetConfig::new(4, 8, Activation::Tanh, mode).init::<B>(&device);
            let config = TrainConfig {
                epsilon: losses[2] * 1.0001,
                ..config
            };
            let mut stepper = BurnStepper::new(model, &data, &config);
            let outcome = train(&mut stepper, &data, &config, |_, _| {});
            assert_eq!(outcome.stop_reason, StopReason::Converged);
            assert!(
                outcome.steps <= 100,
                "{mode:?} stopped at {}",
                outcome.steps
            );
            assert!(outcome.final_test_loss.is_some());
        }
    }

    #[test]
    fn a_diverging_run_is_marked_diverged() {
        let device = Default::default();
        let data = synthetic(3, 40, 2);
        let model = ResNetConfig::new(3, 4, Activation::Linear, DeltaMode::None)
            .with_initial_sd(5.0)
            .init::<B>(&device);
        let config = TrainConfig::new(10, 1e6, 0.0, 500).with_log_every(5);
        let mut stepper = BurnStepper::new(model, &data, &config);
        let outcome = train(&mut stepper, &data, &config, |_, _| {});
        assert_eq!(outcome.stop_reason, StopReason::Diverged);
        assert!(outcome.steps < 500);
        assert_eq!(outcome.final_train_loss, None);
    }
}
