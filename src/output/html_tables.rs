//! The tables of the HTML report: SLOs, requests, latency and service-time percentiles,
//! error samples. Every value from the result is escaped here.

use std::fmt::Write as _;

use super::format::{self, escape_xml as esc};
use crate::result::{EndpointStats, RunResult, Summary};

/// The SLO table (`#slo-table`), or a note when there are no SLOs.
pub fn slos(result: &RunResult) -> String {
    if result.slos.is_empty() {
        return "<p class=\"note\">No SLOs were defined for this scenario.</p>".into();
    }
    let mut out = String::from(
        "<table id=\"slo-table\"><thead><tr><th>SLO</th><th>Metric</th><th>Request</th>\
         <th class=\"num\">Limit</th><th class=\"num\">Observed</th><th>Result</th></tr></thead><tbody>",
    );
    for s in &result.slos {
        let pf = format::pass_fail(s.pass);
        let _ = write!(
            out,
            "<tr class=\"{pf}\"><td class=\"key\">{}</td><td>{}</td><td>{}</td>\
             <td class=\"num\">{}</td><td class=\"num obs\">{}</td><td><span class=\"badge {pf}\">{}</span></td></tr>",
            esc(&s.key),
            esc(&s.metric),
            esc(format::slo_request(s)),
            esc(&format::slo_limit(s)),
            esc(&format::slo_observed(s)),
            pf.to_uppercase(),
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn rows(result: &RunResult) -> impl Iterator<Item = (&EndpointStats, bool)> {
    result
        .endpoints
        .iter()
        .map(|e| (e, false))
        .chain(std::iter::once((&result.overall, true)))
}

fn name_cell(e: &EndpointStats, total: bool) -> String {
    if total {
        return "<th scope=\"row\">All requests</th>".into();
    }
    let flow = e
        .flow
        .as_deref()
        .map(|f| format!(" <span class=\"flow\">flow {}</span>", esc(f)))
        .unwrap_or_default();
    format!("<th scope=\"row\">{}{flow}</th>", esc(&e.name))
}

/// The per-request table (`#request-table`): volume, errors by kind and status codes.
pub fn requests(result: &RunResult) -> String {
    let mut out = String::from(
        "<table id=\"request-table\"><thead><tr><th>Request</th><th class=\"num\">Requests</th>\
         <th class=\"num\">Throughput</th><th class=\"num\">Errors</th><th class=\"num\">Error rate</th>\
         <th>Errors by kind</th><th>Status codes</th></tr></thead><tbody>",
    );
    for (e, total) in rows(result) {
        let rate = if e.requests == 0 {
            0.0
        } else {
            e.errors as f64 / e.requests as f64
        };
        let _ = write!(
            out,
            "<tr{}>{}<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num{}\">{}</td>\
             <td class=\"num\">{}</td><td class=\"small\">{}</td><td class=\"small\">{}</td></tr>",
            if total { " class=\"total\"" } else { "" },
            name_cell(e, total),
            format::count(e.requests),
            esc(&format::rate(e.throughput_per_sec)),
            if e.errors > 0 { " bad" } else { "" },
            format::count(e.errors),
            esc(&format::ratio(rate)),
            esc(&format::count_map(&e.error_kinds)),
            esc(&format::count_map(&e.status)),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// The connection table (`#connection-table`): protocols, connect and TLS handshake times
/// of the connections each request opened; empty when none was opened.
pub fn connections(result: &RunResult) -> String {
    let rows = super::connections::rows(result);
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from("<h3>Connections</h3><table id=\"connection-table\"><thead><tr>");
    for (i, h) in super::connections::HEADINGS.iter().enumerate() {
        let class = if i == 0 { "" } else { " class=\"num\"" };
        let _ = write!(out, "<th{class}>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for (name, total, cells) in rows {
        let _ = write!(
            out,
            "<tr{}><th scope=\"row\">{}</th>",
            if total { " class=\"total\"" } else { "" },
            esc(&name)
        );
        for c in cells {
            let _ = write!(out, "<td class=\"num\">{}</td>", esc(&c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// A percentile table (`#latency-table` or `#service-table`).
pub fn percentiles(
    result: &RunResult,
    id: &str,
    pick: impl Fn(&EndpointStats) -> &Summary,
) -> String {
    let mut out = format!(
        "<table id=\"{id}\"><thead><tr><th>Request</th><th class=\"num\">p50</th><th class=\"num\">p90</th>\
         <th class=\"num\">p95</th><th class=\"num\">p99</th><th class=\"num\">p99.9</th>\
         <th class=\"num\">max</th><th class=\"num\">mean</th></tr></thead><tbody>"
    );
    for (e, total) in rows(result) {
        let s = pick(e);
        let _ = write!(
            out,
            "<tr{}>{}",
            if total { " class=\"total\"" } else { "" },
            name_cell(e, total)
        );
        for (k, v) in [
            ("p50", s.p50),
            ("p90", s.p90),
            ("p95", s.p95),
            ("p99", s.p99),
            ("p99_9", s.p99_9),
            ("max", s.max),
            ("mean", s.mean),
        ] {
            let _ = write!(
                out,
                "<td class=\"num\" data-k=\"{k}\">{}</td>",
                esc(&format::latency(v))
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// The error samples (`#error-samples`), empty when there are none.
pub fn error_samples(result: &RunResult) -> String {
    if result.error_samples.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section id=\"errors\"><h2>Error samples</h2><table id=\"error-samples\"><thead><tr>\
         <th>Request</th><th>Kind</th><th class=\"num\">Seen</th><th>Message</th></tr></thead><tbody>",
    );
    for s in &result.error_samples {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"msg\"><code>{}</code></td></tr>",
            esc(&s.request),
            esc(&s.kind),
            format::count(s.count),
            esc(&s.message)
        );
    }
    out.push_str("</tbody></table></section>");
    out
}
