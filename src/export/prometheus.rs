//! `--export prometheus-rw=URL`: Prometheus remote-write 1.0 (a protobuf `WriteRequest`,
//! snappy block-compressed, POSTed) of each finished second.
//!
//! Series (every one labelled `scenario`, `run_id`, `instance`; per request name also
//! `request`, with `all` for every request together):
//! - `nexus_bench_requests_total`, `nexus_bench_errors_total` — counters over the measured
//!   period (warm-up excluded), ending exactly at the result's totals;
//! - `nexus_bench_errors_by_kind_total{kind}`, `nexus_bench_dropped_total`;
//! - `nexus_bench_requests_per_second` and `nexus_bench_latency_seconds{quantile}` (0.5, 0.9,
//!   0.99, 1) of the second;
//! - `nexus_bench_in_flight_max`, `nexus_bench_load_level`, `nexus_bench_warmup` (1 during the
//!   warm-up).
//!
//! A sender thread owns the network: the run only queues (never blocks). Failed pushes are
//! retried with backoff, oldest seconds dropped past a bounded buffer; a receiver that is
//! down is a warning, never a failed run.

use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use prost::Message;

use super::{RunLabels, Sink, Tick};
use crate::result::{RunResult, Second, WindowSummary};

/// Seconds kept while the receiver is unreachable (ten minutes); older ones are dropped.
const BUFFER_SECONDS: usize = 600;
/// How long one push may take.
const PUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the end of the run waits for the last pushes.
const FINAL_FLUSH: Duration = Duration::from_secs(5);
/// Longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`: labels sorted by name, samples in time order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// `__name__` and the other labels.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, prost::Message)]
pub struct Label {
    /// Name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// Value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Unix milliseconds.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// The remote-write exporter: builds each second's series, a thread sends them.
pub struct RemoteWrite {
    labels: RunLabels,
    /// Measured-period requests and errors so far, per request name (and `all`).
    totals: BTreeMap<String, (u64, u64)>,
    dropped: u64,
    last_ts: i64,
    overflow: u64,
    tx: Option<SyncSender<Vec<TimeSeries>>>,
    thread: Option<JoinHandle<Delivery>>,
}

/// What the sender thread achieved.
#[derive(Debug, Default)]
struct Delivery {
    /// Seconds dropped because the buffer was full.
    dropped: u64,
    /// Seconds still undelivered at the end.
    undelivered: usize,
    /// The last failure.
    last_error: Option<String>,
}

impl RemoteWrite {
    /// Starts the sender thread for `url`.
    pub fn start(url: &str, labels: &RunLabels) -> Self {
        let (tx, rx) = sync_channel(64);
        let url = url.to_string();
        let thread = std::thread::Builder::new()
            .name("nexus-export".into())
            .spawn(move || send_loop(&url, &rx))
            .ok();
        RemoteWrite {
            labels: labels.clone(),
            totals: BTreeMap::new(),
            dropped: 0,
            last_ts: 0,
            overflow: 0,
            tx: Some(tx),
            thread,
        }
    }

    fn series(&self, name: &str, extra: &[(&str, &str)], value: f64, ts: i64) -> TimeSeries {
        let instance = self.labels.instance.to_string();
        let mut labels: Vec<Label> = [
            ("__name__", name),
            ("scenario", self.labels.scenario.as_str()),
            ("run_id", self.labels.run_id.as_str()),
            ("instance", instance.as_str()),
        ]
        .iter()
        .chain(extra)
        .map(|(n, v)| Label {
            name: (*n).into(),
            value: (*v).into(),
        })
        .collect();
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        TimeSeries {
            labels,
            samples: vec![Sample {
                value,
                timestamp: ts,
            }],
        }
    }

    /// The counters (cumulative) at `ts`.
    fn counters(&self, kinds: &[(&'static str, u64)], ts: i64, out: &mut Vec<TimeSeries>) {
        for (request, (requests, errors)) in &self.totals {
            let l = [("request", request.as_str())];
            out.push(self.series("nexus_bench_requests_total", &l, *requests as f64, ts));
            out.push(self.series("nexus_bench_errors_total", &l, *errors as f64, ts));
        }
        for (kind, n) in kinds {
            out.push(self.series(
                "nexus_bench_errors_by_kind_total",
                &[("kind", kind)],
                *n as f64,
                ts,
            ));
        }
        out.push(self.series("nexus_bench_dropped_total", &[], self.dropped as f64, ts));
    }

    fn second_series(&mut self, s: &Second, kinds: &[(&'static str, u64)]) -> Vec<TimeSeries> {
        let ts = ((s.unix_s * 1000) + s.length_ms.round() as i64).max(self.last_ts + 1);
        self.last_ts = ts;
        if !s.warmup {
            add(&mut self.totals, "all", s.requests, s.errors);
            for e in &s.endpoints {
                add(&mut self.totals, &e.name, e.requests, e.errors);
            }
            self.dropped += s.dropped;
        }
        let mut out = Vec::new();
        self.counters(kinds, ts, &mut out);
        let per_sec = |n: u64| n as f64 * 1000.0 / s.length_ms.max(1.0);
        let rows = std::iter::once(("all", s.requests, &s.latency_ms)).chain(
            s.endpoints
                .iter()
                .map(|e| (e.name.as_str(), e.requests, &e.latency_ms)),
        );
        for (request, requests, latency) in rows {
            let l = [("request", request)];
            out.push(self.series("nexus_bench_requests_per_second", &l, per_sec(requests), ts));
            if requests > 0 {
                for (q, ms) in quantiles(latency) {
                    out.push(self.series(
                        "nexus_bench_latency_seconds",
                        &[("request", request), ("quantile", q)],
                        ms / 1000.0,
                        ts,
                    ));
                }
            }
        }
        out.push(self.series("nexus_bench_in_flight_max", &[], s.in_flight_max as f64, ts));
        out.push(self.series("nexus_bench_load_level", &[], s.load_level, ts));
        out.push(self.series("nexus_bench_warmup", &[], f64::from(u8::from(s.warmup)), ts));
        out
    }

    fn queue(&mut self, batch: Vec<TimeSeries>) {
        if let Some(tx) = &self.tx {
            match tx.try_send(batch) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => self.overflow += 1,
                Err(TrySendError::Disconnected(_)) => self.tx = None,
            }
        }
    }
}

fn add(totals: &mut BTreeMap<String, (u64, u64)>, name: &str, requests: u64, errors: u64) {
    let t = totals.entry(name.to_string()).or_default();
    t.0 += requests;
    t.1 += errors;
}

fn quantiles(l: &WindowSummary) -> [(&'static str, f64); 4] {
    [
        ("0.5", l.p50),
        ("0.9", l.p90),
        ("0.99", l.p99),
        ("1", l.max),
    ]
}

impl Sink for RemoteWrite {
    fn push(&mut self, tick: &Tick<'_>) {
        let batch = self.second_series(tick.second, tick.error_kinds);
        self.queue(batch);
    }

    fn finish(mut self: Box<Self>, result: &RunResult) -> Vec<String> {
        // The last counters are the result's own totals, whatever the live seconds summed to.
        self.totals.clear();
        add(
            &mut self.totals,
            "all",
            result.totals.requests,
            result.totals.errors,
        );
        for e in &result.endpoints {
            add(&mut self.totals, &e.name, e.requests, e.errors);
        }
        self.dropped = result.totals.dropped;
        let ts = (chrono::Utc::now().timestamp_millis()).max(self.last_ts + 1);
        let mut last = Vec::new();
        self.counters(&super::measured_error_kinds(result), ts, &mut last);
        self.queue(last);
        self.tx = None;
        let delivery = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let lost = delivery.dropped + delivery.undelivered as u64 + self.overflow;
        if lost == 0 {
            return Vec::new();
        }
        vec![format!(
            "--export prometheus-rw: {lost} second(s) not delivered{}",
            delivery
                .last_error
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default()
        )]
    }
}

/// The sender thread: buffers batches, pushes them, retries with backoff, and at the end
/// (channel closed) flushes for at most [`FINAL_FLUSH`].
fn send_loop(url: &str, rx: &Receiver<Vec<TimeSeries>>) -> Delivery {
    let mut delivery = Delivery::default();
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        delivery.last_error = Some("no runtime for the sender".into());
        return delivery;
    };
    let mut pending: VecDeque<Vec<TimeSeries>> = VecDeque::new();
    let mut backoff = Duration::from_millis(500);
    let mut next_try = Instant::now();
    let mut closing: Option<Instant> = None;
    loop {
        if closing.is_none() {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(batch) => {
                    keep(&mut pending, batch, &mut delivery);
                    while let Ok(batch) = rx.try_recv() {
                        keep(&mut pending, batch, &mut delivery);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // The run ended: one last push at once, retries until the deadline.
                    closing = Some(Instant::now() + FINAL_FLUSH);
                    next_try = Instant::now();
                }
            }
        } else {
            std::thread::sleep(next_try.saturating_duration_since(Instant::now()));
        }
        if !pending.is_empty() && Instant::now() >= next_try {
            let body = encode(pending.iter());
            let outcome = rt
                .block_on(async { tokio::time::timeout(PUSH_TIMEOUT, post(url, body)).await })
                .unwrap_or_else(|_| Err(Push::Retry(format!("no answer in {PUSH_TIMEOUT:?}"))));
            match outcome {
                Ok(()) => {
                    pending.clear();
                    backoff = Duration::from_millis(500);
                }
                Err(Push::Rejected(e)) => {
                    // The receiver refused the data itself: sending it again cannot help.
                    delivery.dropped += pending.len() as u64;
                    pending.clear();
                    delivery.last_error = Some(e);
                }
                Err(Push::Retry(e)) => {
                    if delivery.last_error.is_none() {
                        eprintln!(
                            "warning: --export prometheus-rw {url}: {e}; retrying (the run goes on)"
                        );
                    }
                    delivery.last_error = Some(e);
                    next_try = Instant::now() + backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        if let Some(deadline) = closing {
            if pending.is_empty() || Instant::now() >= deadline {
                delivery.undelivered = pending.len();
                return delivery;
            }
            next_try = next_try.min(deadline);
        }
    }
}

/// Queues a batch, dropping the oldest past [`BUFFER_SECONDS`].
fn keep(pending: &mut VecDeque<Vec<TimeSeries>>, batch: Vec<TimeSeries>, delivery: &mut Delivery) {
    pending.push_back(batch);
    if pending.len() > BUFFER_SECONDS {
        pending.pop_front();
        delivery.dropped += 1;
    }
}

/// One `WriteRequest` of the pending batches, a series' samples merged in time order,
/// protobuf-encoded and snappy block-compressed.
fn encode<'a>(batches: impl Iterator<Item = &'a Vec<TimeSeries>>) -> Bytes {
    let mut by_labels: BTreeMap<Vec<Label>, Vec<Sample>> = BTreeMap::new();
    for series in batches.flatten() {
        by_labels
            .entry(series.labels.clone())
            .or_default()
            .extend(series.samples.iter().cloned());
    }
    let request = WriteRequest {
        timeseries: by_labels
            .into_iter()
            .map(|(labels, samples)| TimeSeries { labels, samples })
            .collect(),
    };
    let raw = request.encode_to_vec();
    Bytes::from(
        snap::raw::Encoder::new()
            .compress_vec(&raw)
            .unwrap_or_default(),
    )
}

/// Why a push failed.
enum Push {
    /// Worth trying again (connection refused, 5xx, 429).
    Retry(String),
    /// The receiver refused the data (4xx).
    Rejected(String),
}

async fn post(url: &str, body: Bytes) -> Result<(), Push> {
    let headers = [
        ("content-type", "application/x-protobuf"),
        ("content-encoding", "snappy"),
        ("x-prometheus-remote-write-version", "0.1.0"),
        (
            "user-agent",
            concat!("nexus-bench/", env!("CARGO_PKG_VERSION")),
        ),
    ];
    match crate::fetch::post(url, &headers, body, 64 * 1024).await {
        Ok((status, _)) if status.is_success() => Ok(()),
        Ok((status, body)) if status.is_client_error() && status.as_u16() != 429 => {
            Err(Push::Rejected(format!(
                "HTTP {}: {}",
                status.as_u16(),
                crate::fetch::snippet(&String::from_utf8_lossy(&body), 200)
            )))
        }
        Ok((status, _)) => Err(Push::Retry(format!("HTTP {}", status.as_u16()))),
        Err(e) => Err(Push::Retry(e.to_string())),
    }
}
