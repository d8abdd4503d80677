//! Core's figures on the page's canvases: drawing one, and the canvases of a view with their
//! captions and PNG downloads.

use crate::browser;
use leptos::prelude::*;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use scaling_core::plot::figure::Figure;

/// Draws `figure` on the canvas `id`, or clears it for `None`.
pub fn draw(id: &str, figure: Option<&Figure>) {
    if let Some(backend) = CanvasBackend::new(id) {
        let area = backend.into_drawing_area();
        let _ = area.fill(&WHITE);
        if let Some(figure) = figure {
            let _ = scaling_core::plot::figure::draw(figure, &area);
        }
        let _ = area.present();
    }
}

/// A canvas `<prefix><name>` for each (name, caption), with its caption and a button that
/// downloads it as `<name>.png`.
pub fn canvases(
    prefix: &'static str,
    plots: &'static [(&'static str, &'static str)],
) -> impl IntoView {
    plots
        .iter()
        .map(|&(name, caption)| {
            let id = format!("{prefix}{name}");
            let save = move |_| {
                browser::download_canvas(&format!("{prefix}{name}"), &format!("{name}.png"))
            };
            view! {
                <figure>
                    <canvas id=id width="560" height="360"></canvas>
                    <figcaption>{caption} " " <button on:click=save>"PNG"</button></figcaption>
                </figure>
            }
        })
        .collect_view()
}
