//! Files written atomically by this process (core's [`scaling_core::io::file`], with the
//! temporary file named by host and pid: shards on several nodes write into one directory).

use anyhow::{Context, Result};
use scaling_core::io::file;
use std::fs;
use std::path::Path;

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let writer = format!("{}-{}", crate::lock::host_name(), std::process::id());
    Ok(file::write_atomic(path, bytes, &writer)?)
}

/// Writes `value` as pretty JSON, atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    write_atomic(path, file::json_text(value).as_bytes())
}

/// Reads and parses a JSON file, naming the file in any error.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    Ok(file::read_json(path)?)
}

/// Reads and parses a TOML file; a parse error is one line with its line and column.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_column(&text, s.start));
        anyhow::anyhow!(
            "{}:{line}:{column}: {}",
            path.display(),
            crate::text::one_line(e.message().trim(), 200)
        )
    })
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset.min(text.len()))];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("native-files-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.json");
        write_json(&path, &vec![1, 2]).unwrap();
        write_json(&path, &vec![3]).unwrap();
        assert_eq!(read_json::<Vec<i32>>(&path).unwrap(), vec![3]);
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
        fs::write(&path, "{ not json").unwrap();
        let err = read_json::<Vec<i32>>(&path).unwrap_err();
        assert!(
            format!("{err:#}").contains("a.json is malformed"),
            "{err:#}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
