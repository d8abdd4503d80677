//! Training the convolutional ResNet on images: SGD with momentum and weight decay on the MSE
//! to the one-hot label (the paper) or the cross-entropy (the reference code), mini-batches
//! from a fresh shuffle each epoch with random crops and flips, until the training loss falls
//! below ε or after Tmax updates; the test loss and accuracy at the end.

use crate::conv::resnet::ConvResNet;
use crate::data::cifar;
use crate::data::synthetic::Batches;
use crate::model::init;
use crate::model::resnet::host_tensor;
use crate::train::results::{finite, TrainOutcome};
use crate::train::session::record;
use burn::config::Config;
use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{decay::WeightDecayConfig, GradientsParams, Optimizer, SgdConfig};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Values per image: 3 channels of 32×32.
const IMAGE_LEN: usize = cifar::PIXELS;
/// Images per forward pass when measuring a loss.
const EVAL_CHUNK: usize = 250;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassLoss {
    /// (1/(N·10)) Σ (logits − one_hot(y))²: the paper.
    Mse,
    /// −(1/N) Σ log softmax(logits)_y: the reference code.
    CrossEntropy,
}

/// Normalised images [n, 3, 32, 32] and their labels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Images {
    pub pixels: Vec<f32>,
    pub labels: Vec<u8>,
}

impl Images {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The first n (at most all) of raw CIFAR images [_, 3, 32, 32] and labels, normalised.
    pub fn first(pixels: &[u8], labels: &[u8], n: usize) -> Self {
        let n = n.min(labels.len());
        Self {
            pixels: cifar::normalise(&pixels[..n * IMAGE_LEN]),
            labels: labels[..n].to_vec(),
        }
    }
}

#[derive(Config, Debug)]
pub struct ConvTrainConfig {
    pub batch_size: usize,
    pub lr: f64,
    pub epsilon: f64,
    pub max_steps: usize,
    #[config(default = 0.9)]
    pub momentum: f64,
    #[config(default = 1e-4)]
    pub weight_decay: f64,
    #[config(default = "ClassLoss::Mse")]
    pub loss: ClassLoss,
    /// Random crops (padding 4) and horizontal flips of the training images.
    #[config(default = true)]
    pub augment: bool,
    /// The loss on the whole training set is measured every `log_every` updates.
    #[config(default = 1000)]
    pub log_every: usize,
    #[config(default = 0)]
    pub seed: u64,
}

/// The batch loss of `logits` [N, 10] against the labels [N].
pub fn class_loss<B: Backend>(
    logits: Tensor<B, 2>,
    labels: Tensor<B, 1, Int>,
    kind: ClassLoss,
) -> Tensor<B, 1> {
    match kind {
        ClassLoss::Mse => {
            let classes = logits.dims()[1];
            let target = labels.one_hot::<2>(classes).float();
            (logits - target).powi_scalar(2).mean()
        }
        ClassLoss::CrossEntropy => CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits, labels),
    }
}

fn labels_tensor<B: Backend>(labels: &[u8], device: &B::Device) -> Tensor<B, 1, Int> {
    let values: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
    Tensor::from_data(TensorData::new(values, [labels.len()]), device)
}

/// The mean loss and the accuracy of `model` on `images`.
pub fn evaluate<B: Backend>(
    model: &ConvResNet<B>,
    images: &Images,
    kind: ClassLoss,
    device: &B::Device,
) -> (f64, f64) {
    let (mut loss, mut correct) = (0.0, 0usize);
    for (pixels, labels) in images
        .pixels
        .chunks(EVAL_CHUNK * IMAGE_LEN)
        .zip(images.labels.chunks(EVAL_CHUNK))
    {
        let n = labels.len();
        let x = host_tensor::<B, 4>(pixels.to_vec(), [n, 3, 32, 32], device);
        let y = labels_tensor::<B>(labels, device);
        let logits = model.forward(x);
        let predicted = logits.clone().argmax(1).reshape([n]);
        correct += predicted
            .equal(y.clone())
            .int()
            .sum()
            .into_scalar()
            .elem::<i64>() as usize;
        loss += class_loss(logits, y, kind).into_scalar().elem::<f64>() * n as f64;
    }
    let n = images.len() as f64;
    (loss / n, correct as f64 / n)
}

/// Trains `model` on `train`; `observe(step, loss)` after every update, with the training
/// loss when it was measured.
pub fn train_conv<B: AutodiffBackend>(
    mut model: ConvResNet<B>,
    train: &Images,
    test: &Images,
    config: &ConvTrainConfig,
    device: &B::Device,
    mut observe: impl FnMut(usize, Option<f64>),
) -> (ConvResNet<B>, TrainOutcome) {
    let mut optimizer = SgdConfig::new()
        .with_momentum(Some(
            MomentumConfig::new()
                .with_momentum(config.momentum)
                .with_dampening(0.0),
        ))
        .with_weight_decay(Some(WeightDecayConfig::new(config.weight_decay as f32)))
        .init::<B, ConvResNet<B>>();
    let mut batches = Batches::new(train.len(), config.batch_size, config.seed);
    let mut rng = init::rng(config.seed, u64::MAX - 2);
    let mut history = Vec::new();
    let mut step = 0;
    let stop_reason = loop {
        if step % config.log_every == 0 || step == config.max_steps {
            let (loss, _) = evaluate(&model.valid(), train, config.loss, device);
            observe(step, Some(loss));
            if let Some(reason) = record(
                &mut history,
                step,
                loss,
                config.epsilon,
                config.max_steps,
                None,
            ) {
                break reason;
            }
        }
        let idx = batches.next_indices().to_vec();
        let mut pixels = Vec::with_capacity(idx.len() * IMAGE_LEN);
        for &i in &idx {
            let image = &train.pixels[i * IMAGE_LEN..(i + 1) * IMAGE_LEN];
            if config.augment {
                pixels.extend(cifar::augment(image, &mut rng));
            } else {
                pixels.extend_from_slice(image);
            }
        }
        let labels: Vec<u8> = idx.iter().map(|&i| train.labels[i]).collect();
        let x = host_tensor::<B, 4>(pixels, [idx.len(), 3, 32, 32], device);
        let loss = class_loss(
            model.forward(x),
            labels_tensor(&labels, device),
            config.loss,
        );
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(config.lr, model, grads);
        step += 1;
        observe(step, None);
    };
    let final_train_loss = history.last().and_then(|p| p.train_loss);
    let (test_loss, accuracy) = evaluate(&model.valid(), test, config.loss, device);
    let outcome = TrainOutcome {
        steps: step,
        stop_reason,
        final_train_loss,
        final_test_loss: finite(test_loss),
        final_test_accuracy: Some(accuracy),
        history,
    };
    (model, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::resnet::ConvResNetConfig;
    use burn::backend::Autodiff;

    type B = Autodiff<crate::testing::TestBackend>;

    /// Eight tiny "images": class 0 bright on the left half, class 1 on the right.
    fn toy() -> Images {
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for i in 0..8 {
            let label = (i % 2) as u8;
            for _c in 0..3 {
                for _row in 0..32 {
                    for col in 0..32 {
                        let left = col < 16;
                        pixels.push(if left == (label == 0) { 1.0 } else { -1.0 });
                    }
                }
            }
            labels.push(label);
        }
        Images { pixels, labels }
    }

    #[test]
    fn mse_loss_is_against_the_one_hot_label() {
        let device = Default::default();
        let logits = host_tensor::<crate::testing::TestBackend, 2>(
            vec![1.0, 0.0, 0.0, 0.5, 0.5, 0.0],
            [2, 3],
            &device,
        );
        let labels = labels_tensor::<crate::testing::TestBackend>(&[0, 2], &device);
        let mse: f64 = class_loss(logits.clone(), labels.clone(), ClassLoss::Mse)
            .into_scalar()
            .elem();
        // Row 0 exact; row 1: (0.5² + 0.5² + 1²) / 6.
        assert!((mse - 1.5 / 6.0).abs() < 1e-12);
        let ce: f64 = class_loss(logits, labels, ClassLoss::CrossEntropy)
            .into_scalar()
            .elem();
        let row0 = -(1f64.exp() / (1f64.exp() + 2.0)).ln();
        let row1 = -(1.0 / (2.0 * 0.5f64.exp() + 1.0)).ln();
        assert!((ce - (row0 + row1) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_short_training_lowers_the_loss() {
        let device = Default::default();
        <B as Backend>::seed(&device, 1);
        let model = ConvResNetConfig::new(8)
            .with_base_channels(2)
            .init::<B>(&device);
        let data = toy();
        let config = ConvTrainConfig::new(4, 0.05, 0.0, 30)
            .with_log_every(10)
            .with_augment(false);
        let (_, outcome) = train_conv(model, &data, &data, &config, &device, |_, _| {});
        let losses: Vec<f64> = outcome
            .history
            .iter()
            .filter_map(|p| p.train_loss)
            .collect();
        assert_eq!(outcome.steps, 30);
        assert_eq!(
            outcome.stop_reason,
            crate::train::results::StopReason::MaxSteps
        );
        assert!(losses.last().unwrap() < &(0.8 * losses[0]), "{losses:?}");
        let accuracy = outcome.final_test_accuracy.unwrap();
        assert!((0.0..=1.0).contains(&accuracy));
    }
}
