//! A sweep's run directory: the name of every file in it, in one place (they are written
//! atomically and read by [`crate::io::file`]).
//!
//! ```text
//! DIR/config.toml             the sweep's config        DIR/summary.json   derived, once all finished
//! DIR/data.safetensors        the data set              DIR/analysis.json  native analyze
//! DIR/.lock                   held while preparing      DIR/report.html    native report
//! DIR/figures/NAME.svg, .png  the figures
//! DIR/depth_<L>[/seed_<s>]/   one network (a unit): init.safetensors, weights.safetensors,
//!                             result.json, norms.json (conv), checkpoint.safetensors, .lock
//! ```

use crate::sweep::config::{Plan, Unit};
use std::path::{Path, PathBuf};

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
