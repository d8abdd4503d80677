//! The gradient of the loss by the explicit adjoint recursion over the stacked weights, with
//! no autodiff graph. With g_k = ∂ℓ/∂h_k and z_k = A_k h_k + b_k:
//!
//!   g_L = 2 (h_L − y) / (B d)
//!   p_k = δ_k g_{k+1} ⊙ σ'(z_k),   q_k = g_{k+1} ⊙ σ(z_k),   g_k = g_{k+1} + p_k A_k
//!   ∂ℓ/∂A_k = p_kᵀ h_k,   ∂ℓ/∂b_k = Σ_n p_k,   ∂ℓ/∂δ_k = Σ q_k
//!
//! and for a shared δ used as |δ|, ∂ℓ/∂δ = sign(δ) Σ_k ∂ℓ/∂δ_k. This is the one statement of
//! the adjoint; [`Adjoint`](crate::model::scan::Adjoint) holds p and q, the CubeCL kernels
//! ([`crate::model::cube`]) and the fused CPU step ([`crate::train::fused`]) compute the same
//! p_k and q_k.

use crate::model::delta::DeltaMode;
use crate::model::resnet::{mse, ResNet};
use crate::model::scan::Scan;
use burn::module::Param;
use burn::tensor::{
    backend::{AutodiffBackend, Backend},
    Tensor,
};

/// ∂ℓ/∂(A, b, δ), with the shapes of the parameters.
#[derive(Clone, Debug)]
pub struct Gradients<B: Backend> {
    /// [L, d, d]
    pub a: Tensor<B, 3>,
    /// [L, d]
    pub b: Tensor<B, 2>,
    /// [1] or [L]; `None` when δ is not trained.
    pub delta: Option<Tensor<B, 1>>,
}

impl<B: Scan> ResNet<B> {
    /// The loss ℓ = mse(h_L, y) as a [1] tensor and its gradient, by the adjoint recursion
    /// (the backend's [`Scan`]); the sums over samples and layers are whole-tensor operations.
    pub fn loss_and_gradients(
        &self,
        x: Tensor<B, 2>,
        y: Tensor<B, 2>,
    ) -> (Tensor<B, 1>, Gradients<B>) {
        let (l, d) = (self.depth(), self.width());
        let (out, states) = B::scan_forward(self, x, true);
        let states = states.expect("the forward pass keeps the states when asked");
        let [batch, _] = out.dims();
        let residual = out - y;
        let loss = residual.clone().powi_scalar(2).mean();
        let g = residual.mul_scalar(2.0 / (batch * d) as f64);
        let adjoint = B::scan_backward(self, g, states.z);

        let grad_a = adjoint.p.clone().swap_dims(1, 2).matmul(states.h);
        let grad_b = adjoint.p.sum_dim(1).reshape([l, d]);
        // ∂ℓ/∂δ_k = Σ g_{k+1} ⊙ σ(z_k), for all k at once.
        let grad_delta_k = || {
            adjoint
                .q
                .clone()
                .expect("the adjoint pass gives g ⊙ σ(z) when δ is trained")
                .sum_dim(2)
                .sum_dim(1)
                .reshape([l])
        };
        let grad_delta = match self.delta_mode {
            DeltaMode::PerLayer => Some(grad_delta_k()),
            DeltaMode::Shared => {
                let sign = self.delta.as_ref().expect("shared δ").val().sign();
                Some(grad_delta_k().sum() * sign)
            }
            DeltaMode::None | DeltaMode::Fixed { .. } => None,
        };
        (
            loss,
            Gradients {
                a: grad_a,
                b: grad_b,
                delta: grad_delta,
            },
        )
    }
}

/// The same loss and gradient by burn's reverse-mode autodiff through [`ResNet::forward`]:
/// the reference the adjoint pass is tested and benchmarked against.
pub fn autodiff_loss_and_gradients<B: AutodiffBackend>(
    model: &ResNet<B::InnerBackend>,
    x: Tensor<B::InnerBackend, 2>,
    y: Tensor<B::InnerBackend, 2>,
) -> (Tensor<B::InnerBackend, 1>, Gradients<B::InnerBackend>) {
    let model = ResNet::<B> {
        a: tracked(&model.a),
        b: tracked(&model.b),
        delta: model.delta.as_ref().map(tracked),
        activation: model.activation,
        delta_mode: model.delta_mode,
    };
    let loss = mse(model.forward(Tensor::from_inner(x)), Tensor::from_inner(y));
    let grads = loss.backward();
    let grad = |t: Tensor<B, 3>| t.grad(&grads).expect("A is a parameter");
    (
        loss.inner(),
        Gradients {
            a: grad(model.a.val()),
            b: model.b.val().grad(&grads).expect("b is a parameter"),
            delta: model
                .delta
                .as_ref()
                .map(|delta| delta.val().grad(&grads).expect("δ is a parameter")),
        },
    )
}

/// The parameter on the autodiff backend, with its gradient tracked.
fn tracked<B: AutodiffBackend, const D: usize>(
    param: &Param<Tensor<B::InnerBackend, D>>,
) -> Param<Tensor<B, D>> {
    Param::from_tensor(Tensor::from_inner(param.val()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::activation::Activation;
    use crate::model::init::{normal_vec, rng};
    use crate::model::resnet::{host_tensor, ResNetConfig};
    use crate::model::weights::Weights;
    use crate::testing::TestBackend as B;
    use burn::backend::Autodiff;
    use burn::tensor::TensorData;

    use crate::testing::TEST_MODES as MODES;

    fn host<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
        t.into_data().convert::<f64>().to_vec().unwrap()
    }

    /// A small net with weights large enough that every layer matters, and a batch.
    fn problem(
        act: Activation,
        mode: DeltaMode,
        seed: u64,
    ) -> (ResNetConfig, Weights, Vec<f32>, Vec<f32>) {
        let (l, d, n) = (5, 3, 4);
        let config = ResNetConfig::new(d, l, act, mode)
            .with_initial_sd(2.0)
            .with_seed(seed);
        let mut weights = config.init_weights();
        if mode == DeltaMode::PerLayer || mode == DeltaMode::Shared {
            // Larger δ than the 1/L init so that the test exercises the layers' coupling.
            weights
                .delta
                .as_mut()
                .unwrap()
                .iter_mut()
                .for_each(|v| *v *= 3.0);
        }
        let mut r = rng(seed, 99);
        (
            config,
            weights,
            normal_vec(&mut r, n * d, 1.0),
            normal_vec(&mut r, n * d, 1.0),
        )
    }

    fn batch<B: Backend>(values: &[f32], d: usize) -> Tensor<B, 2> {
        host_tensor(values.to_vec(), [values.len() / d, d], &Default::default())
    }

    /// Every entry within tol × max(max|want|, 1e-3) of the wanted one.
    fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
        crate::testing::assert_close(what, got, want, tol, 1e-3)
    }

    #[test]
    fn adjoint_equals_autodiff() {
        for act in Activation::ALL {
            for mode in MODES {
                let (config, weights, x, y) = problem(act, mode, 1);
                let model = ResNet::<B>::from_weights(&weights, act, mode, &Default::default());
                let d = config.width;
                let (loss, g) = model.loss_and_gradients(batch(&x, d), batch(&y, d));
                let (loss_ad, g_ad) =
                    autodiff_loss_and_gradients::<Autodiff<B>>(&model, batch(&x, d), batch(&y, d));
                let what = format!("{} {mode:?}", act.name());
                assert_close(&format!("{what} loss"), &host(loss), &host(loss_ad), 1e-12);
                assert_close(&format!("{what} dA"), &host(g.a), &host(g_ad.a), 1e-8);
                assert_close(&format!("{what} db"), &host(g.b), &host(g_ad.b), 1e-8);
                assert_eq!(
                    g.delta.is_some(),
                    mode.trainable(),
                    "{what}: δ gradient presence"
                );
                if let (Some(gd), Some(gd_ad)) = (g.delta, g_ad.delta) {
                    assert_close(&format!("{what} dδ"), &host(gd), &host(gd_ad), 1e-8);
                }
            }
        }
    }

    /// The model with `h` added to entry i of the parameter `which` (0: A, 1: b, 2: δ).
    fn perturbed<B: Backend>(model: &ResNet<B>, which: usize, i: usize, h: f64) -> ResNet<B> {
        fn bump<B: Backend, const D: usize>(
            p: &Param<Tensor<B, D>>,
            i: usize,
            h: f64,
        ) -> Param<Tensor<B, D>> {
            let t = p.val();
            let mut e = vec![0f64; t.shape().num_elements()];
            e[i] = h;
            let e = Tensor::from_data(TensorData::new(e, t.shape()), &t.device());
            Param::from_tensor(t + e)
        }
        let mut m = model.clone();
        match which {
            0 => m.a = bump(&model.a, i, h),
            1 => m.b = bump(&model.b, i, h),
            _ => m.delta = model.delta.as_ref().map(|d| bump(d, i, h)),
        }
        m
    }

    #[test]
    fn adjoint_equals_finite_differences() {
        let device = Default::default();
        for act in Activation::ALL {
            for mode in MODES {
                let (config, weights, x, y) = problem(act, mode, 2);
                let d = config.width;
                let model = ResNet::<B>::from_weights(&weights, act, mode, &device);
                let loss_at = |m: &ResNet<B>| host(mse(m.forward(batch(&x, d)), batch(&y, d)))[0];
                let (_, g) = model.loss_and_gradients(batch(&x, d), batch(&y, d));
                let what = format!("{} {mode:?}", act.name());
                // Central differences in f64 with a step small enough to stay off relu's kinks.
                let h = 1e-6;
                let fd = |which, i| {
                    (loss_at(&perturbed(&model, which, i, h))
                        - loss_at(&perturbed(&model, which, i, -h)))
                        / (2.0 * h)
                };
                let mut grads = vec![(0, host(g.a)), (1, host(g.b))];
                if let Some(gd) = g.delta {
                    grads.push((2, host(gd)));
                }
                for (which, grad) in grads {
                    let want: Vec<f64> = (0..grad.len()).map(|i| fd(which, i)).collect();
                    assert_close(&format!("{what} gradient {which}"), &grad, &want, 1e-6);
                }
            }
        }
    }
}
