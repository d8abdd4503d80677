//! Core's model, training step and statistics compiled to wasm32 and run in the browser
//! (headless Chromium through wasm-bindgen-test-runner): the page's driver on the CPU fallback
//! (core's fused step) and on WebGPU must give the golden (native) losses; the analysis must find the smooth
//! regime of known weights, with their denoised losses; and the steps per second of the page's
//! two engines are printed.
#![cfg(target_arch = "wasm32")]

mod reference;

use burn::backend::wgpu::{graphics::AutoGraphicsApi, init_setup_async, WgpuDevice};
use burn::backend::Wgpu;
use scaling_core::sweep::config::DataPlan;
use scaling_core::train::fused::FusedStepper;
use scaling_core::train::session::BurnStepper;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};
use web::browser::{now, webgpu_adapter};
use web::run::{DepthRun, PageStep};
use web::settings::{Form, Settings};

wasm_bindgen_test_configure!(run_in_browser);

thread_local! {
    static GPU_READY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// burn's wgpu device on the browser's WebGPU adapter, set up once (webdriver.json enables
/// WebGPU in headless Chromium; a browser without it fails here, by design).
async fn gpu() -> WgpuDevice {
    let device = WgpuDevice::default();
    if !GPU_READY.with(|r| r.replace(true)) {
        webgpu_adapter().await.expect("WebGPU in the test browser");
        init_setup_async::<AutoGraphicsApi>(&device, Default::default()).await;
    }
    device
}

#[wasm_bindgen_test]
async fn cpu_fallback_training_equals_the_native_run() {
    let got = reference::run::<FusedStepper>(&()).await;
    let largest = reference::assert_matches(&got, reference::FUSED_TOLERANCE);
    console_log!("cpu-fallback: largest relative difference to the golden losses {largest:.1e}");
}

#[wasm_bindgen_test]
async fn webgpu_training_equals_the_native_run() {
    let device = gpu().await;
    let got = reference::run::<BurnStepper<Wgpu>>(&device).await;
    let largest = reference::assert_matches(&got, 1e-3);
    console_log!("webgpu: largest relative difference to the golden losses {largest:.1e}");
}

#[wasm_bindgen_test]
fn the_analysis_finds_the_smooth_regime_of_smooth_weights() {
    reference::analysis_of_smooth_weights();
}

/// Updates per second of the page's driver at L = 100, d = 10, B = 500 (printed, not judged:
/// the numbers go into the README).
async fn steps_per_second<S: PageStep>(device: &S::Device, engine: &str) {
    let mut s = Settings::default();
    for (key, value) in [
        ("n_samples", "500"),
        ("depths", "100"),
        ("batch_size", "500"),
        ("log_every", "5"),
        ("max_steps", "1000"),
    ] {
        s.set(key, value);
    }
    let plan = s.plan().unwrap();
    let DataPlan::Synthetic(c) = &plan.data else {
        unreachable!()
    };
    let data = c.generate();
    let mut run = DepthRun::<S>::new(&plan, &data, 100, device);
    run.advance(&data, now).await; // the first loss
    run.advance(&data, now).await; // warm-up: 5 updates and a loss
    let (steps, start) = (run.steps(), now());
    run.advance(&data, now).await;
    run.advance(&data, now).await;
    let rate = (run.steps() - steps) as f64 / (now() - start);
    console_log!("BENCH {engine}: L = 100, d = 10, B = 500: {rate:.2} steps/s (including one loss on 500 samples per 5 steps)");
}

#[wasm_bindgen_test]
async fn bench_cpu_fallback() {
    steps_per_second::<FusedStepper>(&(), "cpu-fallback").await;
}

#[wasm_bindgen_test]
async fn bench_webgpu() {
    let device = gpu().await;
    steps_per_second::<BurnStepper<Wgpu>>(&device, "webgpu").await;
}
