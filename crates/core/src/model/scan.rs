//! The layer recursion of Eq. (1) and its adjoint as whole-network operations, so that a
//! backend can run all L layers at once. By default they run layer by layer with burn tensor
//! operations ([`per_layer`]); CubeCL backends (CUDA, WebGPU) run each in one kernel launch
//! ([`crate::model::cube`]). [`ResNet::loss_and_gradients`] and the training built on it take either.

use crate::model::resnet::ResNet;
use burn::backend::NdArray;
use burn::tensor::{backend::Backend, Tensor};

/// The states of every layer, kept by the forward pass for the adjoint pass.
pub struct States<B: Backend> {
    /// h_k, k = 0..L−1: [L, N, d].
    pub h: Tensor<B, 3>,
    /// z_k = A_k h_k + b_k: [L, N, d].
    pub z: Tensor<B, 3>,
}

/// What the adjoint pass gives, with g_k = ∂ℓ/∂h_k (the notation of [`crate::model::adjoint`]).
pub struct Adjoint<B: Backend> {
    /// p_k = δ_k g_{k+1} ⊙ σ'(z_k): [L, N, d].
    pub p: Tensor<B, 3>,
    /// q_k = g_{k+1} ⊙ σ(z_k), whose sum is ∂ℓ/∂δ_k: [L, N, d]; only when δ is trained.
    pub q: Option<Tensor<B, 3>>,
}

/// A backend's way to run the L layers of the network.
pub trait Scan: Backend {
    /// h_L for h_0 = x: [N, d] → [N, d], and the trace of every layer when `trace`.
    fn scan_forward(
        net: &ResNet<Self>,
        x: Tensor<Self, 2>,
        trace: bool,
    ) -> (Tensor<Self, 2>, Option<States<Self>>) {
        per_layer::forward(net, x, trace)
    }

    /// The adjoint recursion g_k = g_{k+1} + (δ_k σ'(z_k) ⊙ g_{k+1}) A_k from g_L: [N, d]
    /// down to k = 0, given z_k of every layer: [L, N, d].
    fn scan_backward(net: &ResNet<Self>, g: Tensor<Self, 2>, z: Tensor<Self, 3>) -> Adjoint<Self> {
        per_layer::backward(net, g, z)
    }
}

/// burn's CPU backend runs the layers one by one.
impl Scan for NdArray<f32> {}
impl Scan for NdArray<f64> {}

/// The recursion layer by layer with burn tensor operations: the reference of every other
/// implementation, and what backends without their own kernels run.
pub mod per_layer {
    use super::*;

    /// Eq. (1) layer by layer; the trace stacked.
    pub fn forward<B: Backend>(
        net: &ResNet<B>,
        x: Tensor<B, 2>,
        trace: bool,
    ) -> (Tensor<B, 2>, Option<States<B>>) {
        if !trace {
            return (net.forward(x), None);
        }
        let (out, trace) = net.forward_trace(x);
        (
            out,
            Some(States {
                h: Tensor::stack(trace.h, 0),
                z: Tensor::stack(trace.z, 0),
            }),
        )
    }

    /// The adjoint recursion layer by layer, σ and σ' of all layers at once.
    pub fn backward<B: Backend>(
        net: &ResNet<B>,
        mut g: Tensor<B, 2>,
        z: Tensor<B, 3>,
    ) -> Adjoint<B> {
        let [l, batch, d] = z.dims();
        let deltas = net.deltas();
        let a_layers = net.a_layers();
        let act = net.activation.apply(z.clone());
        let slopes = net.activation.derivative(z, act.clone()).chunk(l, 0);
        let trains_delta = net.delta.is_some();
        let mut g_next = Vec::with_capacity(if trains_delta { l } else { 0 });
        let mut p = Vec::with_capacity(l);
        for (k, slope) in slopes.into_iter().enumerate().rev() {
            let p_k = deltas.scale(k, g.clone() * slope.reshape([batch, d]));
            if trains_delta {
                g_next.push(g.clone());
            }
            g = g + p_k.clone().matmul(a_layers[k].clone());
            p.push(p_k);
        }
        p.reverse();
        g_next.reverse();
        Adjoint {
            p: Tensor::stack(p, 0),
            q: trains_delta.then(|| Tensor::stack::<3>(g_next, 0) * act),
        }
    }
}
