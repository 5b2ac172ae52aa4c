//! A one-hour, 20-name result shaped as a run writes it since schema version 4: one entry
//! per second for 10 minutes, then one per 10 s with per-second counts (`seconds`); and its
//! report stays small (the browser test opens it: [`super::browser`]).

use nexus_bench::output::{Output, ReportInput, html, series};
use nexus_bench::result::{EncodedHistogram, PerSecond, RunResult, Second, new_histogram};

use super::fixture;

/// The result: the sample's sections, 20 request names, an hour of series.
pub fn one_hour_twenty_names() -> RunResult {
    let mut r = fixture::sample();
    let template = r.endpoints[0].clone();
    r.endpoints = (0..20)
        .map(|i| {
            let mut e = template.clone();
            e.name = format!("get-{i:02}");
            e
        })
        .collect();
    let start_s = r.start_unix_ms.div_euclid(1000);
    let mut h = new_histogram();
    for v in 200..350u64 {
        h.record(v * 7).unwrap();
    }
    let encoded = EncodedHistogram::encode(&h);
    let base = r.timeseries[10].clone();
    let entry = |offset: i64, span: i64| {
        let mut s: Second = base.clone();
        s.unix_s = start_s + offset;
        s.offset_s = offset;
        s.warmup = false;
        s.length_ms = span as f64 * 1000.0;
        s.requests = 3000 * span as u64;
        // A slow minute in the coarse part, to see on the charts.
        let slow = (1800..1860).contains(&offset);
        s.latency_ms.p99 = if slow {
            40.0
        } else {
            2.5 + (offset % 7) as f64 * 0.1
        };
        s.endpoints = r
            .endpoints
            .iter()
            .map(|e| {
                let mut x = base.endpoints[0].clone();
                x.name = e.name.clone();
                x.requests = 150 * span as u64;
                x.latency_us = encoded.clone();
                if span > 1 {
                    x.requests_by_second = vec![150; span as usize];
                    x.errors_by_second = vec![0; span as usize];
                }
                x
            })
            .collect();
        s.seconds = if span > 1 {
            (0..span)
                .map(|i| PerSecond {
                    unix_s: start_s + offset + i,
                    warmup: false,
                    length_ms: 1000.0,
                    requests: 3000,
                    errors: 0,
                    dropped: 0,
                    in_flight_max: 4,
                })
                .collect()
        } else {
            Vec::new()
        };
        s
    };
    r.timeseries = (0..600)
        .map(|o| entry(o, 1))
        .chain((60..360).map(|t| entry(t * 10, 10)))
        .collect();
    r
}

#[test]
fn one_hour_twenty_name_report_is_small_and_its_charts_aggregate() {
    let r = one_hour_twenty_names();
    let points = series::points(&r);
    assert!(points.len() <= series::MAX_POINTS, "{}", points.len());
    assert_eq!(series::time_range(&r), (0.0, 3600.0));
    // Coarse entries are rates over their 10 s, not ten-second sums.
    let late = points.iter().find(|p| p.t >= 3000.0).unwrap();
    assert!((late.requests - 3000.0).abs() < 1e-6, "{}", late.requests);
    let page = html::HtmlReport::default()
        .render(&ReportInput {
            result: &r,
            sections: &[],
        })
        .unwrap();
    eprintln!("one-hour, 20-name report.html: {} bytes", page.len());
    assert!(
        page.len() < 2_000_000,
        "report.html is {} bytes",
        page.len()
    );
}
