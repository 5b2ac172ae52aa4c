//! Hostile strings in a result (names, description, target, messages, warnings) stay text
//! in every output.

use nexus_bench::output::{Output, ReportInput, csv, html, junit, markdown, terminal_summary};

use super::fixture;

fn render(output: &dyn Output) -> String {
    let r = fixture::observed(fixture::hostile(), "<script>alert(1)</script>");
    let input = ReportInput {
        result: &r,
        sections: &[],
    };
    String::from_utf8(output.render(&input).unwrap()).unwrap()
}

/// Raw markup from the hostile fixture that must never appear unescaped.
const RAW: [&str; 7] = [
    "<script",
    "<img",
    "<svg onload",
    "</title><script",
    "<b ",
    "<style>body",
    "\x1b",
];

#[test]
fn html_escapes_everything() {
    let page = render(&html::HtmlReport::default());
    for raw in RAW {
        assert!(!page.contains(raw), "raw {raw:?} in report.html");
    }
    // The hostile text is there, as text, in the new sections too.
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    for id in [
        "target-process",
        "generator",
        "probes",
        "flamegraphs",
        "generator-banner",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    assert!(page.contains("cache::lookup&lt;&lt;script&gt;"));
    assert!(page.contains("self-profiling failed: &lt;script&gt;"));
    assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    // Only our own SVG elements: one per chart, none opened or closed by a name.
    let opened = page.matches("<svg ").count();
    assert_eq!(opened, page.matches("</svg>").count());
    assert_eq!(opened, page.matches("<figure").count());
    // No attribute can be broken out of: every `onerror=` is preceded by escaped text.
    for (at, _) in page.match_indices("onerror=") {
        assert!(
            page[..at].ends_with("src=x "),
            "{}",
            &page[at.saturating_sub(40)..at]
        );
    }
}

#[test]
fn junit_escapes_everything() {
    let xml = render(&junit::JunitReport);
    for raw in RAW {
        assert!(!xml.contains(raw), "raw {raw:?} in junit.xml");
    }
    assert!(xml.contains("name=\"&lt;script&gt;alert(1)&lt;/script&gt;.latency.p99\""));
    // Every attribute quote is ours: quotes in values are escaped.
    assert!(!xml.contains("\"><"));
}

#[test]
fn markdown_escapes_everything() {
    let md = render(&markdown::MarkdownSummary);
    for raw in RAW {
        assert!(!md.contains(raw), "raw {raw:?} in summary.md");
    }
    // `|` in a name does not add table cells: every request row has 10 unescaped pipes.
    for line in md
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("svg"))
    {
        let cells = line.replace("\\|", "").matches('|').count();
        assert!(cells == 10 || cells == 6, "{line}");
    }
}

#[test]
fn csv_quotes_and_terminal_strips_controls() {
    let text = render(&csv::RequestsCsv);
    let mut rd = ::csv::Reader::from_reader(text.as_bytes());
    let names: Vec<String> = rd.records().map(|r| r.unwrap()[0].to_string()).collect();
    let r = fixture::hostile();
    assert_eq!(
        names[..3],
        r.endpoints
            .iter()
            .map(|e| e.name.clone())
            .collect::<Vec<_>>()[..]
    );
    let term = terminal_summary(&r, false);
    assert!(!term.contains('\x1b'));
}
