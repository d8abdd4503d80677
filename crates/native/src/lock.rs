//! One writer at a time: a lock file (a run directory's `.lock`; with sharded sweeps, one
//! per unit) created with O_EXCL and holding its holder, `host`, `pid` and start time.
//!
//! The holder also keeps an advisory lock (flock) on the file while it runs, which the
//! kernel drops when the process ends however it ends: a second process on this host that
//! finds the file either fails to take the flock (a live holder: it refuses, naming it) or
//! takes it (the holder has died: it takes the lock over). A lock held on another host is
//! reported, never taken over: whether that process lives cannot be known from here.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Who holds a lock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    /// Seconds since the Unix epoch.
    pub started: u64,
    /// The Slurm job (array job and task) it runs in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_job: Option<String>,
}

impl Holder {
    fn this_process() -> Self {
        Self {
            host: host_name(),
            pid: std::process::id(),
            started: unix_seconds(),
            slurm_job: slurm_job(),
        }
    }

    /// Whether the holder has ended, as far as this process can know: it ran on this host
    /// (and its flock is free), or it ran in this very Slurm job, which Slurm runs once at a
    /// time (a requeued task finds its previous run's locks, maybe from another node).
    fn ended(&self) -> bool {
        self.host == host_name() || (self.slurm_job.is_some() && self.slurm_job == slurm_job())
    }

    /// "pid P on host H, started N s ago".
    pub fn describe(&self) -> String {
        format!(
            "pid {} on host {}, started {} s ago",
            self.pid,
            self.host,
            unix_seconds().saturating_sub(self.started)
        )
    }
}

/// Seconds since the Unix epoch, now.
fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |t| t.as_secs())
}

/// The Slurm job this process runs in: "<array job>_<task>" in an array, else the job id.
fn slurm_job() -> Option<String> {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
        (Some(job), Some(task)) => Some(format!("{job}_{task}")),
        _ => var("SLURM_JOB_ID"),
    }
}

/// This machine's name (Linux: the kernel's; elsewhere $HOSTNAME).
pub fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The refusal of a lock that another process holds (or may hold: on another host).
#[derive(Debug)]
pub struct InUse(pub String);

impl std::fmt::Display for InUse {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InUse {}

/// Who holds the lock at `path`, without taking it: `Some` for a live holder on this host
/// and for any holder on another host (whether it lives cannot be known from here), `None`
/// when there is no lock or its holder has ended.
pub fn holder(path: &Path) -> Option<Holder> {
    let mut file = File::open(path).ok()?;
    let holder = read_holder(&mut file).ok()?;
    let live = matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock));
    match holder {
        Some(h) if live || !h.ended() => Some(h),
        _ => None,
    }
}

/// The holder written in a lock file; `None` when the file holds none (a writer killed
/// between creating and writing it).
fn read_holder(file: &mut File) -> std::io::Result<Option<Holder>> {
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(serde_json::from_str(&text).ok())
}

/// A held lock; dropping it removes the file.
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
}

impl Lock {
    /// Takes the lock at `path` for `what` (named in the refusal), or refuses with one line
    /// naming the live holder.
    pub fn acquire(path: &Path, what: &str) -> Result<Lock> {
        // A lock released or taken over between our look and our claim: look again.
        for _ in 0..16 {
            if let Some(lock) = Self::try_acquire(path, what)? {
                return Ok(lock);
            }
        }
        bail!(
            "{what} is in use: its lock {} keeps changing hands",
            path.display()
        )
    }

    /// As [`Lock::acquire`], but while another process holds the lock, waits for it (up to
    /// `timeout`, saying so after a few seconds).
    pub fn wait(path: &Path, what: &str, timeout: Duration) -> Result<Lock> {
        let start = Instant::now();
        let mut told = false;
        loop {
            match Self::acquire(path, what) {
                Err(e) if e.downcast_ref::<InUse>().is_some() && start.elapsed() < timeout => {
                    if !told && start.elapsed() > Duration::from_secs(3) {
                        eprintln!("waiting: {e}");
                        told = true;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                result => return result,
            }
        }
    }

    /// The lock, or `None` when the file changed under us (try again).
    fn try_acquire(path: &Path, what: &str) -> Result<Option<Lock>> {
        let locking = || format!("locking {}", path.display());
        match OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(file) => {
                if file.try_lock().is_err() {
                    // Taken over by another process before our flock: it holds it now.
                    return Ok(None);
                }
                return Lock::hold(file, path).map(Some);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(locking),
        }
        let mut file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(locking),
        };
        let held = match file.try_lock() {
            Ok(()) => false,
            Err(TryLockError::WouldBlock) => true,
            Err(TryLockError::Error(e)) => return Err(e).with_context(locking),
        };
        let holder = read_holder(&mut file).with_context(locking)?;
        if held {
            let who = holder.map_or("another process".into(), |h| h.describe());
            return Err(InUse(format!(
                "{what} is in use by {who} (lock {})",
                path.display()
            ))
            .into());
        }
        if !same_file(&file, path) {
            return Ok(None);
        }
        match holder {
            Some(h) if !h.ended() => {
                return Err(InUse(format!(
                    "{what} is locked by {} (lock {}); remove the lock if that process has ended",
                    h.describe(),
                    path.display()
                ))
                .into())
            }
            Some(h) => eprintln!(
                "taking over the lock of {}: that process has ended",
                h.describe()
            ),
            None => {}
        }
        file.rewind().with_context(locking)?;
        Lock::hold(file, path).map(Some)
    }

    /// Writes this process into the flocked `file` at `path`.
    fn hold(mut file: File, path: &Path) -> Result<Lock> {
        let text = serde_json::to_string(&Holder::this_process())?;
        file.set_len(0)
            .and_then(|()| file.write_all(text.as_bytes()))
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(Lock {
            file,
            path: path.to_path_buf(),
        })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if same_file(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Whether `path` still names the open `file` (it may have been removed and made anew).
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("native-lock-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_live_holder_refuses_and_release_frees() {
        let dir = scratch("live");
        let path = dir.join(".lock");
        let lock = Lock::acquire(&path, "the run").unwrap();
        let holder_now: Holder = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(holder_now.pid, std::process::id());
        let err = Lock::acquire(&path, "the run").unwrap_err();
        assert!(err.downcast_ref::<InUse>().is_some());
        let err = err.to_string();
        assert!(err.contains("the run is in use by pid"), "{err}");
        assert!(err.contains(".lock"), "{err}");
        assert_eq!(holder(&path), Some(holder_now));
        drop(lock);
        assert!(!path.exists());
        assert_eq!(super::holder(&path), None);
        drop(Lock::acquire(&path, "the run").unwrap());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_dead_holder_on_this_host_is_taken_over_another_host_is_not() {
        let dir = scratch("dead");
        let path = dir.join(".lock");
        // A lock file that no process holds: its writer died.
        let dead = Holder {
            pid: 999_999_999,
            ..Holder::this_process()
        };
        fs::write(&path, serde_json::to_string(&dead).unwrap()).unwrap();
        assert_eq!(holder(&path), None, "a dead holder holds nothing");
        let lock = Lock::acquire(&path, "the run").unwrap();
        let holder: Holder = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(holder.pid, std::process::id());
        drop(lock);
        // An empty file (a writer killed between creating and writing it) is taken over too.
        fs::write(&path, "").unwrap();
        drop(Lock::acquire(&path, "the run").unwrap());

        let remote = Holder {
            host: "elsewhere".into(),
            ..dead
        };
        fs::write(&path, serde_json::to_string(&remote).unwrap()).unwrap();
        assert_eq!(super::holder(&path), Some(remote.clone()));
        let err = Lock::acquire(&path, "the run").unwrap_err().to_string();
        assert!(err.contains("on host elsewhere"), "{err}");
        assert!(err.contains("remove the lock"), "{err}");
        assert!(path.exists(), "another host's lock is left alone");
        // The same Slurm job, requeued (maybe onto another node), takes its old lock over.
        let requeued = Holder {
            slurm_job: Some("77_1".into()),
            ..remote
        };
        fs::write(&path, serde_json::to_string(&requeued).unwrap()).unwrap();
        assert!(Lock::acquire(&path, "the run").is_err(), "another job's");
        // No other test of this binary reads these variables.
        std::env::set_var("SLURM_ARRAY_JOB_ID", "77");
        std::env::set_var("SLURM_ARRAY_TASK_ID", "1");
        let taken = Lock::acquire(&path, "the run");
        std::env::remove_var("SLURM_ARRAY_JOB_ID");
        std::env::remove_var("SLURM_ARRAY_TASK_ID");
        drop(taken.expect("this job's own lock, from before its requeue"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
