//! The compact forms of the time series ([`super::series`]): a finished span's counts per
//! second, its percentiles and its histograms encoded (HdrHistogram V2 + deflate).

use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

use super::{Hist, Window, new_histogram};

/// Latency percentiles of a span, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pcts {
    /// Values recorded.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Maximum.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

impl Pcts {
    /// The percentiles of `h`.
    pub fn of(h: &Hist) -> Self {
        if h.is_empty() {
            return Pcts::default();
        }
        // One pass; each value exactly what `value_at_quantile` gives.
        let mut q = h.value_at_quantiles([0.50, 0.90, 0.99]);
        let mut next = || q.next().unwrap_or(0);
        let (p50, p90, p99) = (next(), next(), next());
        Pcts {
            count: h.len(),
            p50,
            p90,
            p99,
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// Counts of one wall-clock second.
#[derive(Debug, Clone, PartialEq)]
pub struct SecondCounts {
    /// Unix second.
    pub unix_s: i64,
    /// True while every part of the second came from the warm-up.
    pub warmup: bool,
    /// Completed requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Dropped arrivals.
    pub dropped: u64,
    /// Sum over workers of each worker's most requests in flight.
    pub in_flight_max: u64,
    /// Per request id: `(requests, errors)`, for ids with traffic in the second.
    pub endpoints: Vec<Option<(u64, u64)>>,
}

impl SecondCounts {
    /// The counts of one worker's window (its histograms are not looked at).
    pub fn of(w: &Window) -> Self {
        let mut c = SecondCounts::new(w.second, w.endpoints.len());
        c.warmup = w.warmup;
        c.dropped = w.dropped;
        c.in_flight_max = w.in_flight_max;
        for (id, part) in w.endpoints.iter().enumerate() {
            let Some(part) = part else { continue };
            c.requests += part.requests;
            c.errors += part.errors;
            c.endpoints[id] = Some((part.requests, part.errors));
        }
        c
    }

    pub(super) fn new(unix_s: i64, names: usize) -> Self {
        SecondCounts {
            unix_s,
            warmup: true,
            requests: 0,
            errors: 0,
            dropped: 0,
            in_flight_max: 0,
            endpoints: vec![None; names],
        }
    }

    pub(super) fn add(&mut self, o: &SecondCounts) {
        self.warmup &= o.warmup;
        self.requests += o.requests;
        self.errors += o.errors;
        self.dropped += o.dropped;
        self.in_flight_max += o.in_flight_max;
        for (a, b) in self.endpoints.iter_mut().zip(&o.endpoints) {
            if let Some((r, e)) = b {
                let a = a.get_or_insert((0, 0));
                a.0 += r;
                a.1 += e;
            }
        }
    }
}

/// One request name within a span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanEndpoint {
    /// Completed requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Latency percentiles.
    pub latency: Pcts,
    /// The span's latency histogram (µs), HdrHistogram V2 + deflate.
    pub histogram: Vec<u8>,
}

/// A finished stretch of the series: one second, or `coarse_s` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Unix second the span starts at.
    pub start: i64,
    /// Nominal length in seconds (1 or `coarse_s`).
    pub length_s: i64,
    /// The seconds in it that saw any window, in order.
    pub seconds: Vec<SecondCounts>,
    /// Latency percentiles, all request names.
    pub latency: Pcts,
    /// Per request id (ids with traffic only are `Some`).
    pub endpoints: Vec<Option<SpanEndpoint>>,
}

impl Span {
    /// Whether every second of the span is warm-up.
    pub fn warmup(&self) -> bool {
        self.seconds.iter().all(|s| s.warmup)
    }
}

/// Encodes `h` as HdrHistogram V2 + deflate.
pub fn encode(h: &Hist) -> Vec<u8> {
    let mut buf = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .expect("serializing to memory cannot fail");
    buf.shrink_to_fit();
    buf
}

/// Decodes what [`encode`] wrote (an empty slice is an empty histogram).
pub fn decode(bytes: &[u8]) -> Hist {
    let mut out = new_histogram();
    if !bytes.is_empty() {
        let h: Hist = Deserializer::new()
            .deserialize(&mut &bytes[..])
            .expect("our own encoding decodes");
        out.add(&h).expect("same bounds");
    }
    out
}
