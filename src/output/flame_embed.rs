//! Embedding an inferno flamegraph SVG in the report: a sandboxed `<iframe srcdoc>` holding a
//! tiny HTML document whose only content is the SVG drawn at the frame's full width, and a
//! frame as tall as the graph, so nothing is scaled down and the base of the graph is in view.
//!
//! inferno draws "fluid" SVGs (no fixed image width): its script removes the `width` and
//! `viewBox` on load and re-truncates the labels for the width it gets, so the labels are as
//! long as the frame allows. Its click-to-zoom and search script keeps running inside the
//! sandbox (`allow-scripts`, an opaque origin that cannot reach the page).

use std::fmt::Write as _;

use super::format::escape_xml as esc;

/// The frame's height when the SVG does not say its own (inferno always does).
const FALLBACK_HEIGHT_PX: u32 = 560;
/// Frames taller than this scroll inside (a very deep profile stays usable on the page).
const MAX_HEIGHT_PX: u32 = 4_000;

/// The `<iframe>` that shows `svg` (an inferno flamegraph) at the report's width.
pub(crate) fn iframe(svg: &str, title: &str) -> String {
    let body = svg_element(svg);
    let height = svg_height(body).map_or(FALLBACK_HEIGHT_PX, |h| h.min(MAX_HEIGHT_PX));
    let doc = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>\
         html,body{{margin:0;padding:0;background:#fff;overflow-x:hidden}}\
         svg{{display:block;width:100%}}</style></head><body>{body}</body></html>"
    );
    let mut out = String::with_capacity(doc.len() * 11 / 10 + 200);
    let _ = write!(
        out,
        "<iframe class=\"flamegraph\" title=\"{}\" sandbox=\"allow-scripts\" \
         style=\"height:{}px\" srcdoc=\"{}\"></iframe>",
        esc(title),
        height + 2,
        esc(&doc)
    );
    out
}

/// The SVG from its `<svg` tag on: the XML declaration, DOCTYPE and comments before it mean
/// nothing in an HTML document.
fn svg_element(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |at| &svg[at..])
}

/// The `height` attribute of the root `<svg>` element, in pixels.
fn svg_height(svg: &str) -> Option<u32> {
    let tag = &svg[..svg.find('>')?];
    let at = tag.find(" height=\"")? + " height=\"".len();
    let value = &tag[at..];
    let value = &value[..value.find('"')?];
    value
        .trim_end_matches("px")
        .parse::<f64>()
        .ok()
        .map(|h| h.ceil() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVG: &str = "<?xml version=\"1.0\"?><!DOCTYPE svg><!-- c --><svg version=\"1.1\" \
                       width=\"1200\" height=\"342\" onload=\"init(evt)\"><g>x &amp; y</g></svg>";

    #[test]
    fn the_frame_is_as_tall_as_the_graph() {
        let html = iframe(SVG, "target <flamegraph>");
        assert!(html.contains("style=\"height:344px\""), "{html}");
        assert!(html.contains("title=\"target &lt;flamegraph&gt;\""));
        assert!(html.contains("sandbox=\"allow-scripts\""));
        // The document inside is escaped once for the attribute; the prologue is gone.
        assert!(html.contains("&lt;svg version"));
        assert!(!html.contains("DOCTYPE svg"));
        assert!(html.contains("x &amp;amp; y"));
        assert!(!html.contains("<svg"));
    }

    #[test]
    fn height_parsing() {
        assert_eq!(svg_height("<svg height=\"1958\" width=\"1\">"), Some(1958));
        assert_eq!(svg_height("<svg width=\"1\">"), None);
        assert_eq!(svg_height("<svg height=\"12.5px\">"), Some(13));
        let tall = SVG.replace("342", "90000");
        assert!(iframe(&tall, "t").contains("height:4002px"));
    }
}
