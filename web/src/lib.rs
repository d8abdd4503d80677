//! The browser app of resnet-scaling: trains fully connected ResNets of several depths side by
//! side on WebGPU (burn-wgpu), or on the CPU compiled to wasm where the browser has no WebGPU,
//! and shows the losses, the weights and core's scaling analysis live.

pub mod run;
pub mod settings;
pub mod view;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod browser;
