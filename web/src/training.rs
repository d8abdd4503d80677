//! What the training view's task shares with its worker driver ([`crate::task`],
//! [`crate::task_workers`]): where a Start is, the signals the task writes, its generation and
//! pause flag, how often it shows a snapshot, and how a Start ends with an error.

use crate::browser::Generation;
use crate::gpu::Chosen;
use crate::view::Snapshot;
use crate::worker;
use leptos::prelude::*;
use std::cell::Cell;

/// Where a Start is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Status {
    Idle,
    Loading,
    /// Timing both engines (engine = auto).
    Timing,
    Running,
    Paused,
    Finished,
}

thread_local! {
    /// Pause flag of the training task.
    static PAUSED: Cell<bool> = const { Cell::new(false) };
}

/// The training task's generation: Reset and Start begin a new one, which ends the old task
/// at its next chunk.
pub const TASK: Generation = Generation::of("training");

/// Whether Pause holds the training.
pub fn paused() -> bool {
    PAUSED.with(Cell::get)
}

/// Holds (Pause) or releases (Start, Reset) the training.
pub fn set_paused(paused: bool) {
    PAUSED.with(|p| p.set(paused));
}

/// The signals the training task writes.
#[derive(Clone, Copy)]
pub struct Outputs {
    pub status: RwSignal<Status>,
    pub snapshot: RwSignal<Snapshot>,
    pub note: RwSignal<String>,
    pub error: RwSignal<Option<String>>,
    /// The engine of the current Start, once chosen.
    pub chosen: RwSignal<Option<Chosen>>,
    /// Training tasks alive (loading, timing or training): one, once a Start has settled (an
    /// older one ends after its data load or its engine timing).
    pub tasks: RwSignal<u32>,
    /// The workers training on the CPU, once started.
    pub workers: RwSignal<Option<usize>>,
}

/// The shortest time between two snapshots, in seconds.
pub const SNAPSHOT_EVERY: f64 = 0.5;

/// The largest share of the page's time spent building snapshots: the analysis, with its
/// denoised evaluation on the whole training set, grows with the networks (about 0.24 s
/// natively for the default settings once trained), and must not slow the training down.
pub const SNAPSHOT_SHARE: f64 = 0.2;

/// The wait before the next snapshot (or analysis) after one that took `cost` seconds, so that
/// they take at most `share` of the time and come at most every [`SNAPSHOT_EVERY`] seconds.
pub fn snapshot_wait(cost: f64, share: f64) -> f64 {
    SNAPSHOT_EVERY.max(cost * (1.0 - share) / share)
}

/// Ends a Start with an error shown (its workers stopped).
pub fn fail(out: Outputs, error: String) {
    worker::stop(TASK);
    out.error.set(Some(error));
    out.status.set(Status::Idle);
}
