//! Probes: one number read from the target by HTTP GET — a JSON pointer into the body
//! (booleans count as 0/1) or a sample of a Prometheus text-format metric.
//!
//! A side room: it depends only on [`crate::plan`]. `app::observe` calls [`read`] before,
//! during and after the run.

mod prometheus;

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::plan::{Probe, ProbeRead};
pub use prometheus::{Sample, format_labels, parse_line, sample_value};

/// Larger probe responses are refused.
const MAX_BODY_BYTES: usize = 8 << 20;
/// How much of an unexpected body is quoted in an error.
const SNIPPET_CHARS: usize = 120;

/// Why a probe reading failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The URL is not a plain `http://` URL.
    #[error("cannot read `{url}`: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request failed before a full answer came.
    #[error("GET {url} failed: {reason}")]
    Fetch {
        /// The URL.
        url: String,
        /// Connect, protocol or timeout.
        reason: String,
    },
    /// The target answered, but not with 2xx.
    #[error("GET {url} got HTTP {status}: {body}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The body is not JSON.
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    /// The JSON pointer points at nothing.
    #[error("nothing at JSON pointer `{pointer}` in {body}")]
    NoValue {
        /// The pointer.
        pointer: String,
        /// The start of the body.
        body: String,
    },
    /// The JSON pointer points at something that is not a number or a boolean.
    #[error("`{pointer}` is {found}, not a number")]
    NotANumber {
        /// The pointer.
        pointer: String,
        /// What is there (shortened JSON).
        found: String,
    },
    /// A line of the Prometheus text could not be parsed.
    #[error("not Prometheus text format: {reason}")]
    Prometheus {
        /// What is wrong.
        reason: String,
    },
    /// No sample has that name and exactly those labels.
    #[error("no sample {metric}{labels}{}", seen_hint(.seen))]
    NoSample {
        /// The metric name.
        metric: String,
        /// The labels asked for, formatted.
        labels: String,
        /// Label sets of the samples with that name.
        seen: Vec<String>,
    },
}

fn seen_hint(seen: &[String]) -> String {
    if seen.is_empty() {
        return String::new();
    }
    let shown: Vec<&str> = seen.iter().take(5).map(String::as_str).collect();
    let more = if seen.len() > 5 { ", …" } else { "" };
    format!(
        " (samples with that name have labels {}{more})",
        shown
            .iter()
            .map(|s| if s.is_empty() { "{}" } else { s })
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The URL a probe reads: its `url` joined to `base_url` when it is a path.
pub fn probe_url(base_url: &str, url: &str) -> String {
    if url.starts_with('/') {
        format!("{}{url}", base_url.trim_end_matches('/'))
    } else {
        url.to_string()
    }
}

/// What a probe reads, for reports: `GET /api/v1/cache/stats → /hit_ratio`.
pub fn describe(probe: &Probe) -> String {
    match &probe.read {
        ProbeRead::Json(pointer) => format!("GET {} → {pointer}", probe.url),
        ProbeRead::Prometheus { metric, labels } => {
            format!("GET {} → {metric}{}", probe.url, format_labels(labels))
        }
    }
}

/// Reads the probe once: GET (within `timeout`), then extracts the number.
pub async fn read(base_url: &str, probe: &Probe, timeout: Duration) -> Result<f64, ProbeError> {
    let url = probe_url(base_url, &probe.url);
    let body = match tokio::time::timeout(timeout, get(&url)).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(ProbeError::Fetch {
                url,
                reason: format!(
                    "no answer within {}",
                    crate::units::format_duration(timeout)
                ),
            });
        }
    };
    match &probe.read {
        ProbeRead::Json(pointer) => json_value(&body, pointer),
        ProbeRead::Prometheus { metric, labels } => {
            sample_value(&String::from_utf8_lossy(&body), metric, labels)
        }
    }
}

/// The number at `pointer` in a JSON body; `true`/`false` read as 1/0.
pub fn json_value(body: &[u8], pointer: &str) -> Result<f64, ProbeError> {
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ProbeError::NotJson(e.to_string()))?;
    let value = doc.pointer(pointer).ok_or_else(|| ProbeError::NoValue {
        pointer: pointer.to_string(),
        body: snippet(&String::from_utf8_lossy(body)),
    })?;
    match value {
        serde_json::Value::Number(n) => n.as_f64().ok_or_else(|| ProbeError::NotANumber {
            pointer: pointer.to_string(),
            found: n.to_string(),
        }),
        serde_json::Value::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
        other => Err(ProbeError::NotANumber {
            pointer: pointer.to_string(),
            found: snippet(&other.to_string()),
        }),
    }
}

fn snippet(text: &str) -> String {
    let text = text.trim();
    let mut s: String = text.chars().take(SNIPPET_CHARS).collect();
    if text.chars().count() > SNIPPET_CHARS {
        s.push('…');
    }
    s
}

/// `GET url` over a fresh HTTP/1.1 connection; the body of a 2xx answer.
async fn get(url: &str) -> Result<Bytes, ProbeError> {
    let bad_url = |reason: &str| ProbeError::BadUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let failed = |reason: String| ProbeError::Fetch {
        url: url.to_string(),
        reason,
    };
    let uri: Uri = url.parse().map_err(|e| bad_url(&format!("{e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(bad_url("only http:// is supported"));
    }
    let host = uri.host().ok_or_else(|| bad_url("no host"))?;
    let authority = uri.authority().map_or(host, |a| a.as_str());
    let port = uri.port_u16().unwrap_or(80);
    let stream = TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| failed(format!("connect: {e}")))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| failed(format!("HTTP handshake: {e}")))?;
    let connection = tokio::spawn(connection);
    let request = Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(header::HOST, authority)
        .header(header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| bad_url(&e.to_string()))?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|e| failed(format!("reading the body: {e}")))?
            .to_bytes();
        if !status.is_success() {
            return Err(ProbeError::Status {
                url: url.to_string(),
                status: status.as_u16(),
                body: snippet(&String::from_utf8_lossy(&body)),
            });
        }
        Ok(body)
    }
    .await;
    connection.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_and_booleans() {
        let body = br#"{"hit_ratio": 0.75, "ok": true, "off": false, "n": {"items": [1, 2.5]}}"#;
        assert_eq!(json_value(body, "/hit_ratio").unwrap(), 0.75);
        assert_eq!(json_value(body, "/ok").unwrap(), 1.0);
        assert_eq!(json_value(body, "/off").unwrap(), 0.0);
        assert_eq!(json_value(body, "/n/items/1").unwrap(), 2.5);
    }

    #[test]
    fn json_errors_are_typed_and_clear() {
        let body = br#"{"name": "cache", "list": [1]}"#;
        let e = json_value(body, "/name").unwrap_err();
        assert_eq!(e.to_string(), "`/name` is \"cache\", not a number");
        assert!(matches!(
            json_value(body, "/missing"),
            Err(ProbeError::NoValue { .. })
        ));
        assert!(matches!(
            json_value(b"<html>", "/x"),
            Err(ProbeError::NotJson(_))
        ));
        assert!(matches!(
            json_value(body, "/list"),
            Err(ProbeError::NotANumber { .. })
        ));
    }

    #[test]
    fn urls_join_paths_and_keep_absolute_urls() {
        assert_eq!(
            probe_url("http://127.0.0.1:8080/", "/stats"),
            "http://127.0.0.1:8080/stats"
        );
        assert_eq!(
            probe_url("http://a:1", "http://b:2/metrics"),
            "http://b:2/metrics"
        );
        let p = Probe {
            name: "reqs".into(),
            url: "/metrics".into(),
            read: ProbeRead::Prometheus {
                metric: "http_requests_total".into(),
                labels: vec![("code".into(), "200".into())],
            },
            interval: Duration::from_secs(1),
        };
        assert_eq!(
            describe(&p),
            "GET /metrics → http_requests_total{code=\"200\"}"
        );
    }

    /// A real axum server on 127.0.0.1:0 serving JSON, Prometheus text and a 503.
    async fn server() -> (String, tokio::task::JoinHandle<()>) {
        use axum::Router;
        use axum::routing::get;
        let app = Router::new()
            .route(
                "/stats",
                get(|| async { axum::Json(serde_json::json!({"hit_ratio": 0.5, "warm": true})) }),
            )
            .route(
                "/metrics",
                get(|| async {
                    "# TYPE hits counter\nhits{cache=\"a\"} 41\nhits{cache=\"b\"} 7\n"
                }),
            )
            .route(
                "/down",
                get(|| async { (http::StatusCode::SERVICE_UNAVAILABLE, "overloaded") }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (format!("http://{addr}"), task)
    }

    fn probe(url: &str, read: ProbeRead) -> Probe {
        Probe {
            name: "p".into(),
            url: url.into(),
            read,
            interval: Duration::from_secs(1),
        }
    }

    #[tokio::test]
    async fn reads_a_real_server() {
        let (base, task) = server().await;
        let t = Duration::from_secs(5);
        let json = probe("/stats", ProbeRead::Json("/hit_ratio".into()));
        assert_eq!(read(&base, &json, t).await.unwrap(), 0.5);
        let warm = probe("/stats", ProbeRead::Json("/warm".into()));
        assert_eq!(read(&base, &warm, t).await.unwrap(), 1.0);
        let prom = probe(
            &format!("{base}/metrics"),
            ProbeRead::Prometheus {
                metric: "hits".into(),
                labels: vec![("cache".into(), "b".into())],
            },
        );
        assert_eq!(read("http://unused:1", &prom, t).await.unwrap(), 7.0);
        let down = probe("/down", ProbeRead::Json("/x".into()));
        match read(&base, &down, t).await {
            Err(ProbeError::Status {
                status: 503, body, ..
            }) => assert_eq!(body, "overloaded"),
            other => panic!("{other:?}"),
        }
        task.abort();
        let _ = task.await;
        // The server is gone: a connect error, not a hang.
        assert!(matches!(
            read(&base, &json, t).await,
            Err(ProbeError::Fetch { .. })
        ));
    }
}
