//! A sweep's run directory: the name of every file in it, and their reading and atomic
//! writing, in one place.
//!
//! ```text
//! DIR/config.toml             the sweep's config        DIR/summary.json   derived, once all finished
//! DIR/data.safetensors        the data set              DIR/analysis.json  native analyze
//! DIR/.lock                   held while preparing      DIR/report.html    native report
//! DIR/figures/NAME.svg, .png  the figures
//! DIR/depth_<L>[/seed_<s>]/   one network (a unit): init.safetensors, weights.safetensors,
//!                             result.json, norms.json (conv), checkpoint.safetensors, .lock
//! ```

use crate::config::{Plan, Unit};
use serde::{de::DeserializeOwned, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a file of a run directory could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is malformed: {why}", path.display())]
    Malformed { path: PathBuf, why: String },
}

/// A run directory.
#[derive(Clone, Debug, PartialEq)]
pub struct RunDir(PathBuf);

/// The directory of one network of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitDir(PathBuf);

impl RunDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self(path.into())
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn config(&self) -> PathBuf {
        self.0.join("config.toml")
    }

    pub fn data(&self) -> PathBuf {
        self.0.join("data.safetensors")
    }

    pub fn summary(&self) -> PathBuf {
        self.0.join("summary.json")
    }

    pub fn analysis(&self) -> PathBuf {
        self.0.join("analysis.json")
    }

    pub fn report(&self) -> PathBuf {
        self.0.join("report.html")
    }

    pub fn lock(&self) -> PathBuf {
        self.0.join(".lock")
    }

    pub fn figures(&self) -> PathBuf {
        self.0.join("figures")
    }

    /// figures/NAME.EXT.
    pub fn figure(&self, name: &str, ext: &str) -> PathBuf {
        self.figures().join(format!("{name}.{ext}"))
    }

    /// The directory of a network of the sweep `plan`.
    pub fn unit(&self, plan: &Plan, unit: Unit) -> UnitDir {
        UnitDir(self.0.join(plan.unit_dir(unit)))
    }
}

impl UnitDir {
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The initial weights.
    pub fn init(&self) -> PathBuf {
        self.0.join("init.safetensors")
    }

    /// The trained weights (fully connected nets).
    pub fn weights(&self) -> PathBuf {
        self.0.join("weights.safetensors")
    }

    /// The outcome; its presence means the network has finished.
    pub fn result(&self) -> PathBuf {
        self.0.join("result.json")
    }

    /// The layer norms (conv nets).
    pub fn norms(&self) -> PathBuf {
        self.0.join("norms.json")
    }

    /// A training paused inside the depth.
    pub fn checkpoint(&self) -> PathBuf {
        self.0.join("checkpoint.safetensors")
    }

    pub fn lock(&self) -> PathBuf {
        self.0.join(".lock")
    }

    pub fn finished(&self) -> bool {
        self.result().exists()
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, named by
/// `writer` (unique among the processes that share the directory, e.g. host and pid), then a
/// rename, so that a crash leaves either the old file or the new one.
pub fn write_atomic(path: &Path, bytes: &[u8], writer: &str) -> Result<(), FileError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or("file".into(), |n| n.to_string_lossy());
    let tmp = dir.join(format!(".{name}.tmp-{writer}"));
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|source| FileError::Io {
        action: "writing",
        path: path.to_path_buf(),
        source,
    })
}

/// `value` as pretty JSON with a final newline.
pub fn json_text(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("a serialisable value");
    text.push('\n');
    text
}

/// Reads and parses a JSON file, naming the file in any error.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, FileError> {
    let text = fs::read_to_string(path).map_err(|source| FileError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| FileError::Malformed {
        path: path.to_path_buf(),
        why: e.to_string(),
    })
}
