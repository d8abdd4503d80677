//! The page's third view, "Across depth": a learning-rate transfer grid of one parametrization
//! ([`scaling_core::transfer`]) trained live on the CPU by the page's workers, one network
//! each at a time, in the grid's order ([`GridRun`]), the main thread only dealing networks
//! and drawing; the transfer figure, η*(L) and its law fill in as networks finish.

use crate::browser::{now, sleep, Generation};
use crate::canvas;
use crate::form::form_fields;
use crate::jobs::{Job, Reply};
use crate::phase_summary::significant;
use crate::settings::FieldError;
use crate::task::load_data;
use crate::transfer_run::{fit_line, scaling_line, GridRun};
use crate::transfer_settings::TransferSettings;
use crate::worker::{self, deal, workers_for};
use leptos::prelude::*;
use leptos::task::spawn_local;
use scaling_core::plot::figure::Figure;
use scaling_core::transfer::figures::{best_loss_figure, optimum_figure, transfer_figure, Loss};
use scaling_core::transfer::grid::Grid;
use scaling_core::transfer::optimum::Transfer;
use std::cell::{Cell, RefCell};

/// Start and Reset begin a new generation, which ends the training of an older one at its
/// next reply.
const TASK: Generation = Generation::of("transfer");

/// The shortest time between two redraws of the figures, in seconds (and once at the end).
const REDRAW_EVERY: f64 = 0.2;

/// The figures, by canvas (`transfer-<name>`): name, caption, the figure of a transfer.
const PLOTS: [(&str, &str); 4] = [
    (
        "train",
        "final training loss against the base η, one curve per depth (×: a seed diverged)",
    ),
    ("test", "final test loss against the base η"),
    (
        "optimum",
        "η*(L) of every seed (the parabola's vertex around the grid's best η) and its fitted law",
    ),
    (
        "best",
        "final training loss at each depth's best η against L",
    ),
];

fn figure(name: &str, t: &Transfer) -> Figure {
    match name {
        "train" => transfer_figure(t, Loss::Train),
        "test" => transfer_figure(t, Loss::Test),
        "optimum" => optimum_figure(std::slice::from_ref(t)),
        _ => best_loss_figure(std::slice::from_ref(t)),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Status {
    Idle,
    Loading,
    Running,
    Finished,
}

/// The view's signals.
#[derive(Clone, Copy)]
struct State {
    settings: RwSignal<TransferSettings>,
    status: RwSignal<Status>,
    /// The transfer of the networks done so far: `None` before Start and after Reset.
    transfer: RwSignal<Option<Transfer>>,
    /// (networks done, networks in the grid) of the run.
    progress: RwSignal<Option<(usize, usize)>>,
    /// The workers of the run, once started.
    workers: RwSignal<Option<usize>>,
    note: RwSignal<String>,
    error: RwSignal<Option<String>>,
}

/// Starts training the settings' grid, unless one is loading or training or the settings
/// are invalid.
fn start(state: State) {
    if matches!(
        state.status.get_untracked(),
        Status::Loading | Status::Running
    ) {
        return;
    }
    let settings = state.settings.get_untracked();
    let (Ok(grid), Ok(workers)) = (settings.grid(), settings.workers()) else {
        return;
    };
    let mine = TASK.next();
    state.transfer.set(None);
    state.error.set(None);
    state.progress.set(Some((0, grid.networks())));
    state.status.set(Status::Loading);
    spawn_local(train(state, grid, workers, mine));
}

/// Stops the training (of any earlier Start): its workers end at once; the figures clear.
fn reset(state: State) {
    TASK.next();
    worker::stop(TASK);
    state.status.set(Status::Idle);
    state.transfer.set(None);
    state.progress.set(None);
    state.workers.set(None);
    state.note.set(String::new());
}

/// Ends a Start with an error shown.
fn fail(state: State, error: String) {
    reset(state);
    state.error.set(Some(error));
}

/// Loads the grid's data, starts the workers and gives them the data, then deals them the
/// networks in order until all are done or a newer generation ends the run.
async fn train(state: State, grid: Grid, workers: usize, mine: u32) {
    let plan = grid.plan(grid.cells()[0]).expect("a checked grid");
    let loaded = load_data(&plan).await;
    if TASK.current() != mine {
        return;
    }
    let data = match loaded {
        Ok((data, note)) => {
            state.note.set(note);
            data
        }
        Err(e) => return fail(state, e),
    };
    let run = GridRun::new(grid);
    let total = run.progress().1;
    let n = workers_for(workers, total);
    let pool = match worker::start(TASK, n, mine).await {
        Ok(Some(pool)) => pool,
        Ok(None) => return,
        Err(e) => return fail(state, e),
    };
    state.workers.set(Some(n));
    state.status.set(Status::Running);
    pool.share(data);
    let jobs: Vec<Job> = (0..total)
        .map(|i| Job::Network(Box::new(run.job(i))))
        .collect();
    let (run, shown) = (RefCell::new(run), Cell::new(f64::NEG_INFINITY));
    let publish = || {
        let run = run.borrow();
        state.transfer.set(Some(run.transfer()));
        state.progress.set(Some(run.progress()));
        shown.set(now());
    };
    let record = |_, reply| {
        if let Reply::Network { index, outcome } = reply {
            run.borrow_mut().record(index, outcome);
        }
        if now() - shown.get() > REDRAW_EVERY {
            publish();
        }
    };
    let dealt = deal(&pool, &jobs, record, || TASK.current() != mine).await;
    if TASK.current() != mine {
        return;
    }
    worker::stop(TASK);
    match dealt {
        Ok(()) => {
            publish();
            state.status.set(Status::Finished);
        }
        Err(e) => fail(state, e),
    }
}

/// The view: its heading, the settings, Start / Reset with the progress, the law of η*(L)
/// so far, the figures and the table of the best η per depth.
#[component]
pub fn TransferView(settings: RwSignal<TransferSettings>) -> impl IntoView {
    let state = State {
        settings,
        status: RwSignal::new(Status::Idle),
        transfer: RwSignal::new(None),
        progress: RwSignal::new(None),
        workers: RwSignal::new(None),
        note: RwSignal::new(String::new()),
        error: RwSignal::new(None),
    };
    let field_error = Memo::new(move |_| settings.with(|s| s.grid().err()));
    let editable = move || matches!(state.status.get(), Status::Idle | Status::Finished);
    Effect::new(move |_| {
        let figures: Vec<(&str, Option<Figure>)> = state.transfer.with(|t| {
            let figure = |name| t.as_ref().map(|t| figure(name, t));
            PLOTS
                .iter()
                .map(|&(name, _)| (name, figure(name)))
                .collect()
        });
        // One canvas a task, so that the page can draw a frame between two.
        spawn_local(async move {
            for (name, shown) in figures {
                sleep(0).await;
                canvas::draw(&format!("transfer-{name}"), shown.as_ref());
            }
        });
    });
    view! {
        <header>
            <h1>"Across depth: learning-rate transfer, live"</h1>
            <p>
                "Trains h" <sub>"k+1"</sub> " = h" <sub>"k"</sub> " + δ σ(A" <sub>"k"</sub> " h"
                <sub>"k"</sub> " + b" <sub>"k"</sub> ") with the learning rate η" <sub>"L"</sub>
                " = η·L" <sup>"−κ"</sup> ", δ and κ set by a parametrization of depth (standard; \
                 the neural ODE's δ = 1/L; depth-μP, Yang et al. 2023; CompleteP, Dey et al. 2025; \
                 the paper's trained δ), over a grid of base learning rates η and depths L, every \
                 network for the same number of updates, and finds where the best η lies at each \
                 depth: η* ≈ C·L" <sup>"−κ*"</sup> ". κ* ≈ 0 means that the learning rate \
                 transfers across depth."
            </p>
            <p id="transfer-engine">
                "Every network trains on the CPU (wasm, core's fused step, one thread) in one of \
                 the page's Web Workers, one per core unless the workers field says otherwise, \
                 in the grid's order: each η's depths and seeds before the next η."
            </p>
            <p id="transfer-scaling">{move || settings.with(|s| s.grid().ok().map(|g| scaling_line(&g)))}</p>
        </header>
        <form class="settings" on:submit=|ev| ev.prevent_default()>
            {form_fields("transfer-field-", settings, field_error, editable)}
        </form>
        {controls(state, field_error)}
        <p id="transfer-note">{move || state.note.get()}</p>
        {move || state.error.get().map(|e| view! { <p class="error" id="transfer-error">{e}</p> })}
        <p id="transfer-fit">{move || state.transfer.with(|t| t.as_ref().map(fit_line))}</p>
        <div class="plots">{canvas::canvases("transfer-", &PLOTS)}</div>
        {best_table(state)}
    }
}

/// Start, Reset, the state and the progress "k of n networks".
fn controls(state: State, error: Memo<Option<FieldError>>) -> impl IntoView {
    let status = move || match state.status.get() {
        Status::Idle => "idle",
        Status::Loading => "loading data, starting the workers",
        Status::Running => "training",
        Status::Finished => "finished",
    };
    let workers = move || state.workers.get().map(worker::on_workers);
    let progress = move || {
        let planned = || {
            state
                .settings
                .with(|s| s.grid().ok().map(|g| (0, g.networks())))
        };
        let (done, total) = state.progress.get().or_else(planned)?;
        Some(format!("{done} of {total} networks"))
    };
    let busy = move || matches!(state.status.get(), Status::Loading | Status::Running);
    view! {
        <div class="controls">
            <button id="transfer-start" on:click=move |_| start(state) disabled=move || busy() || error.get().is_some()>
                "Start"
            </button>
            <button id="transfer-reset" on:click=move |_| reset(state)>"Reset"</button>
            <span id="transfer-status">{status}</span>
            <span id="transfer-progress">{progress}</span>
            <span id="transfer-workers" data-workers=move || state.workers.get().map(|n| n.to_string())>{workers}</span>
        </div>
    }
}

/// Per depth: the grid's best η (the lowest training loss averaged over the seeds), its
/// losses, and η* of every seed (in brackets: at the grid's edge, a bound only).
fn best_table(state: State) -> impl IntoView {
    move || {
        state.transfer.with(|t| {
            t.as_ref().map(|t| {
                let rows = t
                    .best
                    .iter()
                    .map(|b| {
                        let optima: Vec<String> = t
                            .optima
                            .iter()
                            .filter(|o| o.depth == b.depth)
                            .map(|o| match o.at_edge {
                                true => format!("({})", significant(o.lr)),
                                false => significant(o.lr),
                            })
                            .collect();
                        view! {
                            <tr class="best" data-depth=b.depth>
                                <td>{b.depth}</td>
                                <td>{significant(b.lr)}</td>
                                <td>{significant(b.train_loss)}</td>
                                <td>{significant(b.test_loss)}</td>
                                <td>{optima.join(", ")}</td>
                            </tr>
                        }
                    })
                    .collect_view();
                view! {
                    <table id="transfer-best">
                        <thead>
                            <tr><th>"L"</th><th>"best η on the grid"</th><th>"training loss"</th><th>"test loss"</th><th>"η* per seed"</th></tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
            })
        })
    }
}
