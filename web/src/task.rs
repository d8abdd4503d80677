//! The training task of a Start: it loads the data, chooses the engine, and trains every depth
//! of the plan in short chunks on the page's event loop, yielding to the browser between them
//! so that the page stays responsive; Pause, Reset and a new Start reach it through a pause
//! flag and a generation number.

use crate::browser::{self, now, sleep};
use crate::engine::Choice;
use crate::gpu::{choose, Engine, Gpu};
use crate::jobs::DataSource;
use crate::run::{self, DepthRun, PageStep};
use crate::settings::Settings;
use crate::task_workers;
use crate::training::{
    fail, paused, set_paused, snapshot_wait, Outputs, Status, SNAPSHOT_SHARE, TASK,
};
use crate::view::Snapshot;
use crate::worker::{self, workers_for};
use burn::backend::Wgpu;
use leptos::prelude::*;
use leptos::task::spawn_local;
use scaling_core::data::synthetic::Dataset;
use scaling_core::sweep::config::{DataPlan, Plan, SweepConfig};
use scaling_core::train::session::BurnStepper;
use std::cell::RefCell;

/// The MNIST embedding shipped with the page (`native mnist-asset` writes it).
pub const MNIST_ASSET: &str = "mnist-25.safetensors";

thread_local! {
    static MNIST: RefCell<Option<Dataset>> = const { RefCell::new(None) };
}

/// The plan's data set: the synthetic set's recipe (whoever trains generates it), or the first
/// rows of the MNIST asset; with a line that says which.
pub async fn load_data(plan: &Plan) -> Result<(DataSource, String), String> {
    match &plan.data {
        DataPlan::Synthetic(c) => Ok((
            DataSource::Synthetic(c.clone()),
            format!(
                "synthetic data: {} training and {} test samples of width {}",
                c.n_train, c.n_test, c.width
            ),
        )),
        DataPlan::Mnist(c) => {
            if MNIST.with(|m| m.borrow().is_none()) {
                let bytes = browser::fetch_bytes(MNIST_ASSET).await?;
                let data = Dataset::from_safetensors(&bytes)
                    .map_err(|e| format!("{MNIST_ASSET} is malformed: {e}"))?;
                MNIST.with(|m| *m.borrow_mut() = Some(data));
            }
            let asset = MNIST.with(|m| m.borrow().clone()).expect("loaded above");
            let (n, m) = (asset.n_train(), asset.n_test());
            if c.n_train > n || c.n_test > m {
                return Err(format!(
                    "the page's MNIST asset has {n} training and {m} test images; \
                     asked for {} and {}",
                    c.n_train, c.n_test
                ));
            }
            let d = asset.width;
            let note = format!(
                "MNIST: the first {} of the asset's {n} training images and {} of its {m} test \
                 images of real MNIST, embedded in R^25 as in core",
                c.n_train, c.n_test
            );
            let rows = Dataset {
                width: d,
                x_train: asset.x_train[..c.n_train * d].to_vec(),
                y_train: asset.y_train[..c.n_train * d].to_vec(),
                x_test: asset.x_test[..c.n_test * d].to_vec(),
                y_test: asset.y_test[..c.n_test * d].to_vec(),
            };
            Ok((DataSource::rows(&rows), note))
        }
        DataPlan::Cifar10 { .. } => Err("CIFAR-10 is not trained in the browser".into()),
    }
}

/// A training task, counted in [`Outputs::tasks`] while it lives.
struct Task(Outputs);

impl Task {
    fn new(out: Outputs) -> Self {
        out.tasks.update(|n| *n += 1);
        Self(out)
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.0.tasks.update(|n| *n -= 1);
    }
}

/// Trains every depth of the plan round-robin, one chunk at a time, publishing a snapshot
/// (weights, losses, analysis) at most every [`crate::training::SNAPSHOT_EVERY`] seconds and at most
/// [`SNAPSHOT_SHARE`] of the time, until all have stopped or Reset. `mine` is the generation
/// of the Start that began it: a Reset or Start since ends it.
async fn drive<S: PageStep>(plan: Plan, data: Dataset, device: S::Device, out: Outputs, mine: u32) {
    let mut runs: Vec<DepthRun<S>> = plan
        .depths
        .iter()
        .map(|&l| DepthRun::new(&plan, &data, l, &device))
        .collect();
    let (mut shown, mut cost) = (f64::NEG_INFINITY, 0.0);
    loop {
        while paused() && TASK.current() == mine {
            sleep(100).await;
        }
        if TASK.current() != mine {
            return;
        }
        let mut active = false;
        for run in runs.iter_mut().filter(|r| r.stop.is_none()) {
            run.advance(&data, now).await;
            active = true;
            sleep(0).await;
            if TASK.current() != mine {
                return;
            }
        }
        if !active || now() - shown > snapshot_wait(cost, SNAPSHOT_SHARE) {
            let start = now();
            let snapshot = snapshot(&plan, &data, &runs).await;
            if TASK.current() != mine {
                return;
            }
            out.snapshot.set(snapshot);
            shown = now();
            cost = shown - start;
        }
        if !active {
            out.status.set(Status::Finished);
            return;
        }
    }
}

/// The page's view of the runs, with core's analysis of their current weights.
async fn snapshot<S: PageStep>(plan: &Plan, data: &Dataset, runs: &[DepthRun<S>]) -> Snapshot {
    let mut depths = Vec::with_capacity(runs.len());
    for run in runs {
        depths.push((run.report(), run.weights().await));
    }
    // One depth at a time: the time spent training is the sum of theirs.
    let seconds = runs.iter().map(|r| r.seconds).sum();
    run::snapshot(plan, data, depths, seconds)
}

/// Start: resumes a paused training, or loads the data and trains the settings' plan on the
/// engine; a Reset (or Reset and Start) meanwhile ends it, even during the data load.
pub fn start(settings: RwSignal<Settings>, gpu: RwSignal<Option<Gpu>>, out: Outputs) {
    match out.status.get_untracked() {
        Status::Paused => {
            set_paused(false);
            out.status.set(Status::Running);
        }
        Status::Idle | Status::Finished => {
            let settings = settings.get_untracked();
            let (Ok(plan), Ok(config), Ok(workers), Some(gpu)) = (
                settings.plan(),
                settings.config(),
                settings.workers(),
                gpu.get_untracked(),
            ) else {
                return;
            };
            let choice = settings.engine();
            set_paused(false);
            let mine = TASK.next();
            out.error.set(None);
            out.status.set(Status::Loading);
            let plan = (plan, config, workers);
            spawn_local(load_and_drive(plan, (choice, gpu), out, mine));
        }
        Status::Loading | Status::Timing | Status::Running => {}
    }
}

/// Loads the plan's data, chooses the engine (timing both for engine = auto), then trains,
/// unless a newer generation began meanwhile: on WebGPU here, on the CPU in `workers` workers
/// (0: one per core; at most one per depth).
async fn load_and_drive(
    (plan, config, workers): (Plan, SweepConfig, usize),
    (choice, gpu): (Choice, Gpu),
    out: Outputs,
    mine: u32,
) {
    let _task = Task::new(out);
    let loaded = load_data(&plan).await;
    if TASK.current() != mine {
        return;
    }
    let (source, note) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return fail(out, e),
    };
    out.note.set(note);
    if choice == Choice::Auto && matches!(gpu, Gpu::Ready { .. }) {
        out.status.set(Status::Timing);
    }
    // WebGPU trains, and is timed, on this thread: where it may be chosen, its rows are made
    // here, once (the CPU's workers make their own).
    let rows = match (&gpu, choice) {
        (Gpu::Ready { .. }, Choice::Auto | Choice::Gpu) => match source.dataset() {
            Ok(rows) => Some(rows),
            Err(e) => return fail(out, e),
        },
        _ => None,
    };
    let chosen = choose(choice, &gpu, &plan, rows.as_ref()).await;
    if TASK.current() != mine {
        return;
    }
    let chosen = match chosen {
        Ok(chosen) => chosen,
        Err(e) => return fail(out, e),
    };
    let engine = chosen.engine.clone();
    out.chosen.set(Some(chosen));
    out.status.set(Status::Running);
    match engine {
        Engine::Gpu(device) => match rows {
            Some(data) => drive::<BurnStepper<Wgpu>>(plan, data, device, out, mine).await,
            None => fail(out, "WebGPU chosen, but its rows were not made".into()),
        },
        Engine::Cpu => {
            let n = workers_for(workers, plan.depths.len());
            task_workers::drive((plan, config), source, n, out, mine).await
        }
    }
}

/// Pause: the task waits at its next chunk.
pub fn pause(out: Outputs) {
    if out.status.get_untracked() == Status::Running {
        set_paused(true);
        out.status.set(Status::Paused);
    }
}

/// Reset: a new generation, which ends the task at its next chunk (or after its data load or
/// engine timing), and a cleared view.
pub fn reset(out: Outputs) {
    TASK.next();
    worker::stop(TASK);
    out.workers.set(None);
    set_paused(false);
    out.status.set(Status::Idle);
    out.snapshot.set(Snapshot::default());
    out.note.set(String::new());
    out.chosen.set(None);
}
