//! The training of one depth, driven in chunks: `log_every` updates, then the training loss,
//! read asynchronously (blocking reads are not allowed on WebGPU). The schedule, the batches
//! and the stopping rule are core's [`Session`]; the step is a [`PageStep`]: core's
//! [`BurnStepper`] on WebGPU, core's [`FusedStepper`] on the CPU.

use crate::view::{DepthView, Snapshot};
use burn::backend::NdArray;
use burn::tensor::{backend::Backend, Tensor};
use scaling_core::analysis::{self, Analysis, Trained};
use scaling_core::data::synthetic::Dataset;
use scaling_core::model::resnet::ResNetConfig;
use scaling_core::model::weights::Weights;
use scaling_core::sweep::config::{Plan, Unit};
use scaling_core::train::fused::FusedStepper;
use scaling_core::train::results::{DepthResult, LossPoint, StopReason};
use scaling_core::train::session::{matrix, BurnStepper, Session, Stepper, TrainConfig};
use scaling_core::ResNet;
use scaling_core::Scan;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// A training step the page can drive: core's [`Stepper`], built on a device, with its
/// losses and weights read without blocking.
pub trait PageStep: Stepper + Sized {
    /// Where it computes.
    type Device;
    /// The step for the initialised network of `model`, training on `data`.
    fn start(
        model: &ResNetConfig,
        data: &Dataset,
        train: &TrainConfig,
        device: &Self::Device,
    ) -> Self;
    /// The loss on the whole training set.
    fn read_train_loss(&mut self) -> impl Future<Output = f64>;
    /// The loss on the whole test set.
    fn read_test_loss(&mut self) -> impl Future<Output = f64>;
    /// The current weights.
    fn read_weights(&self) -> impl Future<Output = Weights>;
}

/// On a burn backend (WebGPU in the page): the values are read back asynchronously.
impl<B: Scan> PageStep for BurnStepper<B> {
    type Device = B::Device;

    fn start(
        model: &ResNetConfig,
        data: &Dataset,
        train: &TrainConfig,
        device: &B::Device,
    ) -> Self {
        let net =
            ResNet::from_weights(&model.init_weights(), model.activation, model.delta, device);
        BurnStepper::new(net, data, train)
    }

    async fn read_train_loss(&mut self) -> f64 {
        read_scalar(self.train_loss_tensor()).await
    }

    async fn read_test_loss(&mut self) -> f64 {
        read_scalar(self.test_loss_tensor()).await
    }

    async fn read_weights(&self) -> Weights {
        let model = &self.model;
        let delta = match &model.delta {
            Some(delta) => Some(read_values(delta.val()).await),
            None => None,
        };
        model.weights_from(
            read_values(model.a.val()).await,
            read_values(model.b.val()).await,
            delta,
        )
    }
}

/// On the CPU (one thread in the page): the values are there at once.
impl PageStep for FusedStepper {
    type Device = ();

    fn start(model: &ResNetConfig, data: &Dataset, train: &TrainConfig, _: &()) -> Self {
        FusedStepper::new(
            &model.init_weights(),
            model.activation,
            model.delta,
            data,
            train,
        )
    }

    async fn read_train_loss(&mut self) -> f64 {
        self.train_loss()
    }

    async fn read_test_loss(&mut self) -> f64 {
        self.test_loss()
    }

    async fn read_weights(&self) -> Weights {
        self.to_weights()
    }
}

/// The training of the network of depth L of a plan.
pub struct DepthRun<S: PageStep> {
    pub depth: usize,
    stepper: S,
    session: Session,
    /// Why it stopped, once it has.
    pub stop: Option<StopReason>,
    /// The test loss, once it has stopped.
    pub test_loss: Option<f64>,
    /// Seconds spent in updates and loss readings.
    pub seconds: f64,
}

/// A depth in training as the page shows it: its result so far (steps, losses), why it stopped
/// (once it has), its test loss (then), and its weights where they were read.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DepthReport {
    pub result: DepthResult,
    pub stop: Option<StopReason>,
    pub test_loss: Option<f64>,
    pub weights: Option<Weights>,
}

impl DepthReport {
    /// The depth's row and curves in the page, with `weights`.
    pub fn view(&self, weights: Weights) -> DepthView {
        let outcome = &self.result.outcome;
        DepthView {
            depth: self.result.depth,
            steps: outcome.steps,
            losses: losses(&outcome.history),
            stop: self.stop,
            test_loss: self.test_loss,
            weights,
        }
    }
}

/// (step, training loss) of the measurements with a finite loss.
fn losses(history: &[LossPoint]) -> Vec<(usize, f64)> {
    history
        .iter()
        .filter_map(|p| Some((p.step, p.train_loss?)))
        .collect()
}

/// The page's view of its depths (each report with the latest weights read of it), with
/// core's analysis of those weights ([`analyse`]); `seconds` have passed training them.
pub fn snapshot(
    plan: &Plan,
    data: &Dataset,
    depths: Vec<(DepthReport, Weights)>,
    seconds: f64,
) -> Snapshot {
    let nets = depths
        .iter()
        .map(|(r, w)| (r.result.clone(), w.clone()))
        .collect();
    let analysis = analyse(plan, data, nets);
    snapshot_with(plan, depths, seconds, Some(analysis))
}

/// The page's view of its depths, with an analysis made elsewhere (or none yet).
pub fn snapshot_with(
    plan: &Plan,
    depths: Vec<(DepthReport, Weights)>,
    seconds: f64,
    analysis: Option<Analysis>,
) -> Snapshot {
    let steps: usize = depths.iter().map(|(r, _)| r.result.outcome.steps).sum();
    Snapshot {
        depths: depths.into_iter().map(|(r, w)| r.view(w)).collect(),
        analysis,
        steps_per_sec: if seconds > 0.0 {
            steps as f64 / seconds
        } else {
            0.0
        },
        epsilon: plan.train.epsilon,
    }
}

/// The depths dealt to `n` workers, largest first, each to the worker with the fewest layers
/// so far (a depth's chunks cost about L).
pub fn deal_depths(depths: &[usize], n: usize) -> Vec<Vec<usize>> {
    let mut sorted = depths.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let mut dealt: Vec<Vec<usize>> = vec![Vec::new(); n.max(1)];
    for depth in sorted {
        let lightest = (0..dealt.len())
            .min_by_key(|&i| dealt[i].iter().sum::<usize>())
            .expect("at least one worker");
        dealt[lightest].push(depth);
    }
    dealt
}

/// Reads a one-element tensor without blocking.
pub async fn read_scalar<B: Backend>(t: Tensor<B, 1>) -> f64 {
    match t.into_data_async().await {
        Ok(data) => data
            .convert::<f64>()
            .to_vec::<f64>()
            .map_or(f64::NAN, |v| v[0]),
        Err(_) => f64::NAN,
    }
}

/// Reads a tensor's values without blocking.
async fn read_values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data_async()
        .await
        .ok()
        .and_then(|data| data.convert::<f32>().to_vec::<f32>().ok())
        .unwrap_or_default()
}

impl<S: PageStep> DepthRun<S> {
    /// The initialised network of depth L, ready to train on `data`, with the plan's first
    /// seed (the training view trains one network per depth).
    pub fn new(plan: &Plan, data: &Dataset, depth: usize, device: &S::Device) -> Self {
        let seed = plan.seeds[0];
        Self::of(plan, data, Unit { depth, seed }, device)
    }

    /// The initialised network `unit` of the plan, ready to train on `data`.
    pub fn of(plan: &Plan, data: &Dataset, unit: Unit, device: &S::Device) -> Self {
        let train = plan.training(unit);
        Self {
            depth: unit.depth,
            stepper: S::start(&plan.model(unit), data, &train, device),
            session: Session::new(data, &train),
            stop: None,
            test_loss: None,
            seconds: 0.0,
        }
    }

    pub fn steps(&self) -> usize {
        self.session.step()
    }

    /// Trains until the next loss measurement (at most `log_every` updates) and records it;
    /// at the end, reads the test loss too. `now()` gives seconds, for the timing.
    pub async fn advance(&mut self, data: &Dataset, now: impl Fn() -> f64) {
        if self.stop.is_some() {
            return;
        }
        let start = now();
        let mut updates = 0;
        loop {
            if self.session.due() && (updates > 0 || self.session.step() == 0) {
                let loss = self.stepper.read_train_loss().await;
                if let Some(reason) = self.session.record(loss) {
                    self.stop = Some(reason);
                    self.test_loss = Some(self.stepper.read_test_loss().await);
                }
                if updates > 0 || self.stop.is_some() {
                    break;
                }
            }
            let (x, y) = self.session.next_batch(data);
            self.stepper.update(&x, &y);
            updates += 1;
        }
        self.seconds += now() - start;
    }

    /// The current weights, read without blocking.
    pub async fn weights(&self) -> Weights {
        self.stepper.read_weights().await
    }

    /// (step, training loss) so far.
    pub fn losses(&self) -> Vec<(usize, f64)> {
        losses(self.session.history())
    }

    /// What the page shows of it, without its weights (a worker sends them apart).
    pub fn report(&self) -> DepthReport {
        DepthReport {
            result: self.result(),
            stop: self.stop,
            test_loss: self.test_loss,
            weights: None,
        }
    }

    /// The result so far, for the analysis (a depth still training counts as not converged).
    pub fn result(&self) -> DepthResult {
        let stop = self.stop.unwrap_or(StopReason::MaxSteps);
        DepthResult {
            depth: self.depth,
            wall_time_s: self.seconds,
            outcome: self
                .session
                .outcome(stop, self.test_loss.unwrap_or(f64::NAN)),
        }
    }
}

/// Core's analysis of the networks as they are now: fits of the weight statistics against L,
/// the regime verdict on the plan's main path, and the training loss of every network the fits
/// use and of its denoised version (its paths replaced by their trends), evaluated on the CPU
/// (burn's NdArray) whichever engine trains.
pub fn analyse(plan: &Plan, data: &Dataset, nets: Vec<(DepthResult, Weights)>) -> Analysis {
    let trained: Vec<Trained> = nets
        .into_iter()
        .map(|(result, weights)| Trained {
            seed: plan.seeds[0],
            result,
            weights,
        })
        .collect();
    let mut analysis = analysis::analyze(&trained, &plan.analysis_options());
    if !analysis.trends.is_empty() {
        let device = Default::default();
        let x = matrix::<NdArray>(data.x_train.clone(), data.width, &device);
        let y = matrix::<NdArray>(data.y_train.clone(), data.width, &device);
        let model = (plan.activation, plan.delta);
        analysis.denoised = trained
            .iter()
            .filter_map(|t| analysis.denoised_loss(t, model, (&x, &y), &device))
            .collect();
    }
    analysis
}

/// Updates per second of the step `S` on the network of depth L of `plan`, timed for about
/// `seconds`: updates in rounds of 1, 2, 4, … each ended by a read of the training loss (which
/// waits for a GPU's queued work), `pause` awaited between rounds. The first round, which
/// compiles a GPU's kernels, is not counted. `now()` gives seconds.
pub async fn updates_per_second<S: PageStep, P: Future<Output = ()>>(
    plan: &Plan,
    data: &Dataset,
    depth: usize,
    device: &S::Device,
    seconds: f64,
    now: impl Fn() -> f64,
    pause: impl Fn() -> P,
) -> f64 {
    let unit = Unit {
        depth,
        seed: plan.seeds[0],
    };
    let train = plan.training(unit);
    let mut stepper = S::start(&plan.model(unit), data, &train, device);
    let mut session = Session::new(data, &train);
    let (mut n, mut counted, mut start) = (1, 0, None);
    loop {
        for _ in 0..n {
            let (x, y) = session.next_batch(data);
            stepper.update(&x, &y);
        }
        stepper.read_train_loss().await;
        match start {
            None => start = Some(now()),
            Some(t) => {
                counted += n;
                if now() - t >= seconds {
                    return counted as f64 / (now() - t);
                }
            }
        }
        pause().await;
        n *= 2;
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::settings::{Form, Settings};
    use futures::executor::block_on;
    use scaling_core::sweep::config::DataPlan;
    use std::cell::Cell;

    #[test]
    fn depths_are_dealt_largest_first_to_the_lightest_worker() {
        let dealt = deal_depths(&[4, 8, 16, 32, 64, 128, 256], 2);
        assert_eq!(dealt, [vec![256], vec![128, 64, 32, 16, 8, 4]]);
        let dealt = deal_depths(&[10, 10, 10, 30], 3);
        assert_eq!(dealt, [vec![30], vec![10, 10], vec![10]]);
        // More workers than depths: some idle; none at all still deals to one.
        assert_eq!(deal_depths(&[5, 3], 3), [vec![5], vec![3], vec![]]);
        assert_eq!(deal_depths(&[5, 3], 0), [vec![5, 3]]);
    }

    #[test]
    fn updates_per_second_times_the_rounds_after_the_first() {
        let mut s = Settings::default();
        for (key, value) in [
            ("n_samples", "64"),
            ("width", "4"),
            ("depths", "3,9"),
            ("batch_size", "16"),
        ] {
            s.set(key, value);
        }
        let plan = s.plan().unwrap();
        let DataPlan::Synthetic(c) = &plan.data else {
            unreachable!("synthetic")
        };
        let data = c.generate();
        // A clock that moves 0.1 s per reading: the rounds of 2, 4 and 8 updates end at 0.1,
        // 0.2 and 0.3 s after the first round; 0.3 ≥ 0.25 ends the timing, read at 0.4 s.
        let (clock, pauses) = (Cell::new(-0.1), Cell::new(0));
        let now = || {
            clock.set(clock.get() + 0.1);
            clock.get()
        };
        let pause = || {
            pauses.set(pauses.get() + 1);
            async {}
        };
        let rate = block_on(updates_per_second::<FusedStepper, _>(
            &plan,
            &data,
            9,
            &(),
            0.25,
            now,
            pause,
        ));
        assert!((rate - 14.0 / 0.4).abs() < 1e-9, "{rate}");
        assert_eq!(pauses.get(), 3);
    }
}
