//! The fully connected residual network of Eq. (1):
//! h_{k+1} = h_k + δ_k σ(A_k h_k + b_k), k = 0..L−1, mapping R^d → R^d.
//!
//! The weights of all layers are stacked, one tensor per kind (A: [L, d, d], b: [L, d],
//! δ: [1] or [L]), so that a depth-10,000 network is three tensors, not 10,000 modules.

use crate::model::activation::Activation;
use crate::model::delta::DeltaMode;
use crate::model::init::{self, Init};
use crate::model::weights::Weights;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor, TensorData};

/// Configuration of a fully connected ResNet of depth L and width d.
#[derive(Config, Debug)]
pub struct ResNetConfig {
    /// Width d.
    pub width: usize,
    /// Depth L (number of residual layers).
    pub depth: usize,
    pub activation: Activation,
    pub delta: DeltaMode,
    #[config(default = "Init::Xavier")]
    pub init: Init,
    /// The scale s of the xavier-type inits.
    #[config(default = 1.0)]
    pub initial_sd: f64,
    /// Seed of the init; the stream of the generator is the depth, so every depth of a sweep
    /// draws differently and reproducibly.
    #[config(default = 0)]
    pub seed: u64,
}

impl ResNetConfig {
    /// The initial weights, drawn on the host.
    pub fn init_weights(&self) -> Weights {
        let (depth, width) = (self.depth, self.width);
        let mut rng = init::rng(self.seed, depth as u64);
        let (a, b) = init::weight_paths(self.init, self.initial_sd, depth, width, &mut rng);
        let delta = match self.delta {
            DeltaMode::None => None,
            mode @ DeltaMode::Fixed { .. } => mode.fixed(depth).map(|v| vec![v as f32]),
            DeltaMode::Shared => Some(vec![1.0 / depth as f32]),
            DeltaMode::PerLayer => Some(init::normal_vec(&mut rng, depth, 1.0 / depth as f64)),
        };
        Weights {
            depth,
            width,
            a,
            b,
            delta,
        }
    }

    /// Builds the initialised network on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ResNet<B> {
        ResNet::from_weights(&self.init_weights(), self.activation, self.delta, device)
    }
}

#[derive(Module, Debug)]
pub struct ResNet<B: Backend> {
    /// A_k stacked: [L, d, d].
    pub a: Param<Tensor<B, 3>>,
    /// b_k stacked: [L, d].
    pub b: Param<Tensor<B, 2>>,
    /// The trainable δ: [1] for `shared` (used as |δ|), [L] for `per-layer`, else `None`.
    pub delta: Option<Param<Tensor<B, 1>>>,
    #[module(skip)]
    pub activation: Activation,
    #[module(skip)]
    pub delta_mode: DeltaMode,
}

/// The values of h, z = A h + b and σ(z) at every layer, kept for the adjoint pass.
pub struct Trace<B: Backend> {
    /// h_k, k = 0..L−1, each [B, d].
    pub h: Vec<Tensor<B, 2>>,
    /// z_k = h_k A_kᵀ + b_k, each [B, d].
    pub z: Vec<Tensor<B, 2>>,
    /// σ(z_k), each [B, d] (not `a`, which is A in [`ResNet`]).
    pub act: Vec<Tensor<B, 2>>,
}

/// ‖h_k‖ (k = 0 .. L) and ‖h_{k+1} − h_k‖ (k < L), each averaged over the inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct HiddenNorms {
    pub h: Vec<f64>,
    pub dh: Vec<f64>,
}

/// The δ_k of one pass, ready to multiply a [B, d] tensor.
pub(crate) enum Deltas<B: Backend> {
    Constant(f64),
    /// |δ| as a [1, 1] tensor.
    Shared(Tensor<B, 2>),
    /// δ_k as [1, 1] tensors.
    PerLayer(Vec<Tensor<B, 2>>),
}

impl<B: Backend> Deltas<B> {
    /// δ_k · t.
    pub(crate) fn scale(&self, k: usize, t: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            Deltas::Constant(c) if *c == 1.0 => t,
            Deltas::Constant(c) => t.mul_scalar(*c),
            Deltas::Shared(delta) => t * delta.clone(),
            Deltas::PerLayer(deltas) => t * deltas[k].clone(),
        }
    }
}

impl<B: Backend> ResNet<B> {
    /// The network with the given weights; their δ is used only when `delta_mode` trains it.
    pub fn from_weights(
        weights: &Weights,
        activation: Activation,
        delta_mode: DeltaMode,
        device: &B::Device,
    ) -> Self {
        let (l, d) = (weights.depth, weights.width);
        let a = host_tensor(weights.a.clone(), [l, d, d], device);
        let b = host_tensor(weights.b.clone(), [l, d], device);
        let delta = match (delta_mode.trainable(), &weights.delta) {
            (true, Some(delta)) => Some(Param::from_tensor(host_tensor(
                delta.clone(),
                [delta.len()],
                device,
            ))),
            (false, _) => None,
            (true, None) => panic!("δ mode {delta_mode:?} needs δ in the weights"),
        };
        Self {
            a: Param::from_tensor(a),
            b: Param::from_tensor(b),
            delta,
            activation,
            delta_mode,
        }
    }

    /// Depth L.
    pub fn depth(&self) -> usize {
        self.a.val().dims()[0]
    }

    /// Width d.
    pub fn width(&self) -> usize {
        self.a.val().dims()[1]
    }

    /// How many values of δ are trained: 1 (shared), L (per layer), `None` (not trained).
    pub fn trained_delta_len(&self) -> Option<usize> {
        self.delta.as_ref().map(|p| p.val().dims()[0])
    }

    /// The weights, read back to the host.
    pub fn to_weights(&self) -> Weights {
        let read = |data: TensorData| {
            data.convert::<f32>()
                .to_vec::<f32>()
                .expect("float weights")
        };
        self.weights_from(
            read(self.a.val().into_data()),
            read(self.b.val().into_data()),
            self.delta.as_ref().map(|d| read(d.val().into_data())),
        )
    }

    /// The weights from the values of A, b and the trained δ read from this network (by
    /// [`ResNet::to_weights`], or asynchronously in the browser); a fixed δ is L^−β.
    pub fn weights_from(
        &self,
        a: Vec<f32>,
        b: Vec<f32>,
        trained_delta: Option<Vec<f32>>,
    ) -> Weights {
        Weights {
            depth: self.depth(),
            width: self.width(),
            a,
            b,
            delta: match self.delta_mode {
                mode @ DeltaMode::Fixed { .. } => mode.fixed(self.depth()).map(|v| vec![v as f32]),
                _ => trained_delta,
            },
        }
    }

    /// The δ_k of this network as the update uses them (|δ| for a shared δ).
    pub(crate) fn deltas(&self) -> Deltas<B> {
        let l = self.depth();
        match (self.delta_mode, &self.delta) {
            (DeltaMode::None, _) => Deltas::Constant(1.0),
            (mode @ DeltaMode::Fixed { .. }, _) => {
                Deltas::Constant(mode.fixed(l).expect("fixed δ"))
            }
            (DeltaMode::Shared, Some(delta)) => Deltas::Shared(delta.val().abs().reshape([1, 1])),
            (DeltaMode::PerLayer, Some(delta)) => Deltas::PerLayer(
                delta
                    .val()
                    .reshape([l, 1, 1])
                    .chunk(l, 0)
                    .into_iter()
                    .map(|t| t.reshape([1, 1]))
                    .collect(),
            ),
            (mode, None) => unreachable!("trainable δ mode {mode:?} without δ"),
        }
    }

    /// δ_k of every layer as used in the update: [L].
    pub(crate) fn delta_per_layer(&self) -> Tensor<B, 1> {
        let l = self.depth();
        match (self.delta_mode, &self.delta) {
            (DeltaMode::PerLayer, Some(delta)) => delta.val(),
            _ => match self.deltas() {
                Deltas::Constant(c) => Tensor::full([l], c, &self.a.val().device()),
                Deltas::Shared(delta) => delta.reshape([1]).expand([l]),
                Deltas::PerLayer(_) => unreachable!("per-layer δ is matched above"),
            },
        }
    }

    /// h_L for a batch of inputs h_0 = x: [B, d] → [B, d].
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.propagate(x, None)
    }

    /// h_L and the trace (h_k, z_k, σ(z_k)) of every layer.
    pub fn forward_trace(&self, x: Tensor<B, 2>) -> (Tensor<B, 2>, Trace<B>) {
        let l = self.depth();
        let mut trace = Trace {
            h: Vec::with_capacity(l),
            z: Vec::with_capacity(l),
            act: Vec::with_capacity(l),
        };
        let out = self.propagate(x, Some(&mut trace));
        (out, trace)
    }

    /// The norms of the hidden states along the network for the inputs x: [B, d].
    pub fn hidden_norms(&self, x: Tensor<B, 2>) -> HiddenNorms {
        let l = self.depth();
        let (out, mut trace) = self.forward_trace(x);
        trace.h.push(out);
        let h = Tensor::stack::<3>(trace.h, 0);
        let mean_norms = |t: Tensor<B, 3>| -> Vec<f64> {
            t.powi_scalar(2)
                .sum_dim(2)
                .sqrt()
                .mean_dim(1)
                .into_data()
                .convert::<f64>()
                .to_vec()
                .expect("float norms")
        };
        let dh = h.clone().narrow(0, 1, l) - h.clone().narrow(0, 0, l);
        HiddenNorms {
            h: mean_norms(h),
            dh: mean_norms(dh),
        }
    }

    /// A_k as [d, d] tensors, k = 0..L−1.
    pub(crate) fn a_layers(&self) -> Vec<Tensor<B, 2>> {
        let d = self.width();
        self.a
            .val()
            .chunk(self.depth(), 0)
            .into_iter()
            .map(|t| t.reshape([d, d]))
            .collect()
    }

    /// Eq. (1) layer by layer, recording the trace when asked.
    fn propagate(&self, x: Tensor<B, 2>, mut trace: Option<&mut Trace<B>>) -> Tensor<B, 2> {
        let deltas = self.deltas();
        let biases = self.b.val().chunk(self.depth(), 0);
        let mut h = x;
        for (k, (a_k, b)) in self.a_layers().into_iter().zip(biases).enumerate() {
            let z = h.clone().matmul(a_k.transpose()) + b;
            let a = self.activation.apply(z.clone());
            let update = deltas.scale(k, a.clone());
            if let Some(trace) = trace.as_deref_mut() {
                trace.h.push(h.clone());
                trace.z.push(z);
                trace.act.push(a);
            }
            h = h + update;
        }
        h
    }
}

/// A tensor of the backend's float type from f32 values on the host.
pub fn host_tensor<B: Backend, const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::from_data(
        TensorData::new(values, shape).convert::<B::FloatElem>(),
        device,
    )
}

/// The loss ℓ = (1/(B d)) Σ_{n,i} (h_L − y)²_{n,i}: the mean over samples and coordinates
/// (PyTorch's `MSELoss`), as a [1] tensor.
pub fn mse<B: Backend>(output: Tensor<B, 2>, target: Tensor<B, 2>) -> Tensor<B, 1> {
    (output - target).powi_scalar(2).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestBackend as B;

    #[test]
    fn hidden_norms_follow_the_states() {
        // A_k = 0 and b_k = e_1: h_k = k tanh(1) e_1 from h_0 = 0, whatever the input row.
        let (l, d) = (4, 2);
        let weights = Weights {
            depth: l,
            width: d,
            a: vec![0.0; l * d * d],
            b: (0..l).flat_map(|_| [1.0, 0.0]).collect(),
            delta: None,
        };
        let device = Default::default();
        let net = ResNet::<B>::from_weights(&weights, Activation::Tanh, DeltaMode::None, &device);
        let x = host_tensor::<B, 2>(vec![0.0; 3 * d], [3, d], &device);
        let norms = net.hidden_norms(x);
        let t = 1f64.tanh();
        assert_eq!(norms.h.len(), l + 1);
        for (k, h) in norms.h.iter().enumerate() {
            assert!((h - k as f64 * t).abs() < 1e-6, "{k}: {h}");
        }
        assert!(norms.dh.iter().all(|dh| (dh - t).abs() < 1e-6));
    }
}
