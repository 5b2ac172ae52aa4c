//! The target's heap profile (a `profiles` entry of kind `heap`) in the report: in-use memory
//! at the start and the end of the steady state, the growth flamegraph (end minus start) and
//! the table of allocation sites that grew most, then the end snapshot's in-use flamegraph;
//! in summary.md, the top-5 growth table. Every string is escaped.

use std::fmt::Write as _;
use std::path::Path;

use super::format::{self, escape_md, escape_xml as esc};
use crate::result::{HeapInfo, ProfileInfo, RunResult};

/// Rows in the Markdown summary.
const MARKDOWN_ROWS: usize = 5;

/// The heap entries of a result (one per run; a merged result may hold several).
pub(crate) fn entries(r: &RunResult) -> impl Iterator<Item = (&ProfileInfo, &HeapInfo)> {
    r.profiles
        .iter()
        .filter_map(|p| p.heap.as_ref().map(|h| (p, h)))
}

/// A file name the result gives, accepted only as a plain name inside the run folder.
fn plain_name(name: &str) -> Option<&str> {
    (!name.is_empty() && !name.contains(['/', '\\']) && name != "..").then_some(name)
}

fn bytes(b: Option<i64>) -> String {
    b.map_or_else(|| "–".into(), |b| format::bytes(b as f64))
}

fn signed_bytes(b: i64) -> String {
    if b > 0 {
        format!("+{}", format::bytes(b as f64))
    } else {
        format::bytes(b as f64)
    }
}

/// `<section id="heap">`, when the result has a heap entry; SVGs are embedded from
/// `assets` (the run folder), else linked.
pub fn section(out: &mut String, r: &RunResult, assets: Option<&Path>) {
    let mut entries = entries(r).peekable();
    if entries.peek().is_none() {
        return;
    }
    out.push_str("<section id=\"heap\"><h2>Heap profile</h2>");
    for (p, h) in entries {
        entry(out, p, h, assets);
    }
    out.push_str("</section>");
}

fn entry(out: &mut String, p: &ProfileInfo, h: &HeapInfo, assets: Option<&Path>) {
    let growth = match (h.inuse_start_bytes, h.inuse_end_bytes) {
        (Some(a), Some(b)) => format!(" ({})", signed_bytes(b - a)),
        _ => String::new(),
    };
    let _ = write!(
        out,
        "<p class=\"note\">The target's heap as its allocator samples it (in-use bytes are \
         estimates): {} in use at the start of the steady state ({:.1} s into the run), {} at \
         its end, {} later{growth}.",
        bytes(h.inuse_start_bytes),
        p.start_ms / 1000.0,
        bytes(h.inuse_end_bytes),
        esc(&format::span(p.duration_ms)),
    );
    let files = [
        ("start", h.start_pprof_file.as_deref()),
        ("end", p.pprof_file.as_deref()),
        ("growth SVG", h.growth_flamegraph_file.as_deref()),
        ("in-use SVG", p.flamegraph_file.as_deref()),
    ];
    for (label, file) in files {
        if let Some(f) = file.and_then(plain_name) {
            let _ = write!(out, " <a href=\"{}\">{label}: {}</a>", esc(f), esc(f));
        }
    }
    out.push_str("</p>");
    if let Some(e) = &p.error {
        let _ = write!(
            out,
            "<div class=\"warnings\"><strong>Heap profile incomplete:</strong> {}</div>",
            esc(e)
        );
    }
    out.push_str("<h3>What grew: end − start</h3>");
    // The table first: it names the sites at a glance, above a graph that may be tall.
    if !h.growth.is_empty() {
        growth_table(out, h);
    }
    match h.growth_flamegraph_file.as_deref() {
        Some(f) => embed(out, f, "heap growth flamegraph", assets),
        None if !h.growth.is_empty() => {
            out.push_str("<p class=\"note\">No stack gained in-use memory.</p>");
        }
        None => {}
    }
    if let Some(f) = p.flamegraph_file.as_deref() {
        out.push_str("<h3>In use at the end</h3>");
        embed(out, f, "heap in-use flamegraph", assets);
    }
}

fn growth_table(out: &mut String, h: &HeapInfo) {
    let objects = h.growth.iter().any(|s| s.growth_objects.is_some());
    out.push_str(
        "<table id=\"heap-growth-table\" class=\"top-functions\"><thead><tr>\
         <th>allocation site</th><th class=\"num\">in use at start</th>\
         <th class=\"num\">at end</th><th class=\"num\">growth</th>",
    );
    if objects {
        out.push_str("<th class=\"num\">objects</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for s in &h.growth {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td>",
            esc(&s.name),
            format::bytes(s.start_bytes as f64),
            format::bytes(s.end_bytes as f64),
            signed_bytes(s.growth_bytes)
        );
        if objects {
            let n = s
                .growth_objects
                .map_or_else(|| "–".into(), |n| format!("{n:+}"));
            let _ = write!(out, "<td class=\"num\">{n}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn embed(out: &mut String, file: &str, title: &str, assets: Option<&Path>) {
    let Some(name) = plain_name(file) else {
        return;
    };
    match assets.map(|d| std::fs::read_to_string(d.join(name))) {
        Some(Ok(svg)) => out.push_str(&super::flame_embed::iframe(&svg, title)),
        _ => {
            let _ = write!(
                out,
                "<p class=\"note\">The flamegraph is in <a href=\"{}\">{}</a> next to result.json.</p>",
                esc(name),
                esc(name)
            );
        }
    }
}

/// The Markdown part: in-use bytes at both ends and the top-5 growing sites.
pub fn markdown(r: &RunResult) -> String {
    markdown_of(entries(r))
}

fn markdown_of<'a>(entries: impl Iterator<Item = (&'a ProfileInfo, &'a HeapInfo)>) -> String {
    let mut out = String::new();
    for (p, h) in entries {
        out.push_str("\n### Heap growth\n\n");
        let _ = writeln!(
            out,
            "In use: {} at the start of the steady state, {} at its end ({} later).\n",
            bytes(h.inuse_start_bytes),
            bytes(h.inuse_end_bytes),
            escape_md(&format::span(p.duration_ms))
        );
        if let Some(e) = &p.error {
            let _ = writeln!(out, "⚠️ {}\n", escape_md(e));
        }
        if h.growth.is_empty() {
            continue;
        }
        out.push_str("| allocation site | start | end | growth |\n|---|---:|---:|---:|\n");
        for s in h.growth.iter().take(MARKDOWN_ROWS) {
            // A code span, as in the CPU diff table: names keep their `_` and `::`.
            let name = s.name.replace('|', "\\|").replace('`', "'");
            let _ = writeln!(
                out,
                "| `{name}` | {} | {} | {} |",
                format::bytes(s.start_bytes as f64),
                format::bytes(s.end_bytes as f64),
                signed_bytes(s.growth_bytes)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::HeapSiteInfo;

    fn info(names: &[&str]) -> (ProfileInfo, HeapInfo) {
        let heap = HeapInfo {
            start_pprof_file: Some("heap-start.pb.gz".into()),
            inuse_start_bytes: Some(1_000_000),
            inuse_end_bytes: Some(9_000_000),
            growth_flamegraph_file: Some("../heap-growth.svg".into()),
            growth: names
                .iter()
                .map(|n| HeapSiteInfo {
                    name: n.to_string(),
                    start_bytes: 0,
                    end_bytes: 8_000_000,
                    growth_bytes: 8_000_000,
                    growth_objects: None,
                })
                .collect(),
        };
        let p = ProfileInfo {
            kind: "heap".into(),
            pprof_file: Some("heap-end.pb.gz".into()),
            flamegraph_file: None,
            start_ms: 6000.0,
            duration_ms: 10_000.0,
            top: vec![],
            error: Some("a <b>".into()),
            heap: Some(heap.clone()),
        };
        (p, heap)
    }

    #[test]
    fn the_growth_table_is_escaped_and_signed() {
        let (p, h) = info(&["leak::<a as B>::f"]);
        let mut out = String::new();
        entry(&mut out, &p, &h, None);
        assert!(out.contains("leak::&lt;a as B&gt;::f"), "{out}");
        assert!(out.contains("id=\"heap-growth-table\""));
        assert!(out.contains(">+8"), "{out}");
        assert!(out.contains("a &lt;b&gt;"));
        // A file name that leaves the run folder is neither linked nor embedded.
        assert!(!out.contains("../heap-growth.svg"));
        assert!(out.contains("heap-start.pb.gz") && out.contains("heap-end.pb.gz"));
    }

    #[test]
    fn markdown_keeps_five_rows() {
        let (p, h) = info(&["a|b"; 7]);
        let md = markdown_of([(&p, &h)].into_iter());
        assert!(md.contains("### Heap growth"));
        assert_eq!(
            md.lines().filter(|l| l.starts_with("| `a")).count(),
            5,
            "{md}"
        );
        assert!(md.contains("a\\|b") && md.contains("+8"));
    }
}
