//! Figures as files: SVG drawn by plotters and PNG rasterised from it, in the embedded font.

use crate::files::write_atomic;
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use scaling_core::plot::figure::{draw, Figure};
use std::path::Path;

/// The figures' font, embedded so that drawing needs no system fonts.
pub(crate) static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Draws `panels` side by side into NAME.svg and NAME.png (see [`save_drawing`]).
pub(crate) fn save(dir: &Path, name: &str, panels: &[Figure], size: (u32, u32)) -> Result<()> {
    save_drawing(dir, name, size, |root| {
        for (panel, area) in panels.iter().zip(root.split_evenly((1, panels.len()))) {
            draw(panel, &area).map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// Draws with `draw` into NAME.svg and, rasterised from it, NAME.png (twice the pixels),
/// each written atomically.
pub(crate) fn save_drawing(
    dir: &Path,
    name: &str,
    (w, h): (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
) -> Result<()> {
    let failed = |e: String| anyhow::anyhow!("drawing {name}: {e}");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        draw(&root).map_err(failed)?;
        root.present().map_err(|e| failed(e.to_string()))?;
    }
    write_atomic(&dir.join(format!("{name}.svg")), svg.as_bytes())?;
    write_atomic(
        &dir.join(format!("{name}.png")),
        &png(&svg, 2.0).map_err(failed)?,
    )
}

/// An SVG rasterised at `scale` and encoded as PNG, its text set in the embedded font.
fn png(svg: &str, scale: f32) -> Result<Vec<u8>, String> {
    use resvg::{tiny_skia, usvg};
    use std::sync::{Arc, OnceLock};
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    let fontdb = FONTS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        Arc::new(db)
    });
    let options = usvg::Options {
        fontdb: fontdb.clone(),
        font_family: "DejaVu Sans".into(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| e.to_string())?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or("empty figure")?;
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("figure too large")?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| e.to_string())
}
