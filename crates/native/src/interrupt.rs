//! Ctrl-C (SIGINT), SIGTERM and SIGUSR1 (what Slurm sends before a time limit or a
//! preemption, `--signal=USR1@120`). While a training that can be checkpointed runs (a
//! [`Pausable`] section), a signal is recorded and the training pauses at its next update,
//! writes its checkpoint and ends with [`Interrupted`]: exit status 128 + the signal's number
//! (130 for Ctrl-C). Anywhere else the process ends at once with that status, as it would
//! without a handler; every file of a run directory is written atomically, and a dead
//! holder's locks are taken over, so nothing is lost but the work since the last checkpoint.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static PAUSABLE: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    if PAUSABLE.load(Ordering::SeqCst) {
        SIGNAL.store(signal, Ordering::SeqCst);
    } else {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + signal) }
    }
}

/// Handles SIGINT, SIGTERM and SIGUSR1 as the module says, from now on.
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGUSR1] {
        // SAFETY: the handler only touches atomics or calls _exit.
        unsafe { libc::signal(signal, on_signal as *const () as libc::sighandler_t) };
    }
}

/// A section in which a signal pauses the training instead of ending the process.
pub struct Pausable(());

impl Pausable {
    pub fn enter() -> Self {
        PAUSABLE.store(true, Ordering::SeqCst);
        Pausable(())
    }
}

impl Drop for Pausable {
    fn drop(&mut self) {
        PAUSABLE.store(false, Ordering::SeqCst);
    }
}

/// The signal received, if any.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// A training paused by a signal, its checkpoint written.
#[derive(Debug)]
pub struct Interrupted {
    pub signal: i32,
    /// What was saved and how to resume.
    pub message: String,
}

impl Interrupted {
    /// The exit status: 128 + the signal's number.
    pub fn status(&self) -> u8 {
        (128 + self.signal).clamp(0, 255) as u8
    }
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Interrupted {}
