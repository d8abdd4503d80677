//! The pool of `native sweep --jobs N`: several networks trained at once when one does not
//! fill the machine. The networks come in the order given (a sweep gives them largest first,
//! by the shard planner's cost L × Tmax); each asks for the threads its size needs
//! ([`scaling_core::train::fused::threads_for`] with N cores) and starts once that many of
//! the N are free, so that at most N threads compute at any time. A network's thread count
//! does not depend on what runs beside it, so neither do its numbers.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// The most threads `--jobs` takes.
pub const MAX_JOBS: usize = 4096;

/// `--jobs N`: threads that train at once (a help text shared by the commands that take it).
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub struct JobsArg {
    /// Threads that train at once: several networks side by side when one does not fill
    /// them (each network's numbers do not depend on its neighbours). Default: every core.
    #[arg(long, value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_JOBS as u64))]
    jobs: Option<usize>,
}

impl JobsArg {
    /// The threads: as given, else every core this process may use.
    pub fn get(self) -> usize {
        self.jobs.unwrap_or_else(scaling_core::parallel::cores)
    }
}

/// The pool's N threads: how many are free, and which item starts next.
struct Threads {
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    free: usize,
    /// The next item to start: items start strictly in order, so that a large item waiting
    /// for threads is not overtaken by the small ones behind it.
    turn: usize,
}

/// Threads taken from [`Threads`], given back when dropped.
struct Taken<'a> {
    threads: &'a Threads,
    count: usize,
}

impl Threads {
    /// Waits for the turn of item `index` and for `count` free threads; takes them.
    fn take(&self, index: usize, count: usize) -> Taken<'_> {
        let mut state = self.state.lock().expect("the pool's lock");
        while state.turn != index || state.free < count {
            state = self.changed.wait(state).expect("the pool's lock");
        }
        state.free -= count;
        state.turn += 1;
        self.changed.notify_all();
        Taken {
            threads: self,
            count,
        }
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        self.threads.state.lock().expect("the pool's lock").free += self.count;
        self.threads.changed.notify_all();
    }
}

/// Runs `work` on every item, in the items' order, on `jobs` threads: an item starts once
/// the items before it have started and `threads(item)` (at most `jobs`) threads are free.
/// After an item fails no new item starts; those running finish. The errors, in the items'
/// order.
pub fn run_all<T: Sync, E: Send>(
    items: &[T],
    jobs: usize,
    threads: impl Fn(&T) -> usize + Sync,
    work: impl Fn(&T) -> Result<(), E> + Sync,
) -> Vec<E> {
    let jobs = jobs.max(1);
    let pool = Threads {
        state: Mutex::new(State {
            free: jobs,
            turn: 0,
        }),
        changed: Condvar::new(),
    };
    let (next, failed) = (AtomicUsize::new(0), AtomicBool::new(false));
    let errors = Mutex::new(Vec::new());
    let slot = || loop {
        let index = next.fetch_add(1, Ordering::SeqCst);
        if index >= items.len() {
            return;
        }
        let _taken = pool.take(index, threads(&items[index]).clamp(1, jobs));
        if failed.load(Ordering::SeqCst) {
            continue;
        }
        if let Err(e) = work(&items[index]) {
            failed.store(true, Ordering::SeqCst);
            errors.lock().expect("the errors' lock").push((index, e));
        }
    };
    let slots = jobs.min(items.len());
    std::thread::scope(|scope| {
        for _ in 1..slots {
            scope.spawn(slot);
        }
        slot();
    });
    let mut errors = errors.into_inner().expect("the errors' lock");
    errors.sort_by_key(|(index, _)| *index);
    errors.into_iter().map(|(_, e)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Runs items that hold their threads for `ms[i]` milliseconds; the most threads busy
    /// at once, and when each item started and ended.
    fn busy(threads: &[usize], ms: &[u64], jobs: usize) -> (usize, Vec<(Instant, Instant)>) {
        let (busy, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let times = Mutex::new(vec![None; threads.len()]);
        let items: Vec<usize> = (0..threads.len()).collect();
        let errors: Vec<()> = run_all(
            &items,
            jobs,
            |&i| threads[i],
            |&i| {
                let (start, count) = (Instant::now(), threads[i].clamp(1, jobs));
                let now = busy.fetch_add(count, Ordering::SeqCst) + count;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(ms[i]));
                busy.fetch_sub(count, Ordering::SeqCst);
                times.lock().unwrap()[i] = Some((start, Instant::now()));
                Ok(())
            },
        );
        assert!(errors.is_empty());
        let times = times.into_inner().unwrap();
        (
            most.into_inner(),
            times.into_iter().map(|t| t.expect("ran")).collect(),
        )
    }

    #[test]
    fn never_more_threads_than_jobs_and_small_items_side_by_side() {
        let (most, _) = busy(&[3, 1, 2, 1, 1, 1, 4, 1], &[20; 8], 3);
        assert!(most <= 3, "{most} threads busy with 3 jobs");
        let (most, _) = busy(&[1; 6], &[50; 6], 3);
        assert!(most >= 2, "small items run side by side");
        let (most, _) = busy(&[1; 6], &[5; 6], 1);
        assert_eq!(most, 1);
    }

    #[test]
    fn a_large_item_waiting_for_threads_is_not_overtaken() {
        // Item 1 needs both threads; item 2, behind it, must not start beside item 0.
        let (_, times) = busy(&[1, 2, 1], &[100, 10, 10], 2);
        assert!(
            times[1].0 >= times[0].1,
            "item 1 started when item 0 gave its thread"
        );
        assert!(times[2].0 >= times[1].0, "item 2 did not overtake item 1");
        assert!(times[2].0 >= times[0].1);
    }

    #[test]
    fn after_a_failure_nothing_new_starts_and_every_error_is_returned() {
        let done = AtomicUsize::new(0);
        let items: Vec<usize> = (0..20).collect();
        let errors = run_all(
            &items,
            2,
            |_| 1,
            |&i| {
                std::thread::sleep(Duration::from_millis(5));
                done.fetch_add(1, Ordering::SeqCst);
                if i == 3 || i == 4 {
                    Err(i)
                } else {
                    Ok(())
                }
            },
        );
        assert!(errors.starts_with(&[3]), "{errors:?}");
        assert!(
            done.into_inner() < 20,
            "items after the failure did not start"
        );
    }
}
