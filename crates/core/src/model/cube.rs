//! The GPU step: the forward recursion of Eq. (1) and its adjoint each run all L layers in
//! one CubeCL kernel launch, on any CubeCL backend (burn-cuda, burn-wgpu natively and in the
//! browser). With everything else a whole-tensor operation, a training step is a constant
//! number of launches whatever L.
//!
//! A cube holds R samples; unit (j, r) owns coordinate j of sample r. Layer k reads the
//! samples' states from shared memory, computes its own coordinate and writes it to the
//! other half of a double buffer, so that each layer costs one barrier:
//!
//!   forward:  z_kj = b_kj + Σ_i A_k,ji h_ki,          h_{k+1,j} = h_kj + δ_k σ(z_kj)
//!   backward: p_kj = δ_k σ'(z_kj) g_{k+1,j},          g_kj = g_{k+1,j} + Σ_i p_ki A_k,ij

use crate::model::activation::Activation;
use crate::model::resnet::ResNet;
use crate::model::scan::{per_layer, Adjoint, Scan, States};
use burn::tensor::{Tensor, TensorPrimitive};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime, FloatElement, IntElement};
use cubecl::prelude::{CubeCount, CubeDim};
use kernel::{backward_kernel, code, forward_kernel};

/// Units per cube the kernels aim at (width × samples); every WebGPU device allows 256.
const UNITS: usize = 128;

impl<R: CubeRuntime, F: FloatElement, I: IntElement, BT: BoolElement> Scan
    for CubeBackend<R, F, I, BT>
{
    /// Eq. (1) over all layers in one launch.
    fn scan_forward(
        net: &ResNet<Self>,
        x: Tensor<Self, 2>,
        trace: bool,
    ) -> (Tensor<Self, 2>, Option<States<Self>>) {
        if net.width() > UNITS {
            return per_layer::forward(net, x, trace);
        }
        let (l, d) = (net.depth(), net.width());
        let [n, _] = x.dims();
        let device = x.device();
        let kept = if trace { [l, n, d] } else { [1, 1, 1] };
        let out = Tensor::<Self, 2>::empty([n, d], &device);
        let h = Tensor::<Self, 3>::empty(kept, &device);
        let z = Tensor::<Self, 3>::empty(kept, &device);
        let (out, h, z) = (cube(out), cube(h), cube(z));
        let x = cube(x);
        let (count, dim, rows) = launch(n, d);
        let client = x.client.clone();
        let dtype = x.dtype;
        forward_kernel::launch::<R>(
            &client,
            count,
            dim,
            x.into_tensor_arg(),
            cube(net.a.val()).into_tensor_arg(),
            cube(net.b.val()).into_tensor_arg(),
            cube(net.delta_per_layer()).into_tensor_arg(),
            out.clone().into_tensor_arg(),
            h.clone().into_tensor_arg(),
            z.clone().into_tensor_arg(),
            n as u32,
            l as u32,
            d as u32,
            rows,
            code(net.activation),
            trace,
            dtype.into(),
        );
        let states = trace.then(|| States {
            h: tensor(h),
            z: tensor(z),
        });
        (tensor(out), states)
    }

    /// The adjoint recursion over all layers in one launch.
    fn scan_backward(net: &ResNet<Self>, g: Tensor<Self, 2>, z: Tensor<Self, 3>) -> Adjoint<Self> {
        if net.width() > UNITS {
            return per_layer::backward(net, g, z);
        }
        let [l, n, d] = z.dims();
        let device = z.device();
        let trains_delta = net.delta.is_some();
        let p = cube(Tensor::<Self, 3>::empty([l, n, d], &device));
        let q_shape = if trains_delta { [l, n, d] } else { [1, 1, 1] };
        let q = cube(Tensor::<Self, 3>::empty(q_shape, &device));
        let g = cube(g);
        let (count, dim, rows) = launch(n, d);
        let client = g.client.clone();
        let dtype = g.dtype;
        backward_kernel::launch::<R>(
            &client,
            count,
            dim,
            g.into_tensor_arg(),
            cube(net.a.val()).into_tensor_arg(),
            cube(net.delta_per_layer()).into_tensor_arg(),
            cube(z).into_tensor_arg(),
            p.clone().into_tensor_arg(),
            q.clone().into_tensor_arg(),
            n as u32,
            l as u32,
            d as u32,
            rows,
            code(net.activation),
            trains_delta,
            dtype.into(),
        );
        Adjoint {
            p: tensor(p),
            q: trains_delta.then(|| tensor(q)),
        }
    }
}

/// The kernels, in CubeCL.
mod kernel {
    use super::Activation;
    use cubecl::prelude::*;

    /// The activations' codes in the kernels.
    const LINEAR: u32 = 0;
    const TANH: u32 = 1;
    const RELU: u32 = 2;
    const SIGMOID: u32 = 3;
    const GELU: u32 = 4;
    const ABS: u32 = 5;

    pub(super) fn code(activation: Activation) -> u32 {
        match activation {
            Activation::Linear => LINEAR,
            Activation::Tanh => TANH,
            Activation::Relu => RELU,
            Activation::Sigmoid => SIGMOID,
            Activation::Gelu => GELU,
            Activation::Abs => ABS,
        }
    }

    /// σ(z).
    #[cube]
    fn sigma<E: Float>(z: E, #[comptime] act: u32) -> E {
        if comptime![act == TANH] {
            z.tanh()
        } else if comptime![act == RELU] {
            E::max(z, E::new(0.0))
        } else if comptime![act == SIGMOID] {
            E::new(0.5) * (E::new(1.0) + (E::new(0.5) * z).tanh())
        } else if comptime![act == GELU] {
            z * normal_cdf::<E>(z)
        } else if comptime![act == ABS] {
            select(z < E::new(0.0), -z, z)
        } else {
            z
        }
    }

    /// σ'(z): tanh' = 1 − tanh², sigmoid' = s(1 − s), relu' = 1{z > 0}, gelu' = Φ(z) + z φ(z),
    /// abs' = sign(z) (0 at 0).
    #[cube]
    fn slope<E: Float>(z: E, #[comptime] act: u32) -> E {
        if comptime![act == TANH] {
            let t = z.tanh();
            E::new(1.0) - t * t
        } else if comptime![act == RELU] {
            select(z > E::new(0.0), E::new(1.0), E::new(0.0))
        } else if comptime![act == SIGMOID] {
            let s = E::new(0.5) * (E::new(1.0) + (E::new(0.5) * z).tanh());
            s * (E::new(1.0) - s)
        } else if comptime![act == GELU] {
            let pdf = (E::new(-0.5) * z * z).exp() * E::new(0.398_942_3);
            normal_cdf::<E>(z) + z * pdf
        } else if comptime![act == ABS] {
            let sign = select(z < E::new(0.0), E::new(-1.0), E::new(0.0));
            select(z > E::new(0.0), E::new(1.0), sign)
        } else {
            E::new(1.0)
        }
    }

    /// The sample this unit works on: row y of cube y·(cubes along x) + x (see `launch`).
    #[cube]
    fn sample(#[comptime] rows: u32) -> usize {
        let cube = CUBE_POS_Y as usize * CUBE_COUNT_X as usize + CUBE_POS_X as usize;
        cube * rows as usize + UNIT_POS_Y as usize
    }

    /// Φ(z) = ½(1 + erf(z/√2)).
    #[cube]
    fn normal_cdf<E: Float>(z: E) -> E {
        E::new(0.5) * (E::new(1.0) + (z * E::new(std::f32::consts::FRAC_1_SQRT_2)).erf())
    }

    /// h_L of the samples of this cube, and (h_k, z_k) of every layer when `keep`.
    // `keep` is known when the kernel is compiled, `valid` when it runs: two `if`s.
    #[allow(clippy::too_many_arguments, clippy::collapsible_if)]
    #[cube(launch)]
    pub(super) fn forward_kernel<E: Float>(
        x: &Tensor<E>,          // [N, d]
        a: &Tensor<E>,          // [L, d, d]
        b: &Tensor<E>,          // [L, d]
        delta: &Tensor<E>,      // [L]
        out: &mut Tensor<E>,    // [N, d]
        h_keep: &mut Tensor<E>, // [L, N, d] when `keep`
        z_keep: &mut Tensor<E>, // [L, N, d] when `keep`
        samples: u32,
        depth: u32,
        #[comptime] width: u32,
        #[comptime] rows: u32,
        #[comptime] act: u32,
        #[comptime] keep: bool,
        #[define(E)] _dtype: StorageType,
    ) {
        let d = width as usize;
        let plane = (rows * width) as usize;
        let j = UNIT_POS_X as usize;
        let row = UNIT_POS_Y as usize * d;
        let n = sample(rows);
        let n_total = samples as usize;
        let valid = n < n_total;
        let mut states = SharedMemory::<E>::new(2 * plane);

        let mut h = E::new(0.0);
        if valid {
            h = x[n * d + j];
        }
        states[row + j] = h;
        // Row j of A_k, b_kj and δ_k wait in registers, loaded a layer ahead so that the
        // loads overlap the barrier.
        let l = depth as usize;
        let mut w = Array::<E>::new(d);
        #[unroll]
        for i in 0..d {
            w[i] = a[j * d + i];
        }
        let mut bias = b[j];
        let mut step = delta[0];
        sync_cube();
        for k in 0..l {
            let read = (k % 2) * plane;
            let mut z = bias;
            #[unroll]
            for i in 0..d {
                z += w[i] * states[read + row + i];
            }
            if keep {
                if valid {
                    let at = (k * n_total + n) * d + j;
                    h_keep[at] = h;
                    z_keep[at] = z;
                }
            }
            h += step * sigma::<E>(z, act);
            states[plane - read + row + j] = h;
            let mut next = k;
            if k + 1 < l {
                next = k + 1;
            }
            #[unroll]
            for i in 0..d {
                w[i] = a[(next * d + j) * d + i];
            }
            bias = b[next * d + j];
            step = delta[next];
            sync_cube();
        }
        if valid {
            out[n * d + j] = h;
        }
    }

    /// p_k = δ_k σ'(z_k) ⊙ g_{k+1} of every layer from g_L, and q_k = g_{k+1} ⊙ σ(z_k) when `q`.
    #[allow(clippy::too_many_arguments)]
    #[cube(launch)]
    pub(super) fn backward_kernel<E: Float>(
        g_out: &Tensor<E>,     // [N, d]: g_L
        a: &Tensor<E>,         // [L, d, d]
        delta: &Tensor<E>,     // [L]
        z_keep: &Tensor<E>,    // [L, N, d]
        p: &mut Tensor<E>,     // [L, N, d]
        q_out: &mut Tensor<E>, // [L, N, d] when `q`
        samples: u32,
        depth: u32,
        #[comptime] width: u32,
        #[comptime] rows: u32,
        #[comptime] act: u32,
        #[comptime] q: bool,
        #[define(E)] _dtype: StorageType,
    ) {
        let d = width as usize;
        let plane = (rows * width) as usize;
        let j = UNIT_POS_X as usize;
        let row = UNIT_POS_Y as usize * d;
        let n = sample(rows);
        let n_total = samples as usize;
        let valid = n < n_total;
        let mut shared = SharedMemory::<E>::new(2 * plane);

        let mut g = E::new(0.0);
        if valid {
            g = g_out[n * d + j];
        }
        // Column j of A_k, z_kj and δ_k wait in registers, loaded a layer ahead so that the
        // loads overlap the barrier.
        let l = depth as usize;
        let mut w = Array::<E>::new(d);
        #[unroll]
        for i in 0..d {
            w[i] = a[((l - 1) * d + i) * d + j];
        }
        let mut z = E::new(0.0);
        if valid {
            z = z_keep[((l - 1) * n_total + n) * d + j];
        }
        let mut step = delta[l - 1];
        for t in 0..l {
            let k = l - 1 - t;
            let at = (k * n_total + n) * d + j;
            let p_j = step * slope::<E>(z, act) * g;
            if valid {
                p[at] = p_j;
                if q {
                    q_out[at] = g * sigma::<E>(z, act);
                }
            }
            let buffer = (t % 2) * plane;
            shared[buffer + row + j] = p_j;
            let mut prev = k;
            if k > 0 {
                prev = k - 1;
            }
            if valid {
                z = z_keep[(prev * n_total + n) * d + j];
            }
            step = delta[prev];
            sync_cube();
            #[unroll]
            for i in 0..d {
                g += shared[buffer + row + i] * w[i];
            }
            #[unroll]
            for i in 0..d {
                w[i] = a[(prev * d + i) * d + j];
            }
        }
    }
}

/// Samples per cube for width d.
fn rows(width: usize) -> usize {
    (UNITS / width).clamp(1, 32)
}

/// The most cubes along one dimension of a launch that every WebGPU device allows.
const MAX_CUBES_X: usize = 65_535;

/// The launch grid over N samples of width d: (cubes, cube dimension, samples per cube). The
/// cubes, numbered y·(cubes along x) + x, spill into y beyond [`MAX_CUBES_X`].
fn launch(samples: usize, width: usize) -> (CubeCount, CubeDim, u32) {
    let rows = rows(width);
    let cubes = samples.div_ceil(rows);
    let along_x = cubes.min(MAX_CUBES_X);
    (
        CubeCount::new_2d(along_x as u32, cubes.div_ceil(along_x) as u32),
        CubeDim::new_2d(width as u32, rows as u32),
        rows as u32,
    )
}

/// The tensor as a contiguous CubeCL tensor, as the kernels index it.
fn cube<R: CubeRuntime, F: FloatElement, I: IntElement, BT: BoolElement, const D: usize>(
    t: Tensor<CubeBackend<R, F, I, BT>, D>,
) -> CubeTensor<R> {
    into_contiguous(t.into_primitive().tensor())
}

/// The burn tensor of a CubeCL tensor.
fn tensor<R: CubeRuntime, F: FloatElement, I: IntElement, BT: BoolElement, const D: usize>(
    t: CubeTensor<R>,
) -> Tensor<CubeBackend<R, F, I, BT>, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod cuda;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::delta::DeltaMode;
    use crate::model::init::{normal_vec, rng};
    use crate::model::resnet::{host_tensor, ResNetConfig};
    use crate::model::weights::Weights;
    use crate::testing::TestBackend;
    use crate::testing::{assert_close, TEST_MODES};
    use crate::train::optim::OptimConfig;
    use crate::train::session::{BurnStepper, Stepper, TrainConfig};
    use burn::backend::Wgpu;
    use burn::tensor::backend::Backend;

    /// The device of the kernels' tests, or `None`, with one line saying what they need,
    /// where no WebGPU adapter answers (a machine without a Vulkan driver): plain `cargo
    /// test` runs anywhere; scripts/test.sh installs Mesa's lavapipe and runs them.
    fn gpu() -> Option<burn::backend::wgpu::WgpuDevice> {
        static FOUND: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let found = *FOUND.get_or_init(|| {
            std::panic::catch_unwind(|| {
                Tensor::<Wgpu, 1>::zeros([1], &Default::default()).into_data()
            })
            .is_ok()
        });
        if !found {
            eprintln!("skipped: needs a WebGPU adapter (here Vulkan; Mesa's lavapipe: apt install mesa-vulkan-drivers)");
        }
        found.then(Default::default)
    }

    fn host<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
        t.into_data().convert::<f64>().to_vec().unwrap()
    }

    fn batch<B: Backend>(values: &[f32], d: usize) -> Tensor<B, 2> {
        host_tensor(values.to_vec(), [values.len() / d, d], &Default::default())
    }

    /// Weights of depth L and width d large enough that every layer matters, and a batch of n.
    fn problem(
        act: Activation,
        mode: DeltaMode,
        (l, d, n): (usize, usize, usize),
    ) -> (Weights, Vec<f32>, Vec<f32>) {
        let config = ResNetConfig::new(d, l, act, mode)
            .with_initial_sd(2.0)
            .with_seed(3);
        let mut weights = config.init_weights();
        if let Some(delta) = weights.delta.as_mut().filter(|_| mode.trainable()) {
            delta.iter_mut().for_each(|v| *v *= 3.0);
        }
        let mut r = rng(3, 7);
        let x = normal_vec(&mut r, n * d, 1.0);
        let y = normal_vec(&mut r, n * d, 1.0);
        (weights, x, y)
    }

    /// The kernels' loss and gradients equal the per-layer adjoint's in f64, for every
    /// activation and δ mode, with partial cubes (n not a multiple of the samples per cube),
    /// odd and even depths and a width of several samples per cube or one.
    #[test]
    fn kernels_equal_the_per_layer_adjoint() {
        let Some(device) = gpu() else { return };
        for shape in [(7, 5, 13), (6, 40, 9)] {
            for act in Activation::ALL {
                for mode in TEST_MODES {
                    let (weights, x, y) = problem(act, mode, shape);
                    let d = shape.1;
                    let gpu = ResNet::<Wgpu>::from_weights(&weights, act, mode, &device);
                    let cpu = ResNet::<TestBackend>::from_weights(
                        &weights,
                        act,
                        mode,
                        &Default::default(),
                    );
                    let (loss, g) = gpu.loss_and_gradients(batch(&x, d), batch(&y, d));
                    let (loss_ref, g_ref) = cpu.loss_and_gradients(batch(&x, d), batch(&y, d));
                    let what = format!("{shape:?} {} {mode:?}", act.name());
                    let close = |part: &str, got: Vec<f64>, want: Vec<f64>| {
                        assert_close(&format!("{what} {part}"), &got, &want, 2e-5, 1e-3)
                    };
                    close("loss", host(loss), host(loss_ref));
                    close("dA", host(g.a), host(g_ref.a));
                    close("db", host(g.b), host(g_ref.b));
                    assert_eq!(g.delta.is_some(), mode.trainable(), "{what}: dδ");
                    if let (Some(gd), Some(gd_ref)) = (g.delta, g_ref.delta) {
                        close("dδ", host(gd), host(gd_ref));
                    }
                }
            }
        }
    }

    /// Without the trace, over many cubes: h_L as the per-layer forward gives it.
    #[test]
    fn forward_without_trace_equals_the_per_layer_forward() {
        let Some(device) = gpu() else { return };
        let (weights, x, _) = problem(Activation::Tanh, DeltaMode::Shared, (30, 10, 1001));
        let net =
            ResNet::<Wgpu>::from_weights(&weights, Activation::Tanh, DeltaMode::Shared, &device);
        let (out, states) = Wgpu::scan_forward(&net, batch(&x, 10), false);
        assert!(states.is_none());
        let (want, _) = per_layer::forward(&net, batch(&x, 10), false);
        assert_close("h_L", &host(out), &host(want), 1e-5, 1.0);
    }

    /// More samples than one dimension of a launch holds (width 128: one sample per cube).
    #[test]
    fn a_grid_beyond_one_dimension_covers_every_sample() {
        let Some(device) = gpu() else { return };
        let (l, d, n) = (2, 128, 66_000);
        let (weights, x, _) = problem(Activation::Relu, DeltaMode::None, (l, d, n));
        let net =
            ResNet::<Wgpu>::from_weights(&weights, Activation::Relu, DeltaMode::None, &device);
        let (out, _) = Wgpu::scan_forward(&net, batch(&x, d), false);
        let (want, _) = per_layer::forward(&net, batch(&x, d), false);
        assert_close("h_L", &host(out), &host(want), 1e-5, 1.0);
    }

    /// A training run on the kernels, by SGD with momentum and by Adam, with weight decay,
    /// follows the per-layer one in f64.
    #[test]
    fn training_on_the_kernels_follows_the_reference() {
        let sgd = TrainConfig::new(16, OptimConfig::new(0.05), 0.0, 30)
            .with_momentum(0.9)
            .with_weight_decay(1e-3);
        let adam = TrainConfig::new(16, OptimConfig::new(0.01), 0.0, 30)
            .with_optimizer(crate::train::optim::Optimizer::ADAM)
            .with_weight_decay(1e-3);
        for train in [sgd, adam] {
            train_on_the_kernels(&train);
        }
    }

    fn train_on_the_kernels(train: &TrainConfig) {
        let Some(device) = gpu() else { return };
        let (act, mode) = (Activation::Gelu, DeltaMode::PerLayer);
        let config = ResNetConfig::new(4, 20, act, mode).with_seed(5);
        let data = crate::data::synthetic::SyntheticConfig {
            width: 4,
            n_train: 64,
            n_test: 16,
            noise: 0.0,
            seed: 5,
        }
        .generate();
        let weights = config.init_weights();
        let mut gpu = BurnStepper::new(
            ResNet::<Wgpu>::from_weights(&weights, act, mode, &device),
            &data,
            train,
        );
        let mut cpu = BurnStepper::new(
            ResNet::<TestBackend>::from_weights(&weights, act, mode, &Default::default()),
            &data,
            train,
        );
        let mut batches = crate::data::synthetic::Batches::new(data.n_train(), 16, 5);
        let start = cpu.train_loss();
        for _ in 0..30 {
            let (x, y) = batches.next_batch(&data.x_train, &data.y_train, 4);
            gpu.update(&x, &y);
            cpu.update(&x, &y);
        }
        let (got, want) = (gpu.train_loss(), cpu.train_loss());
        let what = train.optim.optimizer.name();
        assert!(
            want < 0.9 * start,
            "{what}: the reference trains: {start} → {want}"
        );
        assert!((got - want).abs() <= 1e-4 * want, "{what}: {got} vs {want}");
        assert_close(
            "A after training",
            &host(gpu.model.a.val()),
            &host(cpu.model.a.val()),
            1e-4,
            1e-3,
        );
    }
}
