//! Per-second series for the charts, downsampled so that long runs stay small: at most
//! [`MAX_POINTS`] points per series. A point covering several seconds shows the rates over
//! its time and the maximum of the latency percentiles (spikes stay visible).

use crate::result::RunResult;

/// Most points per chart series. 3600 one-second points × a dozen series would make the
/// report several megabytes; 600 points are as many as a chart has pixels to show.
pub const MAX_POINTS: usize = 600;

/// One point of the time series (one second, or several averaged).
#[derive(Debug, Clone, Default)]
pub struct Point {
    /// Seconds since the start of the run, at the start of the bucket.
    pub t: f64,
    /// Completed requests per second.
    pub requests: f64,
    /// Errors per second.
    pub errors: f64,
    /// Dropped arrivals per second.
    pub dropped: f64,
    /// Most requests in flight.
    pub in_flight: f64,
    /// Load level (scheduled rate or users) at the end of the bucket.
    pub load_level: f64,
    /// Latency percentiles in ms (max over the bucket), 0 when there was no traffic.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

/// The time series of `result`, downsampled to at most [`MAX_POINTS`] points: buckets of
/// equal time (whole seconds), so the one-second entries of a run's first minutes and the
/// 10-second entries of a long run's later part (see `Second::seconds`) weigh by the time
/// they cover. Rates are counts over the bucket's real time.
pub fn points(result: &RunResult) -> Vec<Point> {
    let seconds = &result.timeseries;
    let Some(first) = seconds.first() else {
        return Vec::new();
    };
    let (start, end) = time_range(result);
    let width = ((end - start) / MAX_POINTS as f64).ceil().max(1.0) as i64;
    let mut out: Vec<Point> = Vec::new();
    let mut bucket = i64::MIN;
    let mut length_ms = 0.0;
    let mut counts = (0u64, 0u64, 0u64);
    let close = |p: &mut Point, length_ms: f64, counts: (u64, u64, u64)| {
        if length_ms > 0.0 {
            let rate = |n: u64| n as f64 * 1000.0 / length_ms;
            (p.requests, p.errors, p.dropped) = (rate(counts.0), rate(counts.1), rate(counts.2));
        }
    };
    for s in seconds {
        let b = (s.offset_s - first.offset_s).div_euclid(width);
        if b != bucket {
            if let Some(p) = out.last_mut() {
                close(p, length_ms, counts);
            }
            bucket = b;
            (length_ms, counts) = (0.0, (0, 0, 0));
            out.push(Point {
                t: (first.offset_s + b * width) as f64,
                ..Point::default()
            });
        }
        let p = out.last_mut().expect("pushed above");
        length_ms += s.length_ms;
        counts.0 += s.requests;
        counts.1 += s.errors;
        counts.2 += s.dropped;
        p.in_flight = p.in_flight.max(s.in_flight_max as f64);
        p.load_level = s.load_level;
        p.p50 = p.p50.max(s.latency_ms.p50);
        p.p90 = p.p90.max(s.latency_ms.p90);
        p.p99 = p.p99.max(s.latency_ms.p99);
        p.max = p.max.max(s.latency_ms.max);
    }
    if let Some(p) = out.last_mut() {
        close(p, length_ms, counts);
    }
    out
}

/// Seconds since the start at which entry `s` ends (a coarse entry covers its seconds).
fn end_of(result: &RunResult, s: &crate::result::Second) -> i64 {
    match s.seconds.last() {
        Some(last) => s.offset_s + (last.unix_s - s.unix_s) + 1,
        None => s.offset_s + 1,
    }
    .max(result.timeseries.first().map_or(0, |f| f.offset_s) + 1)
}

/// The time range `(start, end)` of the run in seconds since its start.
pub fn time_range(result: &RunResult) -> (f64, f64) {
    let first = result.timeseries.first().map_or(0, |s| s.offset_s) as f64;
    let last = result.timeseries.last().map_or(1, |s| end_of(result, s)) as f64;
    (first, last.max(first + 1.0))
}

/// The warm-up period `(start, end)` in seconds since the start, if any second is warm-up.
pub fn warmup_range(result: &RunResult) -> Option<(f64, f64)> {
    let mut warm = result.timeseries.iter().filter(|s| s.warmup);
    let first = warm.next()?;
    let last = warm.next_back().unwrap_or(first);
    Some((first.offset_s as f64, end_of(result, last) as f64))
}
