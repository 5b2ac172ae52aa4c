//! The CPU profile diff against a baseline, as report HTML (the differential flamegraph in
//! its sandboxed frame and the table of functions whose CPU per request changed most) and as
//! a Markdown top-5 table. Every string is escaped.

use std::fmt::Write as _;

use super::format::escape_xml as esc;
use crate::profiler::DiffRow;

/// Rows in the Markdown summary.
const MARKDOWN_ROWS: usize = 5;

fn us(v: f64) -> String {
    format!("{v:.1}")
}

fn signed(v: f64) -> String {
    format!("{v:+.1}")
}

/// The HTML body: an explanation, the diff flamegraph (`svg`, embedded) and the table.
pub fn render_html(rows: &[DiffRow], svg: Option<&str>, svg_file: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<p class=\"note\">CPU time per request of the target, baseline → this run, from the two \
         CPU profiles (each normalised by the requests completed in its window). Frame widths: \
         this run; red: more CPU per request than the baseline, blue: less. \
         <a href=\"{}\">{}</a></p>",
        esc(svg_file),
        esc(svg_file)
    );
    if let Some(svg) = svg {
        out.push_str(&super::flame_embed::iframe(
            svg,
            "CPU profile diff flamegraph",
        ));
    }
    out.push_str(
        "<table id=\"profile-diff-table\" class=\"top-functions\"><thead><tr><th>function</th>\
         <th class=\"num\">self µs/req before</th><th class=\"num\">after</th>\
         <th class=\"num\">Δ self</th><th class=\"num\">total µs/req before</th>\
         <th class=\"num\">after</th><th class=\"num\">Δ total</th></tr></thead><tbody>",
    );
    for r in rows {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            esc(&r.name),
            us(r.self_before_us),
            us(r.self_after_us),
            signed(r.self_delta_us()),
            us(r.total_before_us),
            us(r.total_after_us),
            signed(r.total_delta_us())
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// The Markdown body: the top-5 table.
pub fn render_markdown(rows: &[DiffRow]) -> String {
    let mut out = String::from(
        "CPU µs per request of the target, baseline → this run.\n\n\
         | function | self before | self after | Δ self | total before | total after | Δ total |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows.iter().take(MARKDOWN_ROWS) {
        let name = r.name.replace('|', "\\|").replace('`', "'");
        let _ = writeln!(
            out,
            "| `{name}` | {} | {} | {} | {} | {} | {} |",
            us(r.self_before_us),
            us(r.self_after_us),
            signed(r.self_delta_us()),
            us(r.total_before_us),
            us(r.total_after_us),
            signed(r.total_delta_us())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str) -> DiffRow {
        DiffRow {
            name: name.into(),
            self_before_us: 1.0,
            self_after_us: 3.5,
            total_before_us: 2.0,
            total_after_us: 4.0,
        }
    }

    #[test]
    fn both_values_and_the_change_are_shown_escaped() {
        let html = render_html(&[row("<a as B>::f")], None, "target-diff.svg");
        assert!(html.contains("&lt;a as B&gt;::f"));
        assert!(html.contains(">+2.5<") && html.contains(">3.5<") && html.contains(">1.0<"));
        let md = render_markdown(&vec![row("a|b"); 7]);
        assert_eq!(md.lines().filter(|l| l.starts_with("| `")).count(), 5);
        assert!(md.contains("a\\|b") && md.contains("+2.5"));
    }
}
