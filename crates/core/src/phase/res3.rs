//! Marion et al.'s res-3 block at initialisation, its forward pass and adjoint, for many β in
//! one batch: the rows are (β, input) pairs, each with its own δ = L^{−β}.
//!
//!   forward   u_k = W_k h_k,   h_{k+1} = h_k + δ V_k σ(u_k),   k = 0..L−1
//!   adjoint   g_k = g_{k+1} + W_kᵀ (σ'(u_k) ⊙ δ V_kᵀ g_{k+1}),   g_L = ∂ℓ/∂h_L
//!
//! (their `FullResNet.forward_hidden_state`, with PyTorch's autograd for the adjoint).

use super::probe::Probe;
use crate::model::activation::Activation;
use crate::model::resnet::host_tensor;
use crate::model::weights::Weights;
use burn::tensor::{backend::Backend, Tensor};

/// Values of the stored pre-activations u_k per batch (L·rows·d): the β are split into
/// batches that keep under it.
const STATES: usize = 1 << 24;

/// The matrices W_k and V_k, [d, d] each.
struct Layers<B: Backend> {
    w: Vec<Tensor<B, 2>>,
    v: Vec<Tensor<B, 2>>,
}

impl<B: Backend> Layers<B> {
    /// W_k from `inner`'s A and V_k from `outer` ([L·d·d] row-major), on `device`.
    fn new(inner: &Weights, outer: &[f32], device: &B::Device) -> Self {
        let d = inner.width;
        let matrices = |values: &[f32]| -> Vec<Tensor<B, 2>> {
            let layer = values.chunks(d * d);
            layer
                .map(|m| host_tensor(m.to_vec(), [d, d], device))
                .collect()
        };
        Self {
            w: matrices(&inner.a),
            v: matrices(outer),
        }
    }
}

/// The probes at every β, in order, of the res-3 network with inner W_k (`inner`) and outer
/// V_k (`outer`, [L·d·d]) on the inputs x and output gradients g ([n·d] row-major each).
pub(super) fn probe<B: Backend>(
    inner: &Weights,
    outer: &[f32],
    [x, g]: [&[f32]; 2],
    activation: Activation,
    betas: &[f64],
    device: &B::Device,
) -> Vec<Probe> {
    let (l, d) = (inner.depth, inner.width);
    let n = x.len() / d;
    let layers = Layers::new(inner, outer, device);
    let per_batch = (STATES / (l * n * d)).max(1);
    let mut probes = Vec::with_capacity(betas.len());
    for batch in betas.chunks(per_batch) {
        let rows = batch.len() * n;
        let repeat = |v: &[f32]| -> Tensor<B, 2> {
            let values = batch.iter().flat_map(|_| v.iter().copied()).collect();
            host_tensor(values, [rows, d], device)
        };
        let delta = batch
            .iter()
            .flat_map(|&beta| std::iter::repeat_n((l as f64).powf(-beta) as f32, n));
        let delta = host_tensor(delta.collect(), [rows, 1], device);
        let (h0, g_l) = (repeat(x), repeat(g));
        let (h_l, u, norms) = forward(&layers, activation, h0.clone(), delta.clone());
        let g0 = adjoint(&layers, activation, &u, delta, g_l.clone());
        probes.extend(Probe::of_rows([h0, h_l, g_l, g0], norms, n));
    }
    probes
}

/// h_L [rows, d] from h_0, the pre-activations u_k (k = 0..L−1), and ‖h_k‖ [rows, L+1].
fn forward<B: Backend>(
    layers: &Layers<B>,
    activation: Activation,
    h0: Tensor<B, 2>,
    delta: Tensor<B, 2>,
) -> (Tensor<B, 2>, Vec<Tensor<B, 2>>, Tensor<B, 2>) {
    let mut h = h0;
    let mut u = Vec::with_capacity(layers.w.len());
    let mut norms = vec![super::probe::row_norms(h.clone())];
    for (w, v) in layers.w.iter().zip(&layers.v) {
        let u_k = h.clone().matmul(w.clone().transpose());
        let a = activation.apply(u_k.clone());
        h = h + a.matmul(v.clone().transpose()) * delta.clone();
        u.push(u_k);
        norms.push(super::probe::row_norms(h.clone()));
    }
    (h, u, Tensor::cat(norms, 1))
}

/// g_0 [rows, d] from g_L by the adjoint recursion, given the forward pass's u_k.
fn adjoint<B: Backend>(
    layers: &Layers<B>,
    activation: Activation,
    u: &[Tensor<B, 2>],
    delta: Tensor<B, 2>,
    g_l: Tensor<B, 2>,
) -> Tensor<B, 2> {
    let mut g = g_l;
    for k in (0..u.len()).rev() {
        let g_a = g.clone().matmul(layers.v[k].clone()) * delta.clone();
        let a = activation.apply(u[k].clone());
        let g_u = activation.derivative(u[k].clone(), a) * g_a;
        g = g + g_u.matmul(layers.w[k].clone());
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::probe::draw_weights;
    use crate::testing::TestBackend as B;

    /// W_k and V_k along a fractional Gaussian noise, and n inputs, as res-3 draws them.
    struct Network {
        weights: Weights,
        outer: Vec<f32>,
        x: Vec<f32>,
        g: Vec<f32>,
    }

    fn network(l: usize, d: usize, n: usize, hurst: f64) -> Network {
        let mut rng = crate::model::init::rng(5, 0);
        let init = crate::model::init::Init::Fgn { hurst };
        let weights = draw_weights(init, l, d, &mut rng);
        let outer = draw_weights(init, l, d, &mut rng).a;
        let x = crate::model::init::normal_vec(&mut rng, n * d, 1.0);
        let g = crate::model::init::normal_vec(&mut rng, n * d, 1.0);
        Network {
            weights,
            outer,
            x,
            g,
        }
    }

    fn probe(net: &Network, act: Activation, betas: &[f64]) -> Vec<Probe> {
        let inputs = [net.x.as_slice(), net.g.as_slice()];
        super::probe::<B>(
            &net.weights,
            &net.outer,
            inputs,
            act,
            betas,
            &Default::default(),
        )
    }

    /// ℓ = ⟨g_L, h_L⟩ for one input row h_0 at δ = L^{−β}, by the forward pass.
    fn loss(net: &Network, act: Activation, beta: f64, h0: &[f64], g: &[f64]) -> f64 {
        let dev = Default::default();
        let d = h0.len();
        let layers = Layers::<B>::new(&net.weights, &net.outer, &dev);
        let x = Tensor::from_data(burn::tensor::TensorData::new(h0.to_vec(), [1, d]), &dev);
        let delta = (net.weights.depth as f64).powf(-beta);
        let delta = Tensor::from_data(burn::tensor::TensorData::new(vec![delta], [1, 1]), &dev);
        let (h_l, _, _) = forward(&layers, act, x, delta);
        let h_l: Vec<f64> = h_l.into_data().to_vec().unwrap();
        h_l.iter().zip(g).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn the_adjoint_is_the_input_gradient_by_central_differences() {
        let (l, d) = (9, 4);
        let net = network(l, d, 1, 0.7);
        let wide = |v: &[f32]| v.iter().map(|&v| v as f64).collect::<Vec<_>>();
        let (x, g) = (wide(&net.x), wide(&net.g));
        for act in [Activation::Relu, Activation::Tanh] {
            let probes = probe(&net, act, &[0.3, 0.8]);
            for (p, beta) in probes.iter().zip([0.3, 0.8]) {
                let g0: Vec<f64> = (0..d)
                    .map(|i| {
                        let (mut up, mut down) = (x.clone(), x.clone());
                        up[i] += 1e-6;
                        down[i] -= 1e-6;
                        (loss(&net, act, beta, &up, &g) - loss(&net, act, beta, &down, &g)) / 2e-6
                    })
                    .collect();
                let norm = |v: &[f64]| v.iter().map(|v| v * v).sum::<f64>().sqrt();
                let change: Vec<f64> = g0.iter().zip(&g).map(|(a, b)| a - b).collect();
                let want = [norm(&g0) / norm(&g), norm(&change) / norm(&g)];
                let got = [p.backward[0], p.gradient_change[0]];
                crate::testing::assert_close(
                    &format!("{act:?} β = {beta}"),
                    &got,
                    &want,
                    1e-6,
                    1e-3,
                );
            }
        }
    }

    #[test]
    fn batches_of_beta_equal_one_beta_at_a_time() {
        let net = network(30, 5, 3, 0.4);
        let betas = [0.0, 0.5, 1.0];
        let act = Activation::Relu;
        let together = probe(&net, act, &betas);
        for (p, beta) in together.iter().zip(betas) {
            let alone = &probe(&net, act, &[beta])[0];
            let close = |a: &[f64], b: &[f64]| {
                a.iter()
                    .zip(b)
                    .all(|(a, b)| (a - b).abs() < 1e-9 * b.abs().max(1.0))
            };
            assert!(
                close(&p.forward, &alone.forward) && close(&p.norms, &alone.norms),
                "β = {beta}"
            );
            assert_eq!(p.norms.len(), 31);
        }
        // β = 0 moves h further than β = 1.
        assert!(together[0].forward[0] > together[2].forward[0]);
    }
}
