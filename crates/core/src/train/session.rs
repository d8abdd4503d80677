//! Training with a constant learning rate on the MSE loss (SGD or Adam, [`crate::train::optim`]), with
//! the gradient from the adjoint pass: mini-batches from a fresh shuffle each epoch, until the
//! training loss falls below ε or after Tmax updates.

use crate::data::synthetic::{Batches, Dataset};
use crate::model::resnet::{host_tensor, mse, ResNet};
use crate::model::scan::Scan;
use crate::train::checkpoint::{Mismatch, OptimState};
use crate::train::optim::{Optim, OptimConfig, Optimizer};
use crate::train::results::{finite, LossPoint, StopReason, TrainOutcome};
use burn::config::Config;
use burn::tensor::{backend::Backend, ElementConversion, Tensor};

#[derive(Config, Debug)]
pub struct TrainConfig {
    /// Batch size B.
    pub batch_size: usize,
    /// The optimiser: SGD (the default, the paper's) or Adam, η, μ and λ.
    pub optim: OptimConfig,
    /// Stop when the training loss falls below ε.
    pub epsilon: f64,
    /// Stop after Tmax updates.
    pub max_steps: usize,
    /// The training loss on the whole training set is measured, recorded and checked
    /// against ε every `log_every` updates.
    #[config(default = 100)]
    pub log_every: usize,
    /// Stop after this many loss measurements in a row without a 1% improvement on the best
    /// so far (the reference code's plateau rule, with `log_every` one epoch); `None`: never.
    #[config(default = "None")]
    pub patience: Option<usize>,
    /// Seed of the batch order.
    #[config(default = 0)]
    pub seed: u64,
}

impl TrainConfig {
    /// The same training with another optimiser.
    pub fn with_optimizer(mut self, optimizer: Optimizer) -> Self {
        self.optim.optimizer = optimizer;
        self
    }

    /// The same training with SGD's momentum μ.
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.optim.momentum = momentum;
        self
    }

    /// The same training with weight decay λ.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.optim.weight_decay = weight_decay;
        self
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
/// says whether to stop: diverged (not finite), converged (below ε), on a plateau (see
/// [`plateau`]; with `patience`), or out of updates.
pub fn record(
    history: &mut Vec<LossPoint>,
    step: usize,
    loss: f64,
    epsilon: f64,
    max_steps: usize,
    patience: Option<usize>,
) -> Option<StopReason> {
    history.push(LossPoint {
        step,
        train_loss: finite(loss),
    });
    if !loss.is_finite() {
        Some(StopReason::Diverged)
    } else if loss < epsilon {
        Some(StopReason::Converged)
    } else if patience.is_some_and(|p| plateau(history, p)) {
        Some(StopReason::Plateau)
    } else if step == max_steps {
        Some(StopReason::MaxSteps)
    } else {
        None
    }
}

/// Whether the last `patience` losses of `history` each failed to fall below 99% of the best
/// loss before them: the reference code's rule (`scaling_experiments.py`: an epoch whose loss
/// is not below 0.99 × the best counts as bad, and 5 bad epochs in a row stop the training).
/// The first loss sets the best.
pub fn plateau(history: &[LossPoint], patience: usize) -> bool {
    let mut best = f64::INFINITY;
    let mut bad = 0;
    for loss in history.iter().filter_map(|p| p.train_loss) {
        if loss < 0.99 * best {
            best = loss;
            bad = 0;
        } else {
            bad += 1;
        }
    }
    bad >= patience
}

/// One implementation of the SGD step of the fully connected ResNet on a data set: burn
/// tensors on any backend ([`BurnStepper`]), or a fused CPU step.
pub trait Stepper {
    /// One update of the weights on the batch (x, y), each [n, d] row-major.
    fn update(&mut self, x: &[f32], y: &[f32]);
    /// The loss on the whole training set.
    fn train_loss(&mut self) -> f64;
    /// The loss on the whole test set.
    fn test_loss(&mut self) -> f64;
    /// The weights and the optimiser's state, to checkpoint.
    fn state(&self) -> OptimState;
    /// Continues from `state` (given by [`Stepper::state`] of a stepper of the same network
    /// and training); an error when it does not fit them.
    fn restore(&mut self, state: &OptimState) -> Result<(), Mismatch>;
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

    /// The session of a training paused after `step` updates with the losses `history`: the
    /// batch order is replayed to where it was (it depends only on the seed and the step).
    pub fn resume(
        data: &Dataset,
        config: &TrainConfig,
        step: usize,
        history: &[LossPoint],
    ) -> Self {
        let mut session = Self::new(data, config);
        for _ in 0..step {
            session.batches.next_indices();
        }
        session.step = step;
        session.history = history.to_vec();
        session
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
        record(
            &mut self.history,
            self.step,
            loss,
            c.epsilon,
            c.max_steps,
            c.patience,
        )
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
    observe: impl FnMut(usize, Option<f64>),
) -> TrainOutcome {
    let mut session = Session::new(data, config);
    train_until(stepper, &mut session, data, observe, |_| false).expect("never paused")
}

/// Continues the training of `session` with `stepper` until ε or Tmax (`Some` outcome), or
/// until `pause(step)`, asked after every update, says to pause (`None`): the session and
/// the stepper's state then hold everything needed to continue, from here or from a
/// [`crate::train::checkpoint::Checkpoint`] of them, with the same updates as without the pause.
pub fn train_until(
    stepper: &mut impl Stepper,
    session: &mut Session,
    data: &Dataset,
    mut observe: impl FnMut(usize, Option<f64>),
    mut pause: impl FnMut(usize) -> bool,
) -> Option<TrainOutcome> {
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
        if pause(session.step()) {
            return None;
        }
    };
    let test_loss = stepper.test_loss();
    Some(session.outcome(stop_reason, test_loss))
}

/// The step of [`ResNet::loss_and_gradients`] and [`Optim`] on a burn backend, with the data
/// set on the device.
pub struct BurnStepper<B: Scan> {
    pub model: ResNet<B>,
    optim: Optim<B>,
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
            optim: Optim::new(&config.optim),
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
        self.model = self.optim.step(self.model.clone(), grads);
    }

    fn train_loss(&mut self) -> f64 {
        self.train_loss_tensor().into_scalar().elem()
    }

    fn test_loss(&mut self) -> f64 {
        self.test_loss_tensor().into_scalar().elem()
    }

    fn state(&self) -> OptimState {
        let (t, m, s) = self.optim.state(&self.model);
        OptimState {
            weights: self.model.to_weights(),
            t,
            m,
            s,
        }
    }

    fn restore(&mut self, state: &OptimState) -> Result<(), Mismatch> {
        let model = &self.model;
        let trained = model.trained_delta_len();
        state.check(model.depth(), model.width(), trained, self.optim.states())?;
        let device = model.a.val().device();
        let (activation, mode) = (model.activation, model.delta_mode);
        self.model = ResNet::from_weights(&state.weights, activation, mode, &device);
        self.optim.restore(state.t, &state.m, &state.s, &device);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::SyntheticConfig;
    use crate::model::activation::Activation;
    use crate::model::delta::DeltaMode;
    use crate::model::resnet::ResNetConfig;
    use crate::testing::TestBackend as B;
    use crate::train::results::{LossPoint, StopReason};

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
            let config = TrainConfig::new(20, OptimConfig::new(0.5), 0.0, 300).with_log_every(50);
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
    fn a_plateau_stops_after_patience_losses_without_a_one_percent_gain() {
        let history = |losses: &[f64]| -> Vec<LossPoint> {
            losses
                .iter()
                .enumerate()
                .map(|(step, &l)| LossPoint {
                    step,
                    train_loss: Some(l),
                })
                .collect()
        };
        // 1.0 sets the best; 0.995 is not 1% better (bad 1), 0.98 is (reset), then two bad.
        let h = history(&[1.0, 0.995, 0.98, 0.975, 0.979]);
        assert!(plateau(&h, 2));
        assert!(!plateau(&h, 3));
        assert!(!plateau(&history(&[1.0, 0.5, 0.25]), 1));
        let mut h = history(&[1.0, 1.0]);
        assert_eq!(
            record(&mut h, 2, 1.0, 0.0, 10, Some(2)),
            Some(StopReason::Plateau)
        );
        assert_eq!(record(&mut h, 3, 1.0, 0.0, 10, None), None);
        assert_eq!(
            record(&mut h, 4, 1e-9, 1e-6, 10, Some(1)),
            Some(StopReason::Converged)
        );
    }

    #[test]
    fn a_diverging_run_is_marked_diverged() {
        let device = Default::default();
        let data = synthetic(3, 40, 2);
        let model = ResNetConfig::new(3, 4, Activation::Linear, DeltaMode::None)
            .with_initial_sd(5.0)
            .init::<B>(&device);
        let config = TrainConfig::new(10, OptimConfig::new(1e6), 0.0, 500).with_log_every(5);
        let mut stepper = BurnStepper::new(model, &data, &config);
        let outcome = train(&mut stepper, &data, &config, |_, _| {});
        assert_eq!(outcome.stop_reason, StopReason::Diverged);
        assert!(outcome.steps < 500);
        assert_eq!(outcome.final_train_loss, None);
    }
}
