//! `summary.md`: a compact Markdown summary for a CI job summary or a pull-request comment:
//! verdict, SLO table, instances table (a merge), per-request table, warnings, then the
//! sections' Markdown.
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
        Verdict::Fail | Verdict::Unjudgeable => "❌",
        Verdict::NotGated => "⚠️",
        Verdict::Inconclusive => "❔",
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
    if super::html_observe::generator_limited(r) {
        out.push_str(
            "> [!CAUTION]\n> The generator was saturated: this result measured nexus-bench's limits, not the target's.\n\n",
        );
    }
    super::banners::markdown(&mut out, r);
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
                match (s.pass, &s.inconclusive) {
                    (true, _) => "✅ pass",
                    (false, Some(_)) => "❔ inconclusive",
                    (false, None) => "❌ **fail**",
                }
            );
        }
        out.push('\n');
    }
    out.push_str(&super::instances::markdown(r));
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
    let conns = super::connections::rows(r);
    if !conns.is_empty() {
        let _ = write!(
            out,
            "\n### Connections\n\n| {} |\n|---|--:|--:|--:|--:|--:|--:|\n",
            super::connections::HEADINGS.join(" | ")
        );
        for (name, total, cells) in conns {
            let name = if total {
                format!("**{name}**")
            } else {
                esc(&name)
            };
            let cells: Vec<String> = cells.iter().map(|c| esc(c)).collect();
            let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
        }
    }
    observed(&mut out, r);
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

/// Compact target process, generator, probe and profile lines.
fn observed(out: &mut String, r: &crate::result::RunResult) {
    if let Some(t) = &r.target_process {
        let _ = writeln!(
            out,
            "\n### Target process\n\nstart-up {} · RSS max {} · CPU mean {:.1}% · executable {}",
            esc(&format::latency(t.startup_ms)),
            esc(&format::bytes(t.rss_max_bytes as f64)),
            t.cpu_mean_percent,
            t.exe_size_bytes
                .map_or("–".into(), |b| esc(&format::bytes(b as f64)))
        );
    }
    if let Some(g) = &r.generator {
        let _ = writeln!(
            out,
            "\n### Generator\n\nCPU mean {:.1}% · max {:.1}% · {} CPUs · saturated: {}",
            g.cpu_mean_percent,
            g.cpu_max_percent,
            g.cpus,
            if g.saturated { "**yes**" } else { "no" }
        );
    }
    if !r.probes.is_empty() {
        out.push_str("\n### Probes\n\n| probe | before | after | error |\n|---|--:|--:|---|\n");
        let num = |v: Option<f64>| v.map_or("–".into(), |v| esc(&format::number(v)));
        for p in &r.probes {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                esc(&p.name),
                num(p.before),
                num(p.after),
                esc(p.error.as_deref().unwrap_or(""))
            );
        }
    }
    if r.profiles.iter().any(|p| p.heap.is_none()) {
        out.push_str("\n### Profiles\n\n");
        for p in r.profiles.iter().filter(|p| p.heap.is_none()) {
            let what = match (&p.error, &p.flamegraph_file) {
                (Some(e), _) => format!("⚠️ {}", esc(e)),
                (None, Some(f)) => format!("flamegraph `{}`", esc(f)),
                (None, None) => "no flamegraph".into(),
            };
            let top = p
                .top
                .first()
                .map(|t| format!(" · hottest: `{}` ({:.1}%)", esc(&t.name), t.self_percent))
                .unwrap_or_default();
            let _ = writeln!(out, "- {}: {what}{top}", esc(&p.kind));
        }
    }
    out.push_str(&super::heap::markdown(r));
}
