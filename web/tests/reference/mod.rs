//! The reference training of the web tests: a small plan trained by the page's chunked driver,
//! whose loss histories must equal `golden.json` (burn-ndarray, natively), natively and in the
//! browser, on the CPU (core's fused step) and on WebGPU. `RESNET_SCALING_BLESS=1 cargo test
//! -p web` rewrites the file from the native burn-ndarray run.

use scaling_core::analysis::Regime;
use scaling_core::model::weights::Weights;
use scaling_core::sweep::config::{DataPlan, Plan};
use scaling_core::train::results::{DepthResult, StopReason, TrainOutcome};
use web::run::{analyse, DepthRun, PageStep};
use web::settings::{Form, Settings};

pub const GOLDEN: &str = include_str!("golden.json");

/// (depth, [(step, training loss)]) of every depth.
pub type Histories = Vec<(usize, Vec<(usize, f64)>)>;

/// Tanh, per-layer δ, width 4, depths 3, 9, 27, 40 updates of 16 samples.
pub fn plan() -> Plan {
    let mut s = Settings::default();
    for (key, value) in [
        ("n_samples", "64"),
        ("width", "4"),
        ("delta", "per-layer"),
        ("initial_sd", "0.5"),
        ("depths", "3,9,27"),
        ("lr", "0.1"),
        ("batch_size", "16"),
        ("max_steps", "40"),
        ("log_every", "10"),
        ("seed", "7"),
    ] {
        s.set(key, value);
    }
    s.plan().expect("a valid reference plan")
}

/// Trains every depth of [`plan`] to the end with the page's driver.
pub async fn run<S: PageStep>(device: &S::Device) -> Histories {
    let plan = plan();
    let DataPlan::Synthetic(c) = &plan.data else {
        unreachable!("synthetic")
    };
    let data = c.generate();
    let mut out = Vec::new();
    for &depth in &plan.depths {
        let mut run = DepthRun::<S>::new(&plan, &data, depth, device);
        while run.stop.is_none() {
            run.advance(&data, || 0.0).await;
        }
        out.push((depth, run.losses()));
    }
    out
}

pub fn golden() -> Histories {
    serde_json::from_str(GOLDEN).expect("golden.json is valid")
}

/// Every loss within `tolerance`, relative, of the golden one; the losses fall. Returns the
/// largest relative difference.
pub fn assert_matches(got: &Histories, tolerance: f64) -> f64 {
    let want = golden();
    let mut largest: f64 = 0.0;
    assert_eq!(got.len(), want.len(), "depths");
    for ((depth, got), (want_depth, want)) in got.iter().zip(&want) {
        assert_eq!(depth, want_depth);
        assert_eq!(
            got.iter().map(|p| p.0).collect::<Vec<_>>(),
            want.iter().map(|p| p.0).collect::<Vec<_>>(),
            "L = {depth}: steps"
        );
        for ((step, g), (_, w)) in got.iter().zip(want) {
            largest = largest.max((g - w).abs() / w.abs());
            assert!(
                (g - w).abs() <= tolerance * w.abs(),
                "L = {depth}, step {step}: loss {g} vs golden {w}"
            );
        }
        let (first, last) = (got[0].1, got[got.len() - 1].1);
        assert!(last < 0.9 * first, "L = {depth}: loss {first} → {last}");
    }
    largest
}

/// How close, relative, core's fused f32 step (its sums in another order than burn-ndarray's)
/// must come to the golden losses: measured 7e-8 natively (AVX-512) and 1.2e-7 with the
/// portable kernels (natively and in wasm).
pub const FUSED_TOLERANCE: f64 = 1e-6;

/// The page's analysis of smooth weights A_k = L^−β cos(2πk/L + i) (entry i; b_k alike, with
/// sines), β = 0.7, at
/// depths 8..256: the smooth regime with β within 0.05, and the training loss of every network
/// and of its denoised version, both finite.
pub fn analysis_of_smooth_weights() {
    let plan = Settings::default().plan().unwrap();
    let DataPlan::Synthetic(c) = &plan.data else {
        unreachable!("synthetic")
    };
    let (beta, d) = (0.7, 10);
    let nets: Vec<(DepthResult, Weights)> = [8, 16, 32, 64, 128, 256]
        .map(|l: usize| (converged(l), smooth_weights(l, d, beta)))
        .to_vec();
    let a = analyse(&plan, &c.generate(), nets);
    assert_eq!(a.verdict.regime, Regime::Smooth, "{:?}", a.verdict);
    let fitted = a.verdict.beta.as_ref().unwrap().beta;
    assert!((fitted - beta).abs() < 0.05, "β = {fitted}");
    assert_eq!(a.denoised.len(), 6, "{:?}", a.denoised);
    for e in &a.denoised {
        assert!(e.trained.is_some() && e.denoised.is_some(), "{e:?}");
    }
}

/// A_k = L^−β cos(2πk/L + i), b_k = L^−β sin(2πk/L + i), δ = 1/L.
fn smooth_weights(l: usize, d: usize, beta: f64) -> Weights {
    let path = |size: usize, f: fn(f64) -> f64| -> Vec<f32> {
        (0..l)
            .flat_map(|k| {
                let t = k as f64 / l as f64;
                (0..size).map(move |i| {
                    ((l as f64).powf(-beta) * f(2.0 * std::f64::consts::PI * t + i as f64)) as f32
                })
            })
            .collect()
    };
    Weights {
        depth: l,
        width: d,
        a: path(d * d, f64::cos),
        b: path(d, f64::sin),
        delta: Some(vec![1.0 / l as f32]),
    }
}

/// A network of depth L that reached ε in one update.
fn converged(l: usize) -> DepthResult {
    DepthResult {
        depth: l,
        wall_time_s: 0.0,
        outcome: TrainOutcome {
            steps: 1,
            stop_reason: StopReason::Converged,
            final_train_loss: Some(0.0),
            final_test_loss: None,
            final_test_accuracy: None,
            history: Vec::new(),
        },
    }
}
