//! A one-hour run stays a report one can mail around.

use nexus_bench::output::{Output, ReportInput, html};

use super::fixture::{Spec, build};

#[test]
fn one_hour_report_is_under_2mb() {
    let spec = Spec {
        seconds: 3600,
        warmup_s: 60,
        per_second: 4,
        ..Spec::sample()
    };
    let r = build(&spec);
    assert_eq!(r.timeseries.len(), 3600);
    let input = ReportInput {
        result: &r,
        sections: &[],
    };
    let page = html::HtmlReport::default().render(&input).unwrap();
    eprintln!("one-hour report.html: {} bytes", page.len());
    assert!(
        page.len() < 2_000_000,
        "report.html is {} bytes",
        page.len()
    );
    assert!(
        page.len() > 50_000,
        "suspiciously small: {} bytes",
        page.len()
    );
}
