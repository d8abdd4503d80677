//! The fuzz targets: what each reader must do with any input. Rejecting it with an error is
//! fine; a panic, a hang, a broken round trip or (for `native analyze`) a crash is not.

use crate::Verdict;
use plotters::prelude::*;
use plotters::style::register_font;
use scaling_core::data::cifar::{parse_records, PIXELS};
use scaling_core::data::idx::parse_idx;
use scaling_core::data::synthetic::Dataset;
use scaling_core::model::weights::Weights;
use scaling_core::plot::figure::draw;
use scaling_core::plot::trained::network_figures;
use scaling_core::sweep::budget::Memory;
use scaling_core::sweep::config::SweepConfig;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Fails with `why` unless `ok`.
fn ensure(ok: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(why())
    }
}

/// A sweep config: parsed, checked, its memory estimated and its units listed; what parses
/// writes back (config.toml) and reads again as the same sweep.
pub fn config(input: &[u8]) -> Verdict {
    let Ok(text) = std::str::from_utf8(input) else {
        return Ok(false);
    };
    let Ok(config) = toml::from_str::<SweepConfig>(text) else {
        return Ok(false);
    };
    let Ok(plan) = config.plan() else {
        return Ok(false);
    };
    let memory = Memory::of(&plan);
    ensure(memory.total() >= 0.0, || format!("memory {memory:?}"))?;
    ensure(!plan.units().is_empty(), || "no unit".into())?;
    let written = toml::to_string(&config).map_err(|e| format!("cannot write back: {e}"))?;
    let again: SweepConfig =
        toml::from_str(&written).map_err(|e| format!("written config unreadable: {e}"))?;
    ensure(again == config, || {
        format!("round trip changed it: {written}")
    })?;
    Ok(true)
}

/// A weights file: decoded and checked; what decodes round-trips, and its diagnostics
/// (layer norms, spectral norms, increments) are computed and drawn, whatever its values.
pub fn weights(input: &[u8]) -> Verdict {
    let Ok(w) = Weights::from_safetensors(input) else {
        return Ok(false);
    };
    let _ = w.check_finite();
    let again = Weights::from_safetensors(&w.to_safetensors()).map_err(|e| e.to_string())?;
    ensure(
        again.a.len() == w.a.len() && again.to_safetensors() == w.to_safetensors(),
        || "round trip changed the weights".into(),
    )?;
    if w.depth * w.width * w.width > 1 << 16 {
        return Ok(true); // Large but valid: the statistics are exercised on small ones.
    }
    static FONT: std::sync::Once = std::sync::Once::new();
    FONT.call_once(|| {
        let font = include_bytes!("../../crates/native/assets/DejaVuSans.ttf");
        let _ = register_font("sans-serif", FontStyle::Normal, font);
    });
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (600, 400)).into_drawing_area();
    for figure in network_figures(&w, None) {
        draw(&figure, &root).map_err(|e| format!("drawing: {e}"))?;
    }
    Ok(true)
}

/// A data file: decoded (rows, shapes, finite values checked); what decodes round-trips.
pub fn data(input: &[u8]) -> Verdict {
    let Ok(data) = Dataset::from_safetensors(input) else {
        return Ok(false);
    };
    ensure(data.n_train() > 0 && data.n_test() > 0, || "no rows".into())?;
    let again = Dataset::from_safetensors(&data.to_safetensors()).map_err(|e| e.to_string())?;
    ensure(again == data, || "round trip changed the data".into())?;
    Ok(true)
}

/// An IDX file (raw or gzip): what parses holds as many bytes as its dims say.
pub fn idx(input: &[u8]) -> Verdict {
    let Ok(idx) = parse_idx(input, "fuzz") else {
        return Ok(false);
    };
    let size: usize = idx.dims.iter().product();
    ensure(size == idx.data.len(), || format!("dims {:?}", idx.dims))?;
    Ok(true)
}

/// CIFAR-10 records: what parses has a label 0..=9 per image of 3072 bytes.
pub fn cifar(input: &[u8]) -> Verdict {
    let Ok((images, labels)) = parse_records(input, "fuzz") else {
        return Ok(false);
    };
    ensure(
        images.len() == labels.len() * PIXELS && labels.iter().all(|&l| l <= 9),
        || "records and labels disagree".into(),
    )?;
    Ok(true)
}

/// A small finished run directory (two seeds, three depths) that `analyze` inputs mutate:
/// each input is `path\0bytes`, the directory with that one file replaced.
pub struct RunTemplate {
    root: PathBuf,
    files: Vec<(String, Vec<u8>)>,
}

const RUN: &str = r#"
n_samples = 60
n_test = 20
width = 3
activation = "tanh"
delta = "per-layer"
depths = [2, 3, 5]
seeds = [0, 1]
batch_size = 20
lr = 0.3
epsilon = 1e-2
max_steps = 20
log_every = 10
"#;

impl RunTemplate {
    /// Runs the small sweep once.
    pub fn new() -> Self {
        let root = std::env::temp_dir().join(format!("resnet-scaling-fuzz-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        let config = root.join("sweep.toml");
        fs::write(&config, RUN).unwrap();
        let template = root.join("template");
        let status = native()
            .args(["sweep", "--config", config.to_str().unwrap(), "--no-report"])
            .args(["--out", template.to_str().unwrap()])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "the template sweep runs");
        let mut files = Vec::new();
        collect(&template, &template, &mut files);
        files.sort();
        Self { root, files }
    }

    /// `native analyze` on the template with the input's file replaced: it succeeds or
    /// refuses in one line, within the timeout.
    pub fn analyze(&self, input: &[u8]) -> Verdict {
        let Some(split) = input.iter().position(|&b| b == 0) else {
            return Ok(false);
        };
        let name = String::from_utf8_lossy(&input[..split]).into_owned();
        let dir = self.root.join("mutated");
        let _ = fs::remove_dir_all(&dir);
        for (file, bytes) in &self.files {
            let path = dir.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            let bytes = if *file == name {
                &input[split + 1..]
            } else {
                bytes
            };
            fs::write(path, bytes).unwrap();
        }
        let mut child = native()
            .args(["analyze", dir.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > Duration::from_secs(60) {
                child.kill().unwrap();
                return Err(format!("{name}: analyze ran past 60 s"));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let stderr = child.wait_with_output().unwrap().stderr;
        let stderr = String::from_utf8_lossy(&stderr);
        let one_error = status.code() == Some(1)
            && stderr.starts_with("error: ")
            && stderr.trim_end().lines().count() == 1;
        ensure(status.success() || one_error, || {
            format!("{name}: analyze ended with {status}: {stderr}")
        })?;
        Ok(status.success())
    }

    /// The template's files as `path\0bytes` inputs: the seed corpus of `analyze`.
    pub fn inputs(&self) -> Vec<Vec<u8>> {
        self.files
            .iter()
            .filter(|(f, _)| !f.starts_with("figures"))
            .map(|(f, b)| [f.as_bytes(), &[0], b].concat())
            .collect()
    }
}

impl Drop for RunTemplate {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// Every file under `dir`, by its path relative to `root`.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, Vec<u8>)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let name = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            files.push((name, fs::read(&path).unwrap()));
        }
    }
}

/// The `native` binary on the CPU.
fn native() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_native"));
    command.args(["--backend", "ndarray"]);
    command
}
