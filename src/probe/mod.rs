//! Probes: one number read from the target by HTTP GET — a JSON pointer into the body
//! (booleans count as 0/1) or a sample of a Prometheus text-format metric.
//!
//! A side room: it depends only on [`crate::plan`]. `app::observe` calls [`read`] before,
//! during and after the run.

mod prometheus;

use std::time::Duration;

use bytes::Bytes;

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
        body: crate::fetch::snippet(&String::from_utf8_lossy(body), SNIPPET_CHARS),
    })?;
    match value {
        serde_json::Value::Number(n) => n.as_f64().ok_or_else(|| ProbeError::NotANumber {
            pointer: pointer.to_string(),
            found: n.to_string(),
        }),
        serde_json::Value::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
        other => Err(ProbeError::NotANumber {
            pointer: pointer.to_string(),
            found: crate::fetch::snippet(&other.to_string(), SNIPPET_CHARS),
        }),
    }
}

/// `GET url` over a fresh HTTP/1.1 connection; the body of a 2xx answer.
async fn get(url: &str) -> Result<Bytes, ProbeError> {
    use crate::fetch::GetError;
    crate::fetch::get(url, MAX_BODY_BYTES)
        .await
        .map_err(|e| match e {
            GetError::BadUrl(reason) => ProbeError::BadUrl {
                url: url.to_string(),
                reason,
            },
            GetError::Fetch(reason) => ProbeError::Fetch {
                url: url.to_string(),
                reason,
            },
            GetError::Status(status, body) => ProbeError::Status {
                url: url.to_string(),
                status,
                body,
            },
        })
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
