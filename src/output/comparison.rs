//! Renderers of a baseline [`Comparison`]: terminal table, Markdown (CI step summaries and PR
//! comments), an HTML fragment with percentile-distribution charts, and JUnit test cases.
//! Every format shows the same numbers, formatted by the same functions.

use std::fmt::Write as _;

use plotters::prelude::*;

use super::format::{escape_md, escape_xml};
use crate::analysis::compare::{Change, Comparison, GateMetric, MetricComparison};
use crate::result::{EndpointStats, RunResult};
use crate::units::{format_ms, format_percent, format_rate};

/// A value in the metric's unit: `12.3ms`, `950/s`, `0.20%`.
pub fn format_value(metric: GateMetric, v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    match metric {
        GateMetric::Throughput => format_rate(v),
        GateMetric::ErrorRate => format_percent(v),
        _ => format_ms(v),
    }
}

fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:+.1}%", v * 100.0)
    } else {
        "–".into()
    }
}

fn ci(r: &MetricComparison) -> String {
    if r.ci_low.is_finite() && r.ci_high.is_finite() {
        format!("[{}, {}]", pct(r.ci_low), pct(r.ci_high))
    } else {
        "–".into()
    }
}

fn p_value(p: f64) -> String {
    if p.is_nan() {
        "–".into()
    } else if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

fn verdict_word(v: Change) -> &'static str {
    match v {
        Change::Improved => "improved",
        Change::NoChange => "no change",
        Change::Regressed => "REGRESSED",
        Change::Inconclusive => "INCONCLUSIVE",
    }
}

const HEADER: [&str; 9] = [
    "request", "metric", "baseline", "current", "change", "CI", "p", "verdict", "note",
];

fn cells(r: &MetricComparison) -> [String; 9] {
    [
        r.request.clone(),
        r.metric.label().into(),
        format_value(r.metric, r.baseline),
        format_value(r.metric, r.current),
        pct(r.change),
        ci(r),
        p_value(r.p_value),
        verdict_word(r.verdict).into(),
        r.note.clone().unwrap_or_default(),
    ]
}

/// The confidence of each row's interval (Bonferroni: `1 − α / tests`).
fn confidence(c: &Comparison) -> String {
    let level = (1.0 - c.options.significance / c.tests.max(1) as f64) * 100.0;
    if level >= 99.95 {
        format!("{level:.2}%")
    } else {
        format!("{level:.1}%")
    }
}

fn headline(c: &Comparison) -> String {
    let regressions: Vec<String> = c
        .regressions()
        .map(|r| format!("{} {} {}", r.request, r.metric.label(), pct(r.change)))
        .collect();
    if regressions.is_empty() && c.inconclusive() {
        let why: Vec<String> = c
            .rows
            .iter()
            .filter(|r| r.verdict == Change::Inconclusive)
            .filter_map(|r| r.note.clone())
            .take(1)
            .collect();
        format!(
            "Inconclusive: the comparison cannot be judged ({}).",
            why.join("; ")
        )
    } else if regressions.is_empty() {
        format!(
            "No regression beyond {} (noise band {}, α = {}).",
            format_percent(c.options.max_regression),
            format_percent(c.options.noise),
            c.options.significance
        )
    } else {
        format!("Regressed: {}.", regressions.join(", "))
    }
}

/// The comparison as a plain-text table; `color` adds ANSI colours to verdicts.
pub fn render_terminal(c: &Comparison, color: bool) -> String {
    let paint = |text: &str, v: Change| -> String {
        if !color {
            return text.to_string();
        }
        let code = match v {
            Change::Regressed => "1;31",
            Change::Inconclusive => "1;33",
            Change::Improved => "32",
            Change::NoChange => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    };
    let mut out = format!(
        "Baseline comparison: {} (baseline {}, current {})\n",
        c.scenario, c.baseline_started_at, c.current_started_at
    );
    if let Some(why) = &c.forced {
        let _ = writeln!(out, "FORCED: the runs are not comparable: {why}");
    }
    for n in &c.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let mut header = HEADER.map(String::from);
    header[5] = format!("{} CI", confidence(c));
    let rows: Vec<[String; 9]> = c.rows.iter().map(cells).collect();
    let widths: Vec<usize> = (0..9)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String; 9], verdict: Option<Change>| -> String {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let padded = format!("{cell:<w$}", w = widths[i]);
            let padded = if i == 7 {
                verdict.map_or(padded.clone(), |v| paint(&padded, v))
            } else {
                padded
            };
            s.push_str(&padded);
            s.push_str("  ");
        }
        s.trim_end().to_string() + "\n"
    };
    out.push_str(&line(&header, None));
    for (cells, row) in rows.iter().zip(&c.rows) {
        out.push_str(&line(cells, Some(row.verdict)));
    }
    let verdict = if c.regressed() {
        Change::Regressed
    } else if c.inconclusive() {
        Change::Inconclusive
    } else {
        Change::NoChange
    };
    out.push_str(&paint(&headline(c), verdict));
    out.push('\n');
    out
}

/// The comparison as a Markdown section (table and verdict).
pub fn render_markdown(c: &Comparison) -> String {
    // The heading is the report section's (see `output::Section`).
    let mut out = String::new();
    let _ = writeln!(out, "**{}**\n", escape_md(&headline(c)));
    if let Some(why) = &c.forced {
        let _ = writeln!(
            out,
            "> **Forced**: the runs are not comparable: {}\n",
            escape_md(why)
        );
    }
    let mut header = HEADER.map(String::from);
    header[5] = format!("{} CI", confidence(c));
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(9));
    for row in &c.rows {
        let mut cells = cells(row).map(|s| escape_md(&s));
        if row.verdict == Change::Regressed {
            cells[7] = "**regressed**".into();
        } else if row.verdict == Change::Inconclusive {
            cells[7] = "**inconclusive**".into();
        }
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
    for n in &c.notes {
        let _ = writeln!(out, "- {}", escape_md(n));
    }
    let _ = writeln!(
        out,
        "\n<sub>Values are medians of per-second values; p: Mann–Whitney U (error rate: two-proportion z); CI: bootstrap of the change. Baseline {}, current {}.</sub>",
        escape_md(&c.baseline_started_at),
        escape_md(&c.current_started_at)
    );
    out
}

/// The comparison as an HTML fragment (a `<section>`): the table, then per compared request a
/// self-contained SVG overlaying the baseline's and the current latency percentile
/// distributions on a logarithmic `1/(1−q)` axis (from the lossless whole-run histograms).
pub fn render_html(c: &Comparison, baseline: &RunResult, current: &RunResult) -> String {
    // The heading is the report section's (see `output::Section`).
    let mut out = String::from("<section class=\"comparison\">\n");
    let class = if c.regressed() { "fail" } else { "pass" };
    let _ = writeln!(
        out,
        "<p class=\"{class}\"><strong>{}</strong></p>",
        escape_xml(&headline(c))
    );
    if let Some(why) = &c.forced {
        let _ = writeln!(
            out,
            "<p class=\"warn\">Forced: the runs are not comparable: {}</p>",
            escape_xml(why)
        );
    }
    for n in &c.notes {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape_xml(n));
    }
    out.push_str("<table>\n<thead><tr>");
    let mut header = HEADER.map(String::from);
    header[5] = format!("{} CI", confidence(c));
    for h in &header {
        let _ = write!(out, "<th>{}</th>", escape_xml(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &c.rows {
        let class = match row.verdict {
            Change::Regressed => "regressed",
            Change::Inconclusive => "inconclusive",
            Change::Improved => "improved",
            Change::NoChange => "nochange",
        };
        let _ = write!(out, "<tr class=\"{class}\">");
        for cell in cells(row) {
            let _ = write!(out, "<td>{}</td>", escape_xml(&cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    let mut requests: Vec<&str> = c.rows.iter().map(|r| r.request.as_str()).collect();
    requests.dedup();
    for name in requests {
        let (Some(b), Some(cur)) = (stats_of(baseline, name), stats_of(current, name)) else {
            continue;
        };
        let _ = writeln!(
            out,
            "<figure><figcaption>Latency percentiles: {}</figcaption>",
            escape_xml(name)
        );
        match percentile_svg(b, cur) {
            Ok(svg) => out.push_str(&svg),
            Err(e) => {
                let _ = write!(
                    out,
                    "<p class=\"note\">chart unavailable: {}</p>",
                    escape_xml(&e)
                );
            }
        }
        out.push_str("\n</figure>\n");
    }
    out.push_str("</section>\n");
    out
}

fn stats_of<'a>(r: &'a RunResult, name: &str) -> Option<&'a EndpointStats> {
    if name == "*" {
        Some(&r.overall)
    } else {
        r.endpoint(name)
    }
}

/// Percentile curve `(log10(1/(1−q)), ms)` of a histogram, up to the quantile its sample
/// count supports (at most 99.99 %).
fn curve(e: &EndpointStats) -> Result<Vec<(f64, f64)>, String> {
    let h = e
        .histograms
        .latency_us
        .decode()
        .map_err(|m| m.to_string())?;
    if h.is_empty() {
        return Ok(Vec::new());
    }
    let x_max = (h.len() as f64).log10().clamp(1.0, 4.0);
    Ok((0..=200)
        .map(|i| {
            let x = x_max * f64::from(i) / 200.0;
            let q = 1.0 - 10f64.powf(-x);
            (x, h.value_at_quantile(q) as f64 / 1000.0)
        })
        .collect())
}

fn percentile_label(x: f64) -> String {
    let q = (1.0 - 10f64.powf(-x)) * 100.0;
    let digits = (x - 2.0).ceil().max(0.0) as usize;
    format!("{q:.digits$}%")
}

fn percentile_svg(b: &EndpointStats, c: &EndpointStats) -> Result<String, String> {
    let (cb, cc) = (curve(b)?, curve(c)?);
    let x_max = cb.iter().chain(&cc).map(|p| p.0).fold(1.0, f64::max);
    let y_max = cb.iter().chain(&cc).map(|p| p.1).fold(0.001, f64::max) * 1.05;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 320)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_labels((x_max.round() as usize) + 1)
            .x_label_formatter(&|x| percentile_label(*x))
            .y_label_formatter(&|y| format_ms(*y))
            .x_desc("percentile")
            .y_desc("latency")
            .draw()
            .map_err(|e| err(&e))?;
        for (points, color, label) in [(cb, BLUE, "baseline"), (cc, RED, "current")] {
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// One JUnit test case per compared metric: `compare.<request>.<metric>`, with a failure
/// message when it regressed.
pub fn junit_cases(c: &Comparison) -> Vec<(String, Option<String>)> {
    c.rows
        .iter()
        .map(|r| {
            let name = format!("compare.{}.{}", r.request, r.metric.key());
            let failure = (r.verdict == Change::Regressed).then(|| {
                format!(
                    "{} {} regressed {} ({} → {}; {} CI {}; p = {}; tolerance {})",
                    r.request,
                    r.metric.label(),
                    pct(r.change),
                    format_value(r.metric, r.baseline),
                    format_value(r.metric, r.current),
                    confidence(c),
                    ci(r),
                    p_value(r.p_value),
                    format_percent(c.options.max_regression)
                )
            });
            let failure = failure.or_else(|| {
                (r.verdict == Change::Inconclusive).then(|| {
                    format!(
                        "{} {} inconclusive: {}",
                        r.request,
                        r.metric.label(),
                        r.note.as_deref().unwrap_or("cannot be judged")
                    )
                })
            });
            (name, failure)
        })
        .collect()
}
