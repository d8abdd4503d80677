//! The page: three views, switched at its top. "Trained weights" (the training view, here):
//! the settings form, Start / Pause / Reset, the live figures, the verdict and a table of
//! depths (the training itself: [`crate::task`]). "At initialisation": the (β, H) phase
//! diagram ([`crate::phase_view`]). "Across depth": a learning-rate transfer grid
//! ([`crate::transfer_view`]).

use crate::browser;
use crate::canvas;
use crate::engine::{no_webgpu_line, ready_line, Choice};
use crate::form::form_fields;
use crate::gpu::{Chosen, Gpu};
use crate::page::View;
use crate::phase_settings::PhaseSettings;
use crate::phase_view::PhaseView;
use crate::settings::{FieldError, Form, Settings};
use crate::task::{pause, reset, start};
use crate::training::{Outputs, Status};
use crate::transfer_settings::TransferSettings;
use crate::transfer_view::TransferView;
use crate::view::{figures, DepthView, Snapshot};
use crate::worker;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Draws the figures on their canvases (`plot-<name>`), one a task, so that the page can draw
/// a frame between two.
fn draw_all(s: &Snapshot) {
    let figures = figures(s);
    spawn_local(async move {
        for (name, figure) in figures {
            browser::sleep(0).await;
            canvas::draw(&format!("plot-{name}"), Some(&figure));
        }
    });
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
        workers: RwSignal::new(None),
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
        <div class="plots">{canvas::canvases("plot-", &PLOTS)}</div>
        <table>
            <thead>
                <tr><th>"L"</th><th>"steps"</th><th>"training loss"</th><th>"test loss"</th><th>"state"</th><th></th></tr>
            </thead>
            <tbody>{depth_rows(out)}</tbody>
        </table>
    }
}

/// Start, Pause, Reset and the status line.
fn controls(
    settings: RwSignal<Settings>,
    gpu: RwSignal<Option<Gpu>>,
    field_error: Memo<Option<FieldError>>,
    out: Outputs,
) -> impl IntoView {
    let status_line = move || {
        let state = match out.status.get() {
            Status::Idle => "idle",
            Status::Loading => "loading data",
            Status::Timing => "timing both engines",
            Status::Running => "training",
            Status::Paused => "paused",
            Status::Finished => "finished",
        };
        let workers = out
            .workers
            .get()
            .map(|n| format!(" {}", worker::on_workers(n)));
        format!(
            "{state}{} · {:.1} updates/s",
            workers.unwrap_or_default(),
            out.snapshot.get().steps_per_sec
        )
    };
    let blocked = move || gpu.get().is_none() || field_error.get().is_some();
    view! {
        <div class="controls">
            <button id="start" on:click=move |_| start(settings, gpu, out) disabled=blocked>
                "Start"
            </button>
            <button id="pause" on:click=move |_| pause(out)>"Pause"</button>
            <button id="reset" on:click=move |_| reset(out)>"Reset"</button>
            <span
                id="status"
                data-tasks=move || out.tasks.get().to_string()
                data-workers=move || out.workers.get().map(|n| n.to_string())
            >
                {status_line}
            </span>
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
            data-engine=chosen(|c| Some(c.engine.kind().name().to_string()))
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

/// The page: the three views, one shown at a time (all stay mounted, so that a run in one
/// goes on while another is shown), and the URL query of the shown one ([`View::query`]).
#[component]
pub fn App() -> impl IntoView {
    let query = browser::query();
    let view = RwSignal::new(View::from_query(&query));
    let shown = view.get_untracked();
    let read = |which: View| if shown == which { query.as_str() } else { "" };
    let training = RwSignal::new(Settings::from_query(read(View::Training)));
    let phase = RwSignal::new(PhaseSettings::from_query(read(View::Phase)));
    let transfer = RwSignal::new(TransferSettings::from_query(read(View::Transfer)));
    Effect::new(move |_| {
        let query = match view.get() {
            View::Training => training.with(|s| View::Training.query(s)),
            View::Phase => phase.with(|s| View::Phase.query(s)),
            View::Transfer => transfer.with(|s| View::Transfer.query(s)),
        };
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
            {tab(View::Transfer, "view-transfer", "Across depth")}
        </nav>
        <div id="training-view" hidden=move || view.get() != View::Training>
            <TrainingView settings=training />
        </div>
        <div id="phase-view" hidden=move || view.get() != View::Phase>
            <PhaseView settings=phase />
        </div>
        <div id="transfer-view" hidden=move || view.get() != View::Transfer>
            <TransferView settings=transfer />
        </div>
    }
}
