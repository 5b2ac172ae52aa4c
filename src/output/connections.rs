//! Connection phases as every output shows them: per request name, the connections it
//! opened (HTTP/1.1 / HTTP/2), TCP connect time and TLS handshake time (p50, p99). One
//! source of cells, so the terminal, Markdown and HTML say the same.

use std::fmt::Write as _;

use super::format;
use crate::result::{EndpointStats, RunResult};

/// Column headings of the connection tables.
pub const HEADINGS: [&str; 7] = [
    "request",
    "HTTP/1.1 conns",
    "HTTP/2 conns",
    "connect p50",
    "connect p99",
    "TLS handshake p50",
    "TLS handshake p99",
];

/// The cells after the name, or `None` when the request opened no connection.
pub fn cells(e: &EndpointStats) -> Option<[String; 6]> {
    let c = e.connections.as_ref()?;
    let tls = |f: fn(&crate::result::Summary) -> f64| {
        c.tls_handshake_ms
            .as_ref()
            .map_or_else(|| "—".to_string(), |t| format::latency(f(t)))
    };
    Some([
        format::count(c.http1),
        format::count(c.http2),
        format::latency(c.connect_ms.p50),
        format::latency(c.connect_ms.p99),
        tls(|t| t.p50),
        tls(|t| t.p99),
    ])
}

/// The one-line summary of all requests' connections for the terminal.
pub fn terminal_line(r: &RunResult) -> Option<String> {
    let [h1, h2, c50, c99, t50, t99] = cells(&r.overall)?;
    let mut s = format!("connections: HTTP/1.1 {h1} · HTTP/2 {h2} · connect p50 {c50} p99 {c99}");
    if r.overall
        .connections
        .as_ref()
        .is_some_and(|c| c.tls_handshake_ms.is_some())
    {
        let _ = write!(s, " · TLS handshake p50 {t50} p99 {t99}");
    }
    Some(s)
}

/// The rows: each request that opened connections, then all requests.
pub fn rows(r: &RunResult) -> Vec<(String, bool, [String; 6])> {
    r.endpoints
        .iter()
        .filter_map(|e| cells(e).map(|c| (e.name.clone(), false, c)))
        .chain(cells(&r.overall).map(|c| ("all requests".to_string(), true, c)))
        .collect()
}
