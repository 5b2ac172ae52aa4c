//! Terminal, HTML, Markdown, JUnit and CSV show the same numbers for the same result.

use nexus_bench::output::{
    Output, ReportInput, csv, format, html, junit, markdown, terminal_summary,
};

use super::fixture;

#[test]
fn every_output_shows_the_same_figures() {
    let r = fixture::sample();
    let input = ReportInput {
        result: &r,
        sections: &[],
    };
    let text = |o: &dyn Output| String::from_utf8(o.render(&input).unwrap()).unwrap();
    let term = terminal_summary(&r, false);
    let page = text(&html::HtmlReport::default());
    let md = text(&markdown::MarkdownSummary);
    let xml = text(&junit::JunitReport);
    let csv_text = text(&csv::RequestsCsv);

    for e in r.endpoints.iter().chain(std::iter::once(&r.overall)) {
        let l = &e.latency_ms;
        for v in [l.p50, l.p90, l.p99, l.p99_9, l.max] {
            let shown = format::latency(v);
            assert!(term.contains(&shown), "terminal lacks {shown}");
            assert!(page.contains(&format!(">{shown}<")), "html lacks {shown}");
            assert!(
                md.contains(&format!("| {shown} |")),
                "markdown lacks {shown}"
            );
        }
        for shown in [
            format::count(e.requests),
            format::rate(e.throughput_per_sec),
        ] {
            assert!(term.contains(&shown) && page.contains(&shown) && md.contains(&shown));
        }
        // CSV carries the exact value the others round.
        let row = csv_text
            .lines()
            .find(|l| l.starts_with(&format!("{},", e.name)))
            .unwrap();
        assert!(row.contains(&format::ms_plain(l.p99)), "{row}");
        assert!(row.contains(&format!(",{},", e.requests)), "{row}");
    }
    for s in &r.slos {
        let observed = format::slo_observed(s);
        let limit = format::slo_limit(s);
        let limit_xml = limit.replace('<', "&lt;").replace('>', "&gt;");
        assert!(
            term.contains(&format!("observed {observed}  limit {limit}")),
            "{term}"
        );
        assert!(
            page.contains(&format!(">{observed}<")) && page.contains(&format!(">{limit_xml}<"))
        );
        assert!(
            md.contains(&format!("| {limit_xml} | {observed} |")),
            "{md}"
        );
        assert!(
            xml.contains(&format!("observed {observed}, limit {limit_xml}")),
            "{xml}"
        );
    }
}
