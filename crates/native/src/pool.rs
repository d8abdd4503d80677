//! The pool of `native sweep --jobs N`: several networks trained at once when one does not
//! fill the machine. The networks come in the order given (a sweep gives them largest first,
//! by the shard planner's cost L × Tmax) and start in that order as threads come free, so
//! that at most N threads compute at any time. Each takes its share of the N by its cost
//! among the networks left (itself and those after it), at least one, at most what its size
//! can use ([`scaling_core::train::fused::threads_for`]) and what is free: networks side by
//! side on one thread each, which wastes nothing, and more threads for a network that is
//! most of what is left (a lone network, or the deepest of a sweep on many cores). A
//! network's numbers do not depend on its thread count (the fused step sums its batch in
//! fixed chunks), so neither on what runs beside it.

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
    /// The next item to start: items start in order, each once a thread is free.
    turn: usize,
}

/// Threads taken from [`Threads`], given back when dropped.
struct Taken<'a> {
    threads: &'a Threads,
    count: usize,
}

impl Threads {
    /// Waits for the turn of item `index` and for a free thread; takes `count` threads, or
    /// as many as are free.
    fn take(&self, index: usize, count: usize) -> Taken<'_> {
        let mut state = self.state.lock().expect("the pool's lock");
        while state.turn != index || state.free == 0 {
            state = self.changed.wait(state).expect("the pool's lock");
        }
        let count = count.clamp(1, state.free);
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

/// Item i's share of `jobs` threads by its cost among the items left: jobs · cost_i /
/// Σ_{j ≥ i} cost_j, rounded, at least 1 and at most `most`.
fn share(jobs: usize, cost: f64, left: f64, most: usize) -> usize {
    let share = if left > 0.0 {
        (jobs as f64 * cost / left).round() as usize
    } else {
        1
    };
    share.clamp(1, most.clamp(1, jobs))
}

/// Runs `work(item, threads)` on every item, in the items' order, on `jobs` threads: an item
/// starts once the items before it have started and a thread is free, and takes its
/// [`share`] of the threads (`threads(item)` the most it can use, `cost(item)` its work, 0
/// for an item with nothing to do), or the free ones if fewer. After an item fails no new
/// item starts; those running finish. The errors, in the items' order.
pub fn run_all<T: Sync, E: Send>(
    items: &[T],
    jobs: usize,
    threads: impl Fn(&T) -> usize + Sync,
    cost: impl Fn(&T) -> f64,
    work: impl Fn(&T, usize) -> Result<(), E> + Sync,
) -> Vec<E> {
    let jobs = jobs.max(1);
    let costs: Vec<f64> = items.iter().map(cost).collect();
    // left[i] = Σ_{j ≥ i} cost_j.
    let mut left: Vec<f64> = costs
        .iter()
        .rev()
        .scan(0.0, |sum, c| {
            *sum += c;
            Some(*sum)
        })
        .collect();
    left.reverse();
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
        let item = &items[index];
        let count = share(jobs, costs[index], left[index], threads(item));
        let taken = pool.take(index, count);
        if failed.load(Ordering::SeqCst) {
            continue;
        }
        if let Err(e) = work(item, taken.count) {
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
    use std::time::Duration;

    /// Runs items that can use `most[i]` threads, cost `cost[i]` and hold their threads for
    /// `ms[i]` milliseconds; the most threads busy at once, and the threads each item took.
    fn busy(most: &[usize], cost: &[f64], ms: &[u64], jobs: usize) -> (usize, Vec<usize>) {
        let (busy, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let taken = Mutex::new(vec![0; most.len()]);
        let items: Vec<usize> = (0..most.len()).collect();
        let errors: Vec<()> = run_all(
            &items,
            jobs,
            |&i| most[i],
            |&i| cost[i],
            |&i, count| {
                let now = busy.fetch_add(count, Ordering::SeqCst) + count;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(ms[i]));
                busy.fetch_sub(count, Ordering::SeqCst);
                taken.lock().unwrap()[i] = count;
                Ok(())
            },
        );
        assert!(errors.is_empty());
        (peak.into_inner(), taken.into_inner().unwrap())
    }

    #[test]
    fn never_more_threads_than_jobs_and_small_items_side_by_side() {
        let (peak, _) = busy(&[3, 1, 2, 1, 1, 1, 4, 1], &[1.0; 8], &[20; 8], 3);
        assert!(peak <= 3, "{peak} threads busy with 3 jobs");
        let (peak, taken) = busy(&[1; 6], &[1.0; 6], &[50; 6], 3);
        assert!(peak >= 2, "small items run side by side");
        assert_eq!(taken, [1; 6]);
        let (peak, _) = busy(&[1; 6], &[1.0; 6], &[5; 6], 1);
        assert_eq!(peak, 1);
    }

    #[test]
    fn threads_follow_the_share_of_the_work_left() {
        // A lone network takes every thread it can use.
        assert_eq!(busy(&[2], &[1.0], &[1], 2).1, [2]);
        assert_eq!(busy(&[3], &[1.0], &[1], 8).1, [3]);
        // Equal networks, more than the threads: one thread each while others wait.
        let (_, taken) = busy(&[2; 4], &[1.0; 4], &[30, 30, 5, 5], 2);
        assert_eq!(taken[..3], [1, 1, 1]);
        // A network that is most of the work takes most of the threads; the next takes the
        // one left. Nothing to do takes one thread.
        let (_, taken) = busy(&[4, 4, 4], &[8.0, 1.0, 1.0], &[40, 1, 1], 4);
        assert_eq!(taken[..2], [3, 1]);
        assert_eq!(busy(&[4, 4], &[0.0, 0.0], &[1, 1], 4).1, [1, 1]);
    }

    #[test]
    fn after_a_failure_nothing_new_starts_and_every_error_is_returned() {
        let done = AtomicUsize::new(0);
        let items: Vec<usize> = (0..20).collect();
        let errors = run_all(
            &items,
            2,
            |_| 1,
            |_| 1.0,
            |&i, _| {
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
