//! Charts as inline SVG (plotters' SVG backend), and the time-series charts.
//!
//! Every chart goes through [`Plot::render`]: axes with explicit tick positions (so log axes
//! are plotted as `log10` of the value on a linear scale, labelled with the real value),
//! lines, bars and an optional shaded band (the warm-up). plotters escapes all text it
//! writes, request names included.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;

use super::OutputError;
use super::format;
use super::series::{self, Point};
use crate::result::RunResult;

/// Colours of the lines, in order (colour-blind friendly, print well).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(37, 99, 235),
    RGBColor(234, 88, 12),
    RGBColor(22, 163, 74),
    RGBColor(220, 38, 38),
    RGBColor(124, 58, 237),
    RGBColor(71, 85, 105),
    RGBColor(13, 148, 136),
    RGBColor(219, 39, 119),
];
const INK: RGBColor = RGBColor(51, 65, 85);
const FONT: &str = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif";

/// Width in SVG pixels of a full-width chart (scaled to the page by CSS).
pub const WIDE: u32 = 960;
/// Width of a half-width chart.
pub const HALF: u32 = 560;

/// One axis: range, tick positions and how a tick reads.
pub struct Axis {
    /// Lowest value shown.
    pub lo: f64,
    /// Highest value shown.
    pub hi: f64,
    /// Tick positions.
    pub ticks: Vec<f64>,
    /// Tick label.
    pub label: Box<dyn Fn(f64) -> String>,
    /// Axis title.
    pub desc: String,
}

impl Axis {
    /// A linear axis from `lo` to at least `hi` with round ticks.
    pub fn linear(lo: f64, hi: f64, desc: &str, label: Box<dyn Fn(f64) -> String>) -> Axis {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        let step = nice_step((hi - lo) / 6.0);
        let hi = (hi / step).ceil() * step;
        let mut ticks = Vec::new();
        let mut t = (lo / step).ceil() * step;
        while t <= hi + step * 1e-9 {
            ticks.push(t);
            t += step;
        }
        Axis {
            lo,
            hi,
            ticks,
            label,
            desc: desc.into(),
        }
    }

    /// A log axis for latencies in ms: values are plotted as `log10(ms)`.
    pub fn log_ms(min_ms: f64, max_ms: f64, desc: &str) -> Axis {
        let lo = min_ms.max(0.001).log10().floor();
        let hi = max_ms.max(min_ms * 1.01).max(0.002).log10().ceil();
        let mut ticks = Vec::new();
        let mults: &[f64] = if hi - lo > 3.0 {
            &[1.0]
        } else {
            &[1.0, 2.0, 5.0]
        };
        for d in lo as i32..=hi as i32 {
            for m in mults {
                let v = (m * 10f64.powi(d)).log10();
                if v >= lo - 1e-9 && v <= hi + 1e-9 {
                    ticks.push(v);
                }
            }
        }
        Axis {
            lo,
            hi,
            ticks,
            label: Box::new(|v| format::latency(10f64.powf(v))),
            desc: desc.into(),
        }
    }
}

/// A linear coordinate with the ticks chosen by [`Axis`] (plotters' own key-point wrapper
/// loses the label formatter of `f64` ranges).
struct Ticked {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let f = (value - self.lo) / (self.hi - self.lo);
        limit.0 + (f * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() || hint.max_num_points() == 0 {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl Axis {
    fn coord(&self) -> Ticked {
        Ticked {
            lo: self.lo,
            hi: self.hi,
            ticks: self.ticks.clone(),
        }
    }
}

/// A round step (1, 2 or 5 × 10ⁿ) near `raw`.
fn nice_step(raw: f64) -> f64 {
    let raw = if raw > 0.0 && raw.is_finite() {
        raw
    } else {
        1.0
    };
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// A named line.
pub struct Line {
    /// Legend text (untrusted names are fine: plotters escapes).
    pub name: String,
    /// Points in axis coordinates.
    pub points: Vec<(f64, f64)>,
}

/// A chart to render.
pub struct Plot {
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// Lines, coloured from [`PALETTE`] in order.
    pub lines: Vec<Line>,
    /// Bars `(x0, x1, height)`, drawn in the first colour.
    pub bars: Vec<(f64, f64, f64)>,
    /// A shaded band on the x axis with its legend text (the warm-up).
    pub shade: Option<(f64, f64, &'static str)>,
    /// SVG width in pixels.
    pub width: u32,
    /// SVG height in pixels.
    pub height: u32,
}

fn chart_err(e: impl std::fmt::Display) -> OutputError {
    OutputError::Render {
        what: "chart",
        message: e.to_string(),
    }
}

/// One legend entry: text (unescaped) and CSS colour; `band` for a shaded area.
pub struct LegendItem {
    /// The series name, as in the result.
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    /// A shaded band rather than a line.
    pub band: bool,
}

fn css(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

impl Plot {
    /// The legend, rendered by the page in HTML (it never covers the data, and wraps).
    pub fn legend(&self) -> Vec<LegendItem> {
        let mut items: Vec<LegendItem> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| LegendItem {
                name: l.name.clone(),
                color: css(PALETTE[i % PALETTE.len()]),
                band: false,
            })
            .collect();
        if let Some((_, _, name)) = self.shade {
            items.push(LegendItem {
                name: name.into(),
                color: "#dfe3e8".into(),
                band: true,
            });
        }
        items
    }

    /// The chart as an SVG document.
    pub fn render(&self) -> Result<String, OutputError> {
        let mut svg = String::new();
        {
            let root =
                SVGBackend::with_string(&mut svg, (self.width, self.height)).into_drawing_area();
            root.fill(&WHITE).map_err(chart_err)?;
            let mut chart = ChartBuilder::on(&root)
                .margin(12)
                .margin_right(24)
                .x_label_area_size(44)
                .y_label_area_size(72)
                .build_cartesian_2d(self.x.coord(), self.y.coord())
                .map_err(chart_err)?;
            let (xl, yl) = (&self.x.label, &self.y.label);
            chart
                .configure_mesh()
                .x_desc(self.x.desc.as_str())
                .y_desc(self.y.desc.as_str())
                .x_label_formatter(&|v| xl(*v))
                .y_label_formatter(&|v| yl(*v))
                .label_style((FONT, 13).into_font().color(&INK))
                .axis_desc_style((FONT, 13).into_font().color(&INK))
                .bold_line_style(RGBColor(226, 232, 240))
                .light_line_style(TRANSPARENT)
                .axis_style(RGBColor(148, 163, 184))
                .draw()
                .map_err(chart_err)?;
            if let Some((a, b, _)) = self.shade {
                let band = RGBColor(100, 116, 139).mix(0.12).filled();
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(a, self.y.lo), (b, self.y.hi)],
                        band,
                    )))
                    .map_err(chart_err)?;
            }
            let bar = PALETTE[0].mix(0.75).filled();
            chart
                .draw_series(
                    self.bars
                        .iter()
                        .map(|&(x0, x1, h)| Rectangle::new([(x0, self.y.lo), (x1, h)], bar)),
                )
                .map_err(chart_err)?;
            for (i, line) in self.lines.iter().enumerate() {
                let color = PALETTE[i % PALETTE.len()];
                chart
                    .draw_series(LineSeries::new(
                        line.points.iter().copied(),
                        color.stroke_width(2),
                    ))
                    .map_err(chart_err)?;
            }
            root.present().map_err(chart_err)?;
        }
        Ok(svg)
    }
}

/// A rendered chart with its caption.
pub struct Chart {
    /// HTML id.
    pub id: &'static str,
    /// Caption (plain text).
    pub title: &'static str,
    /// The legend.
    pub legend: Vec<LegendItem>,
    /// The SVG.
    pub svg: String,
}

fn time_axis(result: &RunResult) -> Axis {
    let (a, b) = series::time_range(result);
    Axis::linear(
        a,
        b,
        "time since start (s)",
        Box::new(|v| format!("{v:.0}")),
    )
}

fn rate_axis(max: f64, desc: &str) -> Axis {
    Axis::linear(0.0, max * 1.1, desc, Box::new(format::rate))
}

fn warmup(result: &RunResult) -> Option<(f64, f64, &'static str)> {
    series::warmup_range(result).map(|(a, b)| (a, b, "warm-up"))
}

fn line(name: &str, pts: &[Point], f: impl Fn(&Point) -> f64) -> Line {
    Line {
        name: name.into(),
        points: pts.iter().map(|p| (p.t, f(p))).collect(),
    }
}

/// The time-series charts: throughput and errors, latency percentiles, in flight, load
/// level, and dropped arrivals when there were any.
pub fn time_charts(result: &RunResult) -> Result<Vec<Chart>, OutputError> {
    let pts = series::points(result);
    let max_of = |f: &dyn Fn(&Point) -> f64| pts.iter().map(f).fold(0.0, f64::max);
    let mut charts = Vec::new();

    let plot = Plot {
        x: time_axis(result),
        y: rate_axis(max_of(&|p| p.requests), "per second"),
        lines: vec![
            line("requests/s", &pts, |p| p.requests),
            line("errors/s", &pts, |p| p.errors),
        ],
        bars: vec![],
        shade: warmup(result),
        width: WIDE,
        height: 300,
    };
    charts.push(Chart {
        id: "chart-throughput",
        title: "Throughput and errors per second",
        legend: plot.legend(),
        svg: plot.render()?,
    });

    let with_traffic: Vec<Point> = pts.iter().filter(|p| p.max > 0.0).cloned().collect();
    let lo = with_traffic.iter().map(|p| p.p50).fold(f64::MAX, f64::min);
    let hi = max_of(&|p| p.max);
    let log = |v: f64| v.max(0.001).log10();
    let plot = Plot {
        x: time_axis(result),
        y: Axis::log_ms(if lo == f64::MAX { 1.0 } else { lo }, hi, "latency (log)"),
        lines: vec![
            line("p50", &with_traffic, |p| log(p.p50)),
            line("p90", &with_traffic, |p| log(p.p90)),
            line("p99", &with_traffic, |p| log(p.p99)),
            line("max", &with_traffic, |p| log(p.max)),
        ],
        bars: vec![],
        shade: warmup(result),
        width: WIDE,
        height: 320,
    };
    charts.push(Chart {
        id: "chart-latency",
        title: "Latency over time (all requests)",
        legend: plot.legend(),
        svg: plot.render()?,
    });

    let model_desc = if result.load.model == "open" {
        "scheduled rate"
    } else {
        "active users"
    };
    let plot = Plot {
        x: time_axis(result),
        y: Axis::linear(
            0.0,
            max_of(&|p| p.in_flight.max(p.load_level)) * 1.1,
            "level",
            Box::new(|v| format::count(v.round() as u64)),
        ),
        lines: vec![
            line("in flight (max)", &pts, |p| p.in_flight),
            line(model_desc, &pts, |p| p.load_level),
        ],
        bars: vec![],
        shade: warmup(result),
        width: HALF,
        height: 340,
    };
    charts.push(Chart {
        id: "chart-load",
        title: "Requests in flight and load level",
        legend: plot.legend(),
        svg: plot.render()?,
    });

    if result.timeseries.iter().any(|s| s.dropped > 0) {
        let plot = Plot {
            x: time_axis(result),
            y: rate_axis(max_of(&|p| p.dropped), "dropped per second"),
            lines: vec![line("dropped/s", &pts, |p| p.dropped)],
            bars: vec![],
            shade: warmup(result),
            width: HALF,
            height: 340,
        };
        charts.push(Chart {
            id: "chart-dropped",
            title: "Dropped arrivals per second (max in flight reached)",
            legend: plot.legend(),
            svg: plot.render()?,
        });
    }
    Ok(charts)
}
