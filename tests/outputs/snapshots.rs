//! Snapshots of the text outputs of the sample result.

use nexus_bench::output::{JunitCase, Output, ReportInput, Section, csv, junit, markdown};

use super::fixture;

fn render(output: &dyn Output, sections: &[Section]) -> String {
    let r = fixture::sample();
    let input = ReportInput {
        result: &r,
        sections,
    };
    String::from_utf8(output.render(&input).unwrap()).unwrap()
}

fn baseline_section() -> Section {
    Section {
        id: "baseline".into(),
        title: "Baseline comparison".into(),
        html: "<p>no regression</p>".into(),
        markdown: "No significant regression against `main`.".into(),
        junit: vec![JunitCase {
            name: "baseline.get-item.latency.p99".into(),
            failure: Some("p99 +23% (significant)".into()),
            details: "8.9ms vs 7.2ms".into(),
        }],
    }
}

#[test]
fn summary_md() {
    insta::assert_snapshot!(render(&markdown::MarkdownSummary, &[baseline_section()]));
}

#[test]
fn junit_xml() {
    insta::assert_snapshot!(render(&junit::JunitReport, &[baseline_section()]));
}

#[test]
fn requests_csv() {
    insta::assert_snapshot!(render(&csv::RequestsCsv, &[]));
}

#[test]
fn timeseries_csv_head() {
    let text = render(&csv::TimeseriesCsv, &[]);
    let head: Vec<&str> = text.lines().take(9).collect();
    insta::assert_snapshot!(head.join("\n"));
    // One `*` row per second plus one per request name with traffic.
    assert_eq!(text.lines().count(), 1 + 60 * 4);
}

#[test]
fn terminal_summary_plain_and_coloured() {
    let r = fixture::sample();
    let plain = nexus_bench::output::terminal_summary(&r, false);
    assert!(!plain.contains('\x1b'));
    insta::assert_snapshot!(plain);
    let coloured = nexus_bench::output::terminal_summary(&r, true);
    assert!(coloured.contains("\x1b[1;31mFAIL\x1b[0m"));
}
