//! The one place numbers and untrusted text are turned into strings for people.
//!
//! Every output (terminal, HTML, Markdown, JUnit) formats a number kind through the same
//! function here, so the same result shows the same figures everywhere. CSV files are for
//! machines and use the plain forms ([`ms_plain`], [`rate_plain`]).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::result::{LoadInfo, RunResult, SloResult, Verdict};
use crate::units;

/// A latency or duration in milliseconds: `850µs`, `12.3ms`, `1.25s`.
pub fn latency(ms: f64) -> String {
    units::format_ms(ms)
}

/// A throughput: `950/s`, `12.5k/s`.
pub fn rate(per_sec: f64) -> String {
    units::format_rate(per_sec)
}

/// A ratio as a percentage: `0.050%`, `12.3%`.
pub fn ratio(r: f64) -> String {
    units::format_percent(r)
}

/// A count with thousands separators: `12,345`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A wall-clock length in milliseconds: `59s`, `1m30s`.
pub fn span(ms: f64) -> String {
    units::format_duration(Duration::from_secs_f64(ms.max(0.0) / 1000.0))
}

/// Milliseconds for CSV: µs resolution, no unit.
pub fn ms_plain(ms: f64) -> String {
    format!("{ms:.3}")
}

/// A size in bytes: `41.2MB`.
pub fn bytes(b: f64) -> String {
    if b < 0.0 {
        return format!("-{}", crate::units::format_bytes(-b));
    }
    crate::units::format_bytes(b)
}

/// A plain number (a probe reading): integers with separators, others with four
/// significant digits.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        format!("{v}")
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let s = count(v.abs() as u64);
        if v < 0.0 { format!("-{s}") } else { s }
    } else {
        let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
        let s = format!("{v:.digits$}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

/// A rate or ratio for CSV: no unit, enough digits.
pub fn rate_plain(v: f64) -> String {
    format!("{v:.3}")
}

/// A value in an SLO's unit (`ms`, `ratio` or `per_sec`).
pub fn slo_value(value: f64, unit: &str) -> String {
    match unit {
        "ms" => latency(value),
        "ratio" => ratio(value),
        "per_sec" => rate(value),
        "bytes" => bytes(value),
        "bytes_per_min" => format!("{}/min", bytes(value)),
        "per_min" => format!("{}/min", number(value)),
        _ => number(value),
    }
}

/// The observed value of an SLO (with its confidence interval for trends), `–` when
/// nothing was measured, or why it could not be judged.
pub fn slo_observed(slo: &SloResult) -> String {
    if let Some(why) = &slo.inconclusive {
        return format!("inconclusive: {why}");
    }
    let value = slo
        .observed
        .map_or_else(|| "–".to_string(), |v| slo_value(v, &slo.unit));
    match slo.interval {
        Some([low, high]) => format!(
            "{value} (95% CI {} … {})",
            slo_value(low, &slo.unit),
            slo_value(high, &slo.unit)
        ),
        None => value,
    }
}

/// The limit of an SLO with its operator: `< 250ms`.
pub fn slo_limit(slo: &SloResult) -> String {
    format!("{} {}", slo.op, slo_value(slo.limit, &slo.unit))
}

/// The request an SLO is about: its name, or `all requests`.
pub fn slo_request(slo: &SloResult) -> &str {
    slo.request.as_deref().unwrap_or("all requests")
}

/// `PASS`, `FAIL`, `NOT GATED`, `UNJUDGEABLE` or `INCONCLUSIVE`.
pub fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::NotGated => "NOT GATED",
        Verdict::Unjudgeable => "UNJUDGEABLE",
        Verdict::Inconclusive => "INCONCLUSIVE",
    }
}

/// The one line `run --quiet` keeps: `cache: FAIL (1 of 6 SLOs) → reports/cache/…`, with
/// the baseline gate's outcome (`baseline regressed`) when there was one.
pub fn verdict_line(result: &RunResult, baseline: Option<&str>, dir: &std::path::Path) -> String {
    let failed = result.slos.iter().filter(|s| !s.pass).count();
    let total = result.slos.len();
    let mut line = format!("{}: {}", result.scenario.name, verdict(result.verdict));
    if failed > 0 {
        line.push_str(&format!(" ({failed} of {total} SLOs)"));
    } else if total > 0 {
        line.push_str(&format!(" ({total} SLOs)"));
    }
    if let Some(b) = baseline {
        line.push_str(&format!(", baseline {b}"));
    }
    format!("{line} → {}", dir.display())
}

/// `pass` or `fail` for one SLO.
pub fn pass_fail(pass: bool) -> &'static str {
    if pass { "pass" } else { "fail" }
}

/// One line saying why the verdict is what it is.
pub fn verdict_reason(result: &RunResult) -> String {
    let failed: Vec<&str> = result
        .slos
        .iter()
        .filter(|s| !s.pass && s.inconclusive.is_none())
        .map(|s| s.key.as_str())
        .collect();
    let merge = crate::analysis::merged::problems(result);
    if result.verdict == Verdict::Fail && failed.is_empty() {
        if let Some(why) = merge.failing.first() {
            return why.clone();
        }
    }
    if result.verdict == Verdict::Unjudgeable {
        return match merge.unjudgeable.first() {
            Some(why) => format!("the merged run could not be judged: {why}"),
            None => "the run could not be judged (see the warnings)".into(),
        };
    }
    let unjudged: Vec<String> = result
        .slos
        .iter()
        .filter_map(|s| Some(format!("{} ({})", s.key, s.inconclusive.as_ref()?)))
        .collect();
    if failed.is_empty() && !unjudged.is_empty() {
        return format!(
            "{} of {} SLOs could not be judged: {}",
            unjudged.len(),
            result.slos.len(),
            unjudged.join("; ")
        );
    }
    match (result.slos.len(), failed.len()) {
        (0, _) => "no SLOs defined: nothing is gated".into(),
        (n, 0) => format!("all {n} SLOs held"),
        (n, f) => format!("{f} of {n} SLOs failed: {}", failed.join(", ")),
    }
}

/// The load model in a line: `open, 1000/s → 2000/s, 3 stages`.
pub fn load_model(load: &LoadInfo) -> String {
    let level = |v: f64| {
        if load.model == "open" {
            rate(v)
        } else {
            format!("{} users", count(v.round() as u64))
        }
    };
    let peak = load
        .stages
        .iter()
        .map(|s| s.target)
        .fold(load.start, f64::max);
    let mut out = format!("{}, {}", load.model, level(load.start));
    if peak != load.start {
        out.push_str(&format!(" → {}", level(peak)));
    }
    out.push_str(&format!(
        ", {} stage{}, {}",
        load.stages.len(),
        if load.stages.len() == 1 { "" } else { "s" },
        load.protocol
    ));
    out
}

/// The run length: `1m (5s warm-up)`.
pub fn run_length(result: &RunResult) -> String {
    format!(
        "{} measured ({} warm-up)",
        span(result.measured_ms),
        span(result.load.warmup_ms)
    )
}

/// The hosts of a run: `runner-1 (linux x86_64, 8 CPUs, 4 threads)`.
pub fn hosts(result: &RunResult) -> String {
    result
        .hosts
        .iter()
        .map(|h| {
            format!(
                "{} ({}, {} CPUs, {} threads)",
                h.hostname, h.os, h.cpus, h.threads
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A count map in a line, largest first: `200 ×9,800 · 503 ×12`.
pub fn count_map(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "–".into();
    }
    let mut items: Vec<(&String, &u64)> = map.iter().collect();
    items.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    items
        .iter()
        .map(|(k, v)| format!("{k} ×{}", count(**v)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Replaces characters that have no place in a report (control characters, which could
/// move a terminal's cursor or break XML) with `�`.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// Escapes text for HTML and XML (element content and quoted attributes).
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in printable(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a Markdown table cell or paragraph: markup characters are
/// backslash-escaped, HTML is entity-escaped and line breaks become spaces.
pub fn escape_md(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in printable(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' | '\t' => out.push(' '),
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_escapes() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(123), "123");
        assert_eq!(
            escape_xml("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape_md("a|b <i>"), "a\\|b &lt;i&gt;");
        assert_eq!(printable("a\x1b[31mb"), "a\u{FFFD}[31mb");
    }
}
