//! One network probed at initialisation: the forward and backward ratios of [`crate::phase`]
//! per input row, Eq. (1)'s probe through the [`Scan`] seam, and the draws of its weights and
//! inputs.

use crate::model::activation::Activation;
use crate::model::delta::DeltaMode;
use crate::model::init::Init;
use crate::model::resnet::{host_tensor, ResNet};
use crate::model::scan::Scan;
use crate::model::weights::Weights;
use burn::tensor::{backend::Backend, Tensor};
use rand::Rng;

/// What one network measures, per input row (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// ‖h_L − h_0‖ / ‖h_0‖.
    pub forward: Vec<f64>,
    /// ‖g_0‖ / ‖g_L‖.
    pub backward: Vec<f64>,
    /// ‖g_0 − g_L‖ / ‖g_L‖.
    pub gradient_change: Vec<f64>,
    /// ‖h_k‖, k = 0..L, averaged over the inputs.
    pub norms: Vec<f64>,
}

/// One network of the experiment: A_k with entries of variance 1/d along `init`, b_k = 0.
/// Its δ is set per β by [`probe`].
pub(super) fn draw_weights(init: Init, depth: usize, width: usize, rng: &mut impl Rng) -> Weights {
    // The xavier scale s/d with s = √d gives A's entries the variance 1/d.
    let sd = (width as f64).sqrt();
    let (a, _) = crate::model::init::weight_paths(init, sd, depth, width, rng);
    Weights {
        depth,
        width,
        a,
        b: vec![0.0; depth * width],
        delta: None,
    }
}

/// Inputs h_0 and output gradients g_L, each n rows of i.i.d. N(0, 1) entries, [n·d]
/// row-major. The ratios do not depend on the scale of g_L (the backward pass is linear in it).
pub(super) fn draw_inputs(n: usize, width: usize, rng: &mut impl Rng) -> (Vec<f32>, Vec<f32>) {
    let x = crate::model::init::normal_vec(rng, n * width, 1.0);
    let g = crate::model::init::normal_vec(rng, n * width, 1.0);
    (x, g)
}

/// The probe of Eq. (1) with `weights` and δ_k = L^{−β} on the inputs x and output gradients g
/// (each [n·d] row-major), through the backend's [`Scan`]: its forward pass, then its adjoint
/// pass from g_L = g, whose recursion g_k = g_{k+1} + (δ_k σ'(z_k) ⊙ g_{k+1}) A_k telescopes to
/// g_0 = g_L + Σ_k gz_k A_k.
pub(super) fn eq1<B: Scan>(
    weights: &Weights,
    activation: Activation,
    beta: f64,
    x: &[f32],
    g: &[f32],
    device: &B::Device,
) -> Probe {
    let (l, d) = (weights.depth, weights.width);
    let n = x.len() / d;
    let net = ResNet::<B>::from_weights(weights, activation, DeltaMode::Fixed { beta }, device);
    let h0 = host_tensor::<B, 2>(x.to_vec(), [n, d], device);
    let g_l = host_tensor::<B, 2>(g.to_vec(), [n, d], device);
    let (h_l, states) = B::scan_forward(&net, h0.clone(), true);
    let states = states.expect("the forward pass keeps the states when asked");
    let adjoint = B::scan_backward(&net, g_l.clone(), states.z);
    let g0 = g_l.clone() + adjoint.p.matmul(net.a.val()).sum_dim(0).reshape([n, d]);
    let h = Tensor::cat(vec![states.h, h_l.clone().reshape([1, n, d])], 0);
    let norms = h.powi_scalar(2).sum_dim(2).sqrt().reshape([l + 1, n]);
    let mut probes = Probe::of_rows([h0, h_l, g_l, g0], norms.transpose(), n);
    probes.pop().expect("one group of n rows")
}

/// ‖row‖ of each row of t: [rows, d] → [rows, 1].
pub(super) fn row_norms<B: Backend>(t: Tensor<B, 2>) -> Tensor<B, 2> {
    t.powi_scalar(2).sum_dim(1).sqrt()
}

impl Probe {
    /// The probes of a pass whose rows are groups of n inputs (one group per β), from its ends
    /// h_0, h_L, g_L, g_0 ([rows, d] each) and ‖h_k‖ ([rows, L+1]).
    pub(super) fn of_rows<B: Backend>(
        ends: [Tensor<B, 2>; 4],
        norms: Tensor<B, 2>,
        n: usize,
    ) -> Vec<Probe> {
        let [h0, h_l, g_l, g0] = ends;
        let host = |t: Tensor<B, 2>| -> Vec<f64> {
            let data = t.into_data().convert::<f64>();
            data.to_vec().expect("float values")
        };
        let ratio = |num: Tensor<B, 2>, den: Tensor<B, 2>| host(row_norms(num) / row_norms(den));
        let forward = ratio(h_l - h0.clone(), h0);
        let backward = ratio(g0.clone(), g_l.clone());
        let gradient_change = ratio(g0 - g_l.clone(), g_l);
        let layers = norms.dims()[1];
        let norms = host(norms);
        let groups = forward.len() / n;
        (0..groups)
            .map(|q| {
                let rows = q * n..(q + 1) * n;
                let mean =
                    |k: usize| rows.clone().map(|r| norms[r * layers + k]).sum::<f64>() / n as f64;
                Probe {
                    forward: forward[rows.clone()].to_vec(),
                    backward: backward[rows.clone()].to_vec(),
                    gradient_change: gradient_change[rows.clone()].to_vec(),
                    norms: (0..layers).map(mean).collect(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestBackend as B;

    /// ∂/∂h_0 of ℓ = ⟨g, h_L⟩ by central differences, for one input row.
    fn numerical_g0(w: &Weights, act: Activation, beta: f64, x: &[f64], g: &[f64]) -> Vec<f64> {
        let dev = Default::default();
        let net = ResNet::<B>::from_weights(w, act, DeltaMode::Fixed { beta }, &dev);
        let d = x.len();
        let loss = |x: &[f64]| -> f64 {
            let t = burn::tensor::Tensor::<B, 2>::from_data(
                burn::tensor::TensorData::new(x.to_vec(), [1, d]),
                &dev,
            );
            let out: Vec<f64> = net.forward(t).into_data().to_vec().unwrap();
            out.iter().zip(g).map(|(a, b)| a * b).sum()
        };
        (0..d)
            .map(|i| {
                let (mut up, mut down) = (x.to_vec(), x.to_vec());
                up[i] += 1e-6;
                down[i] -= 1e-6;
                (loss(&up) - loss(&down)) / 2e-6
            })
            .collect()
    }

    #[test]
    fn the_telescoped_adjoint_is_the_input_gradient() {
        let (l, d) = (12, 5);
        let mut rng = crate::model::init::rng(3, 0);
        let w = draw_weights(Init::Fgn { hurst: 0.7 }, l, d, &mut rng);
        let (x, g) = draw_inputs(1, d, &mut rng);
        for act in [Activation::Tanh, Activation::Relu] {
            let p = eq1::<B>(&w, act, 0.3, &x, &g, &Default::default());
            let wide = |v: &[f32]| v.iter().map(|&v| v as f64).collect::<Vec<_>>();
            let g0 = numerical_g0(&w, act, 0.3, &wide(&x), &wide(&g));
            let norm = |v: &[f64]| v.iter().map(|v| v * v).sum::<f64>().sqrt();
            let want = norm(&g0) / norm(&wide(&g));
            assert!(
                (p.backward[0] / want - 1.0).abs() < 1e-6,
                "{act:?}: {p:?} vs {want}"
            );
            assert_eq!(p.norms.len(), l + 1);
            assert!((p.norms[0] - norm(&wide(&x))).abs() < 1e-9);
        }
    }
}
