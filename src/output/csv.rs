//! `requests.csv` and `timeseries.csv`: the numbers for spreadsheets and scripts. Plain
//! numbers without units (times in milliseconds with µs resolution, rates per second).
//!
//! `requests.csv`: one row per request name, then the overall row (name `*`). Columns:
//! `name, flow, requests, errors, error_rate, throughput_per_sec, latency_min_ms,
//! latency_mean_ms, latency_p50_ms, latency_p90_ms, latency_p95_ms, latency_p99_ms,
//! latency_p99_9_ms, latency_max_ms, service_p50_ms, service_p90_ms, service_p95_ms,
//! service_p99_ms, service_p99_9_ms, service_max_ms, status, error_kinds, connections_http1,
//! connections_http2, connect_p50_ms, connect_p99_ms, tls_handshake_p50_ms,
//! tls_handshake_p99_ms`, where `status` and `error_kinds` are `key:count` pairs joined by
//! `;` (`200:9800;503:12`); the connection columns are empty when the request opened none
//! (and the TLS ones for plain connections).
//!
//! `timeseries.csv`: per wall-clock second (warm-up included) one row for all requests
//! (name `*`) then one per request name with traffic in that second. Columns: `unix_s,
//! offset_s, warmup, name, requests, errors, dropped, in_flight_max, load_level,
//! latency_p50_ms, latency_p90_ms, latency_p99_ms, latency_max_ms, latency_mean_ms,
//! length_s, requests_per_sec`; `dropped`, `in_flight_max` and `load_level` are only filled
//! on the `*` rows. `length_s` is the part of the second the run covered (less than 1 for
//! the partial first and last seconds) and `requests_per_sec` is `requests / length_s`.

use std::collections::BTreeMap;

use super::format::{ms_plain, rate_plain};
use super::{Output, OutputError, ReportInput};
use crate::result::{EndpointStats, WindowSummary};

fn csv_err(e: impl std::fmt::Display) -> OutputError {
    OutputError::Render {
        what: "csv",
        message: e.to_string(),
    }
}

fn pairs(map: &BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// `requests.csv`.
pub struct RequestsCsv;

fn request_row(e: &EndpointStats) -> Vec<String> {
    let rate = if e.requests == 0 {
        0.0
    } else {
        e.errors as f64 / e.requests as f64
    };
    let (l, s) = (&e.latency_ms, &e.service_time_ms);
    let mut row = vec![
        e.name.clone(),
        e.flow.clone().unwrap_or_default(),
        e.requests.to_string(),
        e.errors.to_string(),
        format!("{rate:.6}"),
        rate_plain(e.throughput_per_sec),
    ];
    row.extend(
        [
            l.min, l.mean, l.p50, l.p90, l.p95, l.p99, l.p99_9, l.max, s.p50, s.p90, s.p95, s.p99,
            s.p99_9, s.max,
        ]
        .map(ms_plain),
    );
    row.push(pairs(&e.status));
    row.push(pairs(&e.error_kinds));
    let c = e.connections.as_ref();
    let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    let ms = |v: Option<f64>| v.map(ms_plain).unwrap_or_default();
    let tls = c.and_then(|c| c.tls_handshake_ms.as_ref());
    row.extend([
        count(c.map(|c| c.http1)),
        count(c.map(|c| c.http2)),
        ms(c.map(|c| c.connect_ms.p50)),
        ms(c.map(|c| c.connect_ms.p99)),
        ms(tls.map(|t| t.p50)),
        ms(tls.map(|t| t.p99)),
    ]);
    row
}

impl Output for RequestsCsv {
    fn file_name(&self) -> &'static str {
        "requests.csv"
    }

    fn render(&self, input: &ReportInput) -> Result<Vec<u8>, OutputError> {
        let r = input.result;
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "name",
            "flow",
            "requests",
            "errors",
            "error_rate",
            "throughput_per_sec",
            "latency_min_ms",
            "latency_mean_ms",
            "latency_p50_ms",
            "latency_p90_ms",
            "latency_p95_ms",
            "latency_p99_ms",
            "latency_p99_9_ms",
            "latency_max_ms",
            "service_p50_ms",
            "service_p90_ms",
            "service_p95_ms",
            "service_p99_ms",
            "service_p99_9_ms",
            "service_max_ms",
            "status",
            "error_kinds",
            "connections_http1",
            "connections_http2",
            "connect_p50_ms",
            "connect_p99_ms",
            "tls_handshake_p50_ms",
            "tls_handshake_p99_ms",
        ])
        .map_err(csv_err)?;
        for e in r.endpoints.iter().chain(std::iter::once(&r.overall)) {
            w.write_record(request_row(e)).map_err(csv_err)?;
        }
        w.into_inner().map_err(csv_err)
    }
}

/// `timeseries.csv`.
pub struct TimeseriesCsv;

fn window(l: &WindowSummary) -> [String; 5] {
    [l.p50, l.p90, l.p99, l.max, l.mean].map(ms_plain)
}

impl Output for TimeseriesCsv {
    fn file_name(&self) -> &'static str {
        "timeseries.csv"
    }

    fn render(&self, input: &ReportInput) -> Result<Vec<u8>, OutputError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "unix_s",
            "offset_s",
            "warmup",
            "name",
            "requests",
            "errors",
            "dropped",
            "in_flight_max",
            "load_level",
            "latency_p50_ms",
            "latency_p90_ms",
            "latency_p99_ms",
            "latency_max_ms",
            "latency_mean_ms",
            "length_s",
            "requests_per_sec",
        ])
        .map_err(csv_err)?;
        for s in &input.result.timeseries {
            // Partial first and last seconds carry their real length; rates use it.
            let length_s = s.length_ms / 1000.0;
            let per_sec = |n: u64| {
                if length_s > 0.0 {
                    rate_plain(n as f64 / length_s)
                } else {
                    String::new()
                }
            };
            let head = [
                s.unix_s.to_string(),
                s.offset_s.to_string(),
                s.warmup.to_string(),
            ];
            let mut all: Vec<String> = head.to_vec();
            all.extend([
                "*".to_string(),
                s.requests.to_string(),
                s.errors.to_string(),
                s.dropped.to_string(),
                s.in_flight_max.to_string(),
                rate_plain(s.load_level),
            ]);
            all.extend(window(&s.latency_ms));
            all.extend([format!("{length_s:.3}"), per_sec(s.requests)]);
            w.write_record(&all).map_err(csv_err)?;
            for e in &s.endpoints {
                let mut row: Vec<String> = head.to_vec();
                row.extend([
                    e.name.clone(),
                    e.requests.to_string(),
                    e.errors.to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
                row.extend(window(&e.latency_ms));
                row.extend([format!("{length_s:.3}"), per_sec(e.requests)]);
                w.write_record(&row).map_err(csv_err)?;
            }
        }
        w.into_inner().map_err(csv_err)
    }
}
