//! Distribution charts: the percentile distribution on HdrHistogram's logarithmic
//! `1/(1-q)` axis (one line per request name) and the latency histogram, both decoded from
//! the result's full histograms.

use super::OutputError;
use super::charts::{Axis, Chart, Line, Plot};
use super::format;
use crate::result::{Hist, RunResult};

/// Where the percentile axis ends: `log10(1/(1-q))` for q = 99.99 %.
const MAX_NINES: f64 = 4.0;

fn decode(what: &str, h: &crate::result::EncodedHistogram) -> Result<Hist, OutputError> {
    h.decode().map_err(|m| OutputError::Histogram {
        what: what.into(),
        message: m.to_string(),
    })
}

/// The percentile label of a position on the `1/(1-q)` axis: `0%`, `50%`, `99.9%`.
fn nines_label(v: f64) -> String {
    let pct = 100.0 * (1.0 - 10f64.powf(-v));
    let decimals = (v.round() as i64 - 2).clamp(0, 6) as usize;
    format!("{pct:.decimals$}%")
}

/// The percentile distribution chart of every request name (and of all requests together
/// when there are several).
pub fn percentile_chart(result: &RunResult) -> Result<Chart, OutputError> {
    let mut hists = Vec::new();
    for e in &result.endpoints {
        hists.push((
            e.name.clone(),
            decode(&format!("request {}", e.name), &e.histograms.latency_us)?,
        ));
    }
    if result.endpoints.len() != 1 {
        hists.push((
            "all requests".to_string(),
            decode("all requests", &result.overall.histograms.latency_us)?,
        ));
    }
    let hists: Vec<(String, Hist)> = hists.into_iter().filter(|(_, h)| !h.is_empty()).collect();
    let lo = hists.iter().map(|(_, h)| h.min()).min().unwrap_or(1000) as f64 / 1000.0;
    let hi = hists.iter().map(|(_, h)| h.max()).max().unwrap_or(1000) as f64 / 1000.0;
    let lines = hists
        .iter()
        .map(|(name, h)| Line {
            name: name.clone(),
            points: (0..=(MAX_NINES * 50.0) as u32)
                .map(|i| {
                    let v = f64::from(i) / 50.0;
                    let q = 1.0 - 10f64.powf(-v);
                    let ms = h.value_at_quantile(q) as f64 / 1000.0;
                    (v, ms.max(0.001).log10())
                })
                .collect(),
        })
        .collect();
    let plot = Plot {
        x: Axis {
            lo: 0.0,
            hi: MAX_NINES,
            ticks: vec![0.0, 2f64.log10(), 1.0, 2.0, 3.0, 4.0],
            label: Box::new(nines_label),
            desc: "percentile".into(),
        },
        y: Axis::log_ms(lo, hi, "latency (log)"),
        lines,
        bars: vec![],
        shade: None,
        width: super::charts::WIDE,
        height: 360,
    };
    Ok(Chart {
        id: "chart-percentiles",
        title: "Latency by percentile (measured period)",
        legend: plot.legend(),
        svg: plot.render()?,
    })
}

/// Bins of the latency histogram.
const BINS: usize = 48;

/// The histogram of all requests' latencies, in logarithmic bins.
pub fn histogram_chart(result: &RunResult) -> Result<Chart, OutputError> {
    let h = decode("all requests", &result.overall.histograms.latency_us)?;
    let (lo_ms, hi_ms) = if h.is_empty() {
        (1.0, 10.0)
    } else {
        (
            h.min().max(1) as f64 / 1000.0,
            h.max().max(2) as f64 / 1000.0,
        )
    };
    let x = Axis::log_ms(lo_ms, hi_ms, "latency (log)");
    let width = (x.hi - x.lo) / BINS as f64;
    let mut counts = [0u64; BINS];
    for v in h.iter_recorded() {
        let at = (v.value_iterated_to().max(1) as f64 / 1000.0).log10();
        let bin = (((at - x.lo) / width) as usize).min(BINS - 1);
        counts[bin] += v.count_at_value();
    }
    let top = counts.iter().copied().max().unwrap_or(0) as f64;
    let bars = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(i, c)| {
            let x0 = x.lo + width * i as f64;
            (x0, x0 + width * 0.92, *c as f64)
        })
        .collect();
    let plot = Plot {
        x,
        y: Axis::linear(
            0.0,
            top * 1.05,
            "requests",
            Box::new(|v| format::count(v.round() as u64)),
        ),
        lines: vec![],
        bars,
        shade: None,
        width: super::charts::HALF,
        height: 340,
    };
    Ok(Chart {
        id: "chart-histogram",
        title: "Latency histogram (all requests, measured period)",
        legend: plot.legend(),
        svg: plot.render()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_axis_labels() {
        assert_eq!(nines_label(0.0), "0%");
        assert_eq!(nines_label(2f64.log10()), "50%");
        assert_eq!(nines_label(1.0), "90%");
        assert_eq!(nines_label(2.0), "99%");
        assert_eq!(nines_label(3.0), "99.9%");
        assert_eq!(nines_label(4.0), "99.99%");
    }
}
