//! Figures as data (series of points with labels, axes, scales) and one function that draws
//! any of them with plotters on any drawing backend: SVG and PNG files in `native`, a canvas
//! in the browser.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mark {
    Dots,
    Line,
    /// A fitted law.
    Dashed,
    /// Crosses: what failed (a network that diverged, drawn at the top of its figure).
    Cross,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The legend entry (none when empty).
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub mark: Mark,
    /// Index into the palette, so that a fit has the colour of its data.
    pub color: usize,
}

impl Series {
    pub fn new(
        label: impl Into<String>,
        points: Vec<(f64, f64)>,
        mark: Mark,
        color: usize,
    ) -> Self {
        Self {
            label: label.into(),
            points,
            mark,
            color,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub series: Vec<Series>,
    /// Shade the region below this value of y (the losses below ε).
    pub shade_below: Option<f64>,
    /// Where the legend goes (upper right unless the top is taken).
    #[serde(default)]
    pub legend: Corner,
}

/// A corner of a figure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Corner {
    #[default]
    UpperRight,
    LowerLeft,
}

impl Figure {
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            log_x: false,
            log_y: false,
            series: Vec::new(),
            shade_below: None,
            legend: Corner::UpperRight,
        }
    }

    pub fn log_log(mut self) -> Self {
        self.log_x = true;
        self.log_y = true;
        self
    }

    pub fn log_y(mut self) -> Self {
        self.log_y = true;
        self
    }

    pub fn with(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// The points that can be drawn: finite, and positive on a log axis.
    fn drawable(&self, (x, y): (f64, f64)) -> bool {
        x.is_finite() && y.is_finite() && (!self.log_x || x > 0.0) && (!self.log_y || y > 0.0)
    }

    /// The ranges of the axes: the drawable points, padded.
    fn ranges(&self) -> Option<((f64, f64), (f64, f64))> {
        let points: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|&p| self.drawable(p))
            .collect();
        let bounds = |values: Vec<f64>, log: bool| {
            let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if log {
                // In decades, so that no product overflows: 5% of the span, or ±0.3.
                let (l, h) = (lo.log10(), hi.log10());
                let pad = if h > l { 0.05 * (h - l) } else { 0.3 };
                let clamp = |v: f64| v.clamp(f64::MIN_POSITIVE, f64::MAX);
                (clamp(10f64.powf(l - pad)), clamp(10f64.powf(h + pad)))
            } else {
                // Halves first: hi − lo overflows for values near ±f64::MAX.
                let pad = if hi > lo {
                    0.1 * (hi / 2.0 - lo / 2.0)
                } else {
                    lo.abs().max(1.0)
                };
                let clamp = |v: f64| v.clamp(-f64::MAX, f64::MAX);
                (clamp(lo - pad), clamp(hi + pad))
            }
        };
        if points.is_empty() {
            return None;
        }
        let mut y = bounds(points.iter().map(|p| p.1).collect(), self.log_y);
        if let Some(level) = self.shade_below.filter(|&l| !self.log_y || l > 0.0) {
            y = (y.0.min(level / 2.0), y.1.max(level * 1.2));
        }
        Some((bounds(points.iter().map(|p| p.0).collect(), self.log_x), y))
    }
}

/// The colours of series 0, 1, 2, ... (Tableau 10).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draws `figure` onto `area` (the whole area: split it first for panels).
pub fn draw<DB: DrawingBackend>(figure: &Figure, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    area.fill(&WHITE)?;
    let Some(((x0, x1), (y0, y1))) = figure.ranges() else {
        let (w, h) = area.dim_in_pixel();
        area.draw(&Text::new(
            format!("{}: nothing to draw", figure.title),
            (w as i32 / 10, h as i32 / 2),
            ("sans-serif", 16),
        ))?;
        return Ok(());
    };
    let log = |lo: f64, hi: f64| (lo..hi).log_scale().with_key_points(log_ticks(lo, hi));
    match (figure.log_x, figure.log_y) {
        (true, true) => draw_on(figure, area, log(x0, x1), log(y0, y1)),
        (true, false) => draw_on(figure, area, log(x0, x1), y0..y1),
        (false, true) => draw_on(figure, area, x0..x1, log(y0, y1)),
        (false, false) => draw_on(figure, area, x0..x1, y0..y1),
    }
}

/// Ticks of a log axis on [lo, hi]: the values m·10^e with m in {1, 2, 5} (or, on a range of
/// less than a decade, every m in 1..=9; or, within one step of those, five geometrically
/// spaced values), so that even a narrow range is labelled.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi.is_finite() && lo < hi) {
        return Vec::new();
    }
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    if last - first > MAX_DECADES {
        // A huge range: one power of ten every `every` decades.
        let every = (last - first) / MAX_DECADES + 1;
        return (first..=last)
            .filter(|e| e % every == 0)
            .map(|e| 10f64.powi(e))
            .filter(|v| (lo..=hi).contains(v))
            .collect();
    }
    let within = |mantissas: &[f64]| -> Vec<f64> {
        (first..=last)
            .flat_map(|e| {
                // m / 10^−e: exact for the decimal values (0.3, not 0.30000000000000004).
                let (up, down) = (10f64.powi(e.max(0)), 10f64.powi((-e).max(0)));
                mantissas.iter().map(move |m| m * up / down)
            })
            .filter(|v| (lo..=hi).contains(v))
            .collect()
    };
    let ticks = within(&[1.0, 2.0, 5.0]);
    if ticks.len() >= 3 {
        return ticks;
    }
    let ticks = within(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    if ticks.len() >= 3 {
        return ticks;
    }
    (0..5)
        .map(|i| {
            let v = lo * (hi / lo).powf((i as f64 + 0.5) / 5.0);
            let scale = 10f64.powi(v.log10().floor() as i32 - 1);
            (v / scale).round() * scale
        })
        .collect()
}

/// The most decades a log axis labels one by one.
const MAX_DECADES: i32 = 12;

/// Tick labels: plain numbers in a sensible range, else scientific with up to two significant
/// digits (the ticks of a narrow log axis have two: 9.3e-4, 9.6e-4).
fn tick(v: &f64) -> String {
    let a = v.abs();
    let trim = |s: &str| s.trim_end_matches('0').trim_end_matches('.').to_string();
    if a == 0.0 {
        "0".into()
    } else if (1e-2..1e4).contains(&a) {
        trim(&format!("{v:.3}"))
    } else {
        let s = format!("{v:.1e}");
        let (mantissa, exponent) = s.split_once('e').expect("scientific notation");
        format!("{}e{exponent}", trim(mantissa))
    }
}

fn draw_on<DB, X, Y>(figure: &Figure, area: &DrawingArea<DB, Shift>, x: X, y: Y) -> DrawResult<DB>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&figure.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(&figure.x_label)
        .y_desc(&figure.y_label)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let (xr, yr) = (chart.x_range(), chart.y_range());
    if let Some(level) = figure.shade_below {
        let fill = RGBColor(44, 160, 44).mix(0.15).filled();
        chart
            .draw_series([Rectangle::new(
                [(xr.start, yr.start), (xr.end, level)],
                fill,
            )])?
            .label(format!("below ε = {level:.0e}"))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], fill));
    }
    let mut legend = false;
    for s in &figure.series {
        let color = PALETTE[s.color % PALETTE.len()];
        let points: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|&p| figure.drawable(p))
            .collect();
        let anno = match s.mark {
            Mark::Dots => {
                chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?
            }
            Mark::Line => chart.draw_series(LineSeries::new(points, color.stroke_width(2)))?,
            Mark::Dashed => {
                chart.draw_series(DashedLineSeries::new(points, 8, 5, color.stroke_width(2)))?
            }
            Mark::Cross => chart.draw_series(
                points
                    .iter()
                    .map(|&p| Cross::new(p, 5, color.stroke_width(2))),
            )?,
        };
        if !s.label.is_empty() {
            legend = true;
            let mark = s.mark;
            anno.label(&s.label).legend(move |(x, y)| match mark {
                Mark::Dots => Circle::new((x + 8, y), 3, color.filled()).into_dyn(),
                Mark::Cross => Cross::new((x + 8, y), 5, color.stroke_width(2)).into_dyn(),
                _ => PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)).into_dyn(),
            });
        }
    }
    if legend || figure.shade_below.is_some() {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", 13))
            .position(match figure.legend {
                Corner::UpperRight => SeriesLabelPosition::UpperRight,
                Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
            })
            .draw()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_leave_out_what_a_log_axis_cannot_show() {
        let fig = Figure::new("t", "L", "s").log_log().with(Series::new(
            "",
            vec![(0.0, 1.0), (10.0, -1.0), (10.0, 2.0), (100.0, 8.0)],
            Mark::Dots,
            0,
        ));
        let ((x0, x1), (y0, y1)) = fig.ranges().unwrap();
        assert!(x0 < 10.0 && x0 > 5.0 && x1 > 100.0 && x1 < 200.0);
        assert!(y0 < 2.0 && y1 > 8.0);
        let empty = Figure::new("t", "L", "s").log_log().with(Series::new(
            "",
            vec![(1.0, 0.0)],
            Mark::Dots,
            0,
        ));
        assert!(empty.ranges().is_none());
        assert_eq!(tick(&1000.0), "1000");
        assert_eq!(tick(&0.25), "0.25");
        assert_eq!(tick(&1e-4), "1e-4");
        assert_eq!(tick(&9.3e-4), "9.3e-4");
        assert_eq!(tick(&-2e5), "-2e5");
        assert_eq!(log_ticks(3.0, 300.0), [5.0, 10.0, 20.0, 50.0, 100.0, 200.0]);
        assert_eq!(log_ticks(0.3, 0.95), [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
        assert_eq!(log_ticks(1.2, 1.8).len(), 5);
    }

    #[test]
    fn extreme_values_give_finite_ranges_and_few_ticks() {
        let extreme = |log: bool, points: Vec<(f64, f64)>| {
            let fig = Figure::new("t", "L", "s").with(Series::new("", points, Mark::Dots, 0));
            let fig = if log { fig.log_log() } else { fig };
            let ((x0, x1), (y0, y1)) = fig.ranges().unwrap();
            for (lo, hi) in [(x0, x1), (y0, y1)] {
                assert!(lo.is_finite() && hi.is_finite() && lo < hi, "{lo} {hi}");
                if log {
                    assert!(lo > 0.0);
                    let ticks = log_ticks(lo, hi);
                    assert!(!ticks.is_empty() && ticks.len() <= 3 * MAX_DECADES as usize + 3);
                }
            }
        };
        extreme(true, vec![(1.0, 1e-300), (1e300, f64::MAX), (5.0, 1.0)]);
        extreme(true, vec![(f64::MIN_POSITIVE, 1e308)]);
        extreme(false, vec![(-f64::MAX, f64::MAX), (f64::MAX, -f64::MAX)]);
        extreme(false, vec![(0.0, 1e308)]);
        assert!(log_ticks(0.0, 1.0).is_empty());
        assert!(log_ticks(1.0, f64::INFINITY).is_empty());
        assert!(log_ticks(f64::NAN, 1.0).is_empty());
    }
}
