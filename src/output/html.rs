//! `report.html`: one self-contained page (inline CSS, inline SVG charts, no script of its
//! own, no external resource; a Content-Security-Policy forbids loading any). Every string
//! from the result is escaped; section bodies are inserted as given (they arrive escaped).
//!
//! Layout: header (scenario, description, target, start, length, load, tool, hosts),
//! verdict banner, generator banner, warnings, SLO table, instances (a merge), request
//! tables, charts, error samples, target process, generator health, probes, flamegraphs,
//! sections.
//!
//! Flamegraphs are interactive: inferno's SVG (with its script) sits in a sandboxed
//! `srcdoc` iframe without `allow-same-origin`, so it runs in an opaque origin and cannot
//! touch the page. An `srcdoc` document inherits the page's policy, so only a page that
//! embeds a flamegraph adds `script-src 'unsafe-inline'` to it; `default-src 'none'` still
//! forbids every fetch.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::charts::{self, Chart};
use super::format::{self, escape_xml as esc};
use super::{
    Output, OutputError, ReportInput, Section, charts_dist, charts_observe, html_observe,
    html_tables,
};
use crate::result::{RunStatus, Verdict};

const CSS: &str = include_str!("report.css");
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
/// The policy of a page that embeds a flamegraph (its script runs in a sandboxed iframe).
const CSP_FLAMEGRAPH: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'unsafe-inline'";

/// The HTML report.
#[derive(Debug, Clone, Default)]
pub struct HtmlReport {
    /// The run folder, where the flamegraph SVGs the result names are read from (`None`:
    /// link to them only).
    pub assets: Option<PathBuf>,
}

impl Output for HtmlReport {
    fn file_name(&self) -> &'static str {
        "report.html"
    }

    fn render(&self, input: &ReportInput) -> Result<Vec<u8>, OutputError> {
        render_with(input, self.assets.as_deref()).map(String::into_bytes)
    }
}

/// A section id made safe for an `id` attribute.
fn safe_id(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn figure(out: &mut String, chart: &Chart) {
    let _ = write!(
        out,
        "<figure id=\"{}\"><figcaption>{}</figcaption><div class=\"legend\">",
        chart.id,
        esc(chart.title)
    );
    for item in &chart.legend {
        let _ = write!(
            out,
            "<span><i class=\"{}\" style=\"background:{}\"></i>{}</span>",
            if item.band { "band" } else { "line" },
            esc(&item.color),
            esc(&item.name)
        );
    }
    let _ = write!(out, "</div>{}</figure>", chart.svg);
}

fn header(out: &mut String, input: &ReportInput) {
    let r = input.result;
    let _ = write!(
        out,
        "<header><div class=\"brand\">nexus-bench report</div><h1 id=\"scenario\">{}</h1>",
        esc(&r.scenario.name)
    );
    if !r.scenario.description.is_empty() {
        let _ = write!(
            out,
            "<p class=\"desc\">{}</p>",
            esc(&r.scenario.description)
        );
    }
    let status = match r.status {
        RunStatus::Completed => "completed",
        RunStatus::Interrupted => "interrupted (numbers cover the part that ran)",
        RunStatus::Running => "still running (checkpoint)",
    };
    out.push_str("<dl class=\"meta\">");
    for (k, v) in [
        ("Target", r.scenario.target.clone()),
        ("Started", r.started_at.clone()),
        ("Length", format::run_length(r)),
        ("Load", format::load_model(&r.load)),
        ("Status", status.to_string()),
        ("Scenario file", r.scenario.file.clone()),
        ("Host", format::hosts(r)),
        ("Tool", format!("{} {}", r.tool.name, r.tool.version)),
    ] {
        let _ = write!(out, "<dt>{k}</dt><dd>{}</dd>", esc(&v));
    }
    out.push_str("</dl></header>");
}

fn verdict(out: &mut String, input: &ReportInput) {
    let r = input.result;
    let class = match r.verdict {
        Verdict::Pass => "pass",
        Verdict::Fail | Verdict::Unjudgeable => "fail",
        Verdict::NotGated | Verdict::Inconclusive => "warn",
    };
    let _ = write!(
        out,
        "<div id=\"verdict\" class=\"verdict {class}\"><span class=\"word\">{}</span>\
         <span class=\"why\">{}</span></div>",
        format::verdict(r.verdict),
        esc(&format::verdict_reason(r))
    );
    html_observe::banner(out, r);
    super::banners::html(out, r);
    if !r.warnings.is_empty() {
        out.push_str("<section id=\"warnings\" class=\"warnings\"><h2>Warnings</h2><ul>");
        for w in &r.warnings {
            let _ = write!(out, "<li>{}</li>", esc(w));
        }
        out.push_str("</ul></section>");
    }
}

fn section(out: &mut String, s: &Section) {
    let _ = write!(
        out,
        "<section id=\"{}\"><h2>{}</h2>{}</section>",
        safe_id(&s.id),
        esc(&s.title),
        s.html
    );
}

/// The whole page, without embedded flamegraphs (they are linked).
pub fn render(input: &ReportInput) -> Result<String, OutputError> {
    render_with(input, None)
}

/// The whole page; flamegraph SVGs are read from `assets` (the run folder).
pub fn render_with(input: &ReportInput, assets: Option<&Path>) -> Result<String, OutputError> {
    let r = input.result;
    let time = charts::time_charts(r)?;
    let target_charts = charts_observe::target_charts(r)?;
    let generator_chart = charts_observe::generator_chart(r)?;
    let probe_chart = charts_observe::probe_chart(&r.probes)?;
    let csp = if assets.is_some() && html_observe::embeds_flamegraph(r) {
        CSP_FLAMEGRAPH
    } else {
        CSP
    };
    let percentiles = charts_dist::percentile_chart(r)?;
    let histogram = charts_dist::histogram_chart(r)?;

    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · {} · nexus-bench</title><style>{CSS}</style></head><body><main>",
        esc(&r.scenario.name),
        format::verdict(r.verdict)
    );
    header(&mut out, input);
    verdict(&mut out, input);

    out.push_str("<section id=\"slos\"><h2>Service level objectives</h2>");
    out.push_str(&html_tables::slos(r));
    out.push_str("</section>");
    out.push_str(&super::instances::html(r));
    out.push_str("<section id=\"requests\"><h2>Requests</h2>");
    let _ = write!(
        out,
        "<p class=\"note\">Measured period only: {}. Totals: {} requests, {} errors, {} dropped, {} cancelled.</p>",
        esc(&format::run_length(r)),
        format::count(r.totals.requests),
        format::count(r.totals.errors),
        format::count(r.totals.dropped),
        format::count(r.totals.cancelled),
    );
    out.push_str(&html_tables::requests(r));
    out.push_str(&html_tables::connections(r));
    // Open model: latency counts from each request's intended start (coordinated omission
    // corrected); closed model: from the send, like service time.
    out.push_str(if r.load.model == "open" {
        "<h3>Latency (from intended start)</h3>"
    } else {
        "<h3>Latency (from send)</h3>"
    });
    out.push_str(&html_tables::percentiles(r, "latency-table", |e| {
        &e.latency_ms
    }));
    out.push_str("<h3>Service time (from send)</h3>");
    out.push_str(&html_tables::percentiles(r, "service-table", |e| {
        &e.service_time_ms
    }));
    out.push_str("</section><section id=\"charts\"><h2>Charts</h2>");
    for c in &time[..2] {
        figure(&mut out, c);
    }
    figure(&mut out, &percentiles);
    out.push_str("<div class=\"grid2\">");
    figure(&mut out, &histogram);
    for c in &time[2..] {
        figure(&mut out, c);
    }
    out.push_str("</div></section>");
    out.push_str(&html_tables::error_samples(r));
    html_observe::target(&mut out, r, &target_charts, figure);
    html_observe::generator(&mut out, r, generator_chart.as_ref(), figure);
    html_observe::probes(&mut out, r, probe_chart.as_ref(), figure);
    html_observe::flamegraphs(&mut out, r, assets);
    super::heap::section(&mut out, r, assets);
    for s in input.sections {
        section(&mut out, s);
    }
    let _ = writeln!(
        out,
        "<footer>Generated by {} {} from result schema v{}. Every number is computed from result.json.</footer>\
         </main></body></html>",
        esc(&r.tool.name),
        esc(&r.tool.version),
        r.schema_version
    );
    Ok(out)
}
