//! Per-second series for the charts, downsampled so that long runs stay small: at most
//! [`MAX_POINTS`] points per series. A point covering several seconds shows the mean of the
//! rates and the maximum of the latency percentiles (spikes stay visible).

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

/// The time series of `result`, downsampled to at most [`MAX_POINTS`] points.
pub fn points(result: &RunResult) -> Vec<Point> {
    let seconds = &result.timeseries;
    let step = seconds.len().div_ceil(MAX_POINTS).max(1);
    seconds
        .chunks(step)
        .map(|chunk| {
            let n = chunk.len() as f64;
            let mut p = Point {
                t: chunk[0].offset_s as f64,
                ..Point::default()
            };
            for s in chunk {
                // Per second of real time: partial first and last seconds are not a drop.
                p.requests += s.requests_per_sec() / n;
                p.errors += s.errors as f64 / n;
                p.dropped += s.dropped as f64 / n;
                p.in_flight = p.in_flight.max(s.in_flight_max as f64);
                p.load_level = s.load_level;
                p.p50 = p.p50.max(s.latency_ms.p50);
                p.p90 = p.p90.max(s.latency_ms.p90);
                p.p99 = p.p99.max(s.latency_ms.p99);
                p.max = p.max.max(s.latency_ms.max);
            }
            p
        })
        .collect()
}

/// The time range `(start, end)` of the run in seconds since its start.
pub fn time_range(result: &RunResult) -> (f64, f64) {
    let first = result.timeseries.first().map_or(0, |s| s.offset_s) as f64;
    let last = result.timeseries.last().map_or(1, |s| s.offset_s + 1) as f64;
    (first, last.max(first + 1.0))
}

/// The warm-up period `(start, end)` in seconds since the start, if any second is warm-up.
pub fn warmup_range(result: &RunResult) -> Option<(f64, f64)> {
    let mut warm = result.timeseries.iter().filter(|s| s.warmup);
    let first = warm.next()?.offset_s;
    let last = warm.next_back().map_or(first, |s| s.offset_s);
    Some((first as f64, (last + 1) as f64))
}
