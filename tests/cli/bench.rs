//! `native bench`, and the fused training steps (CPU, wgpu) against burn's.

use crate::common::{native, native_on, scratch, sweep_on, text, TINY};
use scaling_core::train::results::DepthResult;
use std::fs;

#[test]
fn bench_prints_one_json_line() {
    for method in ["adjoint", "autodiff"] {
        let output = native(&[
            "bench", "--depth", "5", "--steps", "3", "--batch", "20", "--method", method,
        ]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let line: serde_json::Value = serde_json::from_str(text(&output.stdout).trim()).unwrap();
        assert!(line["steps_per_sec"].as_f64().unwrap() > 0.0);
        assert_eq!(line["method"], method);
        assert_eq!(line["backend"], "ndarray");
    }
    // The CPU backend benches the fused step.
    let output = native_on(
        "cpu",
        &["bench", "--depth", "5", "--steps", "3", "--batch", "20"],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let line: serde_json::Value = serde_json::from_str(text(&output.stdout).trim()).unwrap();
    assert!(line["steps_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(line["method"], "fused");
    assert_eq!(line["backend"], "cpu");
    assert_eq!(line["segment"], 5);
    assert_eq!(
        (&line["activation"], &line["delta"]),
        (&"tanh".into(), &"shared".into())
    );
    // --activation and --delta name the network; an unknown name is refused in one line.
    let args = ["bench", "--depth", "5", "--steps", "3", "--batch", "20"];
    let output = native_on(
        "cpu",
        &[&args[..], &["--activation", "relu", "--delta", "per-layer"]].concat(),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let line: serde_json::Value = serde_json::from_str(text(&output.stdout).trim()).unwrap();
    assert_eq!(
        (&line["activation"], &line["delta"]),
        (&"relu".into(), &"per-layer".into())
    );
    let output = native_on("cpu", &[&args[..], &["--activation", "swish"]].concat());
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("unknown activation \"swish\": one of tanh, relu"),
        "{}",
        text(&output.stderr)
    );
}

/// The fused CPU step (`--backend cpu`) and the GPU kernels (`--backend wgpu`, on software
/// Vulkan without a GPU) train as burn's ndarray backend does, layer by layer: the same loss
/// history within f32 rounding, and the same files.
#[test]
fn the_fused_steps_train_as_burn_does() {
    let losses = |backend: &str| -> Option<Vec<Vec<f64>>> {
        let dir = scratch(&format!("fused-{backend}"));
        let output = sweep_on(backend, &dir, &format!("{TINY}momentum = 0.5\n"));
        if text(&output.stderr).contains("no WebGPU adapter answered") {
            eprintln!("skipped {backend}: needs a WebGPU adapter (here Vulkan; apt install mesa-vulkan-drivers)");
            return None;
        }
        assert!(output.status.success(), "{}", text(&output.stderr));
        let losses = [2, 6]
            .iter()
            .map(|depth| {
                let path = dir.join(format!("run/depth_{depth}/result.json"));
                let result: DepthResult =
                    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
                assert_eq!(result.outcome.steps, 120);
                let mut losses: Vec<f64> = result
                    .outcome
                    .history
                    .iter()
                    .map(|p| p.train_loss.unwrap())
                    .collect();
                losses.push(result.outcome.final_test_loss.unwrap());
                losses
            })
            .collect::<Vec<_>>();
        Some(losses)
    };
    let burn = losses("ndarray").expect("the CPU");
    for backend in ["cpu", "wgpu"] {
        let Some(fused) = losses(backend) else {
            continue;
        };
        for (f, b) in fused.iter().flatten().zip(burn.iter().flatten()) {
            assert!(
                (f - b).abs() <= 1e-4 * b.abs(),
                "{backend}: {fused:?} vs {burn:?}"
            );
        }
    }
}
