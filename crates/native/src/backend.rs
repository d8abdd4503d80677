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

/// Whether a CUDA device can run a kernel (probed once). The driver is asked first: burn's
/// probe starts a device thread that stays, waking every 150 µs, whether or not a GPU
/// answers, and on a machine without one that thread took a core from the CPU step (in some
/// runs a lone network on two threads ran at half its speed on one, 2026-12-06).
#[cfg(feature = "cuda")]
pub fn cuda_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| cuda_driver_sees_a_gpu() && answers::<burn::backend::Cuda>())
}

/// Whether the CUDA driver library loads and counts at least one device.
#[cfg(feature = "cuda")]
fn cuda_driver_sees_a_gpu() -> bool {
    use cudarc::driver::{result, sys};
    // SAFETY: only opens the driver library to see whether it is there.
    let present = unsafe { sys::is_culib_present() };
    present && result::init().is_ok() && result::device::get_count().is_ok_and(|n| n > 0)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of this process's threads.
    fn thread_names() -> Vec<String> {
        let tasks = std::fs::read_dir("/proc/self/task").expect("Linux's /proc");
        tasks
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_string())
            .collect()
    }

    /// Without a GPU the probe leaves no thread behind: burn's device threads are named
    /// "DS…" (cubecl's device service) and wake every 150 µs, which took a core from the CPU
    /// step.
    #[test]
    #[cfg(target_os = "linux")]
    fn the_cuda_probe_leaves_no_device_thread_without_a_gpu() {
        if cuda_available() {
            return; // a GPU answered: its device thread is the one the work runs on.
        }
        let device_threads: Vec<String> = thread_names()
            .into_iter()
            .filter(|name| name.starts_with("DS"))
            .collect();
        assert!(device_threads.is_empty(), "{device_threads:?}");
    }
}
