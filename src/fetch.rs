//! One `GET` (or `POST`) over a fresh HTTP/1.1 connection (hyper), plain or TLS: what probes,
//! the profile fetch, the readiness check of a launched target and the live export need
//! beside the load.
//! A shared helper with no dependencies inside the crate; `https://` uses the configuration
//! the run installed with [`set_tls`] (the run's own trust settings), else the platform roots.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// The TLS configuration for `https://` GETs, installed once per process.
static TLS: OnceLock<Arc<ClientConfig>> = OnceLock::new();

/// Installs the TLS configuration `https://` GETs use (ALPN should be `http/1.1`); the
/// first call wins.
pub fn set_tls(config: Arc<ClientConfig>) {
    let _ = TLS.set(config);
}

fn tls_config() -> Arc<ClientConfig> {
    TLS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if roots.is_empty() {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    })
    .clone()
}

/// How much of an error response's body is quoted.
const SNIPPET_CHARS: usize = 200;

/// Why a `GET` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GetError {
    /// The URL is not an `http://` or `https://` URL.
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
    send(url, http::Method::GET, &[], Bytes::new(), max_body).await
}

/// `POST url` with `headers` and `body` over a fresh connection; the status and the body (at
/// most `max_body` bytes) of any answer.
pub async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
    max_body: usize,
) -> Result<(StatusCode, Bytes), GetError> {
    send(url, http::Method::POST, headers, body, max_body).await
}

/// One request over a fresh connection.
async fn send(
    url: &str,
    method: http::Method,
    headers: &[(&str, &str)],
    body: Bytes,
    max_body: usize,
) -> Result<(StatusCode, Bytes), GetError> {
    let message = Message {
        method,
        headers,
        body,
    };
    let uri: Uri = url.parse().map_err(|e| GetError::BadUrl(format!("{e}")))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => {
            return Err(GetError::BadUrl(
                "only http:// and https:// are supported".into(),
            ));
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| GetError::BadUrl("no host".into()))?;
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let bare = host.trim_matches(['[', ']']);
    let stream = TcpStream::connect((bare, port))
        .await
        .map_err(|e| GetError::Fetch(format!("connect: {e}")))?;
    if !https {
        return exchange(stream, &uri, message, max_body).await;
    }
    let name = rustls::pki_types::ServerName::try_from(bare.to_string())
        .map_err(|e| GetError::BadUrl(format!("TLS server name: {e}")))?;
    let tls = tokio_rustls::TlsConnector::from(tls_config())
        .connect(name, stream)
        .await
        .map_err(|e| GetError::Fetch(format!("TLS handshake: {e}")))?;
    exchange(tls, &uri, message, max_body).await
}

/// What to send besides the URL.
struct Message<'a> {
    method: http::Method,
    headers: &'a [(&'a str, &'a str)],
    body: Bytes,
}

/// `message` to `uri` over `stream` with HTTP/1.1: the status and the body.
async fn exchange<S>(
    stream: S,
    uri: &Uri,
    message: Message<'_>,
    max_body: usize,
) -> Result<(StatusCode, Bytes), GetError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let host = uri.host().unwrap_or_default();
    let authority = uri.authority().map_or(host, |a| a.as_str());
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| GetError::Fetch(format!("HTTP handshake: {e}")))?;
    let connection = tokio::spawn(connection);
    let result = async {
        let mut request = Request::builder()
            .method(message.method)
            .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(header::HOST, authority)
            .header(header::CONNECTION, "close");
        for (name, value) in message.headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(message.body))
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
