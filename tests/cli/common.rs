//! What every command's tests share: running the `native` binary, scratch directories, the
//! tiny sweep most tests train, and reading what a run wrote.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `native` binary under test, as a command not yet run (for tests that set its
/// environment or spawn it).
pub(crate) fn native_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_native"))
}

/// `native ARGS` on burn's ndarray backend, the tests' default: [`native_on`] with `ndarray`.
pub(crate) fn native(args: &[&str]) -> Output {
    native_on("ndarray", args)
}

/// `native ARGS --backend BACKEND`, run to its end.
pub(crate) fn native_on(backend: &str, args: &[&str]) -> Output {
    native_command()
        .args(args)
        .args(["--backend", backend])
        .output()
        .expect("native runs")
}

/// An empty directory for one test, under the system's temporary directory.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("resnet-scaling-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A sweep of two small depths that trains in well under a second.
pub(crate) const TINY: &str = r#"
n_samples = 200
n_test = 40
width = 4
activation = "tanh"
delta = "per-layer"
depths = [2, 6]
batch_size = 50
lr = 0.5
epsilon = 1e-6
max_steps = 120
log_every = 40
"#;

/// `native sweep` of `config` (written to DIR/sweep.toml) into DIR/run, on ndarray:
/// [`sweep_on`] with `ndarray`.
pub(crate) fn sweep(dir: &Path, config: &str) -> Output {
    sweep_on("ndarray", dir, config)
}

/// `native sweep` of `config` (written to DIR/sweep.toml) into DIR/run, on `backend`.
pub(crate) fn sweep_on(backend: &str, dir: &Path, config: &str) -> Output {
    let path = dir.join("sweep.toml");
    fs::write(&path, config).unwrap();
    let out = dir.join("run");
    native_on(
        backend,
        &[
            "sweep",
            "--config",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    )
}

/// Asserts that `native` failed with an error containing `expected`.
pub(crate) fn refused(output: &Output, expected: &str) {
    let stderr = text(&output.stderr);
    assert!(
        !output.status.success(),
        "accepted; expected an error with {expected}"
    );
    assert!(
        stderr.contains(expected),
        "expected {expected} in: {stderr}"
    );
}

/// The analysis.json of a run directory.
pub(crate) fn read_analysis(run: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(run.join("analysis.json")).unwrap()).unwrap()
}

/// Bytes a process printed, as text.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Everything `native` printed, stdout then stderr.
pub(crate) fn text_of(output: &Output) -> String {
    format!("{}{}", text(&output.stdout), text(&output.stderr))
}
