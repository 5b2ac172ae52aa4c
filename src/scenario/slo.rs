//! SLO keys (`[request.]metric`) and values (`op limit`), parsed into [`Slo`]s with limits in
//! each metric's canonical unit.

use std::fmt;

use crate::plan::{Metric, Op, Slo, Stat, Unit};
use crate::units;

/// Metric names a key may use, for messages and hints.
pub(crate) const METRIC_EXAMPLES: &[&str] = &[
    "latency.p50",
    "latency.p99",
    "latency.p99.9",
    "latency.mean",
    "latency.min",
    "latency.max",
    "service_time.p99",
    "service_time.mean",
    "connect.p99",
    "tls_handshake.p99",
    "error_rate",
    "throughput",
    "expect_pass_rate",
    "target.startup",
    "target.rss.max",
    "target.rss.slope",
    "target.rss.growth",
    "target.cpu.mean",
    "probe.<name>",
    "probe.<name>.slope",
];

const METRIC_ROOTS: &[&str] = &[
    "latency",
    "service_time",
    "connect",
    "tls_handshake",
    "error_rate",
    "throughput",
    "expect_pass_rate",
    "target",
    "probe",
];

/// Which part of an SLO entry a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Key,
    Value,
}

/// A problem with an SLO entry while the plan is built: where, what, and what to write
/// instead (the builder points each at its own span).
pub(crate) type Problem = (Part, String, Option<String>);

/// An SLO entry that does not parse: what is wrong and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", help.as_ref().map(|h| format!("; {h}")).unwrap_or_default())]
pub struct SloError {
    /// What is wrong.
    pub message: String,
    /// What to write instead, if there is a hint.
    pub help: Option<String>,
}

/// Parses one SLO entry, e.g. `("get.latency.p99", "< 5ms")`. The request prefix (if any) is
/// not checked against the plan here.
pub fn parse_slo(key: &str, value: &str) -> Result<Slo, SloError> {
    parse(key, value).map_err(|(_, message, help)| SloError { message, help })
}

/// Splits `key` into the request prefix (if any) and the metric name.
fn split_key(key: &str) -> (Option<&str>, &str) {
    let is_metric = |s: &str| {
        METRIC_ROOTS
            .iter()
            .any(|r| s == *r || s.starts_with(&format!("{r}.")))
    };
    if is_metric(key) {
        return (None, key);
    }
    match key.split_once('.') {
        Some((req, metric)) => (Some(req), metric),
        None => (None, key),
    }
}

pub(crate) fn parse(key: &str, value: &str) -> Result<Slo, Problem> {
    let (request, metric_name) = split_key(key);
    let metric = parse_metric(metric_name).map_err(|e| {
        // `latncy.p99` reads as request `latncy`; a misspelt metric is the likelier story.
        match (
            request,
            super::errors::nearest(key, METRIC_EXAMPLES.iter().copied()),
        ) {
            (Some(_), Some(near)) => (
                Part::Key,
                format!("`{key}` is not a metric"),
                Some(format!("did you mean `{near}`?")),
            ),
            _ => e,
        }
    })?;
    let (op, limit) = parse_value(&metric, value)?;
    Ok(Slo {
        key: key.to_string(),
        request: request.map(str::to_string),
        metric,
        op,
        limit,
    })
}

fn parse_metric(name: &str) -> Result<Metric, Problem> {
    let unknown = || {
        (
            Part::Key,
            format!("`{name}` is not a metric"),
            Some(
                match super::errors::nearest(name, METRIC_EXAMPLES.iter().copied()) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("use one of {}", METRIC_EXAMPLES.join(", ")),
                },
            ),
        )
    };
    match name {
        "error_rate" => return Ok(Metric::ErrorRate),
        "throughput" => return Ok(Metric::Throughput),
        "expect_pass_rate" => return Ok(Metric::ExpectPassRate),
        "target.startup" => return Ok(Metric::TargetStartup),
        "target.rss.max" => return Ok(Metric::TargetRssMax),
        "target.cpu.mean" => return Ok(Metric::TargetCpuMean),
        "target.rss.slope" => return Ok(Metric::TargetRssSlope),
        "target.rss.growth" => return Ok(Metric::TargetRssGrowth),
        _ => {}
    }
    if let Some(probe) = name
        .strip_prefix("probe.")
        .and_then(|p| p.strip_suffix(".slope"))
        && is_probe_name(probe)
    {
        return Ok(Metric::ProbeSlope(probe.to_string()));
    }
    if let Some(probe) = name.strip_prefix("probe.") {
        if is_probe_name(probe) {
            return Ok(Metric::Probe(probe.to_string()));
        }
        return Err(unknown());
    }
    let (root, stat) = name.split_once('.').ok_or_else(unknown)?;
    let stat = match stat {
        "mean" => Stat::Mean,
        "min" => Stat::Min,
        "max" => Stat::Max,
        p if p.starts_with('p') => {
            let n: f64 = p[1..].parse().map_err(|_| unknown())?;
            if !(n > 0.0 && n <= 100.0) {
                return Err((
                    Part::Key,
                    format!("percentile `{p}` is out of range: it must be above 0 and at most 100"),
                    Some("write e.g. `p50`, `p99` or `p99.9`".into()),
                ));
            }
            Stat::Percentile(n)
        }
        _ => return Err(unknown()),
    };
    match root {
        "latency" => Ok(Metric::Latency(stat)),
        "service_time" => Ok(Metric::ServiceTime(stat)),
        "connect" => Ok(Metric::Connect(stat)),
        "tls_handshake" => Ok(Metric::TlsHandshake(stat)),
        _ => Err(unknown()),
    }
}

fn is_probe_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `1MB/min`, `64KB/s` → bytes per minute.
fn parse_bytes_per_min(text: &str) -> Result<f64, units::UnitError> {
    let (size, per) = text
        .split_once('/')
        .ok_or_else(|| units::UnitError::NotSizePerTime(text.to_string()))?;
    let bytes = units::parse_bytes(size.trim())?;
    let per_sec = units::parse_rate(&format!("1/{}", per.trim()))?;
    Ok(bytes as f64 * per_sec * 60.0)
}

fn parse_value(metric: &Metric, value: &str) -> Result<(Op, f64), Problem> {
    let v = value.trim();
    let (op, rest) = if let Some(r) = v.strip_prefix("<=") {
        (Op::Le, r)
    } else if let Some(r) = v.strip_prefix(">=") {
        (Op::Ge, r)
    } else if let Some(r) = v.strip_prefix('<') {
        (Op::Lt, r)
    } else if let Some(r) = v.strip_prefix('>') {
        (Op::Gt, r)
    } else {
        return Err((
            Part::Value,
            format!("`{v}` has no comparison; an SLO starts with <, <=, > or >="),
            Some(format!("write \"{}\"", example(metric))),
        ));
    };
    let rest = rest.trim();
    let wrong_unit = |why: String| {
        (
            Part::Value,
            super::check::split_help(&why).0,
            Some(format!("write \"{}\"", example(metric))),
        )
    };
    let limit = match metric.unit() {
        Unit::Millis => units::parse_duration(rest)
            .map(|d| d.as_secs_f64() * 1000.0)
            .map_err(|e| wrong_unit(format!("{metric} needs a duration: {e}")))?,
        Unit::Ratio => {
            if !rest.ends_with('%') {
                return Err(wrong_unit(format!(
                    "{metric} needs a percentage, not `{rest}`"
                )));
            }
            units::parse_percent(rest).map_err(|e| wrong_unit(format!("{metric}: {e}")))?
        }
        Unit::PerSec => {
            if !rest.contains('/') {
                return Err(wrong_unit(format!("{metric} needs a rate, not `{rest}`")));
            }
            units::parse_rate(rest).map_err(|e| wrong_unit(format!("{metric}: {e}")))?
        }
        Unit::Bytes => units::parse_bytes(rest)
            .map(|b| b as f64)
            .map_err(|e| wrong_unit(format!("{metric} needs a size: {e}")))?,
        Unit::Number if rest.ends_with('%') => {
            units::parse_percent(rest).map_err(|e| wrong_unit(format!("{metric}: {e}")))?
        }
        Unit::BytesPerMin => parse_bytes_per_min(rest)
            .map_err(|e| wrong_unit(format!("{metric} needs a size per time: {e}")))?,
        Unit::PerMin => {
            if !rest.contains('/') {
                return Err(wrong_unit(format!(
                    "{metric} needs a change per time, not `{rest}`"
                )));
            }
            units::parse_rate(rest)
                .map(|per_sec| per_sec * 60.0)
                .map_err(|e| wrong_unit(format!("{metric}: {e}")))?
        }
        Unit::Number => rest.parse::<f64>().map_err(|_| {
            wrong_unit(format!(
                "{metric} needs a number or a percentage, not `{rest}`"
            ))
        })?,
    };
    let impossible = match metric.unit() {
        // CPU use is a ratio of one core: 150% is one and a half cores.
        Unit::Ratio if *metric == Metric::TargetCpuMean => {
            limit < 0.0 || (limit == 0.0 && op == Op::Lt)
        }
        Unit::Ratio => {
            !(0.0..=1.0).contains(&limit)
                || (limit == 0.0 && op == Op::Lt)
                || (limit == 1.0 && op == Op::Gt)
        }
        Unit::Millis | Unit::PerSec | Unit::Bytes | Unit::BytesPerMin | Unit::PerMin => {
            limit == 0.0 && op == Op::Lt
        }
        Unit::Number => false,
    };
    if impossible {
        return Err((
            Part::Value,
            format!("`{metric} {v}` can never hold"),
            Some(match metric.unit() {
                Unit::Ratio => {
                    "a rate lies between 0% and 100%; write e.g. \"< 1%\" or \">= 99.9%\"".into()
                }
                _ => "nothing is below zero; write e.g. \"< 100ms\"".into(),
            }),
        ));
    }
    Ok((op, limit))
}

fn example(metric: &Metric) -> &'static str {
    match metric {
        Metric::Latency(_) | Metric::ServiceTime(_) => "< 100ms",
        Metric::Connect(_) | Metric::TlsHandshake(_) => "< 20ms",
        Metric::ErrorRate => "< 1%",
        Metric::ExpectPassRate => ">= 99.9%",
        Metric::Throughput => "> 1000/s",
        Metric::TargetStartup => "< 2s",
        Metric::TargetRssMax => "< 50MB",
        Metric::TargetCpuMean => "< 5%",
        Metric::Probe(_) => "> 85%",
        Metric::TargetRssSlope => "< 1MB/min",
        Metric::TargetRssGrowth => "< 10MB",
        Metric::ProbeSlope(_) => "< 10/min",
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stat::Percentile(p) => write!(f, "p{p}"),
            Stat::Mean => f.write_str("mean"),
            Stat::Min => f.write_str("min"),
            Stat::Max => f.write_str("max"),
        }
    }
}

impl fmt::Display for Metric {
    /// The metric as written in SLO keys: `latency.p99`, `service_time.mean`, `error_rate`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Latency(s) => write!(f, "latency.{s}"),
            Metric::ServiceTime(s) => write!(f, "service_time.{s}"),
            Metric::Connect(s) => write!(f, "connect.{s}"),
            Metric::TlsHandshake(s) => write!(f, "tls_handshake.{s}"),
            Metric::ErrorRate => f.write_str("error_rate"),
            Metric::Throughput => f.write_str("throughput"),
            Metric::ExpectPassRate => f.write_str("expect_pass_rate"),
            Metric::TargetStartup => f.write_str("target.startup"),
            Metric::TargetRssMax => f.write_str("target.rss.max"),
            Metric::TargetCpuMean => f.write_str("target.cpu.mean"),
            Metric::Probe(name) => write!(f, "probe.{name}"),
            Metric::TargetRssSlope => f.write_str("target.rss.slope"),
            Metric::TargetRssGrowth => f.write_str("target.rss.growth"),
            Metric::ProbeSlope(name) => write!(f, "probe.{name}.slope"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_into_request_and_metric() {
        let s = parse_slo("get.latency.p99.9", "<= 2ms").unwrap();
        assert_eq!(s.request.as_deref(), Some("get"));
        assert_eq!(s.metric, Metric::Latency(Stat::Percentile(99.9)));
        assert_eq!(s.metric.to_string(), "latency.p99.9");
        assert_eq!((s.op, s.limit), (Op::Le, 2.0));
        let s = parse_slo("latency.p95", "< 100ms").unwrap();
        assert_eq!(s.request, None);
        assert_eq!(s.metric.to_string(), "latency.p95");
        let s = parse_slo("login.tls_handshake.p99", "< 20ms").unwrap();
        assert_eq!(s.request.as_deref(), Some("login"));
        assert_eq!(s.metric, Metric::TlsHandshake(Stat::Percentile(99.0)));
        assert_eq!(s.metric.to_string(), "tls_handshake.p99");
        let s = parse_slo("connect.p99", "< 1s").unwrap();
        assert_eq!(
            (s.request, s.metric, s.limit),
            (None, Metric::Connect(Stat::Percentile(99.0)), 1000.0)
        );
    }

    #[test]
    fn limits_are_in_canonical_units() {
        assert!((parse_slo("error_rate", "< 0.1%").unwrap().limit - 0.001).abs() < 1e-12);
        assert_eq!(parse_slo("throughput", "> 10000/s").unwrap().limit, 10000.0);
        assert_eq!(
            parse_slo("x.service_time.mean", "< 1s").unwrap().limit,
            1000.0
        );
        assert_eq!(
            parse_slo("expect_pass_rate", ">= 99.9%")
                .unwrap()
                .metric
                .to_string(),
            "expect_pass_rate"
        );
    }

    #[test]
    fn bad_entries_say_what_to_write() {
        let e = parse_slo("error_rate", "< 100ms").unwrap_err().to_string();
        assert!(e.contains("write \"< 1%\""), "{e}");
        assert!(
            parse_slo("latency.p0", "< 1ms")
                .unwrap_err()
                .to_string()
                .contains("out of range")
        );
        assert!(
            parse_slo("latency.p101", "< 1ms")
                .unwrap_err()
                .to_string()
                .contains("out of range")
        );
        assert!(
            parse_slo("error_rate", "< 0%")
                .unwrap_err()
                .to_string()
                .contains("never hold")
        );
        assert!(
            parse_slo("expect_pass_rate", "> 100%")
                .unwrap_err()
                .to_string()
                .contains("never hold")
        );
        assert!(
            parse_slo("latency.p99", "< 0ms")
                .unwrap_err()
                .to_string()
                .contains("never hold")
        );
        let e = parse_slo("latncy.p99", "< 1ms").unwrap_err().to_string();
        assert!(e.contains("not a metric"), "{e}");
    }

    #[test]
    fn trend_slos_parse_into_per_minute_limits() {
        let s = parse_slo("target.rss.slope", "< 1MB/min").unwrap();
        assert_eq!(s.metric, Metric::TargetRssSlope);
        assert_eq!(s.request, None);
        let mb = units::parse_bytes("1MB").unwrap() as f64;
        assert!((s.limit - mb).abs() < 1e-6, "{}", s.limit);
        let s = parse_slo("target.rss.slope", "<= 64KB/s").unwrap();
        let kb64 = units::parse_bytes("64KB").unwrap() as f64;
        assert!((s.limit - kb64 * 60.0).abs() < 1e-6, "{}", s.limit);
        let s = parse_slo("target.rss.growth", "< 10MB").unwrap();
        assert_eq!(s.metric, Metric::TargetRssGrowth);
        let s = parse_slo("probe.sessions.slope", "< 5/min").unwrap();
        assert_eq!(s.metric, Metric::ProbeSlope("sessions".into()));
        assert_eq!(s.metric.to_string(), "probe.sessions.slope");
        assert!((s.limit - 5.0).abs() < 1e-9);
        let e = parse_slo("target.rss.slope", "< 1MB")
            .unwrap_err()
            .to_string();
        assert!(e.contains("write \"< 1MB/min\""), "{e}");
        let e = parse_slo("probe.sessions.slope", "< 5")
            .unwrap_err()
            .to_string();
        assert!(e.contains("change per time"), "{e}");
    }
}
