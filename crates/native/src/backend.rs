//! Choosing the backend at run time: CUDA when a GPU is there, else the CPU: the fused CPU
//! step for fully connected training, burn's ndarray backend for everything else.

use anyhow::{bail, Result};
use burn::backend::NdArray;
use clap::ValueEnum;
use scaling_core::Scan;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// CUDA if this build has it and a GPU answers, else the CPU (as `cpu`).
    Auto,
    Cuda,
    Wgpu,
    /// The CPU: the fused step (scaling_core::train::fused) for fully connected training, ndarray
    /// for the rest (convolutional training, analysis).
    Cpu,
    /// burn's ndarray backend for everything.
    Ndarray,
}

/// Whether fully connected training runs the fused CPU step rather than a burn backend.
pub fn fused(choice: BackendChoice) -> bool {
    match choice {
        BackendChoice::Cpu => true,
        BackendChoice::Auto => !cuda_available(),
        BackendChoice::Cuda | BackendChoice::Wgpu | BackendChoice::Ndarray => false,
    }
}

/// Work to run on whichever backend is chosen.
pub trait Job {
    type Output;
    fn run<B: Scan>(self, device: B::Device, backend: &'static str) -> Self::Output;
}

/// Says why the chosen backend cannot be used here, if it cannot.
pub fn check(choice: BackendChoice) -> Result<()> {
    match choice {
        BackendChoice::Cuda if !cfg!(feature = "cuda") => {
            bail!("--backend cuda: this build has no CUDA support; build with `--features cuda`")
        }
        BackendChoice::Cuda if !cuda_available() => {
            bail!("--backend cuda: no CUDA device answered (is the NVIDIA driver installed?)")
        }
        BackendChoice::Wgpu if !cfg!(feature = "wgpu") => {
            bail!("--backend wgpu: this build has no wgpu support; build with `--features wgpu`")
        }
        BackendChoice::Wgpu if !wgpu_available() => bail!(
            "--backend wgpu: no WebGPU adapter answered (a Vulkan, Metal or DX12 driver; on Linux without a GPU, Mesa's lavapipe: apt install mesa-vulkan-drivers)"
        ),
        _ => Ok(()),
    }
}

/// Runs `job` on the chosen backend, or says why that backend cannot be used.
pub fn run<J: Job>(choice: BackendChoice, job: J) -> Result<J::Output> {
    check(choice)?;
    Ok(match choice {
        BackendChoice::Auto if cuda_available() => return run(BackendChoice::Cuda, job),
        BackendChoice::Auto | BackendChoice::Cpu | BackendChoice::Ndarray => {
            job.run::<NdArray>(Default::default(), "ndarray")
        }
        #[cfg(feature = "cuda")]
        BackendChoice::Cuda => job.run::<burn::backend::Cuda>(Default::default(), "cuda"),
        #[cfg(feature = "wgpu")]
        BackendChoice::Wgpu => job.run::<burn::backend::Wgpu>(Default::default(), "wgpu"),
        #[allow(unreachable_patterns)]
        BackendChoice::Cuda | BackendChoice::Wgpu => unreachable!("refused by check()"),
    })
}

/// Whether the default device of backend B runs a kernel. The GPU backends load their
/// drivers at run time and panic when none answers, so the probe runs with the panic caught
/// and its message hidden.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn answers<B: burn::tensor::backend::Backend>() -> bool {
    use burn::tensor::{ElementConversion, Tensor};
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let ok = std::panic::catch_unwind(|| {
        let t = Tensor::<B, 1>::ones([4], &Default::default());
        t.sum().into_scalar().elem::<f32>() == 4.0
    })
    .unwrap_or(false);
    std::panic::set_hook(hook);
    ok
}

/// Whether a CUDA device can run a kernel (probed once).
#[cfg(feature = "cuda")]
pub fn cuda_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(answers::<burn::backend::Cuda>)
}

/// Whether a WebGPU adapter (Vulkan, Metal, DX12) can run a kernel (probed once).
#[cfg(feature = "wgpu")]
pub fn wgpu_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(answers::<burn::backend::Wgpu>)
}

#[cfg(not(feature = "wgpu"))]
pub fn wgpu_available() -> bool {
    false
}

#[cfg(not(feature = "cuda"))]
pub fn cuda_available() -> bool {
    false
}
