//! `native sweep`: train the network of every depth of a sweep and write the run directory.
//!
//! DIR/config.toml          the sweep's configuration, re-runnable as is
//! DIR/data.safetensors     x_train, y_train, x_test, y_test
//! DIR/depth_<L>/init.safetensors, weights.safetensors   A [L,d,d], b [L,d], delta [L] or [1]
//! DIR/depth_<L>/result.json   steps, losses, stop reason, wall time, loss history
//! DIR/summary.json         one line per finished depth
//!
//! A depth is finished when its result.json exists; running the same sweep into the same
//! directory skips finished depths, so a crash loses at most the depth in progress.

use crate::backend::{self, BackendChoice, Job};
use crate::files::{read_json, write_atomic, write_json};
use anyhow::{bail, Context, Result};
use burn::tensor::backend::Backend;
use indicatif::{ProgressBar, ProgressStyle};
use scaling_core::config::{Plan, SweepConfig};
use scaling_core::data::Dataset;
use scaling_core::results::{DepthResult, DepthSummary, Summary};
use scaling_core::train::train;
use scaling_core::weights::{encode, TensorMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Reads a sweep configuration file; unknown keys and bad values are errors naming them.
pub fn read_config(path: &Path) -> Result<SweepConfig> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let config: SweepConfig = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid sweep config", path.display()))?;
    config
        .plan()
        .with_context(|| format!("{} is not a valid sweep config", path.display()))?;
    Ok(config)
}

/// Runs the sweep into `out`, resuming it when `out` already holds the same sweep.
pub fn run(config: &SweepConfig, out: &Path, choice: BackendChoice) -> Result<()> {
    let plan = config.plan().context("invalid sweep config")?;
    let config_path = out.join("config.toml");
    if config_path.exists() {
        let existing = read_config(&config_path)?;
        if &existing != config {
            bail!(
                "{} holds a different sweep (its config.toml differs); choose another --out or remove it",
                out.display()
            );
        }
    } else {
        fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        write_atomic(&config_path, toml::to_string(config)?.as_bytes())?;
    }
    let data = plan.data.generate();
    let data_path = out.join("data.safetensors");
    if !data_path.exists() {
        write_atomic(&data_path, &data_file(&data))?;
    }
    backend::run(
        choice,
        SweepJob {
            plan,
            data,
            out: out.to_path_buf(),
        },
    )?
}

/// The data set as tensors x_train, y_train, x_test, y_test, each [n, d].
fn data_file(data: &Dataset) -> Vec<u8> {
    let d = data.width;
    let mut map = TensorMap::new();
    for (name, values) in [
        ("x_train", &data.x_train),
        ("y_train", &data.y_train),
        ("x_test", &data.x_test),
        ("y_test", &data.y_test),
    ] {
        map.insert(name.into(), (vec![values.len() / d, d], values.clone()));
    }
    encode(&map)
}

struct SweepJob {
    plan: Plan,
    data: Dataset,
    out: PathBuf,
}

impl Job for SweepJob {
    type Output = Result<()>;

    fn run<B: Backend>(self, device: B::Device, backend: &'static str) -> Result<()> {
        let SweepJob { plan, data, out } = self;
        println!(
            "sweep: {} depths {:?} on {backend}, writing {}",
            plan.depths.len(),
            plan.depths,
            out.display()
        );
        let mut summary = Summary::default();
        for &depth in &plan.depths {
            let dir = out.join(format!("depth_{depth}"));
            let result_path = dir.join("result.json");
            let result: DepthResult = if result_path.exists() {
                let done: DepthResult = read_json(&result_path)?;
                println!(
                    "depth {depth:>6}: done before ({:?}), skipped",
                    done.outcome.stop_reason
                );
                done
            } else {
                fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                train_depth::<B>(&plan, &data, depth, &dir, &device)?
            };
            summary.depths.push(DepthSummary::from(&result));
            summary.depths.sort_by_key(|s| s.depth);
            write_json(&out.join("summary.json"), &summary)?;
        }
        println!("wrote {}", out.display());
        Ok(())
    }
}

/// Trains the network of depth L and writes its files, result.json last.
fn train_depth<B: Backend>(
    plan: &Plan,
    data: &Dataset,
    depth: usize,
    dir: &Path,
    device: &B::Device,
) -> Result<DepthResult> {
    let config = plan.model(depth);
    let weights = config.init_weights();
    write_atomic(&dir.join("init.safetensors"), &weights.to_safetensors())?;
    let model =
        scaling_core::ResNet::<B>::from_weights(&weights, config.activation, config.delta, device);

    let bar = ProgressBar::new(plan.train.max_steps as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "depth {prefix:>6} [{bar:30}] {pos}/{len} steps {per_sec} eta {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(depth.to_string());
    let start = Instant::now();
    let (model, outcome) = train(model, data, &plan.train, device, |step, loss| {
        bar.set_position(step as u64);
        if let Some(loss) = loss {
            bar.set_message(format!("loss {loss:.3e}"));
        }
    });
    let wall_time_s = start.elapsed().as_secs_f64();
    bar.abandon_with_message(format!(
        "{:?}, train loss {}",
        outcome.stop_reason,
        outcome
            .final_train_loss
            .map_or("not finite".into(), |l| format!("{l:.3e}"))
    ));
    write_atomic(
        &dir.join("weights.safetensors"),
        &model.to_weights().to_safetensors(),
    )?;
    let result = DepthResult {
        depth,
        wall_time_s,
        outcome,
    };
    write_json(&dir.join("result.json"), &result)?;
    Ok(result)
}
