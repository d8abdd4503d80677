//! [`last_level_cache_bytes`]: the size of the CPU's last-level cache.

/// The size in bytes of the CPU's last-level cache, from Linux's sysfs (`None` where unknown:
/// other systems, wasm).
pub fn last_level_cache_bytes() -> Option<usize> {
    let dir = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
    let read = |index: &std::path::Path, name: &str| std::fs::read_to_string(index.join(name));
    let caches = std::fs::read_dir(dir).ok()?.filter_map(|entry| {
        let index = entry.ok()?.path();
        let level: u32 = read(&index, "level").ok()?.trim().parse().ok()?;
        Some((level, cache_bytes(&read(&index, "size").ok()?)?))
    });
    caches.max().map(|(_, bytes)| bytes)
}

/// Bytes of a sysfs cache size: "48K", "300M", "512".
fn cache_bytes(size: &str) -> Option<usize> {
    let size = size.trim();
    let shift = match size.chars().last()? {
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => 0,
    };
    let digits = if shift == 0 {
        size
    } else {
        &size[..size.len() - 1]
    };
    digits.parse::<usize>().ok().map(|n| n << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_read_as_sysfs_writes_them() {
        assert_eq!(cache_bytes("48K\n"), Some(48 << 10));
        assert_eq!(cache_bytes("307200K"), Some(300 << 20));
        assert_eq!(cache_bytes("2M"), Some(2 << 20));
        assert_eq!(cache_bytes("512"), Some(512));
        assert_eq!(cache_bytes("K"), None);
        assert_eq!(cache_bytes(""), None);
        if let Some(bytes) = last_level_cache_bytes() {
            assert!(bytes >= 1 << 10, "a last-level cache of {bytes} bytes");
        }
    }
}
