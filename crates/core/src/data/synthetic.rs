//! Data sets as row-major f32 matrices on the host, and mini-batches drawn from a fresh
//! shuffle each epoch.

use crate::io::tensor_file::check_finite;
use crate::io::tensor_file::decode;
use crate::io::tensor_file::encode;
use crate::io::tensor_file::take;
use crate::io::tensor_file::TensorFileError;
use crate::io::tensor_file::TensorMap;
use crate::model::init;
use rand::{seq::SliceRandom, Rng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Inputs x and targets y of a train and a test split, each [n, d] row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub width: usize,
    pub x_train: Vec<f32>,
    pub y_train: Vec<f32>,
    pub x_test: Vec<f32>,
    pub y_test: Vec<f32>,
}

impl Dataset {
    pub fn n_train(&self) -> usize {
        self.x_train.len() / self.width
    }

    pub fn n_test(&self) -> usize {
        self.x_test.len() / self.width
    }

    /// The data set as a safetensors file: x_train, y_train [n, d], x_test, y_test [m, d].
    pub fn to_safetensors(&self) -> Vec<u8> {
        let d = self.width;
        let mut map = TensorMap::new();
        for (name, values) in [
            ("x_train", &self.x_train),
            ("y_train", &self.y_train),
            ("x_test", &self.x_test),
            ("y_test", &self.y_test),
        ] {
            map.insert(name.into(), (vec![values.len() / d, d], values.clone()));
        }
        encode(&map)
    }

    /// Reads a file written by [`Dataset::to_safetensors`], checking every shape.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self, TensorFileError> {
        let mut map = decode(bytes)?;
        let dims = |map: &TensorMap, name: &str| match map.get(name) {
            Some((shape, _)) if shape.len() == 2 => Ok([shape[0], shape[1]]),
            Some((shape, _)) => Err(TensorFileError::Mismatch {
                name: name.into(),
                found: format!("{shape:?}"),
                expected: "[n, d]".into(),
            }),
            None => Err(TensorFileError::Missing(name.into())),
        };
        let [n, width] = dims(&map, "x_train")?;
        let [m, _] = dims(&map, "x_test")?;
        for (name, rows) in [("x_train", n), ("x_test", m)] {
            if rows == 0 || width == 0 {
                return Err(TensorFileError::Mismatch {
                    name: name.into(),
                    found: format!("[{rows}, {width}]"),
                    expected: "at least one row of width d ≥ 1".into(),
                });
            }
        }
        let mut tensor = |name: &str, rows: usize| {
            let values = take(&mut map, name, &[rows, width])?;
            check_finite(name, &values)?;
            Ok::<_, TensorFileError>(values)
        };
        Ok(Self {
            width,
            x_train: tensor("x_train", n)?,
            y_train: tensor("y_train", n)?,
            x_test: tensor("x_test", m)?,
            y_test: tensor("y_test", m)?,
        })
    }
}

/// The synthetic data set of the paper.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyntheticConfig {
    /// Dimension d.
    pub width: usize,
    pub n_train: usize,
    pub n_test: usize,
    /// Standard deviation of the isotropic Gaussian noise added to y before scaling.
    pub noise: f64,
    pub seed: u64,
}

/// Number of Euler steps of the target ODE.
const ODE_STEPS: usize = 100;

impl SyntheticConfig {
    /// x ~ U(−1, 1)^d; y = [`flow`](x) + noise; then every row of x and of y is scaled to
    /// unit Euclidean norm. The first n_train rows are the train split, the rest the test split.
    pub fn generate(&self) -> Dataset {
        let d = self.width;
        let n = self.n_train + self.n_test;
        let mut rng = init::rng(self.seed, u64::MAX);
        let mut x = vec![0f32; n * d];
        let mut y = vec![0f32; n * d];
        for (xr, yr) in x.chunks_exact_mut(d).zip(y.chunks_exact_mut(d)) {
            let x0: Vec<f64> = (0..d).map(|_| rng.random_range(-1.0..1.0)).collect();
            let z = self.target(&x0, &mut rng);
            write_unit_row(xr, &x0);
            write_unit_row(yr, &z);
        }
        let split = self.n_train * d;
        Dataset {
            width: d,
            x_test: x.split_off(split),
            y_test: y.split_off(split),
            x_train: x,
            y_train: y,
        }
    }
}

impl SyntheticConfig {
    /// [`flow`](x0) plus the noise, before scaling.
    pub(crate) fn target<R: Rng>(&self, x0: &[f64], rng: &mut R) -> Vec<f64> {
        let mut z = x0.to_vec();
        flow(&mut z);
        for zi in z.iter_mut() {
            *zi += self.noise * rng.sample::<f64, _>(StandardNormal);
        }
        z
    }
}

/// z ← z + 100^{−1/2} tanh(sin(5πt/100) z + cos(5πt/100)) for t = 0..99, elementwise.
fn flow(z: &mut [f64]) {
    let step = (ODE_STEPS as f64).powf(-0.5);
    for t in 0..ODE_STEPS {
        let s = 5.0 * std::f64::consts::PI * t as f64 / ODE_STEPS as f64;
        for zi in z.iter_mut() {
            *zi += step * (s.sin() * *zi + s.cos()).tanh();
        }
    }
}

/// out = v / ‖v‖₂.
fn write_unit_row(out: &mut [f32], v: &[f64]) {
    let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    for (o, a) in out.iter_mut().zip(v) {
        *o = (a / norm) as f32;
    }
}

/// Mini-batches of size B without replacement; a fresh shuffle starts each epoch of ⌊N/B⌋
/// batches, and the N mod B samples left over at the end of the shuffle are skipped.
pub struct Batches {
    order: Vec<usize>,
    batch_size: usize,
    next: usize,
    rng: ChaCha8Rng,
}

impl Batches {
    pub fn new(n: usize, batch_size: usize, seed: u64) -> Self {
        assert!(batch_size > 0 && batch_size <= n, "need 0 < B ≤ N");
        Self {
            order: (0..n).collect(),
            batch_size,
            next: n,
            rng: init::rng(seed, u64::MAX - 1),
        }
    }

    /// The indices of the next batch.
    pub fn next_indices(&mut self) -> &[usize] {
        if self.next + self.batch_size > self.order.len() {
            self.order.shuffle(&mut self.rng);
            self.next = 0;
        }
        self.next += self.batch_size;
        &self.order[self.next - self.batch_size..self.next]
    }

    /// The rows of the next batch of (x, y), each [B, d] row-major.
    pub fn next_batch(&mut self, x: &[f32], y: &[f32], width: usize) -> (Vec<f32>, Vec<f32>) {
        let idx = self.next_indices();
        let gather = |m: &[f32]| {
            idx.iter()
                .flat_map(|&i| m[i * width..(i + 1) * width].iter().copied())
                .collect::<Vec<f32>>()
        };
        (gather(x), gather(y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SyntheticConfig {
        SyntheticConfig {
            width: 10,
            n_train: 300,
            n_test: 50,
            noise: 0.0,
            seed: 4,
        }
    }

    #[test]
    fn synthetic_rows_have_unit_norm_and_are_reproducible() {
        let data = config().generate();
        assert_eq!((data.n_train(), data.n_test()), (300, 50));
        for row in data.x_train.chunks(10).chain(data.y_test.chunks(10)) {
            let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5);
        }
        assert_eq!(data, config().generate());
        let other = SyntheticConfig {
            seed: 5,
            ..config()
        }
        .generate();
        assert_ne!(data.x_train, other.x_train);
    }

    #[test]
    fn target_is_the_ode_flow() {
        // Reference value from an independent float64 Python loop over the same recursion.
        let mut z = [0.3, -0.8];
        flow(&mut z);
        assert!((z[0] - 2.5993500422437785).abs() < 1e-12, "{}", z[0]);
        assert!((z[1] - 1.2227011668670467).abs() < 1e-12, "{}", z[1]);
    }

    #[test]
    fn batches_cover_each_epoch_once() {
        let mut batches = Batches::new(10, 3, 0);
        let mut seen: Vec<usize> = (0..3)
            .flat_map(|_| batches.next_indices().to_vec())
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 9, "three batches of an epoch are disjoint");
        let first = Batches::new(10, 3, 0).next_indices().to_vec();
        assert_eq!(first, Batches::new(10, 3, 0).next_indices());
    }

    #[test]
    fn a_data_set_file_round_trips_and_bad_shapes_are_named() {
        let data = SyntheticConfig {
            width: 3,
            n_train: 7,
            n_test: 2,
            noise: 0.1,
            seed: 4,
        }
        .generate();
        assert_eq!(
            Dataset::from_safetensors(&data.to_safetensors()).unwrap(),
            data
        );
        let mut map = decode(&data.to_safetensors()).unwrap();
        map.get_mut("y_test").unwrap().0 = vec![3, 2];
        let err = Dataset::from_safetensors(&encode(&map)).unwrap_err();
        assert!(err.to_string().contains("y_test"), "{err}");
        map.remove("x_train");
        let err = Dataset::from_safetensors(&encode(&map)).unwrap_err();
        assert!(err.to_string().contains("x_train"), "{err}");

        // No rows (training or test), and non-finite values, are errors naming the tensor.
        let mut empty = data.clone();
        (empty.x_train, empty.y_train) = (Vec::new(), Vec::new());
        let err = Dataset::from_safetensors(&empty.to_safetensors()).unwrap_err();
        assert!(err.to_string().contains("`x_train` is [0, 3]"), "{err}");
        let mut empty = data.clone();
        (empty.x_test, empty.y_test) = (Vec::new(), Vec::new());
        let err = Dataset::from_safetensors(&empty.to_safetensors()).unwrap_err();
        assert!(err.to_string().contains("`x_test` is [0, 3]"), "{err}");
        let mut nan = data.clone();
        nan.y_train[4] = f32::NAN;
        let err = Dataset::from_safetensors(&nan.to_safetensors()).unwrap_err();
        assert!(
            err.to_string().contains("`y_train` holds NaN at index 4"),
            "{err}"
        );
    }
}
