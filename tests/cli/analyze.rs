//! `native analyze` and `native report`: pooling seeds, the figures and the self-contained
//! report, stale analyses, and the errors of broken run directories.

use crate::common::{native, read_analysis, refused, scratch, text};
use scaling_core::model::weights::Weights;
use scaling_core::train::results::DepthResult;
use std::fs;
use std::path::{Path, PathBuf};

const FOUR_DEPTHS: &str = r#"
n_samples = 200
n_test = 40
width = 3
activation = "relu"
delta = "per-layer"
initial_sd = 0.1
depths = [3, 5, 8, 13]
batch_size = 50
lr = 0.3
epsilon = 1e-2
max_steps = 60
log_every = 20
"#;

/// Runs `config` with each seed into DIR/seed<s>, without the report.
fn seeded_runs(dir: &Path, config: &str, seeds: &[u64]) -> Vec<PathBuf> {
    seeds
        .iter()
        .map(|seed| {
            let path = dir.join(format!("seed{seed}.toml"));
            fs::write(&path, format!("{config}\nseed = {seed}\n")).unwrap();
            let out = dir.join(format!("seed{seed}"));
            let output = native(&[
                "sweep",
                "--config",
                path.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--no-report",
            ]);
            assert!(output.status.success(), "{}", text(&output.stderr));
            assert!(!out.join("analysis.json").exists());
            out
        })
        .collect()
}

#[test]
fn analyze_pools_seeds_and_report_is_self_contained() {
    let dir = scratch("analyze");
    let runs = seeded_runs(&dir, FOUR_DEPTHS, &[0, 1, 2]);
    let out = dir.join("pooled");
    let output = native(&[
        "analyze",
        runs[0].to_str().unwrap(),
        runs[1].to_str().unwrap(),
        runs[2].to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("verdict on delta_A"));
    let analysis = read_analysis(&out);
    assert_eq!(analysis["main_path"], "delta_A");
    assert_eq!(analysis["depths"].as_array().unwrap().len(), 12);
    let names: Vec<&str> = analysis["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["A", "b", "delta", "delta_A", "delta_b"]);
    let fit = &analysis["paths"][0]["fits"]["max-norm"];
    assert_eq!(fit["status"], "fitted", "{fit}");
    assert_eq!(fit["interval"], "bootstrap");
    assert_eq!(fit["seeds"], 3);
    let (lo, beta, hi) = (
        fit["ci95"][0].as_f64().unwrap(),
        fit["beta"].as_f64().unwrap(),
        fit["ci95"][1].as_f64().unwrap(),
    );
    assert!(lo <= beta && beta <= hi, "{fit}");
    // L = 3 of seed 1 stayed at its initial loss (dead ReLUs): flagged and left out.
    let flags: Vec<_> = analysis["depths"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["flag"] == "did not train")
        .map(|e| (e["depth"].as_u64().unwrap(), e["seed"].as_u64().unwrap()))
        .collect();
    assert_eq!(flags, [(3, 1)]);
    assert!(
        text(&output.stdout).contains("1 did not train"),
        "{}",
        text(&output.stdout)
    );
    assert_eq!(analysis["denoised"].as_array().unwrap().len(), 11);
    for name in [
        "max-norm",
        "increments",
        "delta",
        "delta-k",
        "trend-noise",
        "denoised",
        "loss",
        "network-L13-seed2",
    ] {
        for ext in ["svg", "png"] {
            let path = out.join(format!("figures/{name}.{ext}"));
            assert!(
                fs::metadata(&path).map(|m| m.len() > 1000).unwrap_or(false),
                "{}",
                path.display()
            );
        }
    }
    let png = fs::read(out.join("figures/max-norm.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");

    // The report of one run directory analyses it first, inlines every figure and loads
    // nothing from elsewhere.
    let output = native(&["report", runs[1].to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report = fs::read_to_string(runs[1].join("report.html")).unwrap();
    assert!(report.matches("<svg").count() >= 8, "figures inline");
    assert!(
        !report.contains("src=") && !report.contains("href="),
        "self-contained"
    );
    assert!(report.contains("Verdict on |δ_k| A_k"));
    assert!(report.contains("depths = [3, 5, 8, 13]"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn analyze_names_what_is_wrong() {
    let dir = scratch("analyze-bad");
    let runs = seeded_runs(&dir, FOUR_DEPTHS, &[0, 1]);
    let run = &runs[0];
    let analyze = |dirs: &[&Path], expected: &str| {
        let mut args = vec!["analyze"];
        args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
        refused(&native(&args), expected);
    };
    analyze(&[&dir], "is not a run directory");

    let weights = run.join("depth_5/weights.safetensors");
    let good = fs::read(&weights).unwrap();
    fs::write(&weights, &good[..good.len() / 2]).unwrap();
    analyze(&[run], "depth_5/weights.safetensors is malformed");
    // Weights of another depth or width in the file.
    fs::copy(run.join("depth_3/weights.safetensors"), &weights).unwrap();
    analyze(
        &[run],
        "depth_5/weights.safetensors holds a network of depth 3",
    );
    fs::write(&weights, &good).unwrap();

    let result = run.join("depth_8/result.json");
    fs::write(&result, "{ \"depth\": 8 ").unwrap();
    analyze(&[run], "depth_8/result.json is malformed");
    fs::remove_file(&result).unwrap();

    fs::write(run.join("data.safetensors"), b"garbage").unwrap();
    analyze(&[run], "data.safetensors is malformed");

    // Different sweeps cannot be pooled as seeds.
    let other_dir = dir.join("other");
    fs::create_dir_all(&other_dir).unwrap();
    let other = seeded_runs(
        &other_dir,
        &FOUR_DEPTHS.replace("lr = 0.3", "lr = 0.2"),
        &[5],
    );
    analyze(&[&runs[1], &other[0]], "are not the same sweep");
    assert!(!runs[1].join("analysis.json").exists(), "nothing written");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn analyze_refuses_impossible_weights_and_results() {
    let dir = scratch("analyze-values");
    let runs = seeded_runs(&dir, FOUR_DEPTHS, &[0]);
    let run = &runs[0];
    let analyze = || native(&["analyze", run.to_str().unwrap()]);
    let weights_path = run.join("depth_5/weights.safetensors");
    let good = fs::read(&weights_path).unwrap();
    let mut weights = Weights::from_safetensors(&good).unwrap();
    weights.a[7] = f32::NAN;
    fs::write(&weights_path, weights.to_safetensors()).unwrap();
    refused(&analyze(), "tensor `A` holds NaN at index 7");
    weights.a[7] = 0.0;
    weights.delta = None;
    fs::write(&weights_path, weights.to_safetensors()).unwrap();
    refused(&analyze(), "tensor `delta` is missing");
    fs::write(&weights_path, &good).unwrap();

    let result_path = run.join("depth_8/result.json");
    let good = fs::read_to_string(&result_path).unwrap();
    let mut result: DepthResult = serde_json::from_str(&good).unwrap();
    result.wall_time_s = -1.0;
    fs::write(&result_path, serde_json::to_string(&result).unwrap()).unwrap();
    refused(&analyze(), "`wall_time_s` is -1");
    // A huge but finite loss is drawn, not an abort.
    result.wall_time_s = 1.0;
    result.outcome.final_train_loss = Some(1e308);
    fs::write(&result_path, serde_json::to_string(&result).unwrap()).unwrap();
    let output = analyze();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(run.join("figures/loss.svg").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn report_analyses_again_when_analysis_or_figures_are_stale() {
    let dir = scratch("report-stale");
    let runs = seeded_runs(&dir, FOUR_DEPTHS, &[0]);
    let run = runs[0].to_str().unwrap();
    let report = || {
        let output = native(&["report", run]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    assert!(report().contains("it has no analysis.json"));
    assert!(!report().contains("analysing"), "fresh: reused");
    fs::remove_file(runs[0].join("figures/max-norm.svg")).unwrap();
    assert!(report().contains("max-norm.svg is missing"));
    // A depth finished after the analysis.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let result = runs[0].join("depth_8/result.json");
    fs::write(&result, fs::read(&result).unwrap()).unwrap();
    assert!(report().contains("older than a network's result.json"));
    assert!(!report().contains("analysing"));
    fs::remove_dir_all(&dir).unwrap();
}
