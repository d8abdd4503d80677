//! [`Team`]: threads kept between jobs, for work split into a few parts many times a second
//! (a training step of a few hundred microseconds). Starting threads for every job costs tens
//! of microseconds, and waking an idle core far more inside a virtual machine; a team's
//! threads wait for the next job spinning for a while ([`SPIN`]), then asleep.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// Rounds of `spin_loop` a waiting thread spins before it sleeps (some tens of microseconds).
const SPIN: usize = 1 << 15;

/// A job as the team's threads see it: the caller's `&dyn Fn(usize)`, its lifetime erased
/// (sound because [`Team::run`] returns only once every thread is done with it).
#[derive(Clone, Copy)]
struct JobRef(*const (dyn Fn(usize) + Sync));

// SAFETY: the closure is `Sync`, and it outlives every use (see `JobRef`).
unsafe impl Send for JobRef {}

struct Shared {
    /// Jobs posted so far; a thread runs the job of every new value.
    posted: AtomicUsize,
    /// Threads done with the current job.
    done: AtomicUsize,
    job: Mutex<Option<JobRef>>,
    panicked: AtomicBool,
    stop: AtomicBool,
    /// Where waiting threads sleep after their spin.
    sleep: Mutex<()>,
    wake: Condvar,
}

/// The caller and `helpers` threads, running one job at a time: [`Team::run`] calls f(0) on
/// the caller's thread and f(1), …, f(helpers) on the others.
pub struct Team {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Team {
    /// A team of the caller and `helpers` threads (none spawned for 0, as in wasm).
    pub fn new(helpers: usize) -> Self {
        let shared = Arc::new(Shared {
            posted: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            job: Mutex::new(None),
            panicked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
        });
        let threads = (1..=helpers)
            .map(|index| {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || helper(&shared, index))
            })
            .collect();
        Self { shared, threads }
    }

    /// The threads of a job: the caller and the helpers.
    pub fn size(&self) -> usize {
        self.threads.len() + 1
    }

    /// f(i) for every i < [`Team::size`], at once; returns when all are done. Panics if one
    /// of them did.
    pub fn run(&self, f: &(dyn Fn(usize) + Sync)) {
        if self.threads.is_empty() {
            return f(0);
        }
        let shared = &*self.shared;
        // SAFETY: only the lifetime is erased; this function waits below until every helper
        // is done with the job, and clears it.
        let job = JobRef(unsafe {
            std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), *const (dyn Fn(usize) + Sync)>(
                f,
            )
        });
        *shared.job.lock().expect("team lock") = Some(job);
        shared.done.store(0, Ordering::Relaxed);
        shared.posted.fetch_add(1, Ordering::Release);
        drop(shared.sleep.lock().expect("team lock"));
        shared.wake.notify_all();
        let own = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(0)));
        while shared.done.load(Ordering::Acquire) < self.threads.len() {
            std::hint::spin_loop();
        }
        *shared.job.lock().expect("team lock") = None;
        if let Err(panic) = own {
            std::panic::resume_unwind(panic);
        }
        assert!(
            !shared.panicked.swap(false, Ordering::Relaxed),
            "a thread of the team panicked"
        );
    }
}

/// A helper's life: wait for a job, run its part, count it done.
fn helper(shared: &Shared, index: usize) {
    let mut seen = 0;
    loop {
        seen = wait_for_job(shared, seen);
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        let job = shared.job.lock().expect("team lock").expect("a posted job");
        // SAFETY: `Team::run` keeps the closure alive until this thread counts itself done.
        let f = unsafe { &*job.0 };
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(index))).is_err() {
            shared.panicked.store(true, Ordering::Relaxed);
        }
        shared.done.fetch_add(1, Ordering::Release);
    }
}

/// Waits until more than `seen` jobs are posted (spinning, then asleep); returns the count.
fn wait_for_job(shared: &Shared, seen: usize) -> usize {
    for _ in 0..SPIN {
        let posted = shared.posted.load(Ordering::Acquire);
        if posted != seen {
            return posted;
        }
        std::hint::spin_loop();
    }
    let mut guard = shared.sleep.lock().expect("team lock");
    loop {
        let posted = shared.posted.load(Ordering::Acquire);
        if posted != seen {
            return posted;
        }
        guard = shared.wake.wait(guard).expect("team lock");
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.posted.fetch_add(1, Ordering::Release);
        drop(self.shared.sleep.lock().expect("team lock"));
        self.shared.wake.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once_per_job_and_panics_reach_the_caller() {
        let team = Team::new(3);
        assert_eq!(team.size(), 4);
        let counts: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
        for round in 0..200 {
            // Some rounds after a pause long enough for the helpers to sleep.
            if round % 50 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            team.run(&|i| {
                counts[i].fetch_add(1, Ordering::Relaxed);
            });
        }
        assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 200));
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            team.run(&|i| assert_ne!(i, 2, "part 2 fails"))
        }));
        assert!(panicked.is_err());
        // The team still works after a panic.
        let total = AtomicUsize::new(0);
        team.run(&|i| {
            total.fetch_add(i, Ordering::Relaxed);
        });
        assert_eq!(total.load(Ordering::Relaxed), 6);
    }
}
