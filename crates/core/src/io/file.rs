//! Files written atomically and JSON read with the file named in its errors: how every file
//! of a run directory ([`crate::sweep::run_dir`]) and of a phase directory is written.

use serde::{de::DeserializeOwned, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a file could not be read or written.
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
