//! The heat map of a ratio over (H, β) at one depth, on a log colour scale centred on 1,
//! with the line β = H and a colour bar: drawn by one function on any plotters backend (SVG
//! and PNG in `native`, a canvas in the browser).

use super::cells::{PhaseCell, Quantiles};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

/// The ratios a cell measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Quantity {
    /// ‖h_L − h_0‖ / ‖h_0‖.
    Forward,
    /// ‖g_0‖ / ‖g_L‖.
    Backward,
    /// ‖g_0 − g_L‖ / ‖g_L‖.
    GradientChange,
}

impl Quantity {
    pub const ALL: [Quantity; 3] = [
        Quantity::Forward,
        Quantity::Backward,
        Quantity::GradientChange,
    ];

    pub fn of(self, cell: &PhaseCell) -> &Quantiles {
        match self {
            Quantity::Forward => &cell.forward,
            Quantity::Backward => &cell.backward,
            Quantity::GradientChange => &cell.gradient_change,
        }
    }

    /// The formula, as the figures label it.
    pub fn formula(self) -> &'static str {
        match self {
            Quantity::Forward => "‖h_L − h_0‖ / ‖h_0‖",
            Quantity::Backward => "‖∂ℓ/∂h_0‖ / ‖∂ℓ/∂h_L‖",
            Quantity::GradientChange => "‖∂ℓ/∂h_0 − ∂ℓ/∂h_L‖ / ‖∂ℓ/∂h_L‖",
        }
    }

    /// The stem of its figure files.
    pub fn name(self) -> &'static str {
        match self {
            Quantity::Forward => "forward",
            Quantity::Backward => "backward",
            Quantity::GradientChange => "gradient-change",
        }
    }
}

/// The colour scale spans 10^−DECADES .. 10^DECADES; beyond, the end colours.
pub const DECADES: f64 = 2.0;

#[derive(Clone, Debug, PartialEq)]
pub struct HeatMap {
    pub quantity: Quantity,
    pub depth: usize,
    /// H, along x.
    pub hursts: Vec<f64>,
    /// β, along y.
    pub betas: Vec<f64>,
    /// log10 of the median at (β_i, H_j), row-major [i][j]: `None` not computed yet, +∞ an
    /// overflow.
    pub values: Vec<Option<f64>>,
    /// The measured transition (H, β), drawn as dots: where the ratio stops growing with L.
    pub transition: Vec<(f64, f64)>,
}

/// Where a heat map's cells were drawn, in pixels of the drawing area.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlotArea {
    pub x: (i32, i32),
    pub y: (i32, i32),
}

/// The cell edges of an axis: midpoints between values, half a spacing beyond the ends.
fn edges(values: &[f64]) -> Vec<f64> {
    let n = values.len();
    if n == 1 {
        return vec![values[0] - 0.05, values[0] + 0.05];
    }
    let mut e = vec![values[0] - (values[1] - values[0]) / 2.0];
    e.extend(values.windows(2).map(|w| (w[0] + w[1]) / 2.0));
    e.push(values[n - 1] + (values[n - 1] - values[n - 2]) / 2.0);
    e
}

/// The diverging colour of log10 r: blue below 1, white at 1, red above.
pub fn colour(log10: f64) -> RGBColor {
    let t = (log10 / DECADES).clamp(-1.0, 1.0);
    let (end, t) = if t < 0.0 {
        ((33, 102, 172), -t)
    } else {
        ((178, 24, 43), t)
    };
    let mix = |e: u8| (255.0 + (e as f64 - 255.0) * t).round() as u8;
    RGBColor(mix(end.0), mix(end.1), mix(end.2))
}

impl HeatMap {
    pub fn new(
        quantity: Quantity,
        depth: usize,
        hursts: Vec<f64>,
        betas: Vec<f64>,
        values: Vec<Option<f64>>,
    ) -> Self {
        assert_eq!(
            values.len(),
            hursts.len() * betas.len(),
            "one value per cell"
        );
        Self {
            quantity,
            depth,
            hursts,
            betas,
            values,
            transition: Vec::new(),
        }
    }

    /// The cell (β index, H index) under the pixel (px, py) of a map drawn into `area`.
    pub fn cell_at(&self, area: PlotArea, px: i32, py: i32) -> Option<(usize, usize)> {
        let (xe, ye) = (edges(&self.hursts), edges(&self.betas));
        let fx = (px - area.x.0) as f64 / (area.x.1 - area.x.0).max(1) as f64;
        let fy = (area.y.1 - py) as f64 / (area.y.1 - area.y.0).max(1) as f64;
        let (x, y) = (
            xe[0] + fx * (xe[xe.len() - 1] - xe[0]),
            ye[0] + fy * (ye[ye.len() - 1] - ye[0]),
        );
        let j = xe.windows(2).position(|w| w[0] <= x && x < w[1])?;
        let i = ye.windows(2).position(|w| w[0] <= y && y < w[1])?;
        Some((i, j))
    }
}

type DrawResult<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draws `map` onto `area`: the cells, the line β = H, the measured transition as dots, and
/// a colour bar with its ticks labelled as ratios. Returns where the cells are, for hovering.
pub fn draw_heat_map<DB: DrawingBackend>(
    map: &HeatMap,
    area: &DrawingArea<DB, Shift>,
) -> DrawResult<PlotArea, DB> {
    area.fill(&WHITE)?;
    let (width, _) = area.dim_in_pixel();
    let (main, bar) = area.split_horizontally(width as i32 - 80);
    let (xe, ye) = (edges(&map.hursts), edges(&map.betas));
    let (x0, x1, y0, y1) = (xe[0], xe[xe.len() - 1], ye[0], ye[ye.len() - 1]);
    let title = format!("{} at L = {}", map.quantity.formula(), map.depth);
    let mut chart = ChartBuilder::on(&main)
        .caption(title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("Hurst index H of the weights along k")
        .y_desc("β  (δ = L^−β)")
        .draw()?;
    let cells = map.values.iter().enumerate().map(|(n, v)| {
        let (i, j) = (n / map.hursts.len(), n % map.hursts.len());
        let fill = v.map_or(RGBColor(220, 220, 220), colour);
        Rectangle::new([(xe[j], ye[i]), (xe[j + 1], ye[i + 1])], fill.filled())
    });
    chart.draw_series(cells)?;
    let (lo, hi) = (x0.max(y0), x1.min(y1));
    if lo < hi {
        chart.draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.stroke_width(2)))?;
    }
    let dots = map
        .transition
        .iter()
        .map(|&p| Circle::new(p, 4, BLACK.filled()));
    chart.draw_series(dots)?;
    let (px, py) = chart.plotting_area().get_pixel_range();
    draw_colour_bar(&bar)?;
    Ok(PlotArea {
        x: (px.start, px.end),
        y: (py.start, py.end),
    })
}

/// The colour bar: ratios 10^−DECADES .. 10^DECADES, a tick per decade.
fn draw_colour_bar<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> DrawResult<(), DB> {
    let mut bar = ChartBuilder::on(area)
        .margin_top(36)
        .margin_bottom(50)
        .margin_right(5)
        .set_label_area_size(LabelAreaPosition::Right, 45)
        .build_cartesian_2d(0.0..1.0, -DECADES..DECADES)?;
    let steps = 100;
    let step = 2.0 * DECADES / steps as f64;
    bar.draw_series((0..steps).map(|s| {
        let v = -DECADES + s as f64 * step;
        Rectangle::new([(0.0, v), (1.0, v + step)], colour(v + step / 2.0).filled())
    }))?;
    bar.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(2 * DECADES as usize + 1)
        .y_label_style(("sans-serif", 13))
        .y_label_formatter(&|v| format!("{}", 10f64.powf(v.round())))
        .draw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_colour_scale_is_white_at_one_and_saturates() {
        assert_eq!(colour(0.0), RGBColor(255, 255, 255));
        assert_eq!(colour(DECADES), colour(10.0 * DECADES));
        assert_eq!(colour(-DECADES), RGBColor(33, 102, 172));
        assert_eq!(colour(f64::INFINITY), RGBColor(178, 24, 43));
    }

    #[test]
    fn hovering_a_drawn_cell_finds_it() {
        let (hursts, betas) = (vec![0.1, 0.3, 0.5, 0.9], vec![0.0, 0.5, 1.0]);
        let values = (0..12).map(|v| Some(v as f64 / 4.0 - 1.5)).collect();
        let map = HeatMap::new(
            Quantity::Forward,
            100,
            hursts.clone(),
            betas.clone(),
            values,
        );
        crate::testing::register_font();
        let mut svg = String::new();
        let area = {
            let root = SVGBackend::with_string(&mut svg, (640, 520)).into_drawing_area();
            draw_heat_map(&map, &root).unwrap()
        };
        assert!(svg.contains("<svg") && svg.contains("L = 100"));
        let (xe, ye) = (edges(&hursts), edges(&betas));
        let pixel = |v: f64, e: &[f64], (lo, hi): (i32, i32), flip: bool| {
            let f = (v - e[0]) / (e[e.len() - 1] - e[0]);
            let f = if flip { 1.0 - f } else { f };
            lo + (f * (hi - lo) as f64).round() as i32
        };
        for (i, &b) in betas.iter().enumerate() {
            for (j, &h) in hursts.iter().enumerate() {
                let (px, py) = (pixel(h, &xe, area.x, false), pixel(b, &ye, area.y, true));
                assert_eq!(map.cell_at(area, px, py), Some((i, j)), "β = {b}, H = {h}");
            }
        }
        assert_eq!(map.cell_at(area, area.x.0 - 5, area.y.0 + 5), None);
    }
}
