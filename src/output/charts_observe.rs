//! Charts of what was observed beside the load: the target's memory and CPU, the
//! generator's CPU, and probe readings over time (all on the run's clock, in seconds).

use super::OutputError;
use super::charts::{Axis, Chart, HALF, Line, Plot, WIDE};
use super::format;
use crate::result::{ProbeSeries, ResourceReading, RunResult};

fn time_axis(lo_ms: f64, hi_ms: f64) -> Axis {
    Axis::linear(
        (lo_ms / 1000.0).min(0.0).floor(),
        hi_ms / 1000.0,
        "time since start (s)",
        Box::new(|v| format!("{v:.0}")),
    )
}

fn span_ms(samples: &[ResourceReading]) -> (f64, f64) {
    let lo = samples.iter().map(|s| s.t_ms).fold(0.0, f64::min);
    let hi = samples.iter().map(|s| s.t_ms).fold(1000.0, f64::max);
    (lo, hi)
}

fn cpu_plot(samples: &[ResourceReading], name: &str, width: u32) -> Plot {
    let (lo, hi) = span_ms(samples);
    let max = samples.iter().map(|s| s.cpu_percent).fold(100.0, f64::max);
    Plot {
        x: time_axis(lo, hi),
        y: Axis::linear(
            0.0,
            max * 1.1,
            "CPU (% of one core)",
            Box::new(|v| format!("{v:.0}%")),
        ),
        lines: vec![Line {
            name: name.into(),
            points: samples
                .iter()
                .map(|s| (s.t_ms / 1000.0, s.cpu_percent))
                .collect(),
        }],
        bars: vec![],
        shade: None,
        width,
        height: 300,
    }
}

fn chart(id: &'static str, title: &'static str, plot: &Plot) -> Result<Chart, OutputError> {
    Ok(Chart {
        id,
        title,
        legend: plot.legend(),
        svg: plot.render()?,
    })
}

/// The target's resident memory and CPU over time (none without readings).
pub fn target_charts(r: &RunResult) -> Result<Vec<Chart>, OutputError> {
    let Some(t) = r.target_process.as_ref().filter(|t| !t.samples.is_empty()) else {
        return Ok(Vec::new());
    };
    let (lo, hi) = span_ms(&t.samples);
    let max = t.samples.iter().map(|s| s.rss_bytes).max().unwrap_or(0) as f64;
    let rss = Plot {
        x: time_axis(lo, hi),
        y: Axis::linear(
            0.0,
            (max * 1.1).max(1.0),
            "resident memory",
            Box::new(format::bytes),
        ),
        lines: vec![Line {
            name: "RSS".into(),
            points: t
                .samples
                .iter()
                .map(|s| (s.t_ms / 1000.0, s.rss_bytes as f64))
                .collect(),
        }],
        bars: vec![],
        shade: None,
        width: HALF,
        height: 300,
    };
    Ok(vec![
        chart("chart-target-rss", "Target resident memory", &rss)?,
        chart(
            "chart-target-cpu",
            "Target CPU",
            &cpu_plot(&t.samples, "CPU", HALF),
        )?,
    ])
}

/// The generator's CPU over time (none without readings).
pub fn generator_chart(r: &RunResult) -> Result<Option<Chart>, OutputError> {
    let Some(g) = r.generator.as_ref().filter(|g| !g.samples.is_empty()) else {
        return Ok(None);
    };
    let mut plot = cpu_plot(&g.samples, "nexus-bench CPU", WIDE);
    // The machine's other work (and steal) on the same axis: what competed with the run.
    if let Some(m) = g.machine.as_ref().filter(|m| !m.samples.is_empty()) {
        let other: Vec<(f64, f64)> = m
            .samples
            .iter()
            .map(|s| (s.t_ms / 1000.0, s.other_percent))
            .collect();
        let top = other.iter().map(|p| p.1).fold(0.0, f64::max) * 1.1;
        if top > plot.y.hi {
            plot.y = Axis::linear(
                0.0,
                top,
                "CPU (% of one core)",
                Box::new(|v| format!("{v:.0}%")),
            );
        }
        plot.lines.push(Line {
            name: "other work on the machine".into(),
            points: other,
        });
        plot.lines.push(Line {
            name: "steal (% of all CPU time)".into(),
            points: m
                .samples
                .iter()
                .map(|s| (s.t_ms / 1000.0, s.steal_percent))
                .collect(),
        });
    }
    chart(
        "chart-generator-cpu",
        "Generator CPU (nexus-bench itself) and the machine's other work",
        &plot,
    )
    .map(Some)
}

/// Every probe's readings over time, one line each (none without readings).
pub fn probe_chart(probes: &[ProbeSeries]) -> Result<Option<Chart>, OutputError> {
    let with: Vec<&ProbeSeries> = probes.iter().filter(|p| !p.samples.is_empty()).collect();
    if with.is_empty() {
        return Ok(None);
    }
    let values = || with.iter().flat_map(|p| p.samples.iter());
    let hi_ms = values().map(|s| s.t_ms).fold(1000.0, f64::max);
    let lo = values().map(|s| s.value).fold(0.0, f64::min);
    let hi = values().map(|s| s.value).fold(0.0, f64::max);
    let plot = Plot {
        x: time_axis(0.0, hi_ms),
        y: Axis::linear(
            lo,
            if hi > lo { hi * 1.1 } else { lo + 1.0 },
            "value",
            Box::new(format::number),
        ),
        lines: with
            .iter()
            .map(|p| Line {
                name: p.name.clone(),
                points: p
                    .samples
                    .iter()
                    .filter(|s| s.value.is_finite())
                    .map(|s| (s.t_ms / 1000.0, s.value))
                    .collect(),
            })
            .collect(),
        bars: vec![],
        shade: None,
        width: WIDE,
        height: 300,
    };
    chart("chart-probes", "Probe readings during the run", &plot).map(Some)
}
