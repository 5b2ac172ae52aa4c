//! Property tests of the unit parsers and formatters: what is displayed reads back as about
//! the same value, and no unit is shown at a value that belongs to the next one
//! (`119.6s` is not "1m60s", `0.9996ms` is not "1000µs").

use std::time::Duration;

use nexus_bench::units::{
    format_bytes, format_duration, format_ms, format_percent, format_rate, parse_bytes,
    parse_duration, parse_percent, parse_rate,
};
use proptest::prelude::*;

/// The number in front of the unit.
fn number(s: &str) -> f64 {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    s[..end]
        .parse()
        .unwrap_or_else(|_| panic!("no number in {s:?}"))
}

#[test]
fn the_boundaries_the_issue_names() {
    assert_eq!(format_duration(Duration::from_secs_f64(119.6)), "2m");
    assert_eq!(format_duration(Duration::from_secs_f64(89.6)), "1m30s");
    assert_eq!(format_ms(0.9996), "1.00ms");
    assert_eq!(format_ms(9.996), "10.0ms");
    assert_eq!(format_ms(999.96), "1.00s");
    assert_eq!(format_rate(99.96), "100/s");
    assert_eq!(format_rate(9999.6), "10.0k/s");
    assert_eq!(format_bytes(999.6), "1.0KB");
    assert_eq!(format_percent(0.099_999), "10.0%");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Milliseconds: the right unit after rounding, and it reads back within rounding.
    #[test]
    fn ms_display_reads_back(ms in 0.0f64..1e7) {
        let s = format_ms(ms);
        let n = number(&s);
        if s.ends_with("µs") {
            prop_assert!(n < 1000.0, "{ms} → {s}");
        } else if s.ends_with("ms") && s.contains('.') && s.split('.').nth(1).unwrap().len() == 4 {
            prop_assert!(n < 10.0, "{ms} → {s}");
        } else if s.ends_with("ms") {
            prop_assert!(n < 1000.0, "{ms} → {s}");
        }
        let back = parse_duration(&s).unwrap().as_secs_f64() * 1000.0;
        prop_assert!((back - ms).abs() <= 0.0005 + ms * 0.005, "{ms} → {s} → {back}");
    }

    /// Durations: never "60s" inside a minute form, and they read back within a second.
    #[test]
    fn duration_display_reads_back(secs in 0.0f64..1e6) {
        let d = Duration::from_secs_f64(secs);
        let s = format_duration(d);
        prop_assert!(!s.contains("m60s"), "{secs} → {s}");
        if let Some(rest) = s.split_once('m').map(|(_, r)| r).filter(|r| !r.is_empty() && !r.starts_with('s')) {
            prop_assert!(number(rest) < 60.0, "{secs} → {s}");
        }
        if s.ends_with('s') && !s.contains('m') {
            prop_assert!(number(&s) < 60.0 || s.ends_with("ms") || s.ends_with("µs"), "{secs} → {s}");
        }
        let back = parse_duration(&s).unwrap().as_secs_f64();
        prop_assert!((back - secs).abs() <= 0.5 + secs * 0.005, "{secs} → {s} → {back}");
    }

    /// Written durations parse exactly.
    #[test]
    fn whole_durations_parse_exactly(n in 0u64..10_000_000, unit in 0usize..4) {
        let (text, want) = match unit {
            0 => (format!("{n}us"), Duration::from_micros(n)),
            1 => (format!("{n}ms"), Duration::from_millis(n)),
            2 => (format!("{n}s"), Duration::from_secs(n)),
            _ => (format!("{}m{}s", n / 60, n % 60), Duration::from_secs(n)),
        };
        let got = parse_duration(&text).unwrap();
        let diff = got.abs_diff(want);
        prop_assert!(diff <= Duration::from_nanos(1), "{text}: {got:?} vs {want:?}");
    }

    /// Rates: the right unit after rounding, and they read back.
    #[test]
    fn rate_display_reads_back(r in 0.0f64..1e8) {
        let s = format_rate(r);
        let n = number(&s);
        if s.ends_with("k/s") {
            prop_assert!(n < 1000.0, "{r} → {s}");
        } else if !s.ends_with("M/s") {
            prop_assert!(n < 10_000.0, "{r} → {s}");
            if s.contains('.') {
                prop_assert!(n < 100.0, "{r} → {s}");
            }
        }
        let scale = if s.ends_with("M/s") { 1e6 } else if s.ends_with("k/s") { 1e3 } else { 1.0 };
        let back = n * scale;
        prop_assert!((back - r).abs() <= 0.05 + r * 0.005, "{r} → {s}");
        prop_assert_eq!(parse_rate(&format!("{r}/s")).unwrap(), r);
    }

    /// Byte sizes: the right unit after rounding, and they read back.
    #[test]
    fn byte_display_reads_back(b in 0.0f64..1e12) {
        let s = format_bytes(b);
        let n = number(&s);
        if !s.ends_with("GB") {
            prop_assert!(n < 1000.0, "{b} → {s}");
        }
        let back = parse_bytes(&s).unwrap() as f64;
        prop_assert!((back - b).abs() <= 0.5 + b * 0.05, "{b} → {s} → {back}");
    }

    /// Percentages read back.
    #[test]
    fn percent_display_reads_back(r in 0.0f64..1.0) {
        let s = format_percent(r);
        let back = parse_percent(&s).unwrap();
        // Half a unit of the last decimal shown (of a percent: /100).
        let decimals = s.split_once('.').map_or(0, |(_, d)| d.len() - 1) as i32;
        let tol = 0.5 * 10f64.powi(-decimals) / 100.0 + 1e-12;
        prop_assert!((back - r).abs() <= tol, "{r} → {s} → {back}");
        if s.contains('.') && s.split('.').nth(1).unwrap().len() == 3 && r > 0.001 {
            prop_assert!(number(&s) < 10.0, "{r} → {s}");
        }
    }
}
