//! `latency.hlog` reads back with HdrHistogram's own interval-log reader, second by second.

use std::time::Duration;

use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use nexus_bench::output::{Output, ReportInput, hlog};
use nexus_bench::result::{Hist, new_histogram};

use super::fixture;

#[test]
fn interval_log_round_trips() {
    let r = fixture::sample();
    let input = ReportInput {
        result: &r,
        sections: &[],
    };
    let bytes = hlog::LatencyLog.render(&input).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains("#[StartTime: 1764072000.000"),
        "{}",
        &text[..300]
    );
    assert!(text.contains("#[BaseTime: 1764072000.000"));
    let first_name = &r.timeseries[0].endpoints[0].name;
    assert!(
        text.contains(&format!("\nTag={first_name},")),
        "per-request Tag= lines"
    );

    let mut intervals = Vec::new();
    let mut tagged = Vec::new();
    let (mut start, mut base) = (None, None);
    for entry in IntervalLogIterator::new(&bytes) {
        match entry.expect("log parses") {
            LogEntry::StartTime(t) => start = Some(t),
            LogEntry::BaseTime(t) => base = Some(t),
            LogEntry::Interval(i) => match i.tag() {
                None => intervals.push((
                    i.start_timestamp(),
                    i.duration(),
                    i.max(),
                    i.encoded_histogram().to_string(),
                )),
                Some(t) => tagged.push((i.start_timestamp(), t.as_str().to_string())),
            },
        }
    }
    assert_eq!(start, Some(Duration::from_secs(1_764_072_000)));
    assert_eq!(base, start);
    assert_eq!(intervals.len(), r.timeseries.len());
    // One tagged interval per request name with traffic in each second.
    let expected_tags: Vec<(Duration, String)> = r
        .timeseries
        .iter()
        .flat_map(|s| {
            s.endpoints
                .iter()
                .map(move |e| (Duration::from_secs(s.offset_s as u64), e.name.clone()))
        })
        .collect();
    assert_eq!(tagged, expected_tags);
    for ((ts, dur, max, enc), second) in intervals.iter().zip(&r.timeseries) {
        assert_eq!(*ts, Duration::from_secs(second.offset_s as u64));
        assert_eq!(*dur, Duration::from_secs(1));
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(enc)
            .unwrap();
        let h: Hist = Deserializer::new()
            .deserialize(&mut raw.as_slice())
            .unwrap();
        let mut expected = new_histogram();
        for e in &second.endpoints {
            expected.add(e.latency_us.decode().unwrap()).unwrap();
        }
        assert_eq!(h.len(), second.requests);
        assert_eq!(h.len(), expected.len());
        assert_eq!(h.max(), expected.max());
        assert_eq!(h.value_at_quantile(0.99), expected.value_at_quantile(0.99));
        assert!((max - expected.max() as f64 / 1000.0).abs() < 0.01, "{max}");
    }
}
