//! One `GET` over a fresh HTTP/1.1 connection (hyper): what probes, the profile fetch and
//! the readiness check of a launched target need from it beside the load. A shared helper with no dependencies inside the crate.

use bytes::Bytes;
use http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How much of an error response's body is quoted.
const SNIPPET_CHARS: usize = 200;

/// Why a `GET` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GetError {
    /// The URL is not a plain `http://` URL.
    #[error("bad URL: {0}")]
    BadUrl(String),
    /// Connecting, sending or reading failed.
    #[error("{0}")]
    Fetch(String),
    /// The answer was not 2xx: its status and the start of its body.
    #[error("HTTP {0}: {1}")]
    Status(u16, String),
}

/// `GET url` over a fresh connection; the body of a 2xx answer (at most `max_body` bytes).
pub async fn get(url: &str, max_body: usize) -> Result<Bytes, GetError> {
    let (status, body) = get_response(url, max_body).await?;
    if !status.is_success() {
        return Err(GetError::Status(
            status.as_u16(),
            snippet(&String::from_utf8_lossy(&body), SNIPPET_CHARS),
        ));
    }
    Ok(body)
}

/// `GET url` over a fresh connection; the status and the body (at most `max_body` bytes) of
/// any answer, 2xx or not.
pub async fn get_response(url: &str, max_body: usize) -> Result<(StatusCode, Bytes), GetError> {
    let uri: Uri = url.parse().map_err(|e| GetError::BadUrl(format!("{e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(GetError::BadUrl("only http:// is supported".into()));
    }
    let host = uri
        .host()
        .ok_or_else(|| GetError::BadUrl("no host".into()))?;
    let authority = uri.authority().map_or(host, |a| a.as_str());
    let port = uri.port_u16().unwrap_or(80);
    let stream = TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| GetError::Fetch(format!("connect: {e}")))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| GetError::Fetch(format!("HTTP handshake: {e}")))?;
    let connection = tokio::spawn(connection);
    let result = async {
        let request = Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(header::HOST, authority)
            .header(header::CONNECTION, "close")
            .body(Empty::<Bytes>::new())
            .map_err(|e| GetError::BadUrl(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| GetError::Fetch(e.to_string()))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), max_body)
            .collect()
            .await
            .map_err(|e| GetError::Fetch(format!("reading the body: {e}")))?
            .to_bytes();
        Ok((status, body))
    }
    .await;
    connection.abort();
    result
}

/// The first `max_chars` characters of `text`, trimmed, with `…` when cut.
pub fn snippet(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    let mut s: String = text.chars().take(max_chars).collect();
    if text.chars().count() > max_chars {
        s.push('…');
    }
    s
}
