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
    /// The CPU: the fused step (scaling_core::fused) for fully connected training, ndarray
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

/// Whether a CUDA device can run a kernel. burn-cuda loads the driver library at run time and
/// panics when it is missing, so the probe runs with the panic caught and its message hidden.
#[cfg(feature = "cuda")]
pub fn cuda_available() -> bool {
    use burn::tensor::Tensor;
    use std::sync::OnceLock;
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let ok = std::panic::catch_unwind(|| {
            let device = Default::default();
            let t = Tensor::<burn::backend::Cuda, 1>::ones([4], &device);
            t.sum().into_scalar() == 4.0
        })
        .unwrap_or(false);
        std::panic::set_hook(hook);
        ok
    })
}

#[cfg(not(feature = "cuda"))]
pub fn cuda_available() -> bool {
    false
}
