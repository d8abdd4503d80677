//! The page: two views, switched at its top. "Trained weights" (the training view, here): the
//! settings form, Start / Pause / Reset, the live figures, the verdict and a table of depths;
//! training runs in short chunks on the page's event loop and yields to the browser between
//! them, so the page stays responsive. "At initialisation": the (β, H) phase diagram
//! ([`crate::phase_view`]).

use crate::browser::{self, now, sleep};
use crate::engine::{no_webgpu_line, ready_line, Choice};
use crate::form::form_fields;
use crate::gpu::{choose, Chosen, Engine, Gpu};
use crate::phase_settings::{PhaseSettings, View};
use crate::phase_view::PhaseView;
use crate::run::{analyse, DepthRun, PageStep};
use crate::settings::{FieldError, Form, Settings};
use crate::view::{figures, DepthView, Snapshot};
use burn::backend::Wgpu;
use leptos::prelude::*;
use leptos::task::spawn_local;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use scaling_core::config::{DataPlan, Plan};
use scaling_core::data::Dataset;
use scaling_core::fused::FusedStepper;
use scaling_core::train::BurnStepper;
use std::cell::{Cell, RefCell};

/// The MNIST embedding shipped with the page (`native mnist-asset` writes it).
pub const MNIST_ASSET: &str = "mnist-25.safetensors";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Status {
    Idle,
    Loading,
    /// Timing both engines (engine = auto).
    Timing,
    Running,
    Paused,
    Finished,
}

thread_local! {
    /// Pause flag and generation of the training task (Reset starts a new generation, which
    /// ends the old task at its next chunk).
    static PAUSED: Cell<bool> = const { Cell::new(false) };
    static GENERATION: Cell<u32> = const { Cell::new(0) };
    static MNIST: RefCell<Option<Dataset>> = const { RefCell::new(None) };
}

fn generation() -> u32 {
    GENERATION.with(Cell::get)
}

/// The plan's data set: generated, or the first rows of the MNIST asset.
pub async fn load_data(plan: &Plan) -> Result<(Dataset, String), String> {
    match &plan.data {
        DataPlan::Synthetic(c) => Ok((
            c.generate(),
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
            Ok((
                Dataset {
                    width: d,
                    x_train: asset.x_train[..c.n_train * d].to_vec(),
                    y_train: asset.y_train[..c.n_train * d].to_vec(),
                    x_test: asset.x_test[..c.n_test * d].to_vec(),
                    y_test: asset.y_test[..c.n_test * d].to_vec(),
                },
                note,
            ))
        }
        DataPlan::Cifar10 { .. } => Err("CIFAR-10 is not trained in the browser".into()),
    }
}

/// The signals the training task writes.
#[derive(Clone, Copy)]
struct Outputs {
    status: RwSignal<Status>,
    snapshot: RwSignal<Snapshot>,
    note: RwSignal<String>,
    error: RwSignal<Option<String>>,
    /// The engine of the current Start, once chosen.
    chosen: RwSignal<Option<Chosen>>,
    /// Training tasks alive (loading, timing or training): one at most.
    tasks: RwSignal<u32>,
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
/// (weights, losses, analysis) at most twice a second, until all have stopped or Reset.
/// `mine` is the generation of the Start that began it: a Reset or Start since ends it.
async fn drive<S: PageStep>(plan: Plan, data: Dataset, device: S::Device, out: Outputs, mine: u32) {
    let mut runs: Vec<DepthRun<S>> = plan
        .depths
        .iter()
        .map(|&l| DepthRun::new(&plan, &data, l, &device))
        .collect();
    let mut shown = f64::NEG_INFINITY;
    loop {
        while PAUSED.with(Cell::get) && generation() == mine {
            sleep(100).await;
        }
        if generation() != mine {
            return;
        }
        let mut active = false;
        for run in runs.iter_mut().filter(|r| r.stop.is_none()) {
            run.advance(&data, now).await;
            active = true;
            sleep(0).await;
            if generation() != mine {
                return;
            }
        }
        if !active || now() - shown > 0.5 {
            let snapshot = snapshot(&plan, &data, &runs).await;
            if generation() != mine {
                return;
            }
            out.snapshot.set(snapshot);
            shown = now();
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
        depths.push(DepthView {
            depth: run.depth,
            steps: run.steps(),
            losses: run.losses(),
            stop: run.stop,
            test_loss: run.test_loss,
            weights: run.weights().await,
        });
    }
    let nets = runs
        .iter()
        .zip(&depths)
        .map(|(r, v)| (r.result(), v.weights.clone()))
        .collect();
    let seconds: f64 = runs.iter().map(|r| r.seconds).sum();
    let steps: usize = runs.iter().map(|r| r.steps()).sum();
    Snapshot {
        depths,
        analysis: Some(analyse(plan, data, nets)),
        steps_per_sec: if seconds > 0.0 {
            steps as f64 / seconds
        } else {
            0.0
        },
        epsilon: plan.train.epsilon,
    }
}

/// Draws the figures on their canvases (`plot-<name>`).
fn draw_all(s: &Snapshot) {
    for (name, figure) in figures(s) {
        if let Some(backend) = CanvasBackend::new(&format!("plot-{name}")) {
            let area = backend.into_drawing_area();
            let _ = area.fill(&WHITE);
            let _ = scaling_core::plots::draw(&figure, &area);
            let _ = area.present();
        }
    }
}

const PLOTS: [(&str, &str); 5] = [
    ("loss", "training loss against steps, every depth"),
    ("norms", "‖A_k‖ against k/L, every depth"),
    ("max-norm", "max_k ‖A_k‖ against L, with the fitted β"),
    ("increments", "rescaled increments against L"),
    (
        "denoised",
        "training loss of each network and of its denoised version (weights replaced by their trend) against L",
    ),
];

/// The training view ("Trained weights"): the settings form, Start / Pause / Reset, the live
/// figures, the verdict and the table of depths. Its settings are the page's URL query while
/// it is shown (see [`App`]).
#[component]
pub fn TrainingView(settings: RwSignal<Settings>) -> impl IntoView {
    let out = Outputs {
        status: RwSignal::new(Status::Idle),
        snapshot: RwSignal::new(Snapshot::default()),
        note: RwSignal::new(String::new()),
        error: RwSignal::new(None),
        chosen: RwSignal::new(None),
        tasks: RwSignal::new(0),
    };
    let gpu: RwSignal<Option<Gpu>> = RwSignal::new(None);
    spawn_local(async move { gpu.set(Some(crate::gpu::find().await)) });
    let field_error = Memo::new(move |_| {
        settings
            .with(|s| s.plan().err())
            .or_else(|| webgpu_missing(settings, gpu))
    });
    Effect::new(move |_| out.snapshot.with(draw_all));
    let editable = move || matches!(out.status.get(), Status::Idle | Status::Finished);
    let form = form_fields("field-", settings, field_error, editable);
    view! {
        <header>
            <h1>"Depth scaling of trained ResNets, live"</h1>
            <p>
                "Trains h" <sub>"k+1"</sub> " = h" <sub>"k"</sub> " + δ" <sub>"k"</sub>
                " σ(A" <sub>"k"</sub> " h" <sub>"k"</sub> " + b" <sub>"k"</sub>
                ") at several depths L side by side and fits how the trained weights scale with L \
                 (Cohen, Cont, Rossier, Xu, ICML 2021). The settings live in the URL: share it to \
                 share the view."
            </p>
            {engine_line(settings, gpu, out)}
        </header>
        <form class="settings" on:submit=|ev| ev.prevent_default()>
            {preset_picker(settings, editable)}{form}
        </form>
        {controls(settings, gpu, field_error, out)}
        <p id="data-note">{move || out.note.get()}</p>
        {move || out.error.get().map(|e| view! { <p class="error" id="error">{e}</p> })}
        <p id="verdict">{verdict_line(out)}</p>
        <div class="plots">{plots()}</div>
        <table>
            <thead>
                <tr><th>"L"</th><th>"steps"</th><th>"training loss"</th><th>"test loss"</th><th>"state"</th><th></th></tr>
            </thead>
            <tbody>{depth_rows(out)}</tbody>
        </table>
    }
}

/// Start: resumes a paused training, or loads the data and trains the settings' plan on the
/// engine; a Reset (or Reset and Start) meanwhile ends it, even during the data load.
fn start(settings: RwSignal<Settings>, gpu: RwSignal<Option<Gpu>>, out: Outputs) {
    match out.status.get_untracked() {
        Status::Paused => {
            PAUSED.with(|p| p.set(false));
            out.status.set(Status::Running);
        }
        Status::Idle | Status::Finished => {
            let (Ok(plan), Some(gpu)) =
                (settings.with_untracked(Settings::plan), gpu.get_untracked())
            else {
                return;
            };
            let choice = settings.with_untracked(Settings::engine);
            PAUSED.with(|p| p.set(false));
            GENERATION.with(|g| g.set(g.get() + 1));
            let mine = generation();
            out.error.set(None);
            out.status.set(Status::Loading);
            spawn_local(load_and_drive(plan, (choice, gpu), out, mine));
        }
        Status::Loading | Status::Timing | Status::Running => {}
    }
}

/// Loads the plan's data, chooses the engine (timing both for engine = auto), then trains,
/// unless a newer generation began meanwhile.
async fn load_and_drive(plan: Plan, (choice, gpu): (Choice, Gpu), out: Outputs, mine: u32) {
    let _task = Task::new(out);
    let loaded = load_data(&plan).await;
    if generation() != mine {
        return;
    }
    let (data, note) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return fail(out, e),
    };
    out.note.set(note);
    if choice == Choice::Auto && matches!(gpu, Gpu::Ready { .. }) {
        out.status.set(Status::Timing);
    }
    let chosen = choose(choice, &gpu, &plan, &data).await;
    if generation() != mine {
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
        Engine::Gpu(device) => drive::<BurnStepper<Wgpu>>(plan, data, device, out, mine).await,
        Engine::Cpu => drive::<FusedStepper>(plan, data, (), out, mine).await,
    }
}

/// Ends a Start with an error shown.
fn fail(out: Outputs, error: String) {
    out.error.set(Some(error));
    out.status.set(Status::Idle);
}

/// Start, Pause, Reset and the status line.
fn controls(
    settings: RwSignal<Settings>,
    gpu: RwSignal<Option<Gpu>>,
    field_error: Memo<Option<FieldError>>,
    out: Outputs,
) -> impl IntoView {
    let pause = move |_| {
        if out.status.get_untracked() == Status::Running {
            PAUSED.with(|p| p.set(true));
            out.status.set(Status::Paused);
        }
    };
    let reset = move |_| {
        GENERATION.with(|g| g.set(g.get() + 1));
        PAUSED.with(|p| p.set(false));
        out.status.set(Status::Idle);
        out.snapshot.set(Snapshot::default());
        out.note.set(String::new());
        out.chosen.set(None);
    };
    let status_line = move || {
        let state = match out.status.get() {
            Status::Idle => "idle",
            Status::Loading => "loading data",
            Status::Timing => "timing both engines",
            Status::Running => "training",
            Status::Paused => "paused",
            Status::Finished => "finished",
        };
        format!(
            "{state} · {:.1} updates/s",
            out.snapshot.get().steps_per_sec
        )
    };
    let blocked = move || gpu.get().is_none() || field_error.get().is_some();
    view! {
        <div class="controls">
            <button id="start" on:click=move |_| start(settings, gpu, out) disabled=blocked>
                "Start"
            </button>
            <button id="pause" on:click=pause>"Pause"</button>
            <button id="reset" on:click=reset>"Reset"</button>
            <span id="status" data-tasks=move || out.tasks.get().to_string()>{status_line}</span>
        </div>
    }
}

/// The paper's experiments: picking one fills the form.
fn preset_picker(
    settings: RwSignal<Settings>,
    editable: impl Fn() -> bool + Send + Sync + 'static,
) -> impl IntoView {
    let presets = crate::settings::presets();
    let options = presets
        .iter()
        .enumerate()
        .map(|(i, (name, _))| view! { <option value=i.to_string()>{name.clone()}</option> })
        .collect_view();
    let pick = move |ev: leptos::ev::Event| {
        let chosen = event_target_value(&ev).parse::<usize>().ok();
        if let Some((_, preset)) = chosen.and_then(|i| presets.get(i)) {
            // The engine is the page's, not the experiment's: it stays.
            let mut preset = preset.clone();
            preset.set(
                "engine",
                settings
                    .with_untracked(|s| s.get("engine").to_string())
                    .as_str(),
            );
            settings.set(preset);
        }
    };
    view! {
        <label class="field">
            <span class="name">"preset"</span>
            <select id="preset" on:change=pick disabled=move || !editable()>
                <option value="">"the paper's experiments…"</option>
                {options}
            </select>
        </label>
    }
}

/// Where the networks train, and why: the engine of the current Start, else what the browser
/// offers and what Start will do. Its data attributes carry the choice and the timing.
fn engine_line(
    settings: RwSignal<Settings>,
    gpu: RwSignal<Option<Gpu>>,
    out: Outputs,
) -> impl IntoView {
    let line = move || match (out.chosen.get(), gpu.get()) {
        (Some(chosen), _) => chosen.line,
        (None, None) => "Looking for WebGPU…".to_string(),
        (None, Some(Gpu::Missing(why))) => no_webgpu_line(&why),
        (None, Some(Gpu::Ready { adapter, .. })) => {
            ready_line(&adapter, settings.with(Settings::engine))
        }
    };
    let chosen =
        move |f: fn(&Chosen) -> Option<String>| move || out.chosen.with(|c| c.as_ref().and_then(f));
    view! {
        <p
            id="engine"
            data-engine=chosen(|c| Some(c.kind.name().to_string()))
            data-cpu-rate=chosen(|c| c.trial.map(|t| t.cpu.to_string()))
            data-gpu-rate=chosen(|c| c.trial.map(|t| t.gpu.to_string()))
        >
            {line}
        </p>
    }
}

/// The engine field's error when the settings ask for WebGPU and the browser has none.
fn webgpu_missing(settings: RwSignal<Settings>, gpu: RwSignal<Option<Gpu>>) -> Option<FieldError> {
    let asked = settings.with(Settings::engine) == Choice::Gpu;
    match gpu.get() {
        Some(Gpu::Missing(why)) if asked => Some(FieldError {
            key: "engine",
            message: format!("no WebGPU here: {why}"),
        }),
        _ => None,
    }
}

/// The verdict's explanation (it names the regime and gives β and its interval) and how many
/// depths have finished.
fn verdict_line(out: Outputs) -> impl Fn() -> Option<String> + Send + Sync + 'static {
    move || {
        out.snapshot.with(|s| {
            s.analysis.as_ref().map(|a| {
                let done = s.depths.iter().filter(|d| d.stop.is_some()).count();
                let total = s.depths.len();
                format!(
                    "{} [{done} of {total} depths finished]",
                    a.verdict.explanation
                )
            })
        })
    }
}

/// A row per depth: steps, losses, state, and its weights to download.
fn depth_rows(out: Outputs) -> impl Fn() -> AnyView + Send + Sync + 'static {
    move || {
        out.snapshot.with(|s| {
            s.depths
                .iter()
                .enumerate()
                .map(|(i, d)| depth_row(out, i, d))
                .collect_view()
                .into_any()
        })
    }
}

fn depth_row(out: Outputs, i: usize, d: &DepthView) -> impl IntoView {
    let loss = d.last_loss();
    let state = match d.stop {
        None => "training".to_string(),
        Some(r) => format!("{r:?}").to_lowercase(),
    };
    let save = move |_| {
        out.snapshot.with_untracked(|s| {
            if let Some(d) = s.depths.get(i) {
                let name = format!("weights_L{}.safetensors", d.depth);
                browser::download_bytes(&name, &d.weights.to_safetensors());
            }
        })
    };
    let number = |l: Option<f64>| l.map_or("–".into(), |l| format!("{l:.3e}"));
    view! {
        <tr class="depth" data-depth=d.depth data-loss=loss.map(|l| l.to_string())>
            <td>{d.depth}</td>
            <td>{d.steps}</td>
            <td>{number(loss)}</td>
            <td>{number(d.test_loss)}</td>
            <td>{state}</td>
            <td><button on:click=save>"weights (safetensors)"</button></td>
        </tr>
    }
}

/// The canvases of the live figures, each with its PNG download.
fn plots() -> impl IntoView {
    PLOTS
        .iter()
        .map(|&(name, caption)| {
            let id = format!("plot-{name}");
            let save =
                move |_| browser::download_canvas(&format!("plot-{name}"), &format!("{name}.png"));
            view! {
                <figure>
                    <canvas id=id width="560" height="360"></canvas>
                    <figcaption>{caption} " " <button on:click=save>"PNG"</button></figcaption>
                </figure>
            }
        })
        .collect_view()
}

/// The page: the two views, one shown at a time (both stay mounted, so that a run in one goes
/// on while the other is shown), and the URL query of the shown one ([`View::query`]).
#[component]
pub fn App() -> impl IntoView {
    let query = browser::query();
    let view = RwSignal::new(View::from_query(&query));
    let (training, phase) = match view.get_untracked() {
        View::Training => (Settings::from_query(&query), PhaseSettings::default()),
        View::Phase => (Settings::default(), PhaseSettings::from_query(&query)),
    };
    let (training, phase) = (RwSignal::new(training), RwSignal::new(phase));
    Effect::new(move |_| {
        let query = training.with(|t| phase.with(|p| view.get().query(t, p)));
        browser::set_query(&query);
    });
    let tab = move |which: View, id: &'static str, label: &'static str| {
        view! {
            <button
                id=id
                class="view-tab"
                class:chosen=move || view.get() == which
                on:click=move |_| view.set(which)
            >
                {label}
            </button>
        }
    };
    view! {
        <nav class="views">
            {tab(View::Training, "view-training", "Trained weights")}
            {tab(View::Phase, "view-phase", "At initialisation")}
        </nav>
        <div id="training-view" hidden=move || view.get() != View::Training>
            <TrainingView settings=training />
        </div>
        <div id="phase-view" hidden=move || view.get() != View::Phase>
            <PhaseView settings=phase />
        </div>
    }
}
