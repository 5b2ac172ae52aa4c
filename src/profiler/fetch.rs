//! Fetching a target's CPU profile over HTTP (Go's and pprof-rs's `/debug/pprof/profile`).

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::ProfileError;

/// Where Go's `net/http/pprof` and most pprof-rs integrations serve a CPU profile.
pub const DEFAULT_PROFILE_PATH: &str = "/debug/pprof/profile";

/// Larger profile responses are refused.
const MAX_BODY_BYTES: usize = 256 << 20;
/// How much of an error response's body is quoted in the error.
const BODY_SNIPPET_CHARS: usize = 200;

/// Fetches `GET {base_url}{path}?seconds=N` and returns the body (usually a `.pb.gz`).
///
/// The target profiles itself for `seconds` before answering, so the whole request may take
/// `seconds + 10` s. A non-2xx answer is an error naming the status and the start of the
/// body. Only plain `http://` is supported.
pub async fn fetch_profile(
    base_url: &str,
    path: &str,
    seconds: u64,
) -> Result<Vec<u8>, ProfileError> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let url = format!(
        "{}{path}{separator}seconds={seconds}",
        base_url.trim_end_matches('/')
    );
    let limit = Duration::from_secs(seconds.saturating_add(10));
    match tokio::time::timeout(limit, get(&url)).await {
        Ok(result) => result,
        Err(_) => Err(ProfileError::Fetch {
            reason: format!("no complete answer within {}s", limit.as_secs()),
            url,
        }),
    }
}

async fn get(url: &str) -> Result<Vec<u8>, ProfileError> {
    let bad_url = |reason: String| ProfileError::BadUrl {
        url: url.to_string(),
        reason,
    };
    let failed = |reason: String| ProfileError::Fetch {
        url: url.to_string(),
        reason,
    };
    let uri: Uri = url.parse().map_err(|e| bad_url(format!("{e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(bad_url("only http:// is supported".into()));
    }
    let host = uri.host().ok_or_else(|| bad_url("no host".into()))?;
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
        .map_err(|e| bad_url(e.to_string()))?;
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
    connection.abort();
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        let mut snippet: String = text.trim().chars().take(BODY_SNIPPET_CHARS).collect();
        if text.trim().chars().count() > BODY_SNIPPET_CHARS {
            snippet.push('…');
        }
        return Err(ProfileError::Status {
            url: url.to_string(),
            status: status.as_u16(),
            body: snippet,
        });
    }
    Ok(body.to_vec())
}
