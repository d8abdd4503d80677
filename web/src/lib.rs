//! The browser app of resnet-scaling: trains fully connected ResNets of several depths side by
//! side on WebGPU (burn-wgpu), or on the CPU compiled to wasm where the browser has no WebGPU,
//! and shows the losses, the weights and core's scaling analysis live; in a second view,
//! computes the (β, H) phase diagram of Marion et al. at initialisation on the CPU; and in a
//! third, trains a learning-rate transfer grid (base η × depth) on the CPU.

pub mod engine;
pub mod jobs;
pub mod page;
pub mod phase_settings;
pub mod phase_summary;
pub mod run;
pub mod settings;
pub mod transfer_run;
pub mod transfer_settings;
pub mod view;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod browser;
#[cfg(target_arch = "wasm32")]
pub mod canvas;
#[cfg(target_arch = "wasm32")]
pub mod form;
#[cfg(target_arch = "wasm32")]
pub mod gpu;
#[cfg(target_arch = "wasm32")]
pub mod phase_view;
#[cfg(target_arch = "wasm32")]
pub mod task;
#[cfg(target_arch = "wasm32")]
pub mod task_workers;
#[cfg(target_arch = "wasm32")]
pub mod training;
#[cfg(target_arch = "wasm32")]
pub mod transfer_view;
#[cfg(target_arch = "wasm32")]
pub mod worker;
