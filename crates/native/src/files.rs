//! Files written atomically by this process (core's [`scaling_core::io::file`], with the
//! temporary file named by host and pid: shards on several nodes write into one directory).

use anyhow::Result;
use scaling_core::io::file;
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
