//! `summary.md`: a compact Markdown summary for a CI job summary or a pull-request comment:
//! verdict, SLO table, per-request table, warnings, then the sections' Markdown.
//! Names and messages are escaped (`|`, Markdown markup and HTML).

use std::fmt::Write as _;

use super::format::{self, escape_md as esc};
use super::{Output, OutputError, ReportInput};
use crate::result::Verdict;

/// The Markdown summary.
pub struct MarkdownSummary;

impl Output for MarkdownSummary {
    fn file_name(&self) -> &'static str {
        "summary.md"
    }

    fn render(&self, input: &ReportInput) -> Result<Vec<u8>, OutputError> {
        Ok(render(input).into_bytes())
    }
}

/// The summary text.
pub fn render(input: &ReportInput) -> String {
    let r = input.result;
    let mut out = String::new();
    let mark = match r.verdict {
        Verdict::Pass => "✅",
        Verdict::Fail => "❌",
    };
    let _ = writeln!(
        out,
        "## {mark} {} — {}\n",
        format::verdict(r.verdict),
        esc(&r.scenario.name)
    );
    let _ = writeln!(out, "{}\n", esc(&format::verdict_reason(r)));
    let _ = writeln!(
        out,
        "Target {} · started {} · {} · {}\n",
        esc(&r.scenario.target),
        esc(&r.started_at),
        esc(&format::run_length(r)),
        esc(&format::load_model(&r.load))
    );
    if !r.warnings.is_empty() {
        out.push_str("> [!WARNING]\n");
        for w in &r.warnings {
            let _ = writeln!(out, "> - {}", esc(w));
        }
        out.push('\n');
    }
    if !r.slos.is_empty() {
        out.push_str(
            "### SLOs\n\n| SLO | request | limit | observed | result |\n|---|---|--:|--:|---|\n",
        );
        for s in &r.slos {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                esc(&s.key),
                esc(format::slo_request(s)),
                esc(&format::slo_limit(s)),
                esc(&format::slo_observed(s)),
                if s.pass { "✅ pass" } else { "❌ **fail**" }
            );
        }
        out.push('\n');
    }
    out.push_str(
        "### Requests\n\n| request | requests | req/s | errors | p50 | p90 | p99 | p99.9 | max |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    let rows = r
        .endpoints
        .iter()
        .map(|e| (esc(&e.name), e))
        .chain(std::iter::once((
            "**all requests**".to_string(),
            &r.overall,
        )));
    for (name, e) in rows {
        let l = &e.latency_ms;
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
            format::count(e.requests),
            esc(&format::rate(e.throughput_per_sec)),
            format::count(e.errors),
            esc(&format::latency(l.p50)),
            esc(&format::latency(l.p90)),
            esc(&format::latency(l.p99)),
            esc(&format::latency(l.p99_9)),
            esc(&format::latency(l.max)),
        );
    }
    for s in input.sections {
        let _ = write!(
            out,
            "\n### {}\n\n{}\n",
            esc(&s.title),
            s.markdown.trim_end()
        );
    }
    out
}
