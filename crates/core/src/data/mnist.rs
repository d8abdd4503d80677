//! The 25-dimensional MNIST data set of the paper: each 28×28 image goes through two random,
//! untrained convolutions, 5×5 stride 2 (28×28 → 12×12) then 3×3 stride 2 (12×12 → 5×5), with
//! no nonlinearity between, and the 25 features are scaled to unit norm; the target is the
//! one-hot label in the first 10 of the 25 coordinates.

use crate::data::idx::{self, IdxError, Split};
use crate::data::synthetic::Dataset;
use crate::model::init;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Dimension of an embedded image and of its target.
pub const WIDTH: usize = 25;
/// Side of an MNIST image.
const SIDE: usize = 28;
/// Random stream of the convolution weights (the data set streams count down from u64::MAX).
const STREAM: u64 = u64::MAX - 2;

#[derive(Debug, thiserror::Error)]
pub enum MnistError {
    #[error(transparent)]
    Idx(#[from] IdxError),
    #[error("{dir}: {asked} {split} images asked for, the files hold {available}")]
    TooFew {
        dir: String,
        split: &'static str,
        asked: usize,
        available: usize,
    },
}

/// The first n_train training and n_test test images of the MNIST files in `dir`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MnistConfig {
    pub dir: PathBuf,
    pub n_train: usize,
    pub n_test: usize,
    /// Seed of the convolution weights.
    pub seed: u64,
}

impl MnistConfig {
    /// x = [`embed`] of the images, y = one-hot labels padded with zeros to width 25.
    pub fn load(&self) -> Result<Dataset, MnistError> {
        let (x_train, y_train) = self.split(Split::Train, self.n_train, "training")?;
        let (x_test, y_test) = self.split(Split::Test, self.n_test, "test")?;
        Ok(Dataset {
            width: WIDTH,
            x_train,
            y_train,
            x_test,
            y_test,
        })
    }

    fn split(
        &self,
        split: Split,
        n: usize,
        name: &'static str,
    ) -> Result<(Vec<f32>, Vec<f32>), MnistError> {
        let (images, labels) = idx::read_mnist_split(&self.dir, split)?;
        if n > images.dims[0] {
            return Err(MnistError::TooFew {
                dir: self.dir.display().to_string(),
                split: name,
                asked: n,
                available: images.dims[0],
            });
        }
        let x = embed(&images.data[..n * SIDE * SIDE], n, self.seed);
        let mut y = vec![0f32; n * WIDTH];
        for (row, &label) in y.chunks_exact_mut(WIDTH).zip(&labels.data[..n]) {
            row[label as usize] = 1.0;
        }
        Ok((x, y))
    }
}

/// The two convolutions, drawn like PyTorch's default Conv2d init: every weight and bias
/// ~ U(−1/√fan_in, 1/√fan_in), fan_in = 25 for the first and 9 for the second.
struct Embedding {
    kernel1: Vec<f64>,
    bias1: f64,
    kernel2: Vec<f64>,
    bias2: f64,
}

impl Embedding {
    fn new(seed: u64) -> Self {
        let mut rng = init::rng(seed, STREAM);
        let mut uniform = |fan_in: usize, n: usize| -> Vec<f64> {
            let bound = 1.0 / (fan_in as f64).sqrt();
            (0..n).map(|_| rng.random_range(-bound..bound)).collect()
        };
        let kernel1 = uniform(25, 25);
        let bias1 = uniform(25, 1)[0];
        let kernel2 = uniform(9, 9);
        let bias2 = uniform(9, 1)[0];
        Self {
            kernel1,
            bias1,
            kernel2,
            bias2,
        }
    }

    /// The 25 features of one image of raw 0–255 pixels, scaled to unit norm.
    fn apply(&self, image: &[u8], out: &mut [f32]) {
        let pixels: Vec<f64> = image.iter().map(|&p| p as f64).collect();
        let hidden = conv2d(&pixels, SIDE, &self.kernel1, 5, self.bias1, 2);
        let features = conv2d(&hidden, 12, &self.kernel2, 3, self.bias2, 2);
        let norm = features.iter().map(|v| v * v).sum::<f64>().sqrt();
        for (o, v) in out.iter_mut().zip(&features) {
            *o = (v / norm) as f32;
        }
    }
}

/// Single-channel convolution without padding (a cross-correlation, as in PyTorch) of a
/// side×side image with a k×k kernel: out[i, j] = bias + Σ_{a,b<k} kernel[a, b]·image[s·i + a,
/// s·j + b] for i, j < (side − k)/s + 1, s = stride, all row-major.
pub fn conv2d(
    image: &[f64],
    side: usize,
    kernel: &[f64],
    k: usize,
    bias: f64,
    stride: usize,
) -> Vec<f64> {
    assert_eq!(image.len(), side * side, "image is not side×side");
    assert_eq!(kernel.len(), k * k, "kernel is not k×k");
    let out = (side - k) / stride + 1;
    let mut result = Vec::with_capacity(out * out);
    for i in 0..out {
        for j in 0..out {
            let mut sum = bias;
            for a in 0..k {
                for b in 0..k {
                    sum += kernel[a * k + b] * image[(stride * i + a) * side + stride * j + b];
                }
            }
            result.push(sum);
        }
    }
    result
}

/// The unit-norm 25-dimensional embeddings [n, 25] of n images [n, 28, 28] of raw pixels, with
/// the convolutions of `seed`.
pub fn embed(images: &[u8], n: usize, seed: u64) -> Vec<f32> {
    assert_eq!(images.len(), n * SIDE * SIDE, "images are not [n, 28, 28]");
    let embedding = Embedding::new(seed);
    let mut x = vec![0f32; n * WIDTH];
    for (image, row) in images
        .chunks_exact(SIDE * SIDE)
        .zip(x.chunks_exact_mut(WIDTH))
    {
        embedding.apply(image, row);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convolution_by_hand() {
        // 5×5 image with pixel (r, c) = 5r + c, 3×3 kernel, stride 2 → 2×2.
        let image: Vec<f64> = (0..25).map(f64::from).collect();
        let kernel = [1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, -1.0];
        // out[i, j] = 0.5 + x[2i, 2j] + 2·x[2i+1, 2j+1] − x[2i+2, 2j+2].
        let out = conv2d(&image, 5, &kernel, 3, 0.5, 2);
        assert_eq!(
            out,
            [
                0.5 + 0.0 + 2.0 * 6.0 - 12.0,
                0.5 + 2.0 + 2.0 * 8.0 - 14.0,
                0.5 + 10.0 + 2.0 * 16.0 - 22.0,
                0.5 + 12.0 + 2.0 * 18.0 - 24.0,
            ]
        );
        // The paper's shapes: 28 → 12 → 5.
        let hidden = conv2d(&[1.0; 784], 28, &[1.0; 25], 5, 0.0, 2);
        assert_eq!(hidden, vec![25.0; 144]);
        assert_eq!(conv2d(&hidden, 12, &[1.0; 9], 3, 1.0, 2), vec![226.0; 25]);
    }

    #[test]
    fn weights_follow_the_pytorch_bounds() {
        let e = Embedding::new(0);
        assert!(e.kernel1.iter().chain([&e.bias1]).all(|w| w.abs() < 0.2));
        assert!(e
            .kernel2
            .iter()
            .chain([&e.bias2])
            .all(|w| w.abs() < 1.0 / 3.0));
        assert!(
            e.kernel1.iter().any(|w| w.abs() > 0.1),
            "spread over the range"
        );
    }

    #[test]
    fn embeds_real_mnist() {
        let Some(dir) =
            crate::testing::test_data_dir("RESNET_SCALING_MNIST_DIR", "the four MNIST IDX files")
        else {
            return;
        };
        let config = MnistConfig {
            dir,
            n_train: 60000,
            n_test: 10000,
            seed: 1,
        };
        let data = config.load().unwrap();
        assert_eq!(
            (data.width, data.n_train(), data.n_test()),
            (25, 60000, 10000)
        );
        for row in data.x_train.chunks(WIDTH).chain(data.x_test.chunks(WIDTH)) {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
        }

        let mut counts = [0usize; 10];
        for row in data.y_train.chunks(WIDTH) {
            assert!(row[10..].iter().all(|&v| v == 0.0));
            let ones: Vec<usize> = (0..10).filter(|&i| row[i] == 1.0).collect();
            assert_eq!(ones.len(), 1);
            assert_eq!(row[..10].iter().sum::<f32>(), 1.0);
            counts[ones[0]] += 1;
        }
        let known = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
        assert_eq!(counts, known, "MNIST training label counts");

        let small = MnistConfig {
            n_train: 100,
            n_test: 10,
            ..config.clone()
        };
        let again = small.load().unwrap();
        assert_eq!(again.x_train, data.x_train[..100 * WIDTH]);
        assert_eq!(again.y_test, data.y_test[..10 * WIDTH]);
        let other = MnistConfig { seed: 2, ..small }.load().unwrap();
        assert_ne!(other.x_train, again.x_train);
        assert_eq!(other.y_train, again.y_train);

        let too_many = MnistConfig {
            n_test: 10001,
            ..config
        };
        assert!(matches!(
            too_many.load(),
            Err(MnistError::TooFew {
                available: 10000,
                ..
            })
        ));
    }
}
