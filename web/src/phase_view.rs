//! The page's second view, "At initialisation": the (β, H) phase diagram of Marion,
//! Fermanian, Biau & Vert ([`scaling_core::phase`]) computed live. Start deals the grid's
//! (L, H) columns to the page's workers, one column each at a time, so that the heat map fills
//! in as they finish while the main thread draws; hovering a cell reads its three ratios,
//! clicking it draws ‖h_k‖ along one of its networks.

use crate::browser::Generation;
use crate::form::form_fields;
use crate::jobs::{Job, Reply};
use crate::phase_settings::PhaseSettings;
use crate::phase_summary::{hover_text, path_figure, progress, transition};
use crate::settings::FieldError;
use crate::worker::{self, deal, workers_for};
use burn::backend::NdArray;
use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use scaling_core::phase::{
    draw_heat_map, Column, HeatMap, PhaseConfig, PhaseResults, PlotArea, Quantity,
};
use scaling_core::plot::figure::Figure;

/// Where the phase diagram is computed: burn's CPU backend compiled to wasm, always, even
/// where the training view has WebGPU. [`probe`] reads its norms back synchronously
/// (`into_data`), and WebGPU in wasm can only read buffers back asynchronously.
type Cpu = NdArray<f32>;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Status {
    Idle,
    Running,
    Finished,
}

/// Start and Reset begin a new generation, which ends a computation of an older one (its
/// workers stop at once).
const TASK: Generation = Generation::of("phase");

/// The view's signals.
#[derive(Clone, Copy)]
struct State {
    settings: RwSignal<PhaseSettings>,
    status: RwSignal<Status>,
    /// The run's grid and the cells computed so far: `None` before Start and after Reset.
    results: RwSignal<Option<PhaseResults>>,
    /// The depth shown, an index into the shown grid's depths.
    depth: RwSignal<usize>,
    /// The ratio shown, an index into [`Quantity::ALL`].
    quantity: RwSignal<usize>,
    /// The heat map last drawn and where its cells are, for hovering and clicking.
    drawn: StoredValue<Option<(HeatMap, PlotArea)>>,
    /// The cell under the mouse: (L, β, H).
    hover: RwSignal<Option<(usize, f64, f64)>>,
    /// ‖h_k‖ along a network of the cell clicked last.
    path: RwSignal<Option<Figure>>,
    /// The workers of the run, once started.
    workers: RwSignal<Option<usize>>,
    error: RwSignal<Option<String>>,
}

impl State {
    fn new(settings: RwSignal<PhaseSettings>) -> Self {
        Self {
            settings,
            status: RwSignal::new(Status::Idle),
            results: RwSignal::new(None),
            depth: RwSignal::new(0),
            quantity: RwSignal::new(0),
            drawn: StoredValue::new(None),
            hover: RwSignal::new(None),
            path: RwSignal::new(None),
            workers: RwSignal::new(None),
            error: RwSignal::new(None),
        }
    }

    /// `f` of the grid shown: the run's, or before a run the settings' (no cell computed
    /// yet), `None` if those are invalid.
    fn shown<T>(&self, f: impl FnOnce(&PhaseResults) -> T) -> Option<T> {
        self.results.with(|results| match results {
            Some(r) => Some(f(r)),
            None => {
                let config = self.settings.with(|s| s.config().ok())?;
                Some(f(&PhaseResults::new(config)))
            }
        })
    }

    /// The depth shown of `results`.
    fn depth_of(&self, results: &PhaseResults) -> usize {
        let depths = &results.config.depths;
        depths[self.depth.get().min(depths.len() - 1)]
    }
}

/// Starts computing the settings' grid, unless a computation is running or the settings are
/// invalid.
fn start(state: State) {
    if state.status.get_untracked() == Status::Running {
        return;
    }
    let settings = state.settings.get_untracked();
    let (Ok(config), Ok(workers)) = (settings.config(), settings.workers()) else {
        return;
    };
    let mine = TASK.next();
    state.results.set(Some(PhaseResults::new(config.clone())));
    state.path.set(None);
    state.error.set(None);
    state.status.set(Status::Running);
    spawn_local(compute(state, config, workers, mine));
}

/// Stops the running computation (of any earlier Start): its workers end at once; the grid
/// clears.
fn reset(state: State) {
    TASK.next();
    worker::stop(TASK);
    state.status.set(Status::Idle);
    state.results.set(None);
    state.path.set(None);
    state.workers.set(None);
}

/// Deals the grid's columns in order to the workers, each column's cells added as they come,
/// until all are done or a newer generation (Reset, Start) ends it.
async fn compute(state: State, config: PhaseConfig, workers: usize, mine: u32) {
    let columns = config.columns();
    let n = workers_for(workers, columns.len());
    let pool = match worker::start(TASK, n, mine).await {
        Ok(Some(pool)) => pool,
        Ok(None) => return,
        Err(e) => return fail(state, e),
    };
    state.workers.set(Some(n));
    let jobs: Vec<Job> = columns
        .into_iter()
        .map(|column| Job::Column {
            config: config.clone(),
            column,
        })
        .collect();
    let record = |_, reply| {
        if let Reply::Column(cells) = reply {
            state.results.update(|r| {
                if let Some(r) = r {
                    r.add(cells);
                }
            });
        }
    };
    let dealt = deal(&pool, &jobs, record, || TASK.current() != mine).await;
    if TASK.current() != mine {
        return;
    }
    worker::stop(TASK);
    match dealt {
        Ok(()) => state.status.set(Status::Finished),
        Err(e) => fail(state, e),
    }
}

/// Ends a Start with an error shown.
fn fail(state: State, error: String) {
    reset(state);
    state.error.set(Some(error));
}

/// Draws the heat map of the shown depth and ratio on `canvas` (cells not computed yet in
/// grey) and keeps it for hovering; clears the canvas when there is no valid grid.
fn draw_map(state: State, canvas: NodeRef<Canvas>) {
    let Some(canvas) = canvas.get() else {
        return;
    };
    let quantity = Quantity::ALL[state.quantity.get().min(Quantity::ALL.len() - 1)];
    let map = state.shown(|r| r.heat_map(state.depth_of(r), quantity));
    let Some(backend) = CanvasBackend::with_canvas_object(canvas) else {
        return;
    };
    let area = backend.into_drawing_area();
    let drawn = match map {
        Some(map) => draw_heat_map(&map, &area).ok().map(|plot| (map, plot)),
        None => area.fill(&WHITE).ok().and(None),
    };
    let _ = area.present();
    state.drawn.set_value(drawn);
}

/// Draws the clicked cell's path on `canvas` (blank before a click).
fn draw_path(state: State, canvas: NodeRef<Canvas>) {
    let Some(canvas) = canvas.get() else {
        return;
    };
    let Some(backend) = CanvasBackend::with_canvas_object(canvas) else {
        return;
    };
    let area = backend.into_drawing_area();
    let _ = area.fill(&WHITE);
    state.path.with(|path| {
        if let Some(figure) = path {
            let _ = scaling_core::plot::figure::draw(figure, &area);
        }
    });
    let _ = area.present();
}

/// The cell of the drawn map under the mouse, (L, β, H): the event's offset, in CSS pixels,
/// scaled to the canvas's own pixels (the canvas shrinks on narrow pages).
fn cell_under(
    state: State,
    canvas: NodeRef<Canvas>,
    ev: &leptos::ev::MouseEvent,
) -> Option<(usize, f64, f64)> {
    let canvas = canvas.get_untracked()?;
    let scale = |offset: i32, size: u32, client: i32| {
        (offset as f64 * size as f64 / client.max(1) as f64).round() as i32
    };
    let x = scale(ev.offset_x(), canvas.width(), canvas.client_width());
    let y = scale(ev.offset_y(), canvas.height(), canvas.client_height());
    state.drawn.with_value(|drawn| {
        let (map, area) = drawn.as_ref()?;
        let (i, j) = map.cell_at(*area, x, y)?;
        Some((map.depth, map.betas[i], map.hursts[j]))
    })
}

/// Probes network 0 of the cell (L, β, H) of the shown grid on the CPU, at once (one network
/// takes milliseconds), and shows its path ‖h_k‖.
fn show_path(state: State, (depth, beta, hurst): (usize, f64, f64)) {
    let Some(config) = untrack(|| state.shown(|r| r.config.clone())) else {
        return;
    };
    let network = config.network(Column { depth, hurst }, 0);
    let device = Default::default();
    let mut probes = network.probe::<Cpu>(config.activation, &[beta], &device);
    let p = probes.pop().expect("one probe per β");
    state.path.set(Some(path_figure(&p, beta, hurst)));
}

/// The view: its heading, the settings, Start / Reset with the progress, the heat map with
/// its selectors and hover line, the measured transition, and the clicked cell's path.
#[component]
pub fn PhaseView(settings: RwSignal<PhaseSettings>) -> impl IntoView {
    let state = State::new(settings);
    let error = Memo::new(move |_| settings.with(|s| s.config().err()));
    let editable = move || state.status.get() != Status::Running;
    let (map_canvas, path_canvas) = (NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new());
    Effect::new(move |_| draw_map(state, map_canvas));
    Effect::new(move |_| draw_path(state, path_canvas));
    view! {
        <header>
            <h1>"At initialisation: the (β, H) phase diagram, live"</h1>
            <p>
                "Draws networks h" <sub>"k+1"</sub> " = h" <sub>"k"</sub> " + L" <sup>"−β"</sup>
                " σ(A" <sub>"k"</sub> " h" <sub>"k"</sub> ") (Eq. 1; or their res-3 block, L"
                <sup>"−β"</sup> " V" <sub>"k"</sub> " σ(W" <sub>"k"</sub> " h" <sub>"k"</sub>
                ") with ReLU) whose weights vary along k as a \
                 fractional Gaussian noise of Hurst index H, and measures at initialisation how \
                 far the output moves from the input and the input gradient from the output \
                 gradient, over a grid of β and H at every depth L (Marion, Fermanian, Biau, \
                 Vert, JMLR 2025: the regimes meet at β = H)."
            </p>
            <p id="phase-engine">
                "Every cell is computed on the CPU (wasm) with burn's NdArray backend, in the \
                 page's Web Workers, one per core unless the workers field says otherwise, each \
                 one (L, H) column at a time: the probe reads its tensors back synchronously, \
                 which WebGPU in the browser cannot do."
            </p>
        </header>
        <form class="settings" on:submit=|ev| ev.prevent_default()>
            {form_fields("phase-field-", settings, error, editable)}
        </form>
        {controls(state, error)}
        {selectors(state)}
        <div class="plots">
            <figure>
                <canvas
                    id="phase-map"
                    node_ref=map_canvas
                    width="640"
                    height="460"
                    on:mousemove=move |ev| state.hover.set(cell_under(state, map_canvas, &ev))
                    on:mouseleave=move |_| state.hover.set(None)
                    on:click=move |ev| {
                        if let Some(cell) = cell_under(state, map_canvas, &ev) {
                            show_path(state, cell);
                        }
                    }
                ></canvas>
                <figcaption>
                    "median ratio per cell (grey: not computed yet); the line β = H; dots: the \
                     measured transition"
                </figcaption>
            </figure>
            <figure>
                <canvas id="phase-path" node_ref=path_canvas width="560" height="360"></canvas>
                <figcaption>"‖h_k‖ along a network of the cell clicked last"</figcaption>
            </figure>
        </div>
        <p id="phase-hover">{hover_line(state)}</p>
        {transition_table(state)}
    }
}

/// Start, Reset, the state and the progress "k of n columns".
fn controls(state: State, error: Memo<Option<FieldError>>) -> impl IntoView {
    let status = move || match state.status.get() {
        Status::Idle => "idle",
        Status::Running => "computing",
        Status::Finished => "finished",
    };
    let progress = move || {
        let done = state.shown(progress);
        done.map_or(String::new(), |(k, n)| format!("{k} of {n} columns"))
    };
    let running = move || state.status.get() == Status::Running;
    view! {
        <div class="controls">
            <button id="phase-start" on:click=move |_| start(state) disabled=move || running() || error.get().is_some()>
                "Start"
            </button>
            <button id="phase-reset" on:click=move |_| reset(state)>"Reset"</button>
            <span id="phase-status">{status}</span>
            <span id="phase-progress">{progress}</span>
            <span id="phase-workers" data-workers=move || state.workers.get().map(|n| n.to_string())>
                {move || state.workers.get().map(worker::on_workers)}
            </span>
        </div>
        {move || state.error.get().map(|e| view! { <p class="error" id="phase-error">{e}</p> })}
    }
}

/// The depth and the ratio the heat map shows.
fn selectors(state: State) -> impl IntoView {
    let depths = move || {
        let depths = state.shown(|r| r.config.depths.clone()).unwrap_or_default();
        let option = move |(i, l): (usize, usize)| {
            view! { <option value=i.to_string() selected=move || state.depth.get() == i>{format!("L = {l}")}</option> }
        };
        depths.into_iter().enumerate().map(option).collect_view()
    };
    let quantities = Quantity::ALL.iter().enumerate().map(|(i, q)| {
        view! { <option value=i.to_string() selected=move || state.quantity.get() == i>{q.formula()}</option> }
    });
    let pick = |signal: RwSignal<usize>| {
        move |ev: leptos::ev::Event| {
            if let Ok(i) = event_target_value(&ev).parse() {
                signal.set(i);
            }
        }
    };
    view! {
        <div class="controls selectors">
            <label class="field">
                <span class="name">"depth shown"</span>
                <select id="phase-depth" on:change=pick(state.depth)>{depths}</select>
            </label>
            <label class="field">
                <span class="name">"ratio shown"</span>
                <select id="phase-quantity" on:change=pick(state.quantity)>{quantities.collect_view()}</select>
            </label>
        </div>
    }
}

/// The hovered cell's coordinates and ratios, or how to read the map.
fn hover_line(state: State) -> impl Fn() -> String + Send + Sync + 'static {
    move || match state.hover.get() {
        Some((depth, beta, hurst)) => state
            .results
            .with(|r| hover_text(r.as_ref(), depth, beta, hurst)),
        None => "Hover over the map to read a cell; click a cell to draw ‖h_k‖ along one of \
                 its networks."
            .into(),
    }
}

/// The measured transition per H against Marion et al.'s β = H, once two depths are done.
fn transition_table(state: State) -> impl IntoView {
    move || {
        match state.results.with(|r| r.as_ref().and_then(transition)) {
        None => view! {
            <p id="phase-transition-note">"The measured transition appears here once two depths are done."</p>
        }
        .into_any(),
        Some(t) => {
            let depths: Vec<String> = t.depths.iter().map(|l| l.to_string()).collect();
            let hursts = || t.rows.iter().map(|r| Some(r.0));
            view! {
                <table id="phase-transition">
                    <caption>
                        "Where the median of ‖h_L − h_0‖ / ‖h_0‖ stops growing with L (over L = "
                        {depths.join(", ")} "; –: not on the grid)"
                    </caption>
                    <tr><th>"H"</th>{table_row(hursts())}</tr>
                    <tr><th>"measured β"</th>{table_row(t.rows.iter().map(|r| r.1))}</tr>
                    <tr><th>"Marion et al.: β = H"</th>{table_row(hursts())}</tr>
                </table>
            }
            .into_any()
        }
    }
    }
}

/// Cells of a table row: two decimals, "–" for none.
fn table_row(values: impl Iterator<Item = Option<f64>>) -> impl IntoView {
    let text = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.2}"));
    values.map(|v| view! { <td>{text(v)}</td> }).collect_view()
}
