//! SLO evaluation: observed values from a [`RunResult`] against the plan's limits.
//! Percentiles come from the stored histograms, so any percentile (p97, p99.99) is exact to
//! the histogram's precision, not interpolated from a summary.

use crate::plan::{Metric, Slo, Stat, Unit};
use crate::result::{EndpointStats, RunResult, SloResult};

/// Evaluates `slos` on `result`, storing the verdicts and the overall verdict in it.
pub fn apply(result: &mut RunResult, slos: &[Slo]) {
    result.slos = slos.iter().map(|s| evaluate(result, s)).collect();
    result.verdict = super::judge::verdict(result);
}

/// Evaluates one SLO.
pub fn evaluate(result: &RunResult, slo: &Slo) -> SloResult {
    let trend = super::trend::observe(result, &slo.metric).unwrap_or_default();
    let stats = match &slo.request {
        Some(name) => result.endpoint(name),
        None => Some(&result.overall),
    };
    let observed = match &slo.metric {
        Metric::TargetStartup => result.target_process.as_ref().map(|t| t.startup_ms),
        Metric::TargetRssMax => result
            .target_process
            .as_ref()
            .map(|t| t.rss_max_bytes as f64),
        Metric::TargetCpuMean => result
            .target_process
            .as_ref()
            .map(|t| t.cpu_mean_percent / 100.0),
        Metric::Probe(name) => result
            .probes
            .iter()
            .find(|p| &p.name == name)
            .and_then(|p| p.after),
        Metric::TargetRssSlope | Metric::TargetRssGrowth | Metric::ProbeSlope(_) => trend.value,
        _ => stats.and_then(|s| observe(s, &slo.metric)),
    };
    let metric = match &slo.request {
        Some(r) => slo
            .key
            .strip_prefix(&format!("{r}."))
            .unwrap_or(&slo.key)
            .to_string(),
        None => slo.key.clone(),
    };
    SloResult {
        key: slo.key.clone(),
        metric,
        request: slo.request.clone(),
        op: slo.op.symbol().to_string(),
        limit: slo.limit,
        observed,
        unit: unit_name(slo.metric.unit()).to_string(),
        pass: observed.is_some_and(|v| slo.op.holds(v, slo.limit)),
        interval: trend.interval,
        inconclusive: trend.inconclusive,
    }
}

/// The name of a unit in result files.
pub fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Millis => "ms",
        Unit::Ratio => "ratio",
        Unit::PerSec => "per_sec",
        Unit::Bytes => "bytes",
        Unit::Number => "number",
        Unit::BytesPerMin => "bytes_per_min",
        Unit::PerMin => "per_min",
    }
}

/// The observed value of `metric` for `stats`, or `None` when nothing was measured.
fn observe(stats: &EndpointStats, metric: &Metric) -> Option<f64> {
    if stats.requests == 0 {
        return None;
    }
    match metric {
        Metric::Latency(stat) => stat_of(&stats.histograms.latency_us, *stat),
        Metric::ServiceTime(stat) => stat_of(&stats.histograms.service_time_us, *stat),
        Metric::Connect(stat) => stat_of(&stats.connections.as_ref()?.connect_us, *stat),
        Metric::TlsHandshake(stat) => stat_of(
            stats.connections.as_ref()?.tls_handshake_us.as_ref()?,
            *stat,
        ),
        Metric::ErrorRate => Some(stats.errors as f64 / stats.requests as f64),
        Metric::Throughput => Some(stats.throughput_per_sec),
        Metric::ExpectPassRate => {
            Some(1.0 - stats.expectation_failures() as f64 / stats.requests as f64)
        }
        _ => None,
    }
}

fn stat_of(h: &crate::result::EncodedHistogram, stat: Stat) -> Option<f64> {
    let h = h.decode().ok()?;
    if h.is_empty() {
        return None;
    }
    let us = match stat {
        Stat::Percentile(p) => h.value_at_quantile(p / 100.0) as f64,
        Stat::Mean => h.mean(),
        Stat::Min => h.min() as f64,
        Stat::Max => h.max() as f64,
    };
    Some(us / 1000.0)
}
