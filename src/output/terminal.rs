//! The end-of-run summary for the terminal: one row per request name (requests, req/s,
//! errors, p50/p90/p99/p99.9/max latency), a total row, then the SLO verdicts with observed
//! value against limit. ANSI colour only when asked (the caller knows about TTYs and
//! `NO_COLOR`). Control characters in names are replaced, so a result cannot drive the
//! terminal.

use std::fmt::Write as _;

use super::format;
use crate::result::{EndpointStats, RunResult};

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
    fn pass(&self, t: &str) -> String {
        self.wrap("1;32", t)
    }
    fn fail(&self, t: &str) -> String {
        self.wrap("1;31", t)
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// Pads to `w` columns (left-aligned when `left`), counting characters not bytes.
fn pad(s: &str, w: usize, left: bool) -> String {
    let fill = " ".repeat(w.saturating_sub(width(s)));
    if left {
        format!("{s}{fill}")
    } else {
        format!("{fill}{s}")
    }
}

fn row(e: &EndpointStats, name: String) -> Vec<String> {
    let l = &e.latency_ms;
    vec![
        name,
        format::count(e.requests),
        format::rate(e.throughput_per_sec),
        format::count(e.errors),
        format::latency(l.p50),
        format::latency(l.p90),
        format::latency(l.p99),
        format::latency(l.p99_9),
        format::latency(l.max),
    ]
}

/// The summary printed at the end of a run (and by `nexus-bench report`).
pub fn terminal_summary(result: &RunResult, color: bool) -> String {
    let p = Paint(color);
    let mut out = String::new();
    let verdict = format::verdict(result.verdict);
    let verdict = if result.verdict == crate::result::Verdict::Pass {
        p.pass(verdict)
    } else {
        p.fail(verdict)
    };
    let _ = writeln!(
        out,
        "{} {}  {}",
        p.bold(&format::printable(&result.scenario.name)),
        p.dim(&format!("· {}", format::run_length(result))),
        verdict
    );
    for b in super::banners::all(result) {
        let _ = writeln!(out, "{} {}", p.fail(b.word), format::printable(&b.text));
    }
    for w in &result.warnings {
        let _ = writeln!(out, "{} {}", p.fail("warning:"), format::printable(w));
    }
    let header: Vec<String> = [
        "request", "requests", "req/s", "errors", "p50", "p90", "p99", "p99.9", "max",
    ]
    .map(String::from)
    .to_vec();
    let rows: Vec<Vec<String>> = result
        .endpoints
        .iter()
        .map(|e| row(e, format::printable(&e.name)))
        .collect();
    let total = row(&result.overall, "total".into());
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for r in rows.iter().chain(std::iter::once(&total)) {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(width(c));
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| pad(c, *w, i == 0))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let _ = writeln!(out, "\n{}", p.dim(&line(&header)));
    for r in &rows {
        let _ = writeln!(out, "{}", line(r));
    }
    let _ = writeln!(
        out,
        "{}",
        p.dim(&"─".repeat(widths.iter().sum::<usize>() + 2 * 8))
    );
    let _ = writeln!(out, "{}", p.bold(&line(&total)));
    let t = &result.totals;
    let _ = writeln!(
        out,
        "{}",
        p.dim(&format!(
            "errors {} ({}) · dropped {} · cancelled {}",
            format::count(t.errors),
            format::ratio(t.error_rate),
            format::count(t.dropped),
            format::count(t.cancelled)
        ))
    );
    if let Some(line) = super::connections::terminal_line(result) {
        let _ = writeln!(out, "{}", p.dim(&line));
    }
    if !result.slos.is_empty() {
        let _ = writeln!(out, "\nSLOs");
        let kw = result.slos.iter().map(|s| width(&s.key)).max().unwrap_or(0);
        for s in &result.slos {
            let mark = if s.pass {
                p.pass("✓ pass")
            } else if s.inconclusive.is_some() {
                p.fail("? INCONCLUSIVE")
            } else {
                p.fail("✗ FAIL")
            };
            let _ = writeln!(
                out,
                "  {mark}  {}  observed {}  limit {}",
                pad(&format::printable(&s.key), kw, true),
                format::slo_observed(s),
                format::slo_limit(s)
            );
        }
    }
    out
}
