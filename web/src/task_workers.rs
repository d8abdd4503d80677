//! The training task on the CPU: the plan's depths dealt to the page's workers, largest first
//! ([`deal_depths`]), each worker training its depths round-robin one chunk at a time
//! ([`Job::Chunk`]); the main thread only gathers their reports, builds the snapshots (with
//! core's analysis) and draws. Pause stops dealing chunks; Reset stops the workers.

use crate::browser::{now, sleep};
use crate::run::{deal_depths, snapshot, DepthReport};
use crate::task::{fail, paused, Outputs, Status, SNAPSHOT_EVERY, SNAPSHOT_SHARE, TASK};
use crate::worker::{self, Job, Pool, Reply};
use futures::future::join_all;
use leptos::prelude::Set;
use scaling_core::data::synthetic::Dataset;
use scaling_core::model::weights::Weights;
use scaling_core::sweep::config::{Plan, SweepConfig};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

/// What the page has of a run: each depth's latest report and the latest weights read of it
/// (with when), when the run started, and when the last snapshot was shown and what it cost,
/// in seconds.
struct Gathered {
    started: f64,
    reports: RefCell<BTreeMap<usize, DepthReport>>,
    weights: RefCell<BTreeMap<usize, (f64, Weights)>>,
    shown: Cell<f64>,
    cost: Cell<f64>,
}

impl Gathered {
    /// Whether the next chunk of `depth` should bring its weights: every
    /// [`SNAPSHOT_EVERY`] seconds.
    fn weights_due(&self, depth: usize) -> bool {
        let read = self.weights.borrow().get(&depth).map(|w| w.0);
        read.is_none_or(|t| now() - t > SNAPSHOT_EVERY)
    }

    fn record(&self, mut report: DepthReport) {
        let depth = report.result.depth;
        if let Some(weights) = report.weights.take() {
            self.weights.borrow_mut().insert(depth, (now(), weights));
        }
        self.reports.borrow_mut().insert(depth, report);
    }

    /// Shows a snapshot of every depth of `plan`, once each has sent its weights, at most
    /// every [`SNAPSHOT_EVERY`] seconds and at most [`SNAPSHOT_SHARE`] of the time, or at
    /// once when `now` (the end).
    fn publish(&self, plan: &Plan, data: &Dataset, out: Outputs, now_: bool) {
        let wait = SNAPSHOT_EVERY.max(self.cost.get() * (1.0 - SNAPSHOT_SHARE) / SNAPSHOT_SHARE);
        if !now_ && now() - self.shown.get() <= wait {
            return;
        }
        let (reports, weights) = (self.reports.borrow(), self.weights.borrow());
        let depths: Option<Vec<(DepthReport, Weights)>> = plan
            .depths
            .iter()
            .map(|l| Some((reports.get(l)?.clone(), weights.get(l)?.1.clone())))
            .collect();
        let Some(depths) = depths else {
            return;
        };
        let start = now();
        // The depths train side by side: the time spent is the time since the start.
        out.snapshot
            .set(snapshot(plan, data, depths, start - self.started));
        self.shown.set(now());
        self.cost.set(now() - start);
    }
}

/// Trains every depth of `plan` (whose sweep is `config`) on `n` workers until all have
/// stopped, a worker fails, or a newer generation than `mine` (Reset, Start) ends it.
pub async fn drive(
    (plan, config): (Plan, SweepConfig),
    data: Dataset,
    n: usize,
    out: Outputs,
    mine: u32,
) {
    let pool = match worker::start(TASK, n, mine).await {
        Ok(Some(pool)) => pool,
        Ok(None) => return,
        Err(e) => return fail(out, e),
    };
    pool.share(&data);
    out.workers.set(Some(n));
    let gathered = Gathered {
        started: now(),
        reports: RefCell::new(BTreeMap::new()),
        weights: RefCell::new(BTreeMap::new()),
        shown: Cell::new(f64::NEG_INFINITY),
        cost: Cell::new(0.0),
    };
    let lane = Lane {
        pool: &pool,
        config: &config,
        plan: &plan,
        data: &data,
        gathered: &gathered,
        out,
        mine,
    };
    let dealt = deal_depths(&plan.depths, n);
    let lanes = dealt
        .into_iter()
        .enumerate()
        .map(|(worker, depths)| lane.train(worker, depths));
    let ended: Result<(), String> = join_all(lanes).await.into_iter().collect();
    if TASK.current() != mine {
        return;
    }
    worker::stop(TASK);
    match ended {
        Ok(()) => {
            gathered.publish(&plan, &data, out, true);
            out.status.set(Status::Finished);
        }
        Err(e) => fail(out, e),
    }
}

/// What every worker's lane shares.
#[derive(Clone, Copy)]
struct Lane<'a> {
    pool: &'a Pool,
    config: &'a SweepConfig,
    plan: &'a Plan,
    data: &'a Dataset,
    gathered: &'a Gathered,
    out: Outputs,
    mine: u32,
}

impl Lane<'_> {
    /// Trains `depths` on `worker`, round-robin a chunk at a time, waiting while paused,
    /// until every one has stopped (or the run ended).
    async fn train(self, worker: usize, mut depths: Vec<usize>) -> Result<(), String> {
        while !depths.is_empty() {
            for depth in depths.clone() {
                while paused() && TASK.current() == self.mine {
                    sleep(100).await;
                }
                if TASK.current() != self.mine {
                    return Ok(());
                }
                let job = Job::Chunk {
                    config: Box::new(self.config.clone()),
                    depth,
                    weights: self.gathered.weights_due(depth),
                };
                let reply = self.pool.call(worker, &job).await;
                if TASK.current() != self.mine {
                    return Ok(());
                }
                let report = match reply? {
                    Reply::Depth(report) => report,
                    Reply::Failed(e) => return Err(format!("worker {worker}: {e}")),
                    _ => return Err(format!("worker {worker}: not a depth's report")),
                };
                if report.stop.is_some() {
                    depths.retain(|&l| l != depth);
                }
                self.gathered.record(report);
                self.gathered.publish(self.plan, self.data, self.out, false);
            }
        }
        Ok(())
    }
}
