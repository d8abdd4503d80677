//! The training task on the CPU: the plan's depths dealt to the page's workers, largest first
//! ([`deal_depths`]), each worker training its depths round-robin one chunk (about
//! [`CHUNK_SECONDS`]) at a time ([`Job::Chunk`]), and one more worker analysing the weights ([`Job::Analyse`]); the main
//! thread only gathers the reports and draws. Pause stops dealing chunks; Reset stops the
//! workers.

use crate::browser::{now, sleep};
use crate::jobs::{DataSource, Job, Reply};
use crate::run::{deal_depths, snapshot_with, DepthReport};
use crate::training::{
    fail, paused, snapshot_wait, Outputs, Status, SNAPSHOT_EVERY, SNAPSHOT_SHARE, TASK,
};
use crate::worker::{self, Pool};
use futures::future::join_all;
use leptos::prelude::{Set, Update};
use scaling_core::analysis::Analysis;
use scaling_core::model::weights::Weights;
use scaling_core::sweep::config::{Plan, SweepConfig};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

/// How long a worker trains a depth before it reports, in seconds (whole loss intervals, at
/// least one): a chunk of one interval (20 updates of the defaults; well under a millisecond
/// for a shallow net) left the worker waiting for the page's next job most of the time.
const CHUNK_SECONDS: f64 = 0.05;

/// The analysis's largest share of its worker's time when the training workers take every
/// core, so that it takes its time from theirs (with a core to itself, [`SNAPSHOT_SHARE`]):
/// at a fifth, two workers on 2 cores trained the B = 500 case 1.7× faster than one, not 2×.
const BUSY_SHARE: f64 = 0.05;

/// What the page has of a run: each depth's latest report and the latest weights read of it
/// (with when), the latest analysis, when the run started and when the depths were last
/// shown, in seconds, and how many training lanes are still going.
struct Gathered {
    reports: RefCell<BTreeMap<usize, DepthReport>>,
    weights: RefCell<BTreeMap<usize, (f64, Weights)>>,
    analysis: RefCell<Option<Analysis>>,
    started: f64,
    shown: Cell<f64>,
    lanes: Cell<usize>,
}

impl Gathered {
    /// Whether the next chunk of `depth` should bring its weights: every
    /// [`SNAPSHOT_EVERY`] seconds.
    fn weights_due(&self, depth: usize) -> bool {
        let read = self.weights.borrow().get(&depth).map(|w| w.0);
        read.is_none_or(|t| now() - t > SNAPSHOT_EVERY)
    }

    /// How long the next chunk of `depth` trains: one loss interval at first, so that the
    /// figures start from the networks' first losses, then [`CHUNK_SECONDS`].
    fn chunk_seconds(&self, depth: usize) -> f64 {
        if self.reports.borrow().contains_key(&depth) {
            CHUNK_SECONDS
        } else {
            0.0
        }
    }

    fn record(&self, mut report: DepthReport) {
        let depth = report.result.depth;
        if let Some(weights) = report.weights.take() {
            self.weights.borrow_mut().insert(depth, (now(), weights));
        }
        self.reports.borrow_mut().insert(depth, report);
    }

    /// Every depth of `plan` with its latest weights, once each has sent some.
    fn depths(&self, plan: &Plan) -> Option<Vec<(DepthReport, Weights)>> {
        let (reports, weights) = (self.reports.borrow(), self.weights.borrow());
        plan.depths
            .iter()
            .map(|l| Some((reports.get(l)?.clone(), weights.get(l)?.1.clone())))
            .collect()
    }

    /// Shows the depths with the latest analysis, at most every [`SNAPSHOT_EVERY`] seconds,
    /// or at once when `now_` (the end).
    fn show(&self, plan: &Plan, out: Outputs, now_: bool) {
        if !now_ && now() - self.shown.get() <= SNAPSHOT_EVERY {
            return;
        }
        let Some(depths) = self.depths(plan) else {
            return;
        };
        let analysis = self.analysis.borrow().clone();
        out.snapshot
            .set(snapshot_with(plan, depths, now() - self.started, analysis));
        self.shown.set(now());
    }
}

/// Trains every depth of `plan` (whose sweep is `config`) on `n` workers, with one more
/// analysing, until all have stopped, a worker fails, or a newer generation than `mine`
/// (Reset, Start) ends it.
pub async fn drive(
    (plan, config): (Plan, SweepConfig),
    data: DataSource,
    n: usize,
    out: Outputs,
    mine: u32,
) {
    let pool = match worker::start(TASK, n + 1, mine).await {
        Ok(Some(pool)) => pool,
        Ok(None) => return,
        Err(e) => return fail(out, e),
    };
    pool.share(data);
    out.workers.set(Some(n));
    let gathered = Gathered {
        reports: RefCell::new(BTreeMap::new()),
        weights: RefCell::new(BTreeMap::new()),
        analysis: RefCell::new(None),
        started: now(),
        shown: Cell::new(f64::NEG_INFINITY),
        lanes: Cell::new(n),
    };
    let lane = Lane {
        pool: &pool,
        config: &config,
        plan: &plan,
        gathered: &gathered,
        out,
        mine,
    };
    let training = join_all(
        deal_depths(&plan.depths, n)
            .into_iter()
            .enumerate()
            .map(|(worker, depths)| lane.train(worker, depths)),
    );
    let share = if n < worker::cores() {
        SNAPSHOT_SHARE
    } else {
        BUSY_SHARE
    };
    let (trained, analysed) = futures::join!(training, lane.analyse(n, share));
    if TASK.current() != mine {
        return;
    }
    worker::stop(TASK);
    let ended: Result<(), String> = trained.into_iter().chain([analysed]).collect();
    match ended {
        Ok(()) => {
            gathered.show(&plan, out, true);
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
    gathered: &'a Gathered,
    out: Outputs,
    mine: u32,
}

impl Lane<'_> {
    fn ended(&self) -> bool {
        TASK.current() != self.mine
    }

    /// Trains `depths` on `worker`, round-robin a chunk at a time, waiting while paused,
    /// until every one has stopped (or the run ended).
    async fn train(self, worker: usize, mut depths: Vec<usize>) -> Result<(), String> {
        while !depths.is_empty() {
            for depth in depths.clone() {
                while paused() && !self.ended() {
                    sleep(100).await;
                }
                if self.ended() {
                    return Ok(());
                }
                let job = Job::Chunk {
                    config: Box::new(self.config.clone()),
                    depth,
                    seconds: self.gathered.chunk_seconds(depth),
                    weights: self.gathered.weights_due(depth),
                };
                let reply = self.pool.call(worker, &job).await;
                if self.ended() {
                    return Ok(());
                }
                let report = match reply? {
                    Reply::Depth(report) => *report,
                    Reply::Failed(e) => return Err(format!("worker {worker}: {e}")),
                    _ => return Err(format!("worker {worker}: not a depth's report")),
                };
                if report.stop.is_some() {
                    depths.retain(|&l| l != depth);
                }
                self.gathered.record(report);
                self.gathered.show(self.plan, self.out, false);
            }
        }
        self.gathered.lanes.set(self.gathered.lanes.get() - 1);
        Ok(())
    }

    /// Analyses the latest weights of every depth on `worker`, one analysis after another (at
    /// most every [`SNAPSHOT_EVERY`] seconds, and at most `share` of the time, as the analysis
    /// shares the cores with the training), and a last time as soon as training has ended.
    async fn analyse(self, worker: usize, share: f64) -> Result<(), String> {
        let mut cost = 0.0;
        loop {
            while paused() && !self.ended() {
                sleep(100).await;
            }
            let last = self.gathered.lanes.get() == 0;
            if let Some(depths) = self.gathered.depths(self.plan) {
                let job = Job::Analyse {
                    config: Box::new(self.config.clone()),
                    nets: depths.into_iter().map(|(r, w)| (r.result, w)).collect(),
                };
                let start = now();
                let reply = self.pool.call(worker, &job).await;
                cost = now() - start;
                if self.ended() {
                    return Ok(());
                }
                let analysis = match reply? {
                    Reply::Analysis(analysis) => *analysis,
                    Reply::Failed(e) => return Err(format!("worker {worker}: {e}")),
                    _ => return Err(format!("worker {worker}: not an analysis")),
                };
                self.out
                    .snapshot
                    .update(|s| s.analysis = Some(analysis.clone()));
                *self.gathered.analysis.borrow_mut() = Some(analysis);
            }
            if last || self.ended() {
                return Ok(());
            }
            // The wait ends early when the training does: the last analysis is the result.
            let next = now() + snapshot_wait(cost, share);
            while now() < next && self.gathered.lanes.get() > 0 && !self.ended() {
                sleep(50).await;
            }
        }
    }
}
