//! The instances table of a merged result (`report.html` `#instances`, `summary.md`): one
//! row per merged input — its instance, host, status, share of the requests, generator CPU
//! and whether the generator was saturated — and one row per missing instance, so a reader
//! sees how the load was split and which machine to doubt.

use std::fmt::Write as _;

use super::format::{self, escape_md, escape_xml};
use crate::result::{MergedInput, RunResult, RunStatus};

/// One row, as plain (unescaped) text cells.
struct Row {
    instance: String,
    host: String,
    status: &'static str,
    requests: String,
    errors: String,
    cpu: String,
    saturated: &'static str,
    bad: bool,
}

fn status(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Completed => "completed",
        RunStatus::Interrupted => "interrupted",
        RunStatus::Running => "checkpoint",
    }
}

fn row(i: &MergedInput) -> Row {
    let saturated = i.generator.as_ref().is_some_and(|g| g.saturated);
    Row {
        instance: i.instance.map_or("–".into(), |n| n.to_string()),
        host: i.hostname.clone(),
        status: status(i.status),
        requests: format::count(i.requests),
        errors: format::count(i.errors),
        cpu: i.generator.as_ref().map_or("–".into(), |g| {
            format!("{:.0}% of {} CPU(s)", g.cpu_mean_percent, g.cpus)
        }),
        saturated: match &i.generator {
            None => "–",
            Some(_) if saturated => "yes",
            Some(_) => "no",
        },
        bad: saturated || i.status != RunStatus::Completed,
    }
}

fn rows(r: &RunResult) -> Vec<Row> {
    let Some(m) = &r.merge else {
        return Vec::new();
    };
    let mut rows: Vec<(Option<u32>, Row)> = m.inputs.iter().map(|i| (i.instance, row(i))).collect();
    for &n in &m.missing {
        rows.push((
            Some(n),
            Row {
                instance: n.to_string(),
                host: "–".into(),
                status: "missing",
                requests: "–".into(),
                errors: "–".into(),
                cpu: "–".into(),
                saturated: "–",
                bad: true,
            },
        ));
    }
    rows.sort_by_key(|(n, _)| *n);
    rows.into_iter().map(|(_, r)| r).collect()
}

const HEAD: [&str; 7] = [
    "Instance",
    "Host",
    "Status",
    "Requests",
    "Errors",
    "Generator CPU",
    "Saturated",
];

/// The `#instances` section of the HTML report (empty for a result that is not a merge).
pub fn html(r: &RunResult) -> String {
    let rows = rows(r);
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section id=\"instances\"><h2>Instances</h2><table id=\"instance-table\"><thead><tr>",
    );
    for (n, h) in HEAD.iter().enumerate() {
        let class = if (3..=4).contains(&n) {
            " class=\"num\""
        } else {
            ""
        };
        let _ = write!(out, "<th{class}>{h}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        let _ = write!(
            out,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            if row.bad { "fail" } else { "pass" },
            escape_xml(&row.instance),
            escape_xml(&row.host),
            row.status,
            escape_xml(&row.requests),
            escape_xml(&row.errors),
            escape_xml(&row.cpu),
            row.saturated,
        );
    }
    out.push_str("</tbody></table></section>");
    out
}

/// The instances table in Markdown (empty for a result that is not a merge).
pub fn markdown(r: &RunResult) -> String {
    let rows = rows(r);
    if rows.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "### Instances\n\n| {} |\n|---|---|---|--:|--:|---|---|\n",
        HEAD.join(" | ").to_lowercase()
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            escape_md(&row.instance),
            escape_md(&row.host),
            if row.bad {
                format!("**{}**", row.status)
            } else {
                row.status.to_string()
            },
            escape_md(&row.requests),
            escape_md(&row.errors),
            escape_md(&row.cpu),
            if row.saturated == "yes" {
                "**yes**"
            } else {
                row.saturated
            },
        );
    }
    out.push('\n');
    out
}
