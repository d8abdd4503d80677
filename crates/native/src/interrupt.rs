//! Ctrl-C (SIGINT), SIGTERM and SIGUSR1 (what Slurm sends before a time limit or a
//! preemption, `--signal=USR1@120`). While a training that can be checkpointed runs (a
//! [`Section::pausable`]), a signal is recorded and the training pauses at its next update,
//! writes its checkpoint and ends with [`Interrupted`]: exit status 128 + the signal's number
//! (130 for Ctrl-C). In a training that cannot be checkpointed ([`Section::uncheckpointed`])
//! USR1 ends the process with status 1. Anywhere else a signal ends it at once with 128 + its
//! number, as it would without a handler; every file of a run directory is written
//! atomically, and a dead holder's locks are taken over, so nothing is lost but the work since
//! the last checkpoint.

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

/// How many sections of each kind are open: several networks may train at once
/// (`native sweep --jobs`).
static PAUSABLE: AtomicUsize = AtomicUsize::new(0);
static UNCHECKPOINTED: AtomicUsize = AtomicUsize::new(0);
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Why a training that cannot be checkpointed ends at USR1 without asking for a requeue.
const NO_REQUEUE: &[u8] = b"SIGUSR1 (a time limit near): this network cannot be checkpointed inside a depth (CIFAR-10), and a requeue would start it again; exiting 1. Give the tasks a --time longer than the largest depth takes.\n";

extern "C" fn on_signal(signal: libc::c_int) {
    if PAUSABLE.load(Ordering::SeqCst) > 0 {
        SIGNAL.store(signal, Ordering::SeqCst);
    } else if signal == libc::SIGUSR1 && UNCHECKPOINTED.load(Ordering::SeqCst) > 0 {
        // SAFETY: write and _exit are async-signal-safe.
        unsafe {
            libc::write(2, NO_REQUEUE.as_ptr().cast(), NO_REQUEUE.len());
            libc::_exit(1)
        }
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

/// A section of a training, while its guard lives: a checkpointed one
/// ([`Section::pausable`]) or one that cannot be ([`Section::uncheckpointed`]). While any
/// pausable section is open, a signal pauses every one of them.
pub struct Section(&'static AtomicUsize);

impl Section {
    /// A training that can be checkpointed: a signal pauses it instead of ending the process.
    pub fn pausable() -> Self {
        Self::enter(&PAUSABLE)
    }

    /// A training that cannot be checkpointed (the conv ResNet's): USR1 ends it with status
    /// 1, so that a Slurm task is not requeued only to start the same depth again.
    pub fn uncheckpointed() -> Self {
        Self::enter(&UNCHECKPOINTED)
    }

    fn enter(open: &'static AtomicUsize) -> Self {
        open.fetch_add(1, Ordering::SeqCst);
        Section(open)
    }
}

impl Drop for Section {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
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
